"""A resting limit order that fills later is measured when it fills: the collector follows the adapter's
order updates while it collects, and counts the fill, its time to fill and its costs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from broker_integration.clock import ManualClock
from broker_integration.events import EventBus, OrderUpdateEvent
from broker_integration.feeds import OrderUpdateFeed
from broker_integration.models import OrderStatus, OrderType, TimeInForce, UnifiedOrder
from broker_integration.performance_metrics import PerformanceMetricsCollector
from broker_integration.testing import MockBrokerAdapter


async def test_a_limit_order_filled_minutes_later_is_counted_when_it_fills(
    clock: ManualClock, bus: EventBus
) -> None:
    adapter = MockBrokerAdapter(event_bus=bus, clock=clock, prices={"EUR/USD": ("1.1000", "1.1002")})
    await adapter.authenticate()
    collector = PerformanceMetricsCollector(clock=clock, probe_interval=3600, flush_interval=3600)
    collector.register_broker("mock", adapter)
    await collector.start_collection()
    feed = OrderUpdateFeed.of(adapter)
    assert feed.running
    fills: asyncio.Queue[OrderUpdateEvent] = asyncio.Queue()
    bus.subscribe(OrderUpdateEvent, fills.put_nowait, where=lambda e: e.update.kind.is_fill)
    await asyncio.sleep(0.05)  # the feed's stream is open

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
    before = (await collector.metrics("mock")).fill
    assert (before.unfilled, before.filled, before.filled_later) == (1, 0, 0)

    clock.advance(180)  # three minutes later the market comes down to the limit
    adapter.set_price("EUR/USD", "1.0985", "1.0988")
    await asyncio.wait_for(fills.get(), timeout=5)
    after = (await collector.metrics("mock")).fill
    assert (after.unfilled, after.filled, after.filled_later) == (0, 1, 1)
    assert after.fill_rate == 1.0
    assert after.avg_time_to_fill_ms == 180_000.0
    await collector.stop_collection()
    assert not feed.running  # let go once nobody follows it
