"""One journal across processes on PostgreSQL: an intent placed once however many instances hold it, one
leader per broker's reconciliation, and the unknown outcomes of an instance that died settled by the others.

Each "process" here is a journal with a store (so a database session) of its own and an adapter of its own
over one shared scripted venue: what tells processes apart for the journal is exactly that.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from scripted_venue import ScriptedVenue, an_order

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.events import EventBus, OrderSettledEvent
from broker_integration.journal import OrderJournal
from broker_integration.models import OrderStatus
from broker_integration.pipeline import attach
from broker_integration.store import Store
from store_engines import NO_SERVER

INTERVAL = 0.05


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """Several processes share a journal on PostgreSQL only."""
    return pg_database


class Process:
    """One trading process: its store session, its journal and its adapter on the shared venue."""

    def __init__(self, url: str, venue: ScriptedVenue | None = None) -> None:
        self.store = Store(url)
        self.bus = EventBus()
        self.adapter = ScriptedVenue(BrokerConfiguration(broker_name="venue"), event_bus=self.bus)
        if venue is not None:  # one venue: share its record
            self.adapter.orders = venue.orders
            self.adapter.executions_by_client = venue.executions_by_client
        self.journal = OrderJournal(
            self.store, lookup_delays=(0.001,), settle_delays=(), cluster_interval=INTERVAL
        )
        attach(self.adapter, journal=self.journal)
        self.settled: list[OrderSettledEvent] = []
        self.bus.subscribe(OrderSettledEvent, self.settled.append)

    async def start(self) -> Process:
        await self.store.open()
        await self.adapter.authenticate()
        self.journal.watch(self.adapter)
        return self

    async def die(self) -> None:
        """As a killed process: its session ends (its locks go with it), nothing is settled on the way out."""
        await self.store.close()


async def wait_for(condition: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - polling state with no event
            await asyncio.sleep(INTERVAL / 2)


async def test_one_intent_held_by_several_processes_is_placed_once(pg_url: str) -> None:
    first = await Process(pg_url).start()
    others = [await Process(pg_url, first.adapter).start() for _ in range(3)]
    intent = an_order()
    try:
        results = await asyncio.gather(*(p.adapter.place_order(intent) for p in (first, *others)))
        assert first.adapter.executions_by_client == Counter({intent.order_id: 1})
        assert {r.broker_order_id for r in results} == {"1"}
        assert {r.status for r in results} == {OrderStatus.FILLED}
    finally:
        for process in (first, *others):
            await process.journal.aclose()
            await process.die()


async def test_one_leader_per_broker_and_the_next_takes_over_when_it_dies(pg_url: str) -> None:
    processes = [await Process(pg_url).start() for _ in range(3)]
    try:

        def leaders() -> list[Process]:
            return [p for p in processes if p.journal.cluster and "venue" in p.journal.cluster.leading]

        await wait_for(lambda: len(leaders()) == 1)
        await asyncio.sleep(INTERVAL * 4)
        (leader,) = leaders()  # still one: the others tried and were refused
        assert await leader.journal.reconcile(leader.adapter) == []
        follower = next(p for p in processes if p is not leader)
        assert await follower.journal.reconcile(follower.adapter) == []  # not the leader: reconciles nothing
        processes.remove(leader)
        await leader.die()
        await wait_for(lambda: len(leaders()) == 1)
    finally:
        for process in processes:
            await process.journal.aclose()
            await process.die()


async def test_the_unknown_outcome_of_a_process_that_died_is_settled_by_another(pg_url: str) -> None:
    doomed = await Process(pg_url).start()
    survivor = await Process(pg_url, doomed.adapter).start()
    try:
        intent = an_order()
        doomed.adapter.faults.append("after")  # executed, the answer lost...
        doomed.adapter.lookup_faults.extend(["before"] * 10)  # ...and the venue cannot be asked just then
        result = await doomed.adapter.place_order(intent)
        assert result.status is OrderStatus.UNKNOWN
        await asyncio.sleep(INTERVAL * 4)
        # alive, its unknown outcome is its own: the leader leaves it alone
        entry = await survivor.journal.get("venue", intent.order_id)
        assert entry is not None
        assert entry.status is OrderStatus.UNKNOWN
        assert entry.owner_key == doomed.journal.key

        await doomed.die()

        async def settled() -> bool:
            found = await survivor.journal.get("venue", intent.order_id)
            return found is not None and found.status is OrderStatus.FILLED

        async with asyncio.timeout(5):
            while not await settled():  # noqa: ASYNC110 - a row, not an event
                await asyncio.sleep(INTERVAL)
        assert [e.client_order_id for e in survivor.settled] == [intent.order_id]
        assert survivor.adapter.executions_by_client[intent.order_id] == 1
    finally:
        await survivor.journal.aclose()
        await survivor.die()


async def test_on_sqlite_there_is_no_cluster(store: Store) -> None:
    journal = OrderJournal(store)
    if store.is_postgresql:
        assert journal.cluster is not None
        assert journal.cluster.key == journal.key
    else:
        assert journal.cluster is None, NO_SERVER
