"""Comparisons: the known winner wins, too little data or a trade-off names no winner, numbers are explained."""

from __future__ import annotations

import re
from decimal import Decimal

import orjson
import pytest
from metrics_helpers import TimedBroker, lognormal_ms, market, place_many

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.metrics.scoring import ComparisonWeights, relative_score
from broker_integration.performance_metrics import (
    ComparisonPeriod,
    ComparisonSettings,
    PerformanceMetricsCollector,
)


async def _pair(
    clock: ManualClock, bus: EventBus, fast_ms: float, slow_ms: float, **kwargs: object
) -> tuple[PerformanceMetricsCollector, TimedBroker, TimedBroker]:
    fast = TimedBroker(clock, bus, latency_ms=lognormal_ms(fast_ms, seed=1))
    slow = TimedBroker(clock, bus, latency_ms=lognormal_ms(slow_ms, seed=2))
    await fast.authenticate()
    await slow.authenticate()
    collector = PerformanceMetricsCollector(clock=clock, **kwargs)  # type: ignore[arg-type]
    collector.register_broker("oanda", fast)
    collector.register_broker("alpaca", slow)
    return collector, fast, slow


async def test_the_faster_broker_wins_with_its_numbers(clock: ManualClock, bus: EventBus) -> None:
    collector, fast, slow = await _pair(clock, bus, 5.0, 20.0)
    await place_many(fast, 200)
    await place_many(slow, 200)
    comparison = await collector.compare_brokers(["oanda", "alpaca"], ComparisonPeriod.LAST_HOUR)
    assert comparison.winner == "oanda"
    assert comparison.ranking == ["oanda", "alpaca"]
    assert comparison.latency_operation == "place_order"
    (latency,) = [t for t in comparison.tests if t.dimension == "latency"]
    assert latency.better == "oanda"
    assert latency.result.name == "mann_whitney_u"
    assert latency.result.effect > 0.95  # an alpaca call is slower than an oanda call nearly always
    assert latency.adjusted_p_value < 1e-6
    assert latency.interval is not None
    assert latency.interval.low > 0  # the p99 difference alpaca - oanda is positive
    assert comparison.scores["oanda"]["latency"] == 100.0
    assert comparison.scores["alpaca"]["latency"] < 60
    # the other dimensions do not separate them
    assert all(t.better is None for t in comparison.tests if t.dimension != "latency")
    first = comparison.recommendations[0]
    assert first.startswith("Latency: oanda is faster on place_order")
    p50_fast = comparison.metrics["oanda"].operations["place_order"].latency.p50_ms
    assert f"p50 {p50_fast:.2f} ms" in first
    assert "Holm-adjusted p < 0.001" in first
    assert re.search(r"95% CI \d+\.\d+ to \d+\.\d+ ms", first)
    assert comparison.recommendations[-1].startswith("Overall: route to oanda")


async def test_too_little_data_declares_no_winner(clock: ManualClock, bus: EventBus) -> None:
    collector, fast, slow = await _pair(clock, bus, 5.0, 20.0)
    await place_many(fast, 5)
    await place_many(slow, 5)
    comparison = await collector.compare_brokers(["oanda", "alpaca"])
    assert comparison.winner is None
    assert set(comparison.insufficient) == {"oanda", "alpaca"}
    assert comparison.tests == []
    assert comparison.verdict.startswith("too little data")
    assert comparison.recommendations[0].startswith("Too little data for oanda in last_hour: 5 calls")
    assert comparison.recommendations[-1].startswith("Overall: no winner")


async def test_equal_brokers_have_no_winner(clock: ManualClock, bus: EventBus) -> None:
    collector, a, b = await _pair(clock, bus, 10.0, 10.0)
    await place_many(a, 100)
    await place_many(b, 100)
    comparison = await collector.compare_brokers(["oanda", "alpaca"])
    assert comparison.winner is None
    assert "not significantly better" in comparison.verdict
    assert any(
        r.startswith("No significant latency difference") and "calls per broker" in r
        for r in comparison.recommendations
    )


async def test_a_trade_off_has_no_winner_until_the_weights_decide(clock: ManualClock, bus: EventBus) -> None:
    collector, fast, slow = await _pair(clock, bus, 5.0, 20.0)
    for i in range(300):  # every fifth order fails (spread out, so the circuit breaker stays closed)
        if i % 5 == 0:
            fast.fail_next("place_order", StandardErrorCode.SERVICE_UNAVAILABLE)
        await fast.place_order(market())
    await place_many(slow, 300)
    balanced = await collector.compare_brokers(["oanda", "alpaca"])
    assert balanced.winner is None
    assert balanced.verdict.startswith("a trade-off")
    reliability = next(t for t in balanced.tests if t.dimension == "reliability")
    assert reliability.better == "alpaca"
    sentence = next(r for r in balanced.recommendations if r.startswith("Reliability"))
    assert "oanda failed 20.00% of calls" in sentence
    assert "(60/300; most often SERVICE_UNAVAILABLE (60))" in sentence
    speed_first = await collector.compare_brokers(
        ["oanda", "alpaca"],
        weights=ComparisonWeights(latency=0.7, reliability=0.1, cost=0.1, fill_quality=0.1),
    )
    assert speed_first.winner == "oanda"


async def test_cost_and_fill_quality_are_compared(clock: ManualClock, bus: EventBus) -> None:
    cheap = TimedBroker(clock, bus, latency_ms=5.0)
    dear = TimedBroker(clock, bus, latency_ms=5.0, commission=Decimal("0.55"), fill_ratio=Decimal("0.5"))
    await cheap.authenticate()
    await dear.authenticate()
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("cheap", cheap)
    collector.register_broker("dear", dear)
    for _ in range(50):
        await cheap.place_order(market(1000, metadata={"arrival_mid": "1.1001"}))
        await dear.place_order(market(1000, metadata={"arrival_mid": "1.1001"}))
    comparison = await collector.compare_brokers(["cheap", "dear"])
    dims = {t.dimension: t for t in comparison.tests}
    assert dims["fill_quality"].better == "cheap"
    assert comparison.metrics["dear"].fill.partial_fill_rate == 1.0
    assert comparison.metrics["dear"].cost.commission == Decimal("27.50")
    # all-in cost: 0.55 on 550.1 notional is 10 bps more; slippage is the same half spread
    cheap_bps, dear_bps = (comparison.metrics[n].cost.avg_cost_bps for n in ("cheap", "dear"))
    assert cheap_bps is not None
    assert dear_bps == pytest.approx(cheap_bps + 0.55 / 550.1 * 1e4)
    assert comparison.winner == "cheap"
    assert comparison.scores["cheap"]["cost"] == 100.0


async def test_comparison_exports_json(clock: ManualClock, bus: EventBus) -> None:
    collector, fast, slow = await _pair(clock, bus, 5.0, 20.0)
    await place_many(fast, 40)
    await place_many(slow, 40)
    comparison = await collector.compare_brokers(
        ["oanda", "alpaca"], settings=ComparisonSettings(min_calls=10)
    )
    document = orjson.loads(comparison.to_json())
    assert document["winner"] == comparison.winner
    assert document["tests"][0]["test"] in {"mann_whitney_u", "fisher_exact", "two_proportion_z"}
    assert document["metrics"]["oanda"]["operations"]["place_order"]["calls"] == 40


async def test_compare_needs_two_brokers() -> None:
    with pytest.raises(ValueError, match="at least two"):
        await PerformanceMetricsCollector().compare_brokers(["oanda", "oanda"])


def test_relative_score() -> None:
    assert relative_score(5.0, 5.0, 1e-3) == 100.0
    assert relative_score(10.0, 5.0, 1e-3) == pytest.approx(100 * (1 - 5 / 15))
    assert relative_score(0.001, 0.0, 0.01) == pytest.approx(90.0)  # tiny absolute gaps stay small
    with pytest.raises(ValueError, match="non-negative"):
        ComparisonWeights(latency=-1)
