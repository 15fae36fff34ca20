"""What exporters read: a consistent snapshot of cumulative counts, health and firing alerts; JSON export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from broker_integration.metrics.alerts import AlertEvent
from broker_integration.metrics.buckets import OpStats
from broker_integration.metrics.health import BrokerHealth
from broker_integration.metrics.summary import BrokerMetrics

__all__ = ["ExportSnapshot", "metrics_document", "to_json"]


@dataclass(frozen=True)
class ExportSnapshot:
    """Cumulative stats per (broker, operation) since ``since``, plus live health and firing alerts.

    The stats are copies: reading them never races the event handlers that keep counting.
    """

    at: datetime
    since: datetime | None
    operations: dict[tuple[str, str], OpStats]
    health: dict[str, BrokerHealth] = field(default_factory=dict)
    firing: list[AlertEvent] = field(default_factory=list)

    @property
    def brokers(self) -> list[str]:
        return sorted({b for b, _ in self.operations} | set(self.health))


def metrics_document(
    period: str,
    metrics: dict[str, BrokerMetrics],
    health: dict[str, BrokerHealth],
    alerts: list[AlertEvent],
    at: datetime,
) -> dict[str, Any]:
    """The JSON export: per-broker metrics over ``period``, health now, alerts firing now."""
    return {
        "generated_at": at.isoformat(),
        "period": period,
        "brokers": {name: m.to_dict() for name, m in sorted(metrics.items())},
        "health": {name: h.to_dict() for name, h in sorted(health.items())},
        "alerts": [a.to_dict() for a in alerts],
    }


def to_json(document: dict[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
