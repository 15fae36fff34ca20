"""Profiles cached in the store with a time-to-live, re-discovery on a schedule, and change events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from capability_venues import OverclaimingMock, calls_of, on_nth_call, paper_config, venue_orders

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.capability_discovery import (
    CapabilityChangedEvent,
    CapabilityDiscoveryEngine,
    CapabilityStatus,
    CapabilityTestType,
)
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerCapability
from broker_integration.store import Store, capability_profiles_table, sqlite_url

C = BrokerCapability
S = CapabilityStatus


async def test_a_cached_profile_is_served_without_calling_the_broker(
    paper: PaperBrokerAdapter, store: Store
) -> None:
    engine = CapabilityDiscoveryEngine(store=store)
    events = calls_of(paper.event_bus)
    first = await engine.get_profile(paper)
    calls = len(events)
    assert calls > 0
    second = await engine.get_profile(paper)
    assert len(events) == calls  # no broker call: it came from the store
    assert second == first
    async with store.connect() as conn:
        rows = (await conn.execute(capability_profiles_table.select())).all()
    assert [(r.broker_name, r.test_type) for r in rows] == [("paper", "dynamic")]


async def test_expired_or_too_old_profiles_are_rediscovered(
    paper: PaperBrokerAdapter, store: Store, clock: ManualClock
) -> None:
    engine = CapabilityDiscoveryEngine(store=store, ttl=timedelta(minutes=10))
    first = await engine.get_profile(paper)
    clock.advance(60)
    assert await engine.get_profile(paper) == first
    younger = await engine.get_profile(paper, max_age=timedelta(seconds=30))
    assert younger.discovered_at > first.discovered_at
    clock.advance(11 * 60)
    expired = await engine.get_profile(paper)
    assert expired.discovered_at > younger.discovered_at


async def test_a_deeper_cached_profile_answers_a_shallower_request(
    paper: PaperBrokerAdapter, store: Store
) -> None:
    engine = CapabilityDiscoveryEngine(store=store)
    static = await engine.get_profile(paper, test_type=CapabilityTestType.STATIC)
    dynamic = await engine.get_profile(paper)  # a static profile does not answer a dynamic request
    assert dynamic.test_type is CapabilityTestType.DYNAMIC
    assert static.test_type is CapabilityTestType.STATIC
    synthetic = await engine.refresh(paper, CapabilityTestType.SYNTHETIC)
    assert await engine.get_profile(paper, test_type="dynamic") == synthetic
    assert venue_orders(paper) == []


async def test_the_cache_outlives_the_engine(paper: PaperBrokerAdapter, store: Store) -> None:
    first = await CapabilityDiscoveryEngine(store=store).get_profile(paper)
    events = calls_of(paper.event_bus)
    engine = CapabilityDiscoveryEngine(store=store)
    again = await engine.get_profile(paper)
    assert again == first
    assert events == []
    assert engine.latest(paper) == first  # so a cached profile can be enforced at once
    assert engine.enforce(paper).profile == first


async def test_a_disappearing_capability_is_announced_once(store: Store) -> None:
    async with OverclaimingMock(event_bus=EventBus()) as adapter:
        adapter.history_works = True
        changes: list[CapabilityChangedEvent] = []
        adapter.event_bus.subscribe(CapabilityChangedEvent, changes.append)
        engine = CapabilityDiscoveryEngine(store=store)
        await engine.refresh(adapter)
        await engine.refresh(adapter)
        assert changes == []  # nothing appeared or disappeared
        adapter.history_works = False
        broken = await engine.refresh(adapter)
        assert broken.capabilities[C.HISTORICAL_DATA].status is S.FAILED
        [event] = changes
        assert event.broker_name == adapter.name
        assert event.adapter_id == adapter.adapter_id
        assert event.diff.removed_capabilities == (C.HISTORICAL_DATA,)
        assert "granularity H1" in event.disappeared
        # a new engine (a new process) compares with the profile in the store
        adapter.history_works = True
        await CapabilityDiscoveryEngine(store=store).refresh(adapter)
        assert changes[-1].diff.added_capabilities == (C.HISTORICAL_DATA,)


async def test_enforced_checks_follow_a_rediscovery(store: Store) -> None:
    async with OverclaimingMock(event_bus=EventBus()) as adapter:
        adapter.history_works = True
        engine = CapabilityDiscoveryEngine(store=store)
        first = await engine.refresh(adapter)
        guard = engine.enforce(adapter)
        assert guard.profile is first
        second = await engine.refresh(adapter)
        assert guard.profile is second


async def test_scheduled_discovery_refreshes_and_announces_changes(store: Store) -> None:
    async with OverclaimingMock(event_bus=EventBus()) as adapter:
        adapter.history_works = True
        changed = asyncio.Event()
        adapter.event_bus.subscribe(CapabilityChangedEvent, lambda _: changed.set())
        # authenticate opens each round (the first call was `async with`): break the candles in round two
        on_nth_call(adapter.event_bus, "authenticate", 3, lambda: setattr(adapter, "history_works", False))
        engine = CapabilityDiscoveryEngine(store=store)
        engine.start_scheduled_discovery([adapter], interval=0.01)
        assert engine.is_scheduled
        with pytest.raises(RuntimeError, match="already running"):
            engine.start_scheduled_discovery([adapter], interval=0.01)
        async with asyncio.timeout(10):
            await changed.wait()
        assert engine.scheduled_rounds >= 1
        await engine.stop_scheduled_discovery()
        assert not engine.is_scheduled
        latest = engine.latest(adapter)
        assert latest is not None
        assert latest.capabilities[C.HISTORICAL_DATA].status is S.FAILED


async def test_stopping_a_scheduled_synthetic_discovery_cleans_up_first(
    clock: ManualClock, store: Store
) -> None:
    config = paper_config(latency={"median_ms": 0.5, "sigma": 0.1})
    async with PaperBrokerAdapter(config, event_bus=EventBus(), clock=clock) as adapter:
        engine = CapabilityDiscoveryEngine(store=store)
        second_order = asyncio.Event()
        on_nth_call(adapter.event_bus, "place_order", 2, second_order.set)
        engine.start_scheduled_discovery([adapter], interval=60, test_type=CapabilityTestType.SYNTHETIC)
        async with asyncio.timeout(10):
            await second_order.wait()
        await engine.stop_scheduled_discovery()
        assert {o.client_order_id for o in venue_orders(adapter, include_closed=True)}
        assert venue_orders(adapter) == []


async def test_scheduling_needs_adapters_and_a_positive_interval(paper: PaperBrokerAdapter) -> None:
    engine = CapabilityDiscoveryEngine()
    with pytest.raises(ValueError, match="positive"):
        engine.start_scheduled_discovery([paper], interval=0)
    with pytest.raises(ValueError, match="at least one adapter"):
        engine.start_scheduled_discovery([], interval=1)
    await engine.close()


async def test_the_engine_closes_a_store_it_opened_and_leaves_an_open_one_open(
    paper: PaperBrokerAdapter, store: Store, tmp_path: Path
) -> None:
    unopened = Store(sqlite_url(tmp_path / "opened-by-the-engine.sqlite3"))
    engine = CapabilityDiscoveryEngine(store=unopened)
    await engine.get_profile(paper)
    assert unopened.is_open
    await engine.close()
    assert not unopened.is_open  # its connection thread does not outlive the engine

    shared = CapabilityDiscoveryEngine(store=store)
    await shared.get_profile(paper)
    await shared.close()
    assert store.is_open  # the caller's store: the caller closes it
