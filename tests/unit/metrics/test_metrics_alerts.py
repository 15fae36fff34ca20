"""Alert rules fire once when their condition starts, resolve when it ends, and reach the bus and the log."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from metrics_helpers import TimedBroker, market, place_many

from broker_integration.broker_config import BrokerConfiguration, BrokerLimits
from broker_integration.clock import ManualClock
from broker_integration.config import ConfigError, ConfigManager
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.metrics.alerts import (
    AlertEngine,
    AlertEvent,
    AlertSeverity,
    AlertState,
    BreakerRule,
    ErrorRateRule,
    HealthRule,
    LatencyRule,
    OrderRateRule,
    OrderSizeMonitor,
)
from broker_integration.performance_metrics import PerformanceMetricsCollector


@pytest.fixture
def alerts(bus: EventBus) -> list[AlertEvent]:
    seen: list[AlertEvent] = []
    bus.subscribe(AlertEvent, seen.append)
    return seen


async def _setup(
    clock: ManualClock, bus: EventBus, rules: list[object], **kwargs: object
) -> tuple[PerformanceMetricsCollector, TimedBroker]:
    broker = TimedBroker(clock, bus, latency_ms=kwargs.pop("latency_ms", 2.0), **kwargs)  # type: ignore[arg-type]
    await broker.authenticate()
    collector = PerformanceMetricsCollector(clock=clock, event_bus=bus, alert_rules=rules)  # type: ignore[arg-type]
    collector.register_broker("oanda", broker)
    return collector, broker


async def test_error_rate_fires_once_then_resolves(
    clock: ManualClock, bus: EventBus, alerts: list[AlertEvent], caplog: pytest.LogCaptureFixture
) -> None:
    collector, broker = await _setup(clock, bus, [ErrorRateRule(max_error_rate=0.1, min_calls=20)])
    for i in range(40):
        if i % 4 == 0:
            broker.fail_next("place_order", StandardErrorCode.TIMEOUT)
        await broker.place_order(market())
    with caplog.at_level(logging.WARNING, logger="broker_integration.alerts"):
        fired = await collector.evaluate_alerts()
    assert [(a.rule, a.state, a.severity) for a in fired] == [
        ("error_rate", AlertState.FIRING, AlertSeverity.WARNING)
    ]
    assert fired[0].value == pytest.approx(0.25)
    assert "25.0% of calls failed in the last 5 min (10/40)" in fired[0].message
    assert "alert error_rate firing" in caplog.text
    assert await collector.evaluate_alerts() == []  # still firing: no second event
    clock.advance(6 * 60)  # the failures leave the five-minute window
    await place_many(broker, 30)
    resolved = await collector.evaluate_alerts()
    assert [(a.rule, a.state) for a in resolved] == [("error_rate", AlertState.RESOLVED)]
    assert alerts == [*fired, *resolved]
    assert collector.alerts.firing == {}


async def test_latency_rule_uses_the_window_p99(clock: ManualClock, bus: EventBus) -> None:
    collector, broker = await _setup(clock, bus, [LatencyRule(max_p99_ms=50, min_calls=10)], latency_ms=80.0)
    await place_many(broker, 10)
    (alert,) = await collector.evaluate_alerts()
    assert alert.rule == "latency_p99"
    assert alert.value == pytest.approx(80.0, rel=1e-3)
    assert "p99 latency of place_order is 80.1 ms; threshold 50 ms" in alert.message


async def test_health_rule_reports_down_unauthenticated_and_stale_feed(
    clock: ManualClock, bus: EventBus
) -> None:
    collector, broker = await _setup(clock, bus, [HealthRule(max_feed_age=timedelta(seconds=30))])
    collector.record_tick("oanda", await broker.get_current_price("EUR/USD"))
    await collector.probe_once()
    assert await collector.evaluate_alerts() == []
    clock.advance(60)
    (stale,) = await collector.evaluate_alerts()
    assert stale.severity is AlertSeverity.WARNING
    assert "last quote is 60 s old" in stale.message
    await broker.disconnect()
    await collector.probe_once()
    (down,) = await collector.evaluate_alerts()
    assert down.severity is AlertSeverity.CRITICAL  # a change of severity is a new event
    assert "down (not authenticated)" in down.message
    assert "not authenticated" in down.message


async def test_breaker_rule_follows_the_adapter_breaker(clock: ManualClock, bus: EventBus) -> None:
    collector, broker = await _setup(clock, bus, [BreakerRule()])
    assert await collector.evaluate_alerts() == []
    broker.fail_next("place_order", StandardErrorCode.CONNECTION_ERROR, times=5)
    await place_many(broker, 5)
    assert broker.resilience is not None
    assert broker.resilience.breaker_open
    (opened,) = await collector.evaluate_alerts()
    assert (opened.rule, opened.severity) == ("circuit_breaker", AlertSeverity.CRITICAL)
    clock.advance(6)  # past the recovery timeout: half-open
    (half,) = await collector.evaluate_alerts()
    assert half.severity is AlertSeverity.WARNING
    await broker.place_order(market())  # the probe call succeeds and closes it
    (closed,) = await collector.evaluate_alerts()
    assert closed.state is AlertState.RESOLVED


async def test_order_rate_far_above_its_baseline(clock: ManualClock, bus: EventBus) -> None:
    collector, broker = await _setup(
        clock, bus, [OrderRateRule(factor=5, min_orders=10, min_baseline_minutes=10)]
    )
    for _ in range(12):  # twelve quiet minutes: two orders each
        await place_many(broker, 2)
        clock.advance(60)
    assert await collector.evaluate_alerts() == []
    await place_many(broker, 10)
    assert await collector.evaluate_alerts() == []  # 10 is not above 5 x 2
    await place_many(broker, 2)
    (burst,) = await collector.evaluate_alerts()
    assert burst.rule == "order_rate"
    assert burst.value == 12
    assert "12 orders this minute against a baseline of 2.0 per minute over 12 min" in burst.message


async def test_order_rate_needs_a_baseline_first(clock: ManualClock, bus: EventBus) -> None:
    collector, broker = await _setup(clock, bus, [OrderRateRule()])
    await place_many(broker, 100)  # a busy first minute is not "unusual": there is nothing to compare with
    assert await collector.evaluate_alerts() == []


async def test_an_outsized_order_is_flagged(
    clock: ManualClock, bus: EventBus, alerts: list[AlertEvent]
) -> None:
    _collector, broker = await _setup(clock, bus, [])
    broker.set_price("EUR/USD", "1.1", "1.1002")
    await place_many(broker, 20, quantity=1000)
    assert alerts == []
    await broker.place_order(market(50_000))
    (big,) = alerts
    assert big.rule == "order_size"
    assert "50.0x the median of the last 20 orders (1000)" in big.message


def test_order_size_monitor_is_per_instrument() -> None:
    monitor = OrderSizeMonitor(factor=3, min_history=2)
    assert monitor.check("x", market(10)) is None
    assert monitor.check("x", market(10)) is None
    assert monitor.check("x", market(40)) is not None


def test_config_failures_are_reported_and_cleared(
    clock: ManualClock, bus: EventBus, alerts: list[AlertEvent]
) -> None:
    engine = AlertEngine([], event_bus=bus, clock=clock)
    event = engine.report_config_failure("oanda", "credentials.api_key is missing")
    assert event.severity is AlertSeverity.CRITICAL
    assert engine.firing[("config_validation", "oanda")] is event
    cleared = engine.clear_config_failure("oanda")
    assert cleared is not None
    assert cleared.state is AlertState.RESOLVED
    assert engine.clear_config_failure("oanda") is None
    assert alerts == [event, cleared]


async def test_a_broken_rule_does_not_stop_the_others(clock: ManualClock, bus: EventBus) -> None:
    class Broken:
        name = "broken"

        def evaluate(self, inputs: object) -> None:
            raise RuntimeError("bug")

    collector, broker = await _setup(clock, bus, [Broken(), ErrorRateRule(min_calls=1, max_error_rate=0.0)])
    broker.fail_next("place_order", StandardErrorCode.TIMEOUT)
    await broker.place_order(market())
    fired = await collector.evaluate_alerts()
    assert [a.rule for a in fired] == ["error_rate"]


async def test_health_snapshot_reads_rate_limit_use_and_breaker(clock: ManualClock, bus: EventBus) -> None:
    config = BrokerConfiguration(broker_name="oanda", limits=BrokerLimits(requests_per_second=10))
    broker = TimedBroker(clock, bus, config=config)
    await broker.authenticate()
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("oanda", broker)
    before = collector.health("oanda").rate_limit_utilization
    assert before is not None
    for _ in range(5):
        await broker.get_account_summary()
    health = collector.health("oanda")
    assert health.rate_limit_utilization == pytest.approx(before + 0.5, abs=0.01)  # 5 of 10 burst slots
    assert health.breaker_state == "closed"
    assert health.state is None  # no health check yet


async def test_configuration_manager_failures_reach_the_alerts_through_the_bus(
    clock: ManualClock, bus: EventBus, alerts: list[AlertEvent], tmp_path: Path
) -> None:
    collector = PerformanceMetricsCollector(event_bus=bus, clock=clock)
    manager = ConfigManager(persist=False, event_bus=bus, clock=clock, env={})
    await collector.start_collection()
    try:
        broken = tmp_path / "brokers.yaml"
        broken.write_text("brokers:\n  oanda:\n    limits:\n      requests_per_second: -1\n")
        with pytest.raises(ConfigError):
            manager.load(broken)
        firing = collector.alerts.firing[("config_validation", "oanda")]
        assert "requests_per_second" in firing.message
        await manager.aset_configuration("oanda", BrokerConfiguration(broker_name="oanda"))
        assert ("config_validation", "oanda") not in collector.alerts.firing
        assert [a.state for a in alerts if a.rule == "config_validation"] == [
            AlertState.FIRING,
            AlertState.RESOLVED,
        ]
    finally:
        await collector.stop_collection()
    with pytest.raises(ConfigError):
        manager.load(broken)
    assert ("config_validation", "oanda") not in collector.alerts.firing  # no longer watched once stopped
