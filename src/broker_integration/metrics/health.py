"""Live health of each registered broker: connectivity, authentication, rate-limit use, breaker, feed age.

Connectivity comes from health checks (the collector's probes and the factory's monitor), the rest is
read from the adapter when a snapshot is taken: ``is_authenticated``, its resilience stages (rate-limiter
utilisation, breaker state) and the newest quote seen for it (feed age = now minus that quote's time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broker_integration.metrics.quotes import QuoteBook
from broker_integration.models import HealthState
from broker_integration.pipeline import BrokerAdapter

__all__ = ["BrokerHealth", "HealthTracker", "snapshot_health"]


class HealthTracker:
    """What the checks of one broker have shown since it was registered."""

    def __init__(self) -> None:
        self.state: HealthState | None = None
        self.last_check: datetime | None = None
        self.latency_ms: float | None = None
        self.consecutive_failures = 0
        self.up_since: datetime | None = None
        self.message = ""
        self.checks = 0
        self.healthy_checks = 0
        self.last_auth_failure: datetime | None = None

    def observe(
        self, state: HealthState, when: datetime, latency_ms: float | None, message: str = ""
    ) -> None:
        self.checks += 1
        self.last_check = when
        self.latency_ms = latency_ms
        self.message = message
        if state is HealthState.HEALTHY:
            self.healthy_checks += 1
            self.consecutive_failures = 0
            if self.up_since is None:
                self.up_since = when
        else:
            self.consecutive_failures += 1
            self.up_since = None
        self.state = state

    def uptime_seconds(self, now: datetime) -> float | None:
        """How long the broker has been healthy without a failed check in between."""
        return None if self.up_since is None else max(0.0, (now - self.up_since).total_seconds())


@dataclass(frozen=True, slots=True)
class BrokerHealth:
    """A broker's health at ``at``; ``None`` where it is not known (no check yet, no rate limiter ...)."""

    broker: str
    at: datetime
    state: HealthState | None
    last_check: datetime | None
    check_latency_ms: float | None
    consecutive_failures: int
    message: str
    authenticated: bool
    last_auth_failure: datetime | None
    rate_limit_utilization: float | None
    order_rate_limit_utilization: float | None
    breaker_state: str | None
    last_tick_at: datetime | None
    feed_age_seconds: float | None
    uptime_seconds: float | None
    availability: float | None

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "broker": self.broker,
            "at": self.at.isoformat(),
            "state": self.state.value if self.state is not None else None,
            "last_check": iso(self.last_check),
            "check_latency_ms": self.check_latency_ms,
            "consecutive_failures": self.consecutive_failures,
            "message": self.message,
            "authenticated": self.authenticated,
            "last_auth_failure": iso(self.last_auth_failure),
            "rate_limit_utilization": self.rate_limit_utilization,
            "order_rate_limit_utilization": self.order_rate_limit_utilization,
            "breaker_state": self.breaker_state,
            "last_tick_at": iso(self.last_tick_at),
            "feed_age_seconds": self.feed_age_seconds,
            "uptime_seconds": self.uptime_seconds,
            "availability": self.availability,
        }


def snapshot_health(
    broker: str, adapter: BrokerAdapter, tracker: HealthTracker, quotes: QuoteBook, now: datetime
) -> BrokerHealth:
    """Read everything now; cheap (no broker call)."""
    resilience = adapter.resilience
    requests = resilience.requests if resilience is not None else None
    orders = resilience.orders if resilience is not None else None
    tick = quotes.last_tick(broker)
    return BrokerHealth(
        broker=broker,
        at=now,
        state=tracker.state,
        last_check=tracker.last_check,
        check_latency_ms=tracker.latency_ms,
        consecutive_failures=tracker.consecutive_failures,
        message=tracker.message,
        authenticated=adapter.is_authenticated,
        last_auth_failure=tracker.last_auth_failure,
        rate_limit_utilization=requests.utilization if requests is not None else None,
        order_rate_limit_utilization=orders.utilization if orders is not None else None,
        breaker_state=adapter.breaker_state.value if adapter.breaker_state is not None else None,
        last_tick_at=tick.time if tick is not None else None,
        feed_age_seconds=max(0.0, (now - tick.time).total_seconds()) if tick is not None else None,
        uptime_seconds=tracker.uptime_seconds(now),
        availability=tracker.healthy_checks / tracker.checks if tracker.checks else None,
    )
