"""The analysis of an A/B test from order records: comparisons, corrections, verdicts, recommendations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import orjson
import pytest
from statsmodels.stats.multitest import multipletests

from broker_integration import stats
from broker_integration.ab_testing.models import (
    Experiment,
    ExperimentConfig,
    ExperimentStatus,
    Metric,
    ResultStatus,
    RoutingStrategy,
    TrafficSplit,
)
from broker_integration.ab_testing.outcomes import Assignment, Execution, OrderRecord
from broker_integration.ab_testing.recommendations import format_value
from broker_integration.ab_testing.results import analyze
from broker_integration.models import OrderStatus

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def experiment(
    arms: Sequence[str] = ("a", "b"),
    status: ExperimentStatus = ExperimentStatus.RUNNING,
    **options: object,
) -> Experiment:
    share = 100.0 / len(arms)
    config = ExperimentConfig.model_validate(
        {"test_name": "t", "traffic_splits": tuple(TrafficSplit(a, share) for a in arms), **options}
    )
    return Experiment("ab-test", config, status, created_at=T0)


def record(
    arm: str,
    i: int,
    *,
    latency: float = 50.0,
    success: bool = True,
    slippage: float | None = 0.5,
    propensity: float = 0.5,
    probabilities: dict[str, float] | None = None,
    attempt: int = 0,
    failover_from: str | None = None,
    executed: bool = True,
    explore: bool = False,
) -> OrderRecord:
    assignment = Assignment(
        test_id="ab-test",
        client_order_id=f"{arm}-{i}",
        attempt=attempt,
        arm=arm,
        propensity=propensity,
        probabilities=probabilities or {"a": 0.5, "b": 0.5},
        explore=explore,
        sticky_key=None,
        assigned_at=T0 + timedelta(seconds=i),
        failover_from=failover_from,
    )
    if not executed:
        return OrderRecord(assignment)
    execution = Execution(
        status=OrderStatus.FILLED if success else OrderStatus.REJECTED,
        success=success,
        sent=True,
        error_code=None if success else "SERVICE_UNAVAILABLE",
        latency_ms=latency,
        quote_latency_ms=1.0,
        requested_quantity=Decimal(1),
        filled_quantity=Decimal(1) if success else Decimal(0),
        average_fill_price=Decimal("1.1") if success else None,
        arrival_bid=Decimal("1.0999"),
        arrival_ask=Decimal("1.1001"),
        commission=Decimal(0),
        slippage_bps=slippage if success else None,
        spread_cost_bps=0.9 if success else None,
        commission_bps=0.0 if success else None,
        completed_at=T0 + timedelta(seconds=i),
    )
    return OrderRecord(assignment, execution)


def arms_with(
    n: int, medians: dict[str, float], *, seed: int = 0, failure: dict[str, float] | None = None
) -> list[OrderRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for arm, median in medians.items():
        lat = rng.lognormal(np.log(median), 0.4, n)
        fails = rng.random(n) < (failure or {}).get(arm, 0.0)
        out += [
            record(arm, i, latency=float(x), success=not f)
            for i, (x, f) in enumerate(zip(lat, fails, strict=True))
        ]
    return out


def test_identical_arms_give_no_winner_and_a_running_status() -> None:
    results, _ = analyze(experiment(), arms_with(300, {"a": 50, "b": 50}), now=T0)
    assert results.status is ResultStatus.RUNNING
    assert results.winner is None
    assert results.confidence is None
    assert not results.srm.mismatch
    primary = results.comparison("b", Metric.LATENCY_MS)
    assert primary.readable
    assert primary.test.name == "msprt_mean"
    assert not primary.significant
    assert any("No significant difference" in note for note in results.recommendations)
    plan = next(note for note in results.recommendations if "orders per arm at 80% power" in note)
    # the plan's figures are the primary comparison's: its control mean and sd, and what they imply
    needed = stats.sample_size_for_means(primary.control_sd, 0.1 * primary.control_value)
    assert f"(control {format_value(Metric.LATENCY_MS, primary.control_value)}, sd " in plan
    assert f"sd {format_value(Metric.LATENCY_MS, primary.control_sd)})" in plan
    assert f"needs about {needed} orders per arm" in plan
    latencies = [
        r.execution.latency_ms for r in arms_with(300, {"a": 50, "b": 50}) if r.assignment.arm == "a"
    ]
    assert primary.control_sd == pytest.approx(np.std(latencies, ddof=1))


def test_after_the_test_ends_no_winner_means_inconclusive() -> None:
    results, _ = analyze(
        experiment(status=ExperimentStatus.COMPLETED), arms_with(300, {"a": 50, "b": 50}), now=T0
    )
    assert results.status is ResultStatus.INCONCLUSIVE


def test_a_faster_broker_wins_with_numbers_in_the_recommendation() -> None:
    results, state = analyze(experiment(), arms_with(400, {"a": 50, "b": 40}), now=T0)
    assert results.status is ResultStatus.SIGNIFICANT
    assert results.winner == "b"
    assert results.confidence is not None
    assert results.confidence > 0.95
    c = results.comparison("b", Metric.LATENCY_MS)
    assert c.better is True
    assert c.relative_effect == pytest.approx(-0.2, abs=0.06)
    assert c.test.interval is not None
    assert c.test.interval.high < 0
    assert {t.name for t in c.supporting} == {"welch_t", "mann_whitney_u"}
    assert set(c.tail_differences) == {"p95", "p99"}
    assert results.recommendations[0].startswith("Prefer b: mean latency")
    assert "b|latency_ms" in state


def test_the_control_wins_when_every_arm_is_worse() -> None:
    results, _ = analyze(experiment(), arms_with(400, {"a": 40, "b": 50}), now=T0)
    assert results.winner == "a"
    assert results.recommendations[0].startswith("Keep a")


def test_a_guardrail_breach_blocks_the_winner() -> None:
    records = arms_with(600, {"a": 50, "b": 40}, failure={"b": 0.15})
    results, _ = analyze(experiment(), records, now=T0)
    guard = results.comparison("b", Metric.SUCCESS_RATE)
    assert guard.significant
    assert guard.better is False
    assert results.comparison("b", Metric.LATENCY_MS).better is True
    assert results.winner is None
    assert any(note.startswith("Guardrail:") for note in results.recommendations)


def test_an_effect_below_the_minimum_effect_is_not_a_winner() -> None:
    records = arms_with(1500, {"a": 50, "b": 45})
    assert analyze(experiment(), records, now=T0)[0].winner == "b"
    assert analyze(experiment(minimum_effect=0.15), records, now=T0)[0].winner is None


def test_sample_ratio_mismatch_voids_the_verdict() -> None:
    records = arms_with(400, {"a": 50, "b": 40})
    records = [r for r in records if r.assignment.arm == "a" or r.assignment.client_order_id < "b-25"]
    results, _ = analyze(experiment(minimum_sample_size=10), records, now=T0)
    assert results.srm.mismatch
    assert results.status is ResultStatus.SAMPLE_RATIO_MISMATCH
    assert results.winner is None
    assert results.recommendations[0].startswith("Sample ratio mismatch")


def test_nothing_is_read_before_the_minimum_sample() -> None:
    results, state = analyze(experiment(minimum_sample_size=100), arms_with(40, {"a": 50, "b": 20}), now=T0)
    c = results.comparison("b", Metric.LATENCY_MS)
    assert not c.readable
    assert not c.significant
    assert math.isnan(c.adjusted_p_value)
    assert results.winner is None
    assert state == {}
    assert any("60 more" in note for note in results.recommendations)


def test_running_minimum_of_the_sequential_p_value_survives_later_reads() -> None:
    exp = experiment()
    _, state = analyze(exp, arms_with(400, {"a": 50, "b": 40}), now=T0)
    exp.sequential_state = state
    later, new_state = analyze(exp, arms_with(400, {"a": 50, "b": 50}, seed=3), now=T0)
    assert later.comparison("b", Metric.LATENCY_MS).test.p_value == state["b|latency_ms"]["p"]
    assert new_state["b|latency_ms"]["p"] == state["b|latency_ms"]["p"]


def test_holm_correction_spans_arms_and_metrics() -> None:
    exp = experiment(arms=("a", "b", "c"))
    records = arms_with(300, {"a": 50, "b": 45, "c": 50})
    results, _ = analyze(exp, records, now=T0)
    assert len(results.comparisons) == 2 * 3  # two treatments x (primary + two guardrails)
    for c in results.comparisons:
        assert c.adjusted_p_value >= c.test.p_value


def test_fixed_horizon_uses_welch_and_fisher_for_small_counts() -> None:
    exp = experiment(sequential=False, minimum_sample_size=10)
    results, state = analyze(exp, arms_with(30, {"a": 50, "b": 40}, failure={"b": 0.1}), now=T0)
    assert results.comparison("b", Metric.LATENCY_MS).test.name == "welch_t"
    assert results.comparison("b", Metric.SUCCESS_RATE).test.name == "fisher_exact"
    assert state == {}
    big, _ = analyze(exp, arms_with(1000, {"a": 50, "b": 50}, failure={"a": 0.1, "b": 0.1}), now=T0)
    assert big.comparison("b", Metric.SUCCESS_RATE).test.name == "two_proportion_z"


def test_performance_based_results_are_inverse_propensity_corrected() -> None:
    exp = experiment(routing_strategy=RoutingStrategy.PERFORMANCE_BASED, minimum_sample_size=20)
    # Arm b got most traffic while it was slow early on: plain means mix periods, IPW reweights them.
    records = [
        record("a", i, latency=50.0, propensity=0.5, probabilities={"a": 0.5, "b": 0.5}) for i in range(100)
    ]
    records += [
        record("b", i, latency=80.0, propensity=0.9, probabilities={"a": 0.1, "b": 0.9}) for i in range(900)
    ]
    records += [
        record("a", 100 + i, latency=50.0, propensity=0.1, probabilities={"a": 0.1, "b": 0.9})
        for i in range(100)
    ]
    records += [
        record("b", 900 + i, latency=20.0, propensity=0.5, probabilities={"a": 0.5, "b": 0.5})
        for i in range(100)
    ]
    results, _ = analyze(exp, records, now=T0, p_best={"a": 0.2, "b": 0.8}, allocation={"a": 0.3, "b": 0.7})
    b = results.arm("b")
    plain = (900 * 80 + 100 * 20) / 1000
    corrected = (900 * 80 / 0.9 + 100 * 20 / 0.5) / (900 / 0.9 + 100 / 0.5)
    assert b.metrics[Metric.LATENCY_MS].estimate == pytest.approx(plain)
    assert b.corrected[Metric.LATENCY_MS].estimate == pytest.approx(corrected)
    assert b.p_best == 0.8
    assert not results.srm.mismatch  # expected counts come from the logged probabilities
    assert any("Thompson sampling now sends" in note for note in results.recommendations)


def _adaptive_records(n_random: int, n_adaptive: int, *, seed: int = 0) -> list[OrderRecord]:
    """Identical arms on the orders routed at random; on the adaptive ones, arm b was sent its
    lucky streak (fast orders only), as Thompson sampling does to whichever arm looked good early."""
    rng = np.random.default_rng(seed)
    out: list[OrderRecord] = []
    for arm in ("a", "b"):
        out += [
            record(arm, i, latency=float(x), explore=True)
            for i, x in enumerate(rng.lognormal(np.log(50), 0.4, n_random))
        ]
    lucky = np.sort(rng.lognormal(np.log(50), 0.4, 3 * n_adaptive))[:n_adaptive]
    out += [
        record("b", 10_000 + i, latency=float(x), propensity=0.9, probabilities={"a": 0.1, "b": 0.9})
        for i, x in enumerate(lucky)
    ]
    out += [
        record("a", 10_000 + i, latency=float(x), propensity=0.1, probabilities={"a": 0.1, "b": 0.9})
        for i, x in enumerate(rng.lognormal(np.log(50), 0.4, n_adaptive // 9))
    ]
    return out


def test_performance_based_verdict_reads_only_the_orders_routed_at_random() -> None:
    exp = experiment(routing_strategy=RoutingStrategy.PERFORMANCE_BASED, minimum_sample_size=50)
    records = _adaptive_records(200, 900)
    results, state = analyze(exp, records, now=T0)
    c = results.comparison("b", Metric.LATENCY_MS)
    assert c.test.name == "msprt_mean"
    assert (c.test.n_a, c.test.n_b) == (200, 200)  # the randomised slice, not the 1,100 orders of b
    explored = {
        arm: [r.execution.latency_ms for r in records if r.assignment.arm == arm and r.assignment.explore]
        for arm in ("a", "b")
    }
    assert c.control_value == pytest.approx(np.mean(explored["a"]))
    assert c.arm_value == pytest.approx(np.mean(explored["b"]))
    assert c.test.effect == pytest.approx(c.arm_value - c.control_value)
    assert not c.significant  # the arms are identical; only the adaptive orders made b look faster
    assert results.arm("b").metrics[Metric.LATENCY_MS].estimate < 0.8 * c.control_value
    assert results.arm("b").randomised_orders == 200
    assert results.arm("b").orders == 1100
    assert "b|latency_ms" in state
    assert "orders routed at random" in results.method
    assert any("read only the orders routed at random" in note for note in results.recommendations)


def test_performance_based_verdict_waits_for_enough_randomised_orders() -> None:
    exp = experiment(routing_strategy=RoutingStrategy.PERFORMANCE_BASED, minimum_sample_size=50)
    results, _ = analyze(exp, _adaptive_records(30, 900), now=T0)
    c = results.comparison("b", Metric.LATENCY_MS)
    assert not c.readable
    assert any("20 more routed at random" in note for note in results.recommendations)


def test_holm_family_is_fixed_when_the_test_is_defined() -> None:
    """Arm c is not readable yet: its comparisons still count in the family (p = 1), so b's p-values are
    corrected over all six comparisons, as statsmodels' Holm over the six-member family gives."""
    exp = experiment(arms=("a", "b", "c"), minimum_sample_size=100)
    records = arms_with(400, {"a": 50, "b": 44}, seed=2)
    records += [r for r in arms_with(60, {"c": 50}, seed=3)]
    results, _ = analyze(exp, records, now=T0)
    readable = [c for c in results.comparisons if c.readable]
    assert {c.arm for c in readable} == {"b"}
    family = [c.test.p_value if c.readable else 1.0 for c in results.comparisons]
    expected = multipletests(family, method="holm")[1]
    for c, p_adj in zip(results.comparisons, expected, strict=True):
        if c.readable:
            assert c.adjusted_p_value == pytest.approx(p_adj)
        else:
            assert math.isnan(c.adjusted_p_value)
    primary = results.comparison("b", Metric.LATENCY_MS)
    assert primary.adjusted_p_value == pytest.approx(min(1.0, 6 * primary.test.p_value))


def test_failovers_and_in_flight_orders_are_counted_not_compared() -> None:
    records = arms_with(150, {"a": 50, "b": 50})
    records.append(record("a", 999, success=False))
    records.append(record("b", 999, attempt=1, failover_from="a"))
    records.append(record("b", 1000, executed=False))
    results, _ = analyze(experiment(), records, now=T0)
    a, b = results.arm("a"), results.arm("b")
    assert a.failovers_out == 1
    assert b.failovers_in == 1
    assert b.in_flight == 1
    assert b.orders == 150
    assert results.total_orders == 302
    assert any("1 order failed over from a" in note for note in results.recommendations)


def test_results_serialise_to_json() -> None:
    results, _ = analyze(experiment(), arms_with(50, {"a": 50, "b": 40}), now=T0)
    data = orjson.loads(orjson.dumps(results.to_dict()))
    assert data["status"] == "running"
    assert data["arms"][0]["metrics"]["latency_ms"]["estimate"] > 0
    assert data["comparisons"][0]["adjusted_p_value"] is None  # not readable yet: nan becomes null
