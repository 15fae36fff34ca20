"""Unknown outcomes settled within the session: background lookups, the grace before "never placed",
orders still being placed left alone, and stopping cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from scripted_venue import ScriptedVenue, an_order

from broker_integration.broker_config import BrokerConfiguration, BrokerSettings
from broker_integration.broker_factory import BrokerFactory
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus, OrderSettledEvent
from broker_integration.journal import OrderJournal
from broker_integration.models import Order, OrderStatus, OrderTrace, UnifiedOrder
from broker_integration.pipeline import attach
from broker_integration.store import Store, sqlite_url

#: More failing lookups than the in-call lookups can use up (the breaker opens and stops them first).
FAILING_LOOKUPS = ["before"] * 40


def advancing(clock: ManualClock, gate: asyncio.Event | None = None) -> Callable[[float], Awaitable[None]]:
    """A sleep that moves the manual clock on instead of waiting; with ``gate``, a background settling
    delay (a second or more; in-call lookups wait less) also waits until the test opens the gate."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        if gate is not None and seconds >= 1:
            await gate.wait()
        await asyncio.sleep(0)

    return sleep


def setup(
    store: Store,
    faults: list[str | None],
    *,
    clock: ManualClock,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    settle_delays: tuple[float, ...] = (1.0, 10.0, 10.0),
    never_placed_after: float = 0.0,
    timeout: float = 5.0,
) -> tuple[ScriptedVenue, OrderJournal, list[OrderSettledEvent]]:
    config = BrokerConfiguration(broker_name="venue", settings=BrokerSettings(timeout_seconds=timeout))
    venue = ScriptedVenue(config, faults=faults, clock=clock, event_bus=EventBus())
    journal = OrderJournal(
        store,
        clock=clock,
        lookup_delays=(0.001, 0.001, 0.001),
        settle_delays=settle_delays,
        never_placed_after=never_placed_after,
        sleep=sleep or advancing(clock),
    )
    attach(venue, journal=journal)
    events: list[OrderSettledEvent] = []
    venue.event_bus.subscribe(OrderSettledEvent, events.append)
    return venue, journal, events


async def settling_done(journal: OrderJournal) -> None:
    async with asyncio.timeout(5):
        await journal.wait_settled()
    assert not journal.settling


async def status_of(journal: OrderJournal, intent: UnifiedOrder) -> OrderStatus:
    entry = await journal.get("venue", intent.order_id)
    assert entry is not None
    return entry.status


async def test_unknown_outcome_is_settled_once_the_broker_answers_again(store: Store) -> None:
    clock = ManualClock()
    venue, journal, events = setup(store, ["after"], clock=clock)
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    intent = an_order()
    result = await venue.place_order(intent)
    assert result.status is OrderStatus.UNKNOWN
    assert journal.settling == {("venue", intent.order_id)}
    venue.lookup_faults.clear()  # the venue answers again; the breaker is still open
    lookups_during_call = venue.lookups

    await settling_done(journal)

    assert await status_of(journal, intent) is OrderStatus.FILLED
    assert venue.executions == 1  # looked up, never sent again
    # the first background lookup met the open breaker and never reached the venue; the next one did
    assert venue.lookups == lookups_during_call + 1
    [event] = events
    assert (event.client_order_id, event.previous_status, event.status) == (
        intent.order_id,
        OrderStatus.UNKNOWN,
        OrderStatus.FILLED,
    )
    assert event.result.broker_order_id == "1"
    assert event.result.filled_quantity == intent.quantity
    assert event.adapter_id == venue.adapter_id


async def test_order_unknown_to_the_broker_is_not_placed_only_after_the_grace(store: Store) -> None:
    clock = ManualClock()
    venue, journal, events = setup(
        store, ["before"], clock=clock, settle_delays=(1.0, 10.0, 100.0), never_placed_after=50.0
    )
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    intent = an_order()
    assert (await venue.place_order(intent)).status is OrderStatus.UNKNOWN
    venue.lookup_faults.clear()
    lookups_during_call = venue.lookups

    await settling_done(journal)

    # at +11 s the venue said "not found" but the intent was too young to call it never placed; at +111 s
    # it was old enough
    assert venue.lookups == lookups_during_call + 2
    assert await status_of(journal, intent) is OrderStatus.REJECTED
    [event] = events
    assert event.status is OrderStatus.REJECTED
    assert event.result.error is not None
    assert event.result.error.sent is False
    assert "was not placed at venue: no order" in event.result.error.message  # the venue's record says so
    assert venue.executions == 0


async def test_outcome_still_unknown_when_the_delays_run_out_stays_in_flight(store: Store) -> None:
    clock = ManualClock()
    venue, journal, events = setup(store, ["after"], clock=clock, settle_delays=(10.0, 10.0))
    venue.lookup_faults.extend(FAILING_LOOKUPS * 3)  # the venue keeps failing lookups
    intent = an_order()
    assert (await venue.place_order(intent)).status is OrderStatus.UNKNOWN

    await settling_done(journal)

    assert await status_of(journal, intent) is OrderStatus.UNKNOWN
    assert [e.client_order_id for e in await journal.in_flight("venue")] == [intent.order_id]
    assert events == []
    venue.lookup_faults.clear()
    clock.advance(60)
    assert [e.status for e in await journal.reconcile(venue)] == [OrderStatus.FILLED]
    assert len(events) == 1


async def test_reconcile_leaves_an_order_that_is_still_being_placed_to_its_call(store: Store) -> None:
    clock = ManualClock()
    venue, journal, _ = setup(store, ["hang"], clock=clock, timeout=0.3)
    intent = an_order()
    placing = asyncio.create_task(venue.place_order(intent))
    async with asyncio.timeout(2):
        while await journal.get("venue", intent.order_id) is None:  # noqa: ASYNC110 (a row, not an event)
            await asyncio.sleep(0.005)

    # the intent is SUBMITTED and the broker has not seen it yet: reconciling it now would call it
    # never placed while its request may still arrive
    assert await journal.reconcile(venue, min_age_seconds=0) == []
    assert venue.lookups == 0
    assert await status_of(journal, intent) is OrderStatus.SUBMITTED

    result = await placing
    assert result.status is OrderStatus.REJECTED  # its own call timed out; the venue's record proves it
    assert venue.lookups == 1


async def test_reconcile_settling_first_leaves_the_background_lookup_nothing_to_do(store: Store) -> None:
    clock = ManualClock()
    gate = asyncio.Event()

    sleep = advancing(clock, gate)

    venue, journal, events = setup(store, ["after"], clock=clock, sleep=sleep)
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    intent = an_order()
    assert (await venue.place_order(intent)).status is OrderStatus.UNKNOWN
    venue.lookup_faults.clear()
    clock.advance(60)  # the breaker lets a probe through
    assert [e.status for e in await journal.reconcile(venue)] == [OrderStatus.FILLED]
    lookups = venue.lookups

    gate.set()
    await settling_done(journal)

    assert venue.lookups == lookups  # the background task saw the outcome recorded and stopped
    assert [e.status for e in events] == [OrderStatus.FILLED]  # one event, from whoever recorded it


async def test_two_reconciles_racing_record_and_announce_the_outcome_once(store: Store) -> None:
    clock = ManualClock()
    venue, journal, events = setup(store, ["after"], clock=clock, settle_delays=())
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    intent = an_order()
    assert (await venue.place_order(intent)).status is OrderStatus.UNKNOWN
    venue.lookup_faults.clear()
    clock.advance(60)
    lookups = venue.lookups
    both_looked = asyncio.Barrier(2)  # neither records before the other has looked: they really race
    look = venue.trace_order

    async def trace_then_wait(client_order_id: str, since: str | None = None) -> OrderTrace:
        found = await look(client_order_id, since)
        await both_looked.wait()
        return found

    venue.trace_order = trace_then_wait  # type: ignore[method-assign]
    async with asyncio.timeout(5):
        first, second = await asyncio.gather(journal.reconcile(venue), journal.reconcile(venue))

    assert venue.lookups == lookups + 2  # both looked the order up: they really raced
    assert [e.status for e in first + second] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert len(events) == 1


async def test_disconnecting_stops_background_settling(store: Store) -> None:
    clock = ManualClock()
    gate = asyncio.Event()

    sleep = advancing(clock, gate)

    venue, journal, events = setup(store, ["after"], clock=clock, sleep=sleep)
    await venue.authenticate()
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    intent = an_order()
    assert (await venue.place_order(intent)).status is OrderStatus.UNKNOWN
    venue.lookup_faults.clear()
    lookups = venue.lookups

    await venue.disconnect()
    gate.set()
    await settling_done(journal)

    assert venue.lookups == lookups
    assert await status_of(journal, intent) is OrderStatus.UNKNOWN  # left for reconcile() on the next start
    assert events == []


async def test_aclose_stops_settling_and_keeps_the_entry_in_flight(store: Store) -> None:
    clock = ManualClock()
    venue, journal, _ = setup(store, ["after"], clock=clock, sleep=asyncio.sleep, settle_delays=(3600.0,))
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    intent = an_order()
    assert (await venue.place_order(intent)).status is OrderStatus.UNKNOWN
    assert journal.settling

    await journal.aclose()

    assert not journal.settling
    assert await status_of(journal, intent) is OrderStatus.UNKNOWN


async def test_factory_close_all_stops_the_journal_settling(store: Store) -> None:
    journal = OrderJournal(store, lookup_delays=(0.001,), settle_delays=(3600.0,))
    factory = BrokerFactory(journal=journal, event_bus=EventBus(), discover_plugins=False)
    factory.register_adapter("venue", ScriptedVenue)
    venue = await factory.create_adapter("venue")
    assert isinstance(venue, ScriptedVenue)
    venue.faults.append("after")
    venue.lookup_faults.extend(FAILING_LOOKUPS)
    assert (await venue.place_order(an_order())).status is OrderStatus.UNKNOWN
    assert journal.settling

    await factory.close_all()

    assert not journal.settling


def test_negative_delays_are_refused(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "unused.sqlite3"))
    with pytest.raises(ValueError, match="must not be negative"):
        OrderJournal(store, settle_delays=(1.0, -1.0))
    with pytest.raises(ValueError, match="must not be negative"):
        OrderJournal(store, never_placed_after=-5)


async def test_on_start_up_the_factory_settles_the_last_runs_intents_young_ones_in_the_background(
    store: Store,
) -> None:
    clock = ManualClock()
    gate = asyncio.Event()

    sleep = advancing(clock, gate)

    book: dict[str, Order] = {}  # the venue's own records: they outlive our process

    class VenueWithBook(ScriptedVenue):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.orders = book

    journal = OrderJournal(
        store,
        clock=clock,
        lookup_delays=(0.001,),
        settle_delays=(1.0, 100.0),
        never_placed_after=60.0,
        sleep=sleep,
    )
    # The last run wrote three intents and died before recording any outcome; only the first reached the venue.
    placed, lost_long_ago, lost_just_now = an_order(), an_order(), an_order()
    await journal.record_intent("venue", placed)
    await journal.record_intent("venue", lost_long_ago)
    await VenueWithBook(BrokerConfiguration(broker_name="venue")).place_order(placed)
    clock.advance(120)
    await journal.record_intent("venue", lost_just_now)
    clock.advance(5)

    factory = BrokerFactory(journal=journal, clock=clock, event_bus=EventBus(), discover_plugins=False)
    factory.register_adapter("venue", VenueWithBook)
    venue = await factory.create_adapter("venue")
    events: list[OrderSettledEvent] = []
    venue.event_bus.subscribe(OrderSettledEvent, events.append)

    assert await status_of(journal, placed) is OrderStatus.FILLED
    assert await status_of(journal, lost_long_ago) is OrderStatus.REJECTED
    # five seconds old: its request could still be on its way, so it is not called never placed yet
    assert await status_of(journal, lost_just_now) is OrderStatus.SUBMITTED
    assert journal.settling == {("venue", lost_just_now.order_id)}

    gate.set()
    await settling_done(journal)

    assert await status_of(journal, lost_just_now) is OrderStatus.REJECTED
    [event] = events
    assert (event.client_order_id, event.previous_status) == (lost_just_now.order_id, OrderStatus.SUBMITTED)
    assert len(book) == 1  # nothing was sent again
    await factory.close_all()
