"""``DemoResult``: everything one demo run measured, for the console, the report and tests.

Latency figures come from the metrics collector (its HdrHistograms); rates with intervals, costs and the
verdict of the experiment from the A/B framework's ``TestResults``; the ranking and its tests from the
collector's ``BrokerComparison``. :meth:`DemoResult.figures` flattens the numbers the report shows into
one JSON-ready document, embedded in the report so that a reader (or a test) can check them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from broker_integration.ab_testing import TestResults
from broker_integration.capabilities.profile import CapabilityTestType
from broker_integration.demo.discovery import DiscoveryRun
from broker_integration.demo.flow import RoutedOrder, ShareWindow, routing_shares
from broker_integration.demo.options import DemoOptions
from broker_integration.demo.venues import VenueInfo
from broker_integration.errors import ErrorAnalyzer
from broker_integration.metrics.alerts import AlertEvent
from broker_integration.metrics.buckets import OpStats
from broker_integration.metrics.histograms import bucket_values
from broker_integration.performance_metrics import BrokerComparison, LatencySummary

__all__ = ["ORDER_OPERATION", "DemoResult", "LatencyDistribution"]

ORDER_OPERATION = "place_order"


@dataclass(frozen=True)
class LatencyDistribution:
    """One venue's ``place_order`` latencies as the collector's histogram holds them.

    ``values_ms`` are the histogram's non-empty buckets (each the highest value it stands for, within
    0.1 %), ascending, with ``counts`` samples each; ``summary`` is the collector's reading of the same
    histogram (exact mean, quantiles by HdrHistogram's rule).
    """

    broker: str
    values_ms: tuple[float, ...]
    counts: tuple[int, ...]
    summary: LatencySummary

    @classmethod
    def of(cls, broker: str, stats: OpStats) -> LatencyDistribution:
        values, counts = bucket_values(stats.histogram)
        return cls(
            broker=broker,
            values_ms=tuple(float(v) / 1000.0 for v in values),
            counts=tuple(int(c) for c in counts),
            summary=LatencySummary.from_histogram(stats.histogram, stats.sum_us),
        )

    def cdf(self) -> list[tuple[float, float]]:
        """(latency ms, share of calls at or below it) at every bucket."""
        total = sum(self.counts)
        if total == 0:
            return []
        cumulative = np.cumsum(self.counts) / total
        return [(v, float(c)) for v, c in zip(self.values_ms, cumulative, strict=True)]


@dataclass(frozen=True)
class DemoResult:
    """One run: how it was set up, what discovery found, how orders were routed, what was measured.

    The fields describe the FX part; ``crypto`` holds the crypto part in the same form."""

    options: DemoOptions
    started_at: datetime
    environment: str
    config_files: tuple[str, ...]
    store: str
    test_id: str
    venues: tuple[VenueInfo, ...]
    discovery: tuple[DiscoveryRun, ...]
    routed: tuple[RoutedOrder, ...]
    test_results: TestResults
    comparison: BrokerComparison
    latency: dict[str, LatencyDistribution]
    alerts: tuple[AlertEvent, ...]
    phases: dict[str, float]
    #: Every failed call of the run, for ``broker-integration errors analyze`` (see :meth:`export_errors`).
    errors: ErrorAnalyzer = field(compare=False, repr=False, default_factory=ErrorAnalyzer)
    #: The crypto part: one pair across the crypto venues, a run of its own (``None``: skipped, see ``notes``).
    crypto: DemoResult | None = None
    #: What the run could not do as configured, one line each (a venue left out, a part skipped).
    notes: tuple[str, ...] = ()

    def export_errors(self, path: Path) -> Path:
        """Write the run's calls and errors as JSON lines (secrets masked) for ``errors analyze``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.errors.export_jsonl(path)
        return path

    @property
    def arms(self) -> tuple[str, ...]:
        """The venues in the experiment, control first."""
        return tuple(arm.arm for arm in self.test_results.arms)

    def shares(self) -> list[ShareWindow]:
        """The routing share per arm over the flow, in slices."""
        return routing_shares(self.routed, self.arms)

    @property
    def wall_seconds(self) -> float:
        return sum(self.phases.values())

    def profiles(self, test_type: CapabilityTestType) -> dict[str, DiscoveryRun]:
        """The discovery runs of one depth, by venue."""
        return {run.broker: run for run in self.discovery if run.test_type is test_type}

    def figures(self) -> dict[str, Any]:
        """Every number of the report in one JSON-ready document: the run's settings, the routing
        shares, the capability profiles, the experiment's results (``ab``) and the collector's
        comparison (``comparison``, with each venue's metrics under ``comparison.metrics``); the crypto
        part's figures under ``crypto`` in the same form."""
        return {
            "seed": self.options.seed,
            "orders_requested": self.options.orders,
            "routing": self.test_results.routing_strategy.value,
            "environment": self.environment,
            "config_files": list(self.config_files),
            "started_at": self.started_at.isoformat(),
            "phases_seconds": self.phases,
            "test_id": self.test_id,
            "venues": {
                v.name: {
                    "display_name": v.display_name,
                    "adapter": v.adapter_type,
                    "profile": v.description,
                    "endpoint": v.endpoint,
                }
                for v in self.venues
            },
            "routing_shares": [dataclasses.asdict(w) for w in self.shares()],
            "alerts": [alert.to_dict() for alert in self.alerts],
            "capabilities": {
                run.broker + "/" + run.test_type.value: run.profile.model_dump(
                    mode="json", exclude={"supported_instruments"}
                )
                for run in self.discovery
            },
            "ab": self.test_results.to_dict(),
            "comparison": self.comparison.to_dict(),
            "crypto": self.crypto.figures() if self.crypto is not None else None,
            "notes": list(self.notes),
        }
