"""Rate limits held in the store: one GCRA bucket per broker account that every process takes its slots
from, on both engines; and the pipeline taking its slots there when the configuration shares its limits."""

from __future__ import annotations

import pytest

from broker_integration.broker_config import BrokerConfiguration, BrokerLimits
from broker_integration.pipeline import build_pipeline
from broker_integration.pipeline.shared_limits import SharedLimits, SharedRateLimiter, limit_scope
from broker_integration.store import Store, rate_limits_table
from broker_integration.testing import MockBrokerAdapter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_two_processes_take_their_slots_from_one_bucket(store_url: str) -> None:
    clock = Clock()
    async with Store(store_url) as one, Store(store_url) as other:  # two sessions, as two processes
        a = SharedRateLimiter(one, "oanda:001:orders", rate=10, burst=2, clock=clock)
        b = SharedRateLimiter(other, "oanda:001:orders", rate=10, burst=2, clock=clock)
        waits = [await limiter.reserve() for limiter in (a, b, a, b, a)]
        assert waits == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])  # a burst of two, then 0.1 s apart
        clock.now += 1.0  # the bucket refills: a burst again
        assert [await b.reserve(), await a.reserve(), await b.reserve()] == pytest.approx([0.0, 0.0, 0.1])


async def test_a_429_pauses_every_process(store_url: str) -> None:
    clock = Clock()
    async with Store(store_url) as one, Store(store_url) as other:
        a = SharedRateLimiter(one, "oanda:001:requests", rate=100, clock=clock)
        b = SharedRateLimiter(other, "oanda:001:requests", rate=100, clock=clock)
        assert await a.reserve() == 0.0
        await a.cool_down(2.0)
        assert await b.reserve() == pytest.approx(2.0)
        await b.cool_down(0.5)  # a shorter pause never shortens a longer one
        assert await a.reserve() == pytest.approx(2.0)


async def test_limits_of_different_accounts_are_apart(store: Store) -> None:
    clock = Clock()
    one = SharedRateLimiter(store, limit_scope("oanda", "001", "orders"), rate=1, burst=1, clock=clock)
    two = SharedRateLimiter(store, limit_scope("oanda", "002", "orders"), rate=1, burst=1, clock=clock)
    assert [await one.reserve(), await two.reserve(), await one.reserve()] == [0.0, 0.0, 1.0]


async def test_an_order_action_takes_a_request_slot_and_an_order_slot_together(store: Store) -> None:
    """Both slots in one statement; the first call on an account makes both rows and takes one slot of
    each (not two of the one already there)."""
    clock = Clock()
    limits = SharedLimits(
        requests=SharedRateLimiter(
            store, limit_scope("oanda", "001", "requests"), rate=10, burst=2, clock=clock
        ),
        orders=SharedRateLimiter(store, limit_scope("oanda", "001", "orders"), rate=1, burst=1, clock=clock),
    )
    await limits.requests.reserve()  # the requests row exists, the orders row not yet
    waits = [await limits.reserve(order_action=True), await limits.reserve(order_action=False)]
    assert waits == pytest.approx([0.0, 0.1])  # requests: a burst of two, then 0.1 s apart
    assert await limits.reserve(order_action=True) == pytest.approx(1.0)  # the order slot is the later
    async with store.connect() as conn:
        scopes = {row.scope for row in await conn.execute(rate_limits_table.select())}
    assert scopes == {"oanda:001:requests", "oanda:001:orders"}


async def test_adapters_sharing_an_account_share_its_limits(store_url: str) -> None:
    """Two adapters (two processes) configured with shared limits: the second's calls wait behind the
    first's, so together they keep the rate; without sharing each would have the whole rate."""
    config = BrokerConfiguration(
        broker_name="mock",
        credentials={"account_id": "acc-1"},
        limits=BrokerLimits(requests_per_second=10, max_orders_per_second=10, shared=True),
    )
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with Store(store_url) as one, Store(store_url) as other:
        adapters = []
        for store in (one, other):
            adapter = MockBrokerAdapter(config)
            build_pipeline(adapter, config, store=store, sleep=record)
            await adapter.authenticate(config.credentials)
            adapters.append(adapter)
        for _ in range(10):
            for adapter in adapters:
                await adapter.get_account_summary()
        async with one.connect() as conn:
            scopes = {row.scope for row in await conn.execute(rate_limits_table.select())}
    assert scopes == {"mock:acc-1:requests"}
    # 20 calls at 10/s with a burst of 10: the last waits about a second; each adapter alone would not wait
    assert max(waits) == pytest.approx(1.0, abs=0.3)
