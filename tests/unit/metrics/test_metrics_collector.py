"""The collector: subscriptions, windows over minute buckets, persistence across restarts, background loops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from metrics_helpers import TimedBroker, market, place_many

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus, HealthEvent
from broker_integration.metrics.periods import ComparisonPeriod, TimeWindow
from broker_integration.metrics.repository import StoreRepository
from broker_integration.models import HealthState
from broker_integration.performance_metrics import PerformanceMetricsCollector
from broker_integration.store import Store, sqlite_url


async def _broker(clock: ManualClock, bus: EventBus, ms: float = 2.0) -> TimedBroker:
    broker = TimedBroker(clock, bus, latency_ms=ms)
    await broker.authenticate()
    return broker


async def test_counts_only_registered_adapters_under_their_names(clock: ManualClock, bus: EventBus) -> None:
    a, b, stranger = await _broker(clock, bus, 2), await _broker(clock, bus, 7), await _broker(clock, bus)
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("oanda", a)
    collector.register_broker("alpaca", b)
    await place_many(a, 3)
    await place_many(b, 2)
    await place_many(stranger, 5)
    oanda = await collector.metrics("oanda")
    alpaca = await collector.metrics("alpaca")
    assert oanda.operations["place_order"].calls == 3
    assert alpaca.operations["place_order"].calls == 2
    assert alpaca.operations["place_order"].latency.p50_ms == pytest.approx(7.0, rel=1e-3)
    assert (
        bus.subscriber_count == 4
    )  # one each for call, health, settlement and order-update events (shared bus)
    collector.unregister_broker("oanda")
    await place_many(a, 4)
    assert (await collector.metrics("oanda")).operations["place_order"].calls == 3
    collector.unregister_broker("alpaca")
    assert bus.subscriber_count == 0


async def test_registration_refuses_duplicates(clock: ManualClock, bus: EventBus) -> None:
    a = await _broker(clock, bus)
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("oanda", a)
    with pytest.raises(ValueError, match="already registered as 'oanda'"):
        collector.register_broker("other", a)
    with pytest.raises(ValueError, match="already registered"):
        collector.register_broker("oanda", await _broker(clock, bus))


async def test_windows_cover_only_their_minutes(clock: ManualClock, bus: EventBus) -> None:
    a = await _broker(clock, bus)
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("oanda", a)
    start = clock.now()
    await place_many(a, 5)  # at 14:30
    clock.advance(2 * 3600)
    await place_many(a, 2)  # at 16:30
    await collector.flush()
    clock.advance(30)
    assert (await collector.metrics("oanda", ComparisonPeriod.LAST_HOUR)).calls == 2
    assert (await collector.metrics("oanda", ComparisonPeriod.LAST_DAY)).calls == 7
    first_minute = ComparisonPeriod.custom(start, start + timedelta(minutes=1))
    assert (await collector.metrics("oanda", first_minute)).calls == 5
    clock.advance(8 * 86400)
    assert (await collector.metrics("oanda", ComparisonPeriod.LAST_WEEK)).calls == 0
    assert (await collector.metrics("oanda", ComparisonPeriod.ALL)).calls == 7


async def test_a_day_of_buckets_survives_a_restart(store_url: str, clock: ManualClock, bus: EventBus) -> None:
    url = store_url
    async with Store(url) as store:
        first = PerformanceMetricsCollector(store=store, clock=clock, source="run-1")
        a, b = await _broker(clock, bus, 3), await _broker(clock, bus, 9)
        first.register_broker("oanda", a)
        first.register_broker("alpaca", b)
        for _ in range(3):  # three hours of traffic
            await place_many(a, 20)
            await place_many(b, 20)
            clock.advance(3600)
        await first.stop_collection()  # flushes
        await first.close()
    clock.advance(600)
    async with Store(url) as store:
        second = PerformanceMetricsCollector(store=store, clock=clock, source="run-2")
        a2 = await _broker(clock, bus, 3)
        second.register_broker("oanda", a2)
        await place_many(a2, 10)  # this run adds to the same day
        oanda = await second.metrics("oanda", ComparisonPeriod.LAST_DAY)
        assert oanda.operations["place_order"].calls == 70
        assert oanda.operations["place_order"].latency.p99_ms == pytest.approx(3.0, rel=1e-3)
        comparison = await second.compare_brokers(["oanda", "alpaca"], ComparisonPeriod.LAST_DAY)
        assert comparison.metrics["alpaca"].calls == 60
        assert comparison.metrics["alpaca"].operations["place_order"].latency.p50_ms == pytest.approx(
            9.0, rel=1e-3
        )


async def test_close_closes_a_store_the_collector_opened_and_no_other(
    tmp_path: Path, clock: ManualClock, bus: EventBus
) -> None:
    unopened = Store(sqlite_url(tmp_path / "opened-by-the-collector.sqlite3"))
    collector = PerformanceMetricsCollector(store=unopened, clock=clock)
    broker = await _broker(clock, bus)
    collector.register_broker("oanda", broker)
    await place_many(broker, 3)
    assert await collector.flush() > 0
    assert unopened.is_open
    await collector.close()
    assert not unopened.is_open  # its connection thread does not outlive the collector

    async with Store(sqlite_url(tmp_path / "the-callers.sqlite3")) as callers:
        shared = PerformanceMetricsCollector(store=callers, clock=clock)
        await shared.flush()
        await shared.close()
        assert callers.is_open  # the caller's store: the caller closes it


async def test_repeated_flushes_of_one_minute_merge_instead_of_overwriting(
    store_url: str, clock: ManualClock, bus: EventBus
) -> None:
    async with Store(store_url) as store:
        collector = PerformanceMetricsCollector(store=store, clock=clock)
        a = await _broker(clock, bus)
        collector.register_broker("oanda", a)
        await place_many(a, 2)
        assert await collector.flush() == 1
        await place_many(a, 3)
        assert await collector.flush() == 1
        assert await collector.flush() == 0
        repo = StoreRepository(store, collector.source)
        records = await repo.load(TimeWindow(0, 2**40))
        assert [r.counters["calls"] for r in records] == [5]


async def test_a_failed_flush_keeps_the_buckets(
    clock: ManualClock, bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = PerformanceMetricsCollector(clock=clock)
    a = await _broker(clock, bus)
    collector.register_broker("oanda", a)
    await place_many(a, 4)

    async def broken(records: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(collector._repo, "merge", broken)
    with pytest.raises(OSError, match="disk full"):
        await collector.flush()
    await place_many(a, 1)
    monkeypatch.undo()
    assert await collector.flush() == 1
    assert (await collector.metrics("oanda")).calls == 5


async def test_retention_purges_old_buckets(clock: ManualClock, bus: EventBus) -> None:
    collector = PerformanceMetricsCollector(clock=clock, retention=timedelta(hours=2))
    a = await _broker(clock, bus)
    collector.register_broker("oanda", a)
    await place_many(a, 3)
    await collector.flush()
    clock.advance(3 * 3600)
    await place_many(a, 1)
    await collector.flush()
    assert (await collector.metrics("oanda", ComparisonPeriod.ALL)).calls == 1


async def test_background_loops_probe_flush_and_stop_cleanly(clock: ManualClock, bus: EventBus) -> None:
    sleeps: list[float] = []
    gate = asyncio.Event()

    async def manual_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 6:
            gate.set()
            await asyncio.Event().wait()  # park until cancelled
        clock.advance(seconds)
        await asyncio.sleep(0)

    collector = PerformanceMetricsCollector(
        clock=clock, probe_interval=30, flush_interval=10, probe_instruments=["EUR/USD"], sleep=manual_sleep
    )
    a = await _broker(clock, bus)
    collector.register_broker("oanda", a)
    collector.start_collection()  # as the seed calls it: not awaited, yet the loops run
    assert collector.is_collecting
    await asyncio.wait_for(gate.wait(), timeout=5)
    await collector.stop_collection()
    assert not collector.is_collecting
    metrics = await collector.metrics("oanda")
    checks = metrics.reliability.health_checks
    prices = metrics.operations["get_current_price"].calls
    assert checks >= 2
    assert prices == checks  # each round: one health check, then one price
    assert metrics.operations["health_check"].calls == checks
    assert set(sleeps) == {10, 30}
    health = collector.health("oanda")
    assert health.state is HealthState.HEALTHY
    assert health.feed_age_seconds is not None
    assert collector.quotes.last_tick("oanda") is not None


async def test_start_collection_awaited_opens_the_store_and_a_second_start_is_the_same(
    clock: ManualClock, bus: EventBus, tmp_path: Path
) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    collector = PerformanceMetricsCollector(
        store=store, clock=clock, probe_interval=3600, flush_interval=3600
    )
    collector.register_broker("oanda", await _broker(clock, bus))
    started = collector.start_collection()
    assert not store.is_open
    await started
    assert store.is_open
    assert collector.start_collection() is started
    await collector.stop_collection()


async def test_health_events_and_failed_checks_set_availability_and_uptime(
    clock: ManualClock, bus: EventBus
) -> None:
    collector = PerformanceMetricsCollector(clock=clock)
    a = await _broker(clock, bus)
    collector.register_broker("oanda", a)
    for state in (HealthState.HEALTHY, HealthState.DOWN, HealthState.HEALTHY, HealthState.HEALTHY):
        bus.publish(
            HealthEvent(
                time=clock.now(),
                broker_name="oanda",
                adapter_id=a.adapter_id,
                state=state,
                previous_state=None,
                consecutive_failures=0,
            )
        )
        clock.advance(60)
    metrics = await collector.metrics("oanda")
    assert metrics.reliability.availability == pytest.approx(0.75)
    assert metrics.reliability.uptime_seconds == pytest.approx(120)
    await a.disconnect()
    await collector.probe_once()  # the mock reports DOWN when not authenticated
    health = collector.health("oanda")
    assert health.state is HealthState.DOWN
    assert health.authenticated is False
    assert health.uptime_seconds is None


async def test_authentication_failures_are_noted(clock: ManualClock, bus: EventBus) -> None:
    collector = PerformanceMetricsCollector(clock=clock)
    a = await _broker(clock, bus)
    collector.register_broker("oanda", a)
    a.fail_next("place_order", StandardErrorCode.AUTHENTICATION_FAILED)
    await a.place_order(market())
    assert collector.health("oanda").last_auth_failure == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


async def test_export_json_lists_brokers_health_and_alerts(clock: ManualClock, bus: EventBus) -> None:
    collector = PerformanceMetricsCollector(clock=clock)
    a = await _broker(clock, bus)
    collector.register_broker("oanda", a)
    await place_many(a, 2)
    collector.report_config_failure("oanda", "limits.requests_per_second must be positive")
    document = await collector.export_dict()
    assert document["brokers"]["oanda"]["operations"]["place_order"]["calls"] == 2  # type: ignore[index]
    assert document["health"]["oanda"]["authenticated"] is True  # type: ignore[index]
    assert document["alerts"][0]["rule"] == "config_validation"  # type: ignore[index]
    assert '"period": "last_hour"' in await collector.export_json()
