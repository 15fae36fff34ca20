"""The journal follows an adapter's order updates: a resting order that fills minutes later is recorded
when it fills, and an order whose answer was lost is settled by the broker's own update."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from broker_integration.events import EventBus, OrderSettledEvent, OrderUpdateEvent
from broker_integration.feeds import OrderUpdateFeed
from broker_integration.journal import OrderJournal
from broker_integration.models import OrderStatus, OrderType, TimeInForce, UnifiedOrder
from broker_integration.pipeline import attach
from broker_integration.store import Store
from broker_integration.testing import MockBrokerAdapter


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - polling state that has no event of its own
            await asyncio.sleep(0.01)


async def _connected(store: Store, bus: EventBus) -> tuple[MockBrokerAdapter, OrderJournal]:
    adapter = MockBrokerAdapter(event_bus=bus, prices={"EUR/USD": ("1.1000", "1.1002")})
    await adapter.authenticate()
    journal = OrderJournal(store, lookup_delays=(0.001,), settle_delays=())
    attach(adapter, journal=journal)
    assert journal.watch(adapter)
    feed = OrderUpdateFeed.of(adapter)
    await _until(lambda: feed.running)
    await asyncio.sleep(0.05)  # the feed's stream is open
    return adapter, journal


async def test_a_resting_order_filled_later_is_recorded_when_it_fills(store: Store) -> None:
    bus = EventBus()
    updates: list[OrderUpdateEvent] = []
    bus.subscribe(OrderUpdateEvent, updates.append)
    adapter, journal = await _connected(store, bus)
    order = UnifiedOrder(
        instrument="EUR/USD",
        side="buy",
        order_type=OrderType.LIMIT,
        price=Decimal("1.0990"),
        quantity=Decimal(1000),
        time_in_force=TimeInForce.GTC,
    )
    placed = await adapter.place_order(order)
    assert placed.status is OrderStatus.ACCEPTED
    entry = await journal.get("mock", order.order_id)
    assert entry is not None
    assert entry.status is OrderStatus.ACCEPTED

    adapter.set_price("EUR/USD", "1.0985", "1.0988")  # the market comes down to the limit: it fills
    await _until(lambda: any(e.update.kind.is_fill for e in updates))
    await journal.aclose()
    filled = await journal.get("mock", order.order_id)
    assert filled is not None
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_quantity == Decimal(1000)
    assert filled.average_fill_price == Decimal("1.0988")
    assert not OrderUpdateFeed.of(adapter).running  # the journal let go of the feed


async def test_an_unknown_outcome_is_settled_by_the_brokers_update(store: Store) -> None:
    bus = EventBus()
    settled: list[OrderSettledEvent] = []
    bus.subscribe(OrderSettledEvent, settled.append)
    adapter, journal = await _connected(store, bus)
    order = UnifiedOrder(
        instrument="EUR/USD",
        side="buy",
        order_type=OrderType.LIMIT,
        price=Decimal("1.0990"),
        quantity=Decimal(1000),
        time_in_force=TimeInForce.GTC,
    )
    # The order reaches the broker but its answer is lost: the journal holds the intent as UNKNOWN.
    await journal.record_intent("mock", order)
    await journal.record_outcome("mock", order.order_id, OrderStatus.UNKNOWN)
    adapter.remove_interceptor("journal")
    assert (await adapter.place_order(order)).status is OrderStatus.ACCEPTED
    attach(adapter, journal=journal)
    adapter.set_price("EUR/USD", "1.0985", "1.0988")
    await _until(lambda: bool(settled))
    [event] = settled  # the broker's ACCEPTED settled it; its fill is then an ordinary fill
    assert event.client_order_id == order.order_id
    assert event.previous_status is OrderStatus.UNKNOWN
    assert event.status is OrderStatus.ACCEPTED
    assert event.result.resolved_by_lookup
    await journal.aclose()
    entry = await journal.get("mock", order.order_id)
    assert entry is not None
    assert entry.status is OrderStatus.FILLED
