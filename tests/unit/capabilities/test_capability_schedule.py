"""The re-discovery scheduler: rounds one after another, failures survive, stopping cancels cleanly."""

from __future__ import annotations

import asyncio

import pytest

from broker_integration.capabilities.schedule import DiscoveryScheduler
from broker_integration.pipeline import BrokerAdapter
from broker_integration.testing import MockBrokerAdapter


async def test_refreshes_never_overlap_and_a_failure_does_not_stop_the_rounds() -> None:
    adapters: list[BrokerAdapter] = [MockBrokerAdapter(), MockBrokerAdapter()]
    active, most, seen = 0, 0, []
    three_rounds = asyncio.Event()

    async def refresh(adapter: BrokerAdapter) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0)  # give a would-be overlapping refresh the chance to start
        active -= 1
        seen.append(adapter)
        if len(seen) == 1:
            raise RuntimeError("the broker was down")

    async def sleep(_: float) -> None:
        if scheduler.rounds >= 3:
            three_rounds.set()
        await asyncio.sleep(0)

    scheduler = DiscoveryScheduler(refresh, sleep=sleep)
    scheduler.start(adapters, interval=30)
    async with asyncio.timeout(5):
        await three_rounds.wait()
    await scheduler.stop()
    assert not scheduler.running
    assert most == 1
    assert seen[:6] == adapters * 3  # in order, round after round, the first failure notwithstanding


async def test_stop_waits_for_the_refresh_under_way_to_handle_its_cancellation() -> None:
    started, cleaned = asyncio.Event(), []

    async def refresh(_: BrokerAdapter) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(True)

    scheduler = DiscoveryScheduler(refresh)
    scheduler.start([MockBrokerAdapter()], interval=1)
    await started.wait()
    await scheduler.stop()
    assert cleaned == [True]
    await scheduler.stop()  # stopping twice is harmless


async def test_it_starts_once() -> None:
    async def refresh(_: BrokerAdapter) -> None:
        await asyncio.sleep(3600)

    scheduler = DiscoveryScheduler(refresh)
    scheduler.start([MockBrokerAdapter()], interval=1)
    with pytest.raises(RuntimeError, match="already running"):
        scheduler.start([MockBrokerAdapter()], interval=1)
    await scheduler.stop()
