from __future__ import annotations

import asyncio

import pytest
from scripted_venue import ScriptedVenue, an_order

from broker_integration.broker_config import BrokerConfiguration, BrokerSettings
from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.journal import OrderJournal
from broker_integration.models import Delivery, OrderResult, OrderStatus, OrderTrace, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter, attach, note_request_sent
from broker_integration.store import Store


def venue_with_journal(
    store: Store, faults: list[str | None], timeout: float = 5.0, clock: ManualClock | None = None
) -> tuple[ScriptedVenue, OrderJournal]:
    config = BrokerConfiguration(broker_name="venue", settings=BrokerSettings(timeout_seconds=timeout))
    venue = ScriptedVenue(config, faults=faults, clock=clock)
    # no background settling: these tests look at what one call does (test_journal_settling covers it)
    journal = OrderJournal(store, lookup_delays=(0.001, 0.001, 0.001), settle_delays=())
    attach(venue, journal=journal)
    return venue, journal


async def test_filled_order_is_journaled(store: Store) -> None:
    venue, journal = venue_with_journal(store, [None])
    intent = an_order()
    result = await venue.place_order(intent)
    assert result.success
    assert result.status is OrderStatus.FILLED
    entry = await journal.get("venue", intent.order_id)
    assert entry is not None
    assert entry.status is OrderStatus.FILLED
    assert entry.broker_order_id == result.broker_order_id
    assert entry.to_order() == intent


@pytest.mark.parametrize("fault", ["after", "reset"])
async def test_executed_but_answer_lost_is_resolved_by_lookup_not_resent(store: Store, fault: str) -> None:
    venue, journal = venue_with_journal(store, [fault])
    intent = an_order()
    result = await venue.place_order(intent)
    assert result.success
    assert result.status is OrderStatus.FILLED
    assert result.resolved_by_lookup
    assert venue.executions == 1
    assert (await journal.get("venue", intent.order_id)).status is OrderStatus.FILLED  # type: ignore[union-attr]


@pytest.mark.parametrize("fault", ["before", "hang"])
async def test_never_executed_is_recorded_as_not_placed(store: Store, fault: str) -> None:
    venue, journal = venue_with_journal(store, [fault], timeout=0.05)
    intent = an_order()
    result = await venue.place_order(intent)
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.sent is False
    assert venue.executions == 0
    assert venue.lookups == 1  # one look at the venue's complete record proves it
    assert (await journal.get("venue", intent.order_id)).status is OrderStatus.REJECTED  # type: ignore[union-attr]


async def test_unknown_stays_unknown_while_lookups_fail(store: Store) -> None:
    clock = ManualClock()
    venue, journal = venue_with_journal(store, ["after"], clock=clock)
    venue.lookup_faults.extend(["before"] * 40)  # outlasts the read retries of every lookup
    intent = an_order()
    result = await venue.place_order(intent)
    assert result.status is OrderStatus.UNKNOWN
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.OUTCOME_UNKNOWN
    assert "do not resend" in result.error.message
    assert [e.client_order_id for e in await journal.in_flight("venue")] == [intent.order_id]
    venue.lookup_faults.clear()
    assert venue.resilience is not None
    assert venue.resilience.breaker_open
    clock.advance(60)  # the breaker lets a probe through; the venue answers again
    settled = await journal.reconcile(venue)
    assert [e.status for e in settled] == [OrderStatus.FILLED]
    assert venue.executions == 1


async def test_same_intent_twice_is_sent_once(store: Store) -> None:
    venue, _ = venue_with_journal(store, [None, None])
    intent = an_order()
    first = await venue.place_order(intent)
    second = await venue.place_order(intent)
    assert first.broker_order_id == second.broker_order_id
    assert second.status is OrderStatus.FILLED
    assert venue.executions == 1


async def test_concurrent_copies_of_one_intent_execute_once(store: Store) -> None:
    venue, _ = venue_with_journal(store, [])
    intent = an_order()
    results = await asyncio.gather(*(venue.place_order(intent) for _ in range(10)))
    assert venue.executions == 1
    assert {r.broker_order_id for r in results if r.success} == {"1"}


async def test_refused_intent_is_not_sent_again(store: Store) -> None:
    venue, journal = venue_with_journal(store, ["refuse", None])
    intent = an_order()
    first = await venue.place_order(intent)
    assert first.error is not None
    assert first.error.error_code is StandardErrorCode.INSUFFICIENT_FUNDS
    again = await venue.place_order(intent)
    assert again.error is not None
    assert again.error.error_code is StandardErrorCode.DUPLICATE_ORDER
    assert venue.executions == 0
    assert (await journal.get("venue", intent.order_id)).status is OrderStatus.REJECTED  # type: ignore[union-attr]


async def test_reconcile_after_restart(store_url: str) -> None:
    url = store_url
    venue = ScriptedVenue(BrokerConfiguration(broker_name="venue"))
    placed, lost = an_order(), an_order()
    async with Store(url) as store:
        journal = OrderJournal(store)
        await journal.record_intent("venue", placed)
        await journal.record_intent("venue", lost)
    await venue.place_order(placed)  # reached the venue, but the process died before recording it
    async with Store(url) as store:
        journal = OrderJournal(store, cluster_interval=0.05)
        assert len(await journal.in_flight("venue")) == 2
        settled = {e.client_order_id: e.status for e in await journal.reconcile(venue)}
        if (
            store.is_postgresql
        ):  # the dead instance's intents are orphans once its lock is gone for an interval
            assert settled == {}
            await asyncio.sleep(0.1)
            settled = {e.client_order_id: e.status for e in await journal.reconcile(venue)}
        assert settled == {placed.order_id: OrderStatus.FILLED, lost.order_id: OrderStatus.REJECTED}
        assert await journal.in_flight("venue") == []
        await journal.aclose()


class SendingVenue(ScriptedVenue):
    """Says when its request leaves the process; ``crash_before_sending`` fails before that."""

    reports_sending = True
    crash_before_sending = False

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        if self.crash_before_sending:
            raise KeyError("a bug while building the request")
        note_request_sent()
        return await super().place_order(order)


async def test_a_failure_before_the_request_left_is_not_sent_and_not_looked_up(store: Store) -> None:
    config = BrokerConfiguration(broker_name="venue")
    venue = SendingVenue(config)
    journal = OrderJournal(store, lookup_delays=(0.001,), settle_delays=())
    attach(venue, journal=journal)
    venue.crash_before_sending = True
    intent = an_order()
    result = await venue.place_order(intent)
    assert result.status is OrderStatus.REJECTED
    assert result.delivery is Delivery.NOT_SENT
    assert venue.lookups == 0  # nothing to look up: nothing left
    assert (await journal.get("venue", intent.order_id)).status is OrderStatus.REJECTED  # type: ignore[union-attr]
    venue.crash_before_sending = False
    venue.faults.append("after")  # sent, executed, answer lost: that one is looked up
    lost = an_order()
    assert (await venue.place_order(lost)).status is OrderStatus.FILLED
    assert venue.lookups == 1


class SilentVenue(ScriptedVenue):
    """Answers lookups but keeps no history: it cannot prove an order absent."""

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        return await BrokerAdapter.trace_order(self, client_order_id, since)


async def test_a_lookup_that_finds_nothing_is_not_evidence(store: Store) -> None:
    clock = ManualClock()
    venue = SilentVenue(BrokerConfiguration(broker_name="venue"), faults=["before"], clock=clock)
    journal = OrderJournal(store, clock=clock, lookup_delays=(0.001,) * 3, settle_delays=())
    attach(venue, journal=journal)
    intent = an_order()
    result = await venue.place_order(intent)
    assert result.status is OrderStatus.UNKNOWN  # three lookups found nothing: still unknown
    assert venue.lookups == 3
    assert result.error is not None
    assert "keeps no history to search" in result.error.message
    clock.advance(3600)
    assert [e.status for e in await journal.reconcile(venue)] == [OrderStatus.UNKNOWN]


async def test_an_outcome_moves_only_as_the_order_state_machine_allows_and_keeps_what_it_does_not_say(
    store: Store,
) -> None:
    journal = OrderJournal(store)
    intent = an_order()
    assert await journal.record_intent("venue", intent)
    assert await journal.record_outcome("venue", intent.order_id, OrderStatus.ACCEPTED, broker_order_id="B-1")
    assert await journal.record_outcome(
        "venue", intent.order_id, OrderStatus.FILLED, filled_quantity=intent.quantity, average_fill_price=None
    )
    assert not await journal.record_outcome("venue", intent.order_id, OrderStatus.SUBMITTED)  # no way back
    assert not await journal.record_outcome(  # only out of an in-flight status
        "venue", intent.order_id, OrderStatus.CANCELLED, only_from={OrderStatus.SUBMITTED}
    )
    entry = await journal.get("venue", intent.order_id)
    assert entry is not None
    assert (entry.status, entry.broker_order_id, entry.filled_quantity) == (
        OrderStatus.FILLED,
        "B-1",
        intent.quantity,
    )
    assert entry.average_fill_price is None
    with pytest.raises(KeyError):
        await journal.record_outcome("venue", "never-journaled", OrderStatus.FILLED)
