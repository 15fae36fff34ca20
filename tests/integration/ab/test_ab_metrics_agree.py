"""The A/B log and the metrics collector measure the same orders the same way (issue #16 §3).

Orders are routed by the A/B framework to two venues on which the metrics collector is registered too.
Each order is measured once by ``tca.measure_execution`` in each consumer, against the arrival quote the
call carried: so every per-order figure in the A/B log equals what the collector recorded for that order,
and the per-arm means equal the collector's per-broker averages. One venue fills half of each order, so
the shortfall's opportunity cost is exercised too (both consumers take the later price from the venue's
own quote). Each order goes out in its own minute, so a one-minute window of the collector holds exactly
that order.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from ab_venues import TimedVenue, lognormal, order
from scipy import stats as scipy_stats

from broker_integration.ab_testing import BrokerABTestingFramework, Metric, TrafficSplit
from broker_integration.ab_testing.persistence import ABRepository
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.metrics.buckets import bucket_start, from_epoch
from broker_integration.metrics.summary import CostMetrics
from broker_integration.models import PriceTick
from broker_integration.performance_metrics import ComparisonPeriod, CustomPeriod, PerformanceMetricsCollector
from broker_integration.store import Store
from broker_integration.tca import ArrivalSource, Execution

ORDERS = 24
#: A/B metric -> the collector's per-broker average of the same figure.
SAME_FIGURE = {
    Metric.SLIPPAGE_BPS: "avg_slippage_bps",
    Metric.SPREAD_COST_BPS: "avg_spread_cost_bps",
    Metric.COMMISSION_BPS: "avg_commission_bps",
    Metric.TOTAL_COST_BPS: "avg_cost_bps",
    Metric.EFFECTIVE_SPREAD_BPS: "avg_effective_spread_bps",
    Metric.EFFECTIVE_TO_QUOTED: "avg_effective_to_quoted",
    Metric.PRICE_IMPROVEMENT_BPS: "avg_price_improvement_bps",
    Metric.SHORTFALL_BPS: "avg_shortfall_bps",
}


#: Each venue's half spread around the market's mid.
HALF_SPREAD = {"tight": Decimal("0.0001"), "wide": Decimal("0.0002")}


def market_mid(i: int) -> Decimal:
    """The venues' mid in minute ``i``: it moves every minute."""
    return Decimal("1.1001") + Decimal((3 * i) % 7 - 3) * Decimal("0.00004")


def reference(clock: ManualClock, i: int) -> PriceTick:
    """A common reference quote whose mid is off the venues' by a varying amount, with a varying spread."""
    mid = market_mid(i) + Decimal(i % 5 - 2) * Decimal("0.00007")
    half = Decimal("0.00005") * (1 + i % 3)
    return PriceTick(instrument="EUR/USD", bid=mid - half, ask=mid + half, time=clock.now())


def assert_same_order(execution: Execution, recorded: CostMetrics) -> None:
    """One order's A/B figures and the collector's figures over a window holding only that order."""
    assert recorded.orders_with_fills == 1
    assert recorded.arrival_sources == {"call": 1}
    assert execution.arrival_source is ArrivalSource.CALL
    for metric, name in SAME_FIGURE.items():
        assert getattr(recorded, name) == execution.value(metric), metric
    assert recorded.spread_paid == execution.execution_cost
    assert recorded.price_improvement == execution.price_improvement
    assert recorded.shortfall == execution.shortfall
    assert recorded.opportunity_cost == execution.opportunity_cost


async def test_the_ab_log_and_the_metrics_agree_order_by_order_and_in_aggregate(store_url: str) -> None:
    clock = ManualClock()  # starts on a minute boundary
    rng = np.random.default_rng(3)
    bus = EventBus()
    venues = {
        "tight": TimedVenue(
            clock,
            lognormal(rng, 20),
            commission_bps=Decimal("0.5"),
            event_bus=bus,
        ),
        "wide": TimedVenue(
            clock,
            lognormal(rng, 10),
            commission_bps=Decimal(2),
            fill_ratio=Decimal("0.5"),
            event_bus=bus,
        ),
    }
    collector = PerformanceMetricsCollector(clock=clock, probe_instruments=("EUR/USD",))
    async with Store(store_url) as store:
        ab = BrokerABTestingFramework(store, clock=clock, seed=1)
        for name, venue in venues.items():
            await venue.authenticate()
            ab.register_broker_adapter(name, venue)
            collector.register_broker(name, venue)
        test_id = ab.create_ab_test(
            "agree",
            traffic_splits=[TrafficSplit("tight", 50), TrafficSplit("wide", 50)],
            minimum_sample_size=2,
        )
        for i in range(ORDERS):
            clock.advance(60)
            for name, venue in venues.items():
                venue.set_price(
                    "EUR/USD", market_mid(i) - HALF_SPREAD[name], market_mid(i) + HALF_SPREAD[name]
                )
            await collector.probe_once()  # the venues' quotes: the later price of an unfilled part
            await ab.execute_order_with_test(order(i), test_id, arrival_quote=reference(clock, i))
        await ab.flush()
        records = (await ABRepository(store).load_records())[test_id]
        results = ab.get_test_results(test_id)

    assert len(records) == ORDERS
    for record in records:
        execution = record.execution
        assert execution is not None
        minute = from_epoch(bucket_start(record.assignment.assigned_at.timestamp()))
        window = CustomPeriod(minute, minute + timedelta(minutes=1))
        assert_same_order(execution, (await collector.metrics(record.assignment.arm, window)).cost)
    partial = [r.execution for r in records if r.assignment.arm == "wide" and r.execution is not None]
    assert any(e.opportunity_cost for e in partial)  # the unfilled halves were costed, not skipped

    for arm in results.arms:
        assert arm.orders >= 2
        totals = (await collector.metrics(arm.arm, ComparisonPeriod.ALL)).cost
        for metric, name in SAME_FIGURE.items():
            assert arm.metrics[metric].estimate == pytest.approx(getattr(totals, name), rel=1e-12), metric
        # the arm's interval of the shortfall is Student's t on the logged per-order values
        values = [r.execution.shortfall_bps for r in records if r.assignment.arm == arm.arm and r.execution]
        low, high = scipy_stats.t.interval(
            0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
        )
        interval = arm.metrics[Metric.SHORTFALL_BPS]
        assert (interval.low, interval.high) == (pytest.approx(low), pytest.approx(high))
    await collector.close()
