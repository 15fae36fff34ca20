"""An order whose answer was lost counts as unknown, not as refused, and once the journal finds out what
became of it the metrics count its fill: fill rates stay true through an outage."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from metrics_helpers import TimedBroker, market, place_many

from broker_integration.clock import ManualClock
from broker_integration.errors import OutcomeUnknownError, ServiceUnavailableError
from broker_integration.events import EventBus
from broker_integration.journal import OrderJournal
from broker_integration.models import Order, OrderResult, OrderStatus, UnifiedOrder
from broker_integration.performance_metrics import PerformanceMetricsCollector
from broker_integration.pipeline import attach
from broker_integration.store import Store


class Outage(TimedBroker):
    """Fills every order; can lose the next answer after executing and fail lookups while it is down."""

    lose_next_answer = False
    down = False

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        result = await super().place_order(order)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise OutcomeUnknownError("executed, but the answer was lost")
        return result

    async def get_order(self, order_id: str) -> Order:
        if self.down:
            raise ServiceUnavailableError("503 Service Unavailable")
        return await super().get_order(order_id)


async def test_a_lost_answer_counts_as_unknown_until_settled_then_as_its_fill(store_url: str) -> None:
    clock = ManualClock()
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        if seconds >= 1:  # background settling waits for the venue to come back
            await gate.wait()
        await asyncio.sleep(0)

    broker = Outage(clock, EventBus(), latency_ms=2.0, commission=Decimal("0.5"))
    await broker.authenticate()
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("venue", broker)
    async with Store(store_url) as store:
        journal = OrderJournal(
            store, clock=clock, lookup_delays=(0.001,) * 3, settle_delays=(1.0, 10.0), sleep=sleep
        )
        attach(broker, journal=journal)
        await place_many(broker, 3)
        broker.lose_next_answer = broker.down = True
        assert (await broker.place_order(market())).status is OrderStatus.UNKNOWN

        during = (await collector.metrics("venue")).fill
        assert (during.orders, during.filled, during.rejected, during.unknown, during.settled) == (
            4,
            3,
            0,
            1,
            0,
        )
        assert during.accepted == 3
        assert during.full_fill_rate == 1.0  # the unknown order is neither a refusal nor a miss

        broker.down = False
        gate.set()
        async with asyncio.timeout(5):
            await journal.wait_settled()

        after = await collector.metrics("venue")
        fill = after.fill
        assert (fill.orders, fill.filled, fill.rejected, fill.unknown, fill.settled) == (4, 4, 0, 1, 1)
        assert fill.accepted == 4
        assert fill.fill_rate == 1.0  # the settled fill's quantity counts too
        # a lookup does not report commission: the settled fill adds no cost figure rather than a false zero
        assert after.cost.orders_with_fills == 3
        assert after.cost.commission == Decimal("1.5")
        await journal.aclose()
    await collector.close()
