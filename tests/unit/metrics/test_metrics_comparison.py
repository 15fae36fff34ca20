"""Comparisons: the known winner wins, too little data or a trade-off names no winner, the tail decides
latency, numbers are explained one sentence per dimension, and cancelled calls are nobody's errors."""

from __future__ import annotations

import asyncio
import random
import re
from decimal import Decimal

import orjson
import pytest
from metrics_helpers import TimedBroker, lognormal_ms, market, place_many

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.metrics.scoring import ComparisonWeights, relative_score
from broker_integration.models import PriceTick
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
    latency = {t.result.name: t for t in comparison.tests if t.dimension == "latency"}
    assert set(latency) == {"bootstrap_quantile", "mann_whitney_u"}
    typical, tail = latency["mann_whitney_u"], latency["bootstrap_quantile"]
    assert typical.better == tail.better == "oanda"
    assert typical.result.effect > 0.95  # an alpaca call is slower than an oanda call nearly always
    assert typical.adjusted_p_value < 1e-6
    fast_lat = comparison.metrics["oanda"].operations["place_order"].latency
    slow_lat = comparison.metrics["alpaca"].operations["place_order"].latency
    assert (tail.value_a, tail.value_b) == (fast_lat.p99_ms, slow_lat.p99_ms)  # the reported p99s
    assert tail.interval is not None
    assert tail.interval.low > 0  # the p99 difference alpaca - oanda is positive
    (verdict,) = comparison.verdicts_on("latency")
    assert verdict.better == "oanda"
    assert verdict.deciding is tail  # the tail decides first
    assert comparison.scores["oanda"]["latency"] == 100.0
    assert comparison.scores["alpaca"]["latency"] < 60
    # the other dimensions do not separate them
    assert all(v.better is None for v in comparison.verdicts if v.dimension != "latency")
    first = comparison.recommendations[0]
    assert first.startswith("Latency of place_order (faster = a significantly lower p99")
    assert f"oanda is best (p50 {fast_lat.p50_ms:.2f} ms, p99 {fast_lat.p99_ms:.2f} ms)" in first
    assert f"alpaca (p50 {slow_lat.p50_ms:.2f} ms, p99 {slow_lat.p99_ms:.2f} ms)" in first
    # the difference quoted is the difference of the two p99s quoted
    assert f"its p99 is {slow_lat.p99_ms - fast_lat.p99_ms:.2f} ms higher" in first
    assert re.search(r"95% CI \d+\.\d+ to \d+\.\d+ ms before correction; bootstrap, Holm-adjusted p", first)
    assert "Mann-Whitney, Holm-adjusted p < 0.001" in first
    assert [r.split(" ")[0] for r in comparison.recommendations] == [
        "Latency",
        "Reliability",
        "Cost",
        "Fill",
        "Overall",
    ]  # one sentence per dimension, heaviest weight first (cost and fill have no data: unscored)
    assert "no significant difference between the brokers" in comparison.recommendations[1]
    assert comparison.recommendations[-1].startswith("Overall (observational: ")
    assert "route to oanda" in comparison.recommendations[-1]


async def test_a_faster_typical_call_with_a_far_worse_tail_is_not_faster(
    clock: ManualClock, bus: EventBus
) -> None:
    """Spiky's median is half of steady's, but one call in twenty takes half a second: the tail decides."""
    rng = random.Random(3)

    def spiky_ms() -> float:
        return 500.0 if rng.random() < 0.05 else 4.0 * rng.lognormvariate(0.0, 0.2)

    spiky = TimedBroker(clock, bus, latency_ms=spiky_ms)
    steady = TimedBroker(clock, bus, latency_ms=lognormal_ms(8.0, sigma=0.2, seed=4))
    for broker in (spiky, steady):
        await broker.authenticate()
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("spiky", spiky)
    collector.register_broker("steady", steady)
    await place_many(spiky, 400)
    await place_many(steady, 400)
    comparison = await collector.compare_brokers(["spiky", "steady"], weights=ComparisonWeights(latency=1.0))
    (verdict,) = comparison.verdicts_on("latency")
    typical = verdict.test("mann_whitney_u")
    assert typical is not None
    assert typical.better == "spiky"  # most of its calls are faster ...
    assert verdict.better == "steady"  # ... but its p99 is far worse, so it is not the faster venue
    assert verdict.deciding.result.name == "bootstrap_quantile"
    assert comparison.winner == "steady"
    sentence = comparison.recommendations[0]
    assert "steady is best" in sentence
    assert "though a call there is faster" in sentence
    assert "Prefer steady for latency-sensitive orders" in sentence
    assert "Prefer spiky" not in " ".join(comparison.recommendations)


async def test_too_little_data_declares_no_winner(clock: ManualClock, bus: EventBus) -> None:
    collector, fast, slow = await _pair(clock, bus, 5.0, 20.0)
    await place_many(fast, 5)
    await place_many(slow, 5)
    comparison = await collector.compare_brokers(["oanda", "alpaca"])
    assert comparison.winner is None
    assert set(comparison.insufficient) == {"oanda", "alpaca"}
    assert comparison.tests == []
    assert comparison.verdicts == []
    assert comparison.verdict.startswith("too little data")
    assert comparison.recommendations[0].startswith("Too little data for oanda in last_hour: 5 calls")
    assert comparison.recommendations[-1].startswith("Overall (observational: ")
    assert "no winner" in comparison.recommendations[-1]


async def test_latency_not_compared_is_said_when_no_operation_has_enough_calls_everywhere(
    clock: ManualClock, bus: EventBus
) -> None:
    collector, fast, slow = await _pair(clock, bus, 5.0, 20.0)
    await place_many(fast, 200)
    await place_many(slow, 20)  # routed unevenly: too few orders here to compare order latency
    for _ in range(40):
        await slow.get_current_price("EUR/USD")  # enough calls in all, of another operation
    comparison = await collector.compare_brokers(["oanda", "alpaca"])
    assert comparison.insufficient == {}
    assert comparison.latency_operation is None
    assert comparison.verdicts_on("latency") == []
    latency = [r for r in comparison.recommendations if r.startswith("Latency")]
    assert latency == [
        "Latency (faster = a significantly lower p99, or, when the p99s cannot be told apart, calls "
        "significantly faster more often than not): not compared: no operation has at least 30 calls at "
        "every broker yet. Keep collecting before routing on latency."
    ]
    assert comparison.recommendations.index(latency[0]) == 0  # in its place by weight, not left out


async def test_equal_brokers_have_no_winner(clock: ManualClock, bus: EventBus) -> None:
    collector, a, b = await _pair(clock, bus, 10.0, 10.0)
    await place_many(a, 100)
    await place_many(b, 100)
    comparison = await collector.compare_brokers(["oanda", "alpaca"])
    assert comparison.winner is None
    assert "not significantly better" in comparison.verdict
    latency = comparison.recommendations[0]
    assert latency.startswith("Latency of place_order")
    assert "no significant difference between the brokers" in latency
    for name in ("oanda", "alpaca"):
        lat = comparison.metrics[name].operations["place_order"].latency
        assert f"{name} p50 {lat.p50_ms:.2f} ms, p99 {lat.p99_ms:.2f} ms" in latency


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
    (reliability,) = balanced.verdicts_on("reliability")
    assert reliability.better == "alpaca"
    sentence = next(r for r in balanced.recommendations if r.startswith("Reliability"))
    assert "alpaca is best (0.00% failed, 0/300)" in sentence
    assert "oanda (20.00% failed, 60/300)" in sentence
    assert "it fails 20.00 points more often" in sentence  # 20.00% - 0.00%, the two rates quoted
    assert "two-proportion z-test, Holm-adjusted p < 0.001" in sentence
    speed_first = await collector.compare_brokers(
        ["oanda", "alpaca"],
        weights=ComparisonWeights(latency=0.7, reliability=0.1, cost=0.1, fill_quality=0.1),
    )
    assert speed_first.winner == "oanda"
    overall = speed_first.recommendations[-1]
    assert "it is significantly better than every other broker on latency" in overall
    assert "reliability" not in overall.split("route to oanda")[1]  # it is worse there, not better


async def test_three_brokers_get_one_sentence_per_dimension_naming_the_best(
    clock: ManualClock, bus: EventBus
) -> None:
    brokers = {
        "fast": TimedBroker(clock, bus, latency_ms=lognormal_ms(5.0, seed=1)),
        "mid": TimedBroker(clock, bus, latency_ms=lognormal_ms(10.0, seed=2)),
        "slow": TimedBroker(clock, bus, latency_ms=lognormal_ms(20.0, seed=3)),
    }
    collector = PerformanceMetricsCollector(clock=clock)
    for name, broker in brokers.items():
        await broker.authenticate()
        collector.register_broker(name, broker)
        await place_many(broker, 200)
    comparison = await collector.compare_brokers(list(brokers))
    assert len(comparison.tests) == 3 * (2 + 1 + 1 + 1)  # three pairs: two latency tests, one per other
    latency = [r for r in comparison.recommendations if r.startswith("Latency")]
    assert len(latency) == 1
    assert "fast is best" in latency[0]
    assert "Against the closest, mid" in latency[0]
    assert "it is better than slow too" in latency[0]
    assert comparison.winner == "fast"
    assert "than every other broker on latency" in comparison.recommendations[-1]


async def test_a_cancelled_call_is_not_the_brokers_error(clock: ManualClock, bus: EventBus) -> None:
    """A probe its caller cancels (as the collector's are when collection stops) ended with no answer."""

    class Hanging(TimedBroker):
        async def get_current_price(self, instrument: str) -> PriceTick:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    broker = Hanging(clock, bus, latency_ms=1.0)
    await broker.authenticate()
    collector = PerformanceMetricsCollector(clock=clock)
    collector.register_broker("venue", broker)
    await place_many(broker, 10)
    probe = asyncio.ensure_future(broker.get_current_price("EUR/USD"))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    metrics = await collector.metrics("venue")
    assert metrics.reliability.cancelled == 1
    assert metrics.reliability.calls == 10
    assert metrics.reliability.failures == 0
    assert metrics.reliability.error_rate == 0.0
    assert metrics.reliability.errors_by_code == {}
    price = metrics.operations["get_current_price"]
    assert (price.calls, price.cancelled, price.failures, price.error_rate) == (1, 1, 0, None)


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
    assert document["observational"] is True
    assert [t["test"] for t in document["tests"]][:2] == ["bootstrap_quantile", "mann_whitney_u"]
    assert [v["dimension"] for v in document["verdicts"]] == [
        "latency",
        "reliability",
        "cost",
        "fill_quality",
    ]
    assert len(document["tests"]) == 5  # every pairwise test is in the JSON, not in the sentences
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
