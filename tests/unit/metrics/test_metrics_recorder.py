"""The event hot path: calls land in the bucket of their broker, operation and minute; orders are costed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from metrics_helpers import TimedBroker, market

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.events import CallEvent, EventBus
from broker_integration.metrics.buckets import bucket_start
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.metrics.recorder import ARRIVAL_MID_KEY, MetricsRecorder
from broker_integration.models import OrderSide, PriceTick


@pytest.fixture
async def broker(clock: ManualClock, bus: EventBus) -> TimedBroker:
    adapter = TimedBroker(clock, bus, latency_ms=4.0)
    await adapter.authenticate()
    return adapter


@pytest.fixture
def recorder(bus: EventBus) -> MetricsRecorder:
    rec = MetricsRecorder(QuoteBook(timedelta(seconds=5)))
    bus.subscribe(CallEvent, lambda e: rec.record_call("oanda", e))
    return rec


async def test_calls_go_to_the_bucket_of_their_minute(
    clock: ManualClock, broker: TimedBroker, recorder: MetricsRecorder
) -> None:
    first = bucket_start(clock.now().timestamp())
    await broker.get_current_price("EUR/USD")
    await broker.get_current_price("EUR/USD")
    clock.advance(60)
    await broker.get_current_price("EUR/USD")
    minute_one = recorder.pending[("oanda", "get_current_price", first)]
    minute_two = recorder.pending[("oanda", "get_current_price", first + 60)]
    assert (minute_one.calls, minute_two.calls) == (2, 1)
    assert minute_one.sum_us == 8_000
    assert minute_one.histogram.get_value_at_percentile(50) == pytest.approx(4_000, rel=1e-3)
    assert recorder.take()
    assert recorder.pending == {}


async def test_failures_are_counted_by_standard_code(broker: TimedBroker, recorder: MetricsRecorder) -> None:
    broker.fail_next("place_order", StandardErrorCode.SERVICE_UNAVAILABLE, times=2)
    broker.fail_next("place_order", StandardErrorCode.INSUFFICIENT_FUNDS)
    for _ in range(4):
        await broker.place_order(market())
    (stats,) = [s for k, s in recorder.pending.items() if k[1] == "place_order"]
    assert stats.calls == 4
    assert stats.failures == 3
    assert stats.errors == {"SERVICE_UNAVAILABLE": 2, "INSUFFICIENT_FUNDS": 1}
    assert stats.orders is not None
    # a 503 to an order that was sent leaves its outcome open: unknown, not refused; the refusal is one
    orders = stats.orders
    assert (orders.orders, orders.rejected, orders.unknown, orders.filled) == (4, 1, 2, 1)


async def test_slippage_uses_the_arrival_mid_from_metadata(
    clock: ManualClock, bus: EventBus, recorder: MetricsRecorder
) -> None:
    broker = TimedBroker(clock, bus, commission=Decimal("0.11"))
    await broker.authenticate()
    # buys fill at the ask 1.10020; the router saw a mid of 1.1000
    await broker.place_order(market(1000, metadata={ARRIVAL_MID_KEY: "1.1000"}))
    (stats,) = [s for k, s in recorder.pending.items() if k[1] == "place_order"]
    orders = stats.orders
    assert orders is not None
    assert orders.slippage_orders == 1
    assert orders.slippage_bps_sum == pytest.approx((1.1002 - 1.1) / 1.1 * 1e4)
    assert orders.spread_paid == Decimal("0.20000")
    assert orders.notional == Decimal("1100.20000")
    assert orders.commission == Decimal("0.11")
    commission_bps = 0.11 / 1100.2 * 1e4
    assert orders.cost_bps.samples == [pytest.approx(commission_bps + orders.slippage_bps_sum)]


async def test_slippage_falls_back_to_a_fresh_probe_quote(
    clock: ManualClock, broker: TimedBroker, recorder: MetricsRecorder
) -> None:
    tick = await broker.get_current_price("EUR/USD")
    recorder.quotes.note("oanda", tick)
    await broker.place_order(market(1000, side=OrderSide.SELL))  # sells at the bid, below the mid
    clock.advance(10)  # the quote is now older than five seconds
    await broker.place_order(market(1000, side=OrderSide.SELL))
    orders = next(s for k, s in recorder.pending.items() if k[1] == "place_order").orders
    assert orders is not None
    assert orders.slippage_orders == 1
    assert orders.slippage_bps_sum == pytest.approx((1.10010 - 1.10000) / 1.10010 * 1e4)
    assert orders.cost_bps.seen == 2


async def test_partial_fills_and_fill_rate_inputs(
    clock: ManualClock, bus: EventBus, recorder: MetricsRecorder
) -> None:
    broker = TimedBroker(clock, bus, fill_ratio=Decimal("0.5"))
    await broker.authenticate()
    await broker.place_order(market(1000))
    orders = next(s for k, s in recorder.pending.items() if k[1] == "place_order").orders
    assert orders is not None
    assert (orders.partial, orders.filled) == (1, 0)
    assert (orders.requested_qty, orders.filled_qty) == (1000.0, 500.0)


def test_quote_book_ignores_stale_quotes(clock: ManualClock) -> None:
    book = QuoteBook(timedelta(seconds=5))
    tick = PriceTick(instrument="EUR/USD", bid=Decimal("1.1"), ask=Decimal("1.2"), time=clock.now())
    book.note("x", tick)
    assert book.mid_at("x", "EUR/USD", clock.now() + timedelta(seconds=5)) == Decimal("1.15")
    assert book.mid_at("x", "EUR/USD", clock.now() + timedelta(seconds=6)) is None
    assert book.last_tick("x") == tick
