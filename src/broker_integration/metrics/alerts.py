"""Alert rules and the engine that turns their verdicts into alert events and log lines.

Rules look at one broker at a time (:class:`AlertInputs`: its health snapshot, counts and latency over
the recent window, placed orders per minute against a baseline) and say whether their condition holds.
The engine keeps one state per rule and broker and publishes an event only on a change: FIRING when a
condition starts to hold, RESOLVED when it stops. Two conditions are pushed instead of polled:

* an order far larger than the broker's recent orders in the same instrument
  (:meth:`AlertEngine.observe_order`, called by the collector for every placed order), and
* a configuration that failed validation: the configuration manager calls
  :meth:`AlertEngine.report_config_failure` (and :meth:`AlertEngine.clear_config_failure` once a valid
  configuration is loaded).
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.events import Event, EventBus, Subscription, get_event_bus
from broker_integration.log import get_logger
from broker_integration.metrics.buckets import OpStats
from broker_integration.metrics.health import BrokerHealth
from broker_integration.metrics.histograms import bucket_values, quantiles_us
from broker_integration.models import HealthState, UnifiedOrder

__all__ = [
    "AlertEngine",
    "AlertEvent",
    "AlertInputs",
    "AlertRule",
    "AlertSeverity",
    "AlertState",
    "BreakerRule",
    "Condition",
    "ErrorRateRule",
    "HealthRule",
    "LatencyRule",
    "OrderRateRule",
    "OrderSizeMonitor",
    "default_rules",
]

_log = get_logger("broker_integration.alerts")

CONFIG_RULE = "config_validation"
ORDER_SIZE_RULE = "order_size"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def log_level(self) -> int:
        return {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}[self.value]


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertEvent(Event):
    """A rule started (FIRING) or stopped (RESOLVED) holding for a broker."""

    rule: str
    broker_name: str
    severity: AlertSeverity
    state: AlertState
    message: str
    value: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "rule": self.rule,
            "broker": self.broker_name,
            "severity": self.severity.value,
            "state": self.state.value,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
        }


@dataclass(frozen=True, slots=True)
class AlertInputs:
    """What the rules see of one broker: the health snapshot and the recent window.

    ``operations`` holds each operation's counters and latency over the last ``window``;
    ``orders_per_minute`` the placed orders of each earlier minute of the baseline (oldest first, zeros
    included) and ``orders_this_minute`` those of the minute now filling.
    """

    broker: str
    health: BrokerHealth
    window: timedelta
    operations: dict[str, OpStats]
    orders_per_minute: tuple[int, ...]
    orders_this_minute: int

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.operations.values())

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.operations.values())


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule's verdict; ``firing`` false means the condition does not hold (resolves a firing alert)."""

    firing: bool
    severity: AlertSeverity
    message: str
    value: float | None = None
    threshold: float | None = None


class AlertRule(Protocol):
    """A condition on one broker; ``None`` from :meth:`evaluate` means "cannot tell yet" (no change)."""

    @property
    def name(self) -> str: ...

    def evaluate(self, inputs: AlertInputs) -> Condition | None: ...


@dataclass(frozen=True, slots=True)
class ErrorRateRule:
    """Share of failed calls over the window above ``max_error_rate`` (with at least ``min_calls``)."""

    max_error_rate: float = 0.05
    min_calls: int = 20
    severity: AlertSeverity = AlertSeverity.WARNING
    name: str = "error_rate"

    def evaluate(self, inputs: AlertInputs) -> Condition | None:
        calls, failures = inputs.calls, inputs.failures
        if calls < self.min_calls:
            return None
        rate = failures / calls
        minutes = inputs.window.total_seconds() / 60
        return Condition(
            rate > self.max_error_rate,
            self.severity,
            f"{inputs.broker}: {rate:.1%} of calls failed in the last {minutes:g} min ({failures}/{calls}); "
            f"threshold {self.max_error_rate:.1%}",
            rate,
            self.max_error_rate,
        )


@dataclass(frozen=True, slots=True)
class LatencyRule:
    """p99 latency of ``operation`` (or of the slowest operation) above ``max_p99_ms`` over the window."""

    max_p99_ms: float = 1000.0
    operation: str | None = None
    min_calls: int = 20
    severity: AlertSeverity = AlertSeverity.WARNING
    name: str = "latency_p99"

    def evaluate(self, inputs: AlertInputs) -> Condition | None:
        candidates = {
            op: s
            for op, s in inputs.operations.items()
            if (self.operation is None or op == self.operation) and s.calls >= self.min_calls
        }
        if not candidates:
            return None
        worst_op, worst = "", -1.0
        for op, stats in candidates.items():
            values, counts = bucket_values(stats.histogram)
            if counts.size == 0:
                continue
            p99 = quantiles_us(values, counts, (99.0,))[0] / 1000.0
            if p99 > worst:
                worst_op, worst = op, p99
        if worst < 0:
            return None
        return Condition(
            worst > self.max_p99_ms,
            self.severity,
            f"{inputs.broker}: p99 latency of {worst_op} is {worst:.1f} ms; threshold {self.max_p99_ms:g} ms",
            worst,
            self.max_p99_ms,
        )


@dataclass(frozen=True, slots=True)
class HealthRule:
    """The broker is down or degraded, not authenticated, or its price feed is older than ``max_feed_age``."""

    max_feed_age: timedelta | None = timedelta(minutes=2)
    name: str = "health"

    def evaluate(self, inputs: AlertInputs) -> Condition | None:
        h = inputs.health
        problems: list[tuple[AlertSeverity, str]] = []
        if h.state is HealthState.DOWN:
            problems.append((AlertSeverity.CRITICAL, f"down ({h.message or 'health check failed'})"))
        elif h.state is HealthState.DEGRADED:
            problems.append((AlertSeverity.WARNING, f"degraded ({h.message or 'health check failed'})"))
        if not h.authenticated:
            problems.append((AlertSeverity.CRITICAL, "not authenticated"))
        limit = self.max_feed_age
        if (
            limit is not None
            and h.feed_age_seconds is not None
            and h.feed_age_seconds > limit.total_seconds()
        ):
            problems.append((AlertSeverity.WARNING, f"last quote is {h.feed_age_seconds:.0f} s old"))
        if h.state is None and not problems:
            return None
        if not problems:
            return Condition(False, AlertSeverity.INFO, f"{inputs.broker}: healthy")
        severity = max((p[0] for p in problems), key=_rank)
        return Condition(True, severity, f"{inputs.broker}: " + "; ".join(p[1] for p in problems))


@dataclass(frozen=True, slots=True)
class BreakerRule:
    """The circuit breaker is open (critical) or half-open (warning)."""

    name: str = "circuit_breaker"

    def evaluate(self, inputs: AlertInputs) -> Condition | None:
        state = inputs.health.breaker_state
        if state is None:
            return None
        if state == "open":
            return Condition(True, AlertSeverity.CRITICAL, f"{inputs.broker}: circuit breaker open")
        if state == "half_open":
            return Condition(
                True, AlertSeverity.WARNING, f"{inputs.broker}: circuit breaker half-open (probing)"
            )
        return Condition(False, AlertSeverity.INFO, f"{inputs.broker}: circuit breaker closed")


@dataclass(frozen=True, slots=True)
class OrderRateRule:
    """Orders this minute above ``factor`` times the baseline's mean per minute (and at least ``min_orders``).

    The baseline is the earlier minutes of the baseline window; it needs ``min_baseline_minutes`` of them.
    """

    factor: float = 5.0
    min_orders: int = 20
    min_baseline_minutes: int = 10
    severity: AlertSeverity = AlertSeverity.WARNING
    name: str = "order_rate"

    def evaluate(self, inputs: AlertInputs) -> Condition | None:
        history = inputs.orders_per_minute
        if len(history) < self.min_baseline_minutes:
            return None
        baseline = sum(history) / len(history)
        now = inputs.orders_this_minute
        limit = max(self.factor * baseline, float(self.min_orders))
        return Condition(
            now > limit,
            self.severity,
            f"{inputs.broker}: {now} orders this minute against a baseline of {baseline:.1f} per minute "
            f"over {len(history)} min (limit {limit:.0f})",
            float(now),
            limit,
        )


def default_rules() -> list[AlertRule]:
    """Error rate above 5 %, p99 above 1 s, health, breaker, order rate above 5x its baseline."""
    return [ErrorRateRule(), LatencyRule(), HealthRule(), BreakerRule(), OrderRateRule()]


def _rank(severity: AlertSeverity) -> int:
    return (AlertSeverity.INFO, AlertSeverity.WARNING, AlertSeverity.CRITICAL).index(severity)


@dataclass
class OrderSizeMonitor:
    """Flags an order whose quantity exceeds ``factor`` times the median of the broker's last
    ``history`` orders in that instrument (once there are ``min_history`` of them)."""

    factor: float = 10.0
    min_history: int = 20
    history: int = 200
    _sizes: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def check(self, broker: str, order: UnifiedOrder) -> Condition | None:
        if order.quantity is None:
            return None  # a notional order's size in units is the broker's to work out
        key = (broker, order.instrument)
        sizes = self._sizes.get(key)
        if sizes is None:
            sizes = self._sizes[key] = deque(maxlen=self.history)
        size = float(order.quantity)
        verdict = None
        if len(sizes) >= self.min_history:
            median = statistics.median(sizes)
            if size > self.factor * median:
                verdict = Condition(
                    True,
                    AlertSeverity.WARNING,
                    f"{broker}: order {order.order_id} for {order.quantity} {order.instrument} is "
                    f"{size / median:.1f}x the median of the last {len(sizes)} orders ({median:g})",
                    size,
                    self.factor * median,
                )
        sizes.append(size)
        return verdict


class AlertEngine:
    """Evaluates rules, remembers what is firing, publishes :class:`AlertEvent` on changes and logs them."""

    def __init__(
        self,
        rules: Sequence[AlertRule] | None = None,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
        order_size: OrderSizeMonitor | None = None,
        history: int = 500,
    ) -> None:
        self.rules: list[AlertRule] = list(default_rules() if rules is None else rules)
        self.order_size = order_size if order_size is not None else OrderSizeMonitor()
        self._bus = event_bus
        self._clock = clock or SYSTEM_CLOCK
        self._firing: dict[tuple[str, str], AlertEvent] = {}
        #: The most recent alert events, oldest first.
        self.history: deque[AlertEvent] = deque(maxlen=history)
        self._config_failures_by_scope: dict[str, set[str]] = {}

    @property
    def event_bus(self) -> EventBus:
        return self._bus or get_event_bus()

    @property
    def firing(self) -> dict[tuple[str, str], AlertEvent]:
        """Alerts now firing, by (rule, broker)."""
        return dict(self._firing)

    def evaluate(self, inputs: Iterable[AlertInputs]) -> list[AlertEvent]:
        """Run every rule on every broker; returns (and publishes) the alerts that changed state."""
        emitted: list[AlertEvent] = []
        for broker_inputs in inputs:
            for rule in self.rules:
                try:
                    condition = rule.evaluate(broker_inputs)
                except Exception:
                    _log.exception("alert rule %s failed on %s", rule.name, broker_inputs.broker)
                    continue
                if condition is not None:
                    event = self._transition(rule.name, broker_inputs.broker, condition)
                    if event is not None:
                        emitted.append(event)
        return emitted

    def observe_order(self, broker: str, order: UnifiedOrder) -> AlertEvent | None:
        """Check one placed order against the broker's recent order sizes; each outlier is one alert."""
        condition = self.order_size.check(broker, order)
        if condition is None:
            return None
        return self._emit(ORDER_SIZE_RULE, broker, condition, AlertState.FIRING)

    def report_config_failure(self, broker: str, message: str) -> AlertEvent:
        """A configuration for ``broker`` failed validation (called by the configuration manager)."""
        condition = Condition(True, AlertSeverity.CRITICAL, f"{broker}: configuration rejected: {message}")
        return self._emit(CONFIG_RULE, broker, condition, AlertState.FIRING)

    def clear_config_failure(self, broker: str) -> AlertEvent | None:
        """A valid configuration for ``broker`` is in force again."""
        return self._transition(
            CONFIG_RULE, broker, Condition(False, AlertSeverity.INFO, f"{broker}: configuration valid")
        )

    def watch_configuration(self, bus: EventBus | None = None) -> tuple[Subscription, Subscription]:
        """Raise and clear configuration alerts from the configuration manager's events on ``bus``.

        A rejected configuration fires the alert for each broker its problems name (the broker's part of a
        key path such as ``brokers.oanda.limits...``); problems in a one-broker file, whose paths start at the broker's
        own fields, fire it for the manager's scope. The next applied version of that scope clears them.
        """
        from broker_integration.broker_config import BrokerConfiguration
        from broker_integration.config.events import ConfigChangedEvent, ConfigFailedEvent

        bus = bus or self.event_bus
        fields = set(BrokerConfiguration.model_fields)

        def broker_of(path: str, scope: str) -> str:
            parts = path.split(".")
            if parts[0] == "brokers" and len(parts) > 1:  # a file of several brokers: brokers.<name>...
                return parts[1]
            return scope if not parts[0] or parts[0] in fields else parts[0]

        def failed(event: ConfigFailedEvent) -> None:
            brokers = {broker_of(issue.path, event.scope) for issue in event.error.issues} or {event.scope}
            for broker in sorted(brokers):
                self.report_config_failure(broker, str(event.error))
                self._config_failures_by_scope.setdefault(event.scope, set()).add(broker)

        def applied(event: ConfigChangedEvent) -> None:
            for broker in sorted(self._config_failures_by_scope.pop(event.scope, set())):
                self.clear_config_failure(broker)

        return bus.subscribe(ConfigFailedEvent, failed), bus.subscribe(ConfigChangedEvent, applied)

    def _transition(self, rule: str, broker: str, condition: Condition) -> AlertEvent | None:
        key = (rule, broker)
        current = self._firing.get(key)
        if condition.firing:
            if current is not None and current.severity is condition.severity:
                return None
            return self._emit(rule, broker, condition, AlertState.FIRING)
        if current is None:
            return None
        return self._emit(rule, broker, condition, AlertState.RESOLVED)

    def _emit(self, rule: str, broker: str, condition: Condition, state: AlertState) -> AlertEvent:
        event = AlertEvent(
            time=self._clock.now(),
            rule=rule,
            broker_name=broker,
            severity=condition.severity,
            state=state,
            message=condition.message,
            value=condition.value,
            threshold=condition.threshold,
        )
        key = (rule, broker)
        if state is AlertState.FIRING and rule != ORDER_SIZE_RULE:
            self._firing[key] = event
        elif state is AlertState.RESOLVED:
            self._firing.pop(key, None)
        self.history.append(event)
        level = condition.severity.log_level if state is AlertState.FIRING else logging.INFO
        _log.log(level, "alert %s %s [%s] %s", rule, state.value, condition.severity.value, condition.message)
        self.event_bus.publish(event)
        return event
