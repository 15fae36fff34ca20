"""Execution quality per broker: each order measured by ``tca.measure_execution`` against the arrival quote its
call carried (else the order's mid, else the probe's quote, each counted by source), summed into the
summary and its JSON export. Expected figures are worked out by hand next to each assertion.

The mock broker quotes EUR/USD at 1.10000 / 1.10020: buys fill at the ask, sells at the bid.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import orjson
import pytest
from metrics_helpers import TimedBroker, market

from broker_integration.clock import ManualClock
from broker_integration.events import CallEvent, EventBus
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.metrics.recorder import ARRIVAL_MID_KEY, MetricsRecorder
from broker_integration.models import OrderSide, PriceTick
from broker_integration.performance_metrics import ComparisonPeriod, PerformanceMetricsCollector
from broker_integration.tca import arrival_quote


def tick(clock: ManualClock, bid: str, ask: str) -> PriceTick:
    return PriceTick(instrument="EUR/USD", bid=Decimal(bid), ask=Decimal(ask), time=clock.now())


async def broker(clock: ManualClock, **kwargs: object) -> TimedBroker:
    adapter = TimedBroker(clock, EventBus(), commission=Decimal("0.11"), **kwargs)  # type: ignore[arg-type]
    await adapter.authenticate()
    return adapter


async def test_the_call_s_quote_comes_first_then_the_order_s_mid_then_the_probe(clock: ManualClock) -> None:
    venue = await broker(clock)
    recorder = MetricsRecorder(QuoteBook(timedelta(seconds=5)))
    venue.event_bus.subscribe(CallEvent, lambda e: recorder.record_call("venue", e))
    recorder.quotes.note("venue", tick(clock, "1.0990", "1.0994"))  # the probe's quote: mid 1.0992
    with arrival_quote(tick(clock, "1.1000", "1.1004")):  # mid 1.1002
        await venue.place_order(market(1000, metadata={ARRIVAL_MID_KEY: "1.0996"}))
    await venue.place_order(market(1000, metadata={ARRIVAL_MID_KEY: "1.0996"}))
    await venue.place_order(market(1000))
    (stats,) = [s for k, s in recorder.pending.items() if k[1] == "place_order"]
    orders = stats.orders
    assert orders is not None
    assert (orders.arrival_call, orders.arrival_order, orders.arrival_probe) == (1, 1, 1)
    # buys at 1.1002 against mids 1.1002, 1.0996 and 1.0992: 0, 6 and 10 ticks of 0.0001
    expected = 0.0 + 0.0006 / 1.0996 * 1e4 + 0.0010 / 1.0992 * 1e4
    assert orders.slippage_bps_sum == pytest.approx(expected)
    # only the call's quote and the probe's have a bid and ask
    assert orders.quoted_orders == 2
    assert orders.arrival_sources() == {"call": 1, "order": 1, "probe": 1}


async def test_per_broker_aggregates_of_the_new_figures_are_in_the_summary_and_its_export(
    clock: ManualClock,
) -> None:
    full = await broker(clock)
    half = await broker(clock, fill_ratio=Decimal("0.5"))
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("full", full)
    collector.register_broker("half", half)
    arrival = tick(clock, "1.1000", "1.1004")  # mid 1.1002, quoted spread 0.0004
    with arrival_quote(arrival):
        await full.place_order(market(1000))  # buy at 1.10020
        await full.place_order(market(1000, side=OrderSide.SELL))  # sell at 1.10000
    collector.record_tick("half", tick(clock, "1.1004", "1.1008"))  # the later quote: mid 1.1006
    with arrival_quote(arrival):
        await half.place_order(market(1000))  # 500 of 1,000 bought at 1.10020; the rest is never bought

    c = (await collector.metrics("full", ComparisonPeriod.ALL)).cost
    assert c.arrival_sources == {"call": 2}
    # buy: at the mid, slippage 0; sell: 0.0002 below the mid, 1.8178513 bps (0.0002 / 1.1002)
    assert c.avg_slippage_bps == pytest.approx(1.8178512998 / 2)
    assert c.avg_effective_spread_bps == pytest.approx(3.6357025995 / 2)
    # half spread 0.0002 / 1.1002 on both; effective / quoted 0 for the buy, 1 for the sell
    assert c.avg_spread_cost_bps == pytest.approx(1.8178512998)
    assert c.avg_effective_to_quoted == pytest.approx(0.5)
    # buy 0.0002 below the ask (+1.8178513 bps, 0.20 on 1,000), sell at the bid (0)
    assert c.avg_price_improvement_bps == pytest.approx(1.8178512998 / 2)
    assert c.price_improvement == Decimal("0.20000")
    # commission 0.11 over 1,100.20 and over 1,100.00: 0.9998182 and 1 bps
    assert c.avg_commission_bps == pytest.approx((0.9998182149 + 1.0) / 2)
    # shortfall: buy 0.11, sell 0.0002 x 1,000 + 0.11 = 0.31; over 2 x 1,100.20 of paper notional
    assert c.shortfall_orders == 2
    assert c.shortfall == Decimal("0.42000")
    assert c.opportunity_cost == 0
    assert c.shortfall_bps == pytest.approx(0.42 / 2200.4 * 1e4)
    assert c.avg_shortfall_bps == pytest.approx((0.11 + 0.31) / 1100.2 * 1e4 / 2)

    h = (await collector.metrics("half", ComparisonPeriod.ALL)).cost
    # 500 bought at the mid (no execution cost); 500 never bought while the mid rose 0.0004: 0.20; + 0.11
    assert h.opportunity_cost == Decimal("0.20000")
    assert h.shortfall == Decimal("0.31000")
    assert h.shortfall_bps == pytest.approx(0.31 / 1100.2 * 1e4)

    exported = orjson.loads(await collector.export_json(ComparisonPeriod.ALL))["brokers"]["half"]["cost"]
    assert Decimal(exported["shortfall"]) == Decimal("0.31")  # money as decimal strings
    assert Decimal(exported["opportunity_cost"]) == Decimal("0.20")
    assert exported["shortfall_bps"] == pytest.approx(h.shortfall_bps)
    assert exported["arrival_sources"] == {"call": 1}
    assert exported["avg_price_improvement_bps"] == pytest.approx(h.avg_price_improvement_bps)
    await collector.close()


async def test_an_unfilled_rest_without_a_later_quote_has_no_shortfall(clock: ManualClock) -> None:
    half = await broker(clock, fill_ratio=Decimal("0.5"))
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("half", half)
    with arrival_quote(tick(clock, "1.1000", "1.1004")):
        await half.place_order(market(1000))
    c = (await collector.metrics("half", ComparisonPeriod.ALL)).cost
    assert c.slippage_orders == 1  # the filled part is measured
    assert (c.shortfall_orders, c.shortfall_bps, c.avg_shortfall_bps) == (0, None, None)
    await collector.close()


async def test_buckets_with_the_new_sums_survive_a_store_round_trip(clock: ManualClock) -> None:
    venue = await broker(clock)
    recorder = MetricsRecorder(QuoteBook())
    venue.event_bus.subscribe(CallEvent, lambda e: recorder.record_call("venue", e))
    with arrival_quote(tick(clock, "1.1000", "1.1004")):
        await venue.place_order(market(1000, side=OrderSide.SELL))
    (stats,) = [s for k, s in recorder.pending.items() if k[1] == "place_order"]
    assert stats.orders is not None
    restored = type(stats.orders).from_data(orjson.loads(orjson.dumps(stats.orders.to_data())))
    assert restored.to_data() == stats.orders.to_data()
    assert restored.shortfall == Decimal("0.31000")
    assert restored.arrival_call == 1
