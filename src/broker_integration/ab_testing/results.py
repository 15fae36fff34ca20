"""Reading an A/B test: per-arm summaries, comparisons with the control, a verdict and what to do next.

The analysis uses attempt 0 of every order (the randomised assignment); failovers are counted, not
compared. For each treatment arm and each decision metric (the primary and the guardrails):

* ``sequential=True`` (default): the always-valid mSPRT p-value and interval
  (:func:`~broker_integration.stats.always_valid_mean_difference` / ``…proportion_difference``), read
  only once both arms have ``minimum_sample_size`` observations of the metric; the experiment keeps their
  running minimum / intersection, so results may be read after every batch;
* ``sequential=False``: Welch's t for means, the two-proportion z-test for rates (Fisher's exact test
  when an expected cell count is below 5), meant to be read once at the planned sample size.

Under performance-based routing the comparisons read only the orders the router sent without looking at
any outcome: its warm-up and its uniform share (``Assignment.explore``). Those orders are a randomised
experiment with sizes that do not depend on outcomes, so the always-valid test keeps its guarantee
however often it is read, and their means carry none of the bias adaptive allocation gives the others
(Shin, Ramdas & Rinaldo, "Are sample means in multi-armed bandits positively or negatively biased?",
arXiv 1905.11397). Keeping a uniformly randomised slice for inference is what GrowthBook's bandit
documentation advises (docs.growthbook.io, "Bandits": run an A/B test, or keep one, for inference). A fixed-horizon
z-test on inverse-propensity means of all orders, read every 40 orders, had declared identical arms
different in 20.7 % of simulated A/A tests. The arm summaries still carry inverse-propensity (Hájek)
means of every order and the router's P(best), as descriptions, not as verdicts.

Latency comparisons also carry Mann-Whitney U and bootstrap intervals of the p95 and p99 differences.
p-values are Holm-corrected over the family of arms x decision metrics, fixed when the test is defined:
a comparison not readable yet counts in the family with p = 1, so early reads are not corrected over a
smaller family. A winner is named only when its primary comparison is significant after correction, in
the better direction, at least ``minimum_effect`` large, and no guardrail is significantly worse; a
sample-ratio mismatch voids every verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from broker_integration import stats
from broker_integration.ab_testing.models import (
    METRICS,
    ArmSummary,
    Comparison,
    Direction,
    Experiment,
    ExperimentConfig,
    Metric,
    MetricKind,
    MetricSpec,
    ResultStatus,
    RoutingStrategy,
    TestResults,
)
from broker_integration.ab_testing.outcomes import OrderRecord
from broker_integration.ab_testing.recommendations import recommend
from broker_integration.stats import Interval, SRMResult, TestResult

__all__ = ["LATENCY_QUANTILES", "Decision", "Tally", "analyze", "decide"]

LATENCY_QUANTILES: Mapping[str, float] = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_MIN_TAIL_SAMPLES = 20

State = dict[str, dict[str, float]]


# ------------------------------------------------------------------------------------------ data per arm


@dataclass
class _ArmData:
    """One arm's first attempts: every value per metric, its propensities, and the randomised ones."""

    orders: int = 0
    in_flight: int = 0
    ambiguous: int = 0
    failovers_out: int = 0
    failovers_in: int = 0
    design_weight: float = 0.0
    randomised_orders: int = 0
    values: dict[Metric, list[float]] = field(default_factory=dict)
    propensities: dict[Metric, list[float]] = field(default_factory=dict)
    randomised: dict[Metric, list[float]] = field(default_factory=dict)

    def series(self, metric: Metric) -> np.ndarray:
        return np.asarray(self.values.get(metric, ()), dtype=np.float64)

    def weights(self, metric: Metric) -> np.ndarray:
        return np.asarray(self.propensities.get(metric, ()), dtype=np.float64)

    def tested(self, metric: Metric, adaptive: bool) -> np.ndarray:
        """The values the comparisons read: the randomised orders' under adaptive routing, else all."""
        source = self.randomised if adaptive else self.values
        return np.asarray(source.get(metric, ()), dtype=np.float64)


class Tally:
    """What a test's analysis reads, per arm, gathered from order records one at a time.

    :func:`analyze` builds one from all the records at each read; a caller that reads a test after every
    few orders (a simulation) keeps one and :meth:`add` s each new record, so a read costs no more than
    the tests it runs.
    """

    def __init__(self, config: ExperimentConfig, metrics: Iterable[Metric] = Metric) -> None:
        self.config = config
        self.metrics = tuple(metrics)
        self.adaptive = config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED
        self.arms = {arm: _ArmData() for arm in config.arms}

    def add(self, record: OrderRecord) -> None:
        data = self.arms
        a, e = record.assignment, record.execution
        if a.arm not in data:
            return
        arm = data[a.arm]
        if a.attempt > 0:
            arm.failovers_in += 1
            if a.failover_from in data and a.attempt == 1:
                data[a.failover_from].failovers_out += 1
            return
        for name, p in a.probabilities.items():
            if name in data:
                data[name].design_weight += p
        if e is None:
            arm.in_flight += 1
            return
        arm.orders += 1
        arm.ambiguous += e.ambiguous
        randomised = a.explore if self.adaptive else True
        arm.randomised_orders += randomised
        for metric in self.metrics:
            v = e.value(metric)
            if v is not None:
                arm.values.setdefault(metric, []).append(v)
                arm.propensities.setdefault(metric, []).append(a.propensity)
                if self.adaptive and randomised:
                    arm.randomised.setdefault(metric, []).append(v)


def _collect(
    config: ExperimentConfig, records: Sequence[OrderRecord], metrics: Iterable[Metric] = Metric
) -> dict[str, _ArmData]:
    """Every first attempt's values of ``metrics`` per arm, failovers and in-flight orders counted."""
    tally = Tally(config, metrics)
    for record in records:
        tally.add(record)
    return tally.arms


def _arm_interval(spec: MetricSpec, values: np.ndarray, confidence: float) -> Interval:
    if spec.kind is MetricKind.PROPORTION:
        return stats.wilson_interval(int(values.sum()), int(values.size), confidence)
    return stats.mean_interval(values, confidence)


def _summaries(
    config: ExperimentConfig,
    data: Mapping[str, _ArmData],
    p_best: Mapping[str, float] | None,
    allocation: Mapping[str, float] | None,
) -> tuple[ArmSummary, ...]:
    assigned = sum(d.orders + d.in_flight for d in data.values())
    adaptive = config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED
    level = 1 - config.significance_level
    out = []
    for arm, d in data.items():
        latency = d.series(Metric.LATENCY_MS)
        quantiles = (
            {
                name: stats.bootstrap_quantile_interval(latency, q, level)
                for name, q in LATENCY_QUANTILES.items()
            }
            if latency.size
            else {}
        )
        out.append(
            ArmSummary(
                arm=arm,
                is_control=arm == config.control_arm,
                target_share=config.weights[arm],
                observed_share=(d.orders + d.in_flight) / assigned if assigned else 0.0,
                orders=d.orders,
                in_flight=d.in_flight,
                ambiguous=d.ambiguous,
                failovers_out=d.failovers_out,
                failovers_in=d.failovers_in,
                metrics={m: _arm_interval(METRICS[m], d.series(m), level) for m in Metric if d.values.get(m)},
                samples={m: len(d.values.get(m, ())) for m in Metric},
                latency_quantiles=quantiles,
                corrected=(
                    {
                        m: stats.ipw_mean(d.series(m), d.weights(m), confidence=level)
                        for m in Metric
                        if d.values.get(m)
                    }
                    if adaptive
                    else {}
                ),
                p_best=p_best.get(arm) if p_best else None,
                allocation=allocation.get(arm) if allocation else None,
                randomised_orders=d.randomised_orders,
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------------------ comparisons


def _state_key(arm: str, metric: Metric) -> str:
    return f"{arm}|{metric.value}"


def _sequential(
    spec: MetricSpec, control: np.ndarray, arm: np.ndarray, config: ExperimentConfig
) -> stats.SequentialResult:
    alpha, tuning = config.significance_level, config.sequential_tuning_n
    if spec.kind is MetricKind.PROPORTION:
        return stats.always_valid_proportion_difference(
            int(control.sum()), control.size, int(arm.sum()), arm.size, alpha, tuning_n=tuning
        )
    return stats.always_valid_mean_difference(control, arm, alpha, tuning_n=tuning)


def _running(
    current: stats.SequentialResult, previous: Mapping[str, float] | None
) -> tuple[float, Interval, dict[str, float]]:
    """Combine this read with earlier ones: minimum p-value, intersection of intervals."""
    p, iv = current.p_value, current.interval
    if previous:
        p = min(p, previous.get("p", 1.0))
        low, high = max(iv.low, previous.get("low", -math.inf)), min(iv.high, previous.get("high", math.inf))
        if low <= high:  # an empty intersection means the plug-in variance moved; keep this read's interval
            iv = Interval(iv.estimate, low, high, iv.confidence)
    state = {"p": p}
    if math.isfinite(iv.low):
        state["low"] = iv.low
    if math.isfinite(iv.high):
        state["high"] = iv.high
    return p, iv, state


def _fixed(spec: MetricSpec, control: np.ndarray, arm: np.ndarray, confidence: float) -> TestResult:
    if spec.kind is MetricKind.MEAN:
        return stats.welch_t_test(control, arm, confidence)
    sa, na, sb, nb = int(control.sum()), control.size, int(arm.sum()), arm.size
    total = na + nb
    rate = (sa + sb) / total if total else 0.0
    smallest_expected = min(na, nb) * min(rate, 1 - rate)
    if smallest_expected < 5:
        return stats.fisher_exact_test(sa, na, sb, nb, confidence=confidence)
    return stats.two_proportion_z_test(sa, na, sb, nb, confidence)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


@dataclass(frozen=True)
class _Decisive:
    """One arm-vs-control test before the family correction, with the two means it compared."""

    metric: Metric
    arm: str
    role: str
    test: TestResult
    readable: bool
    control_value: float
    control_sd: float
    arm_value: float
    supporting: tuple[TestResult, ...]
    tails: Mapping[str, Interval]


def _compare(
    experiment: Experiment,
    metric: Metric,
    arm: str,
    data: Mapping[str, _ArmData],
    new_state: State,
    detail: bool,
) -> _Decisive:
    """The decisive test of ``arm`` vs the control on ``metric`` and whether it may be read yet.

    ``detail`` adds the tests that support a reader but do not enter the verdict (the fixed-horizon
    version of a sequential test, Mann-Whitney U and the tail differences for latency).
    """
    config = experiment.config
    spec = METRICS[metric]
    adaptive = config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED
    c, t = data[config.control_arm].tested(metric, adaptive), data[arm].tested(metric, adaptive)
    readable = min(c.size, t.size) >= config.minimum_sample_size
    confidence = 1 - config.significance_level
    supporting: list[TestResult] = []
    tails: dict[str, Interval] = {}
    if config.sequential:
        key = _state_key(arm, metric)
        previous = experiment.sequential_state.get(key)
        if readable:
            seq = _sequential(spec, c, t, config)
            p, interval, new_state[key] = _running(seq, previous)
        else:
            p = 1.0
            interval = Interval(_mean(t) - _mean(c), -math.inf, math.inf, confidence)
        stat = 1.0 / p if p > 0 else math.inf
        test = TestResult(f"msprt_{spec.kind.value}", stat, p, interval.estimate, interval, c.size, t.size)
        if detail:
            supporting.append(_fixed(spec, c, t, confidence))
    else:
        test = _fixed(spec, c, t, confidence)
    if detail and metric is Metric.LATENCY_MS and c.size and t.size:
        supporting.append(stats.mann_whitney_u(c, t))
        if min(c.size, t.size) >= _MIN_TAIL_SAMPLES:
            tails = {
                name: stats.bootstrap_quantile_difference(c, t, q, confidence)
                for name, q in LATENCY_QUANTILES.items()
                if q > 0.5
            }
    role = "primary" if metric is config.primary_metric else "guardrail"
    control_sd = float(c.std(ddof=1)) if c.size > 1 else math.nan
    return _Decisive(
        metric, arm, role, test, readable, _mean(c), control_sd, _mean(t), tuple(supporting), tails
    )


def _comparisons(
    experiment: Experiment, data: Mapping[str, _ArmData], new_state: State, detail: bool
) -> tuple[Comparison, ...]:
    config = experiment.config
    control = config.control_arm
    raw = [
        _compare(experiment, metric, arm, data, new_state, detail)
        for arm in config.arms
        if arm != control
        for metric in config.decision_metrics
    ]
    # The family is every arm x decision metric, fixed by the configuration: a comparison that cannot be
    # read yet (or whose test could not be computed) is in it with p = 1.
    family = [r.test.p_value if r.readable and not math.isnan(r.test.p_value) else 1.0 for r in raw]
    adjusted = stats.holm_correction(family)
    out = []
    for r, p_adj in zip(raw, adjusted, strict=True):
        spec = METRICS[r.metric]
        base, effect = r.control_value, r.test.effect
        relative = effect / abs(base) if math.isfinite(base) and base != 0 and math.isfinite(effect) else None
        significant = r.readable and bool(p_adj <= config.significance_level)
        better = None
        if significant:
            better = r.test.effect < 0 if spec.direction is Direction.LOWER_IS_BETTER else r.test.effect > 0
        out.append(
            Comparison(
                metric=r.metric,
                arm=r.arm,
                control=control,
                role=r.role,
                test=r.test,
                adjusted_p_value=p_adj if r.readable else math.nan,
                relative_effect=relative,
                readable=r.readable,
                significant=significant,
                better=better,
                control_value=r.control_value,
                control_sd=r.control_sd,
                arm_value=r.arm_value,
                supporting=r.supporting,
                tail_differences=r.tails,
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------------------ verdict


def _practical(comparison: Comparison, minimum_effect: float) -> bool:
    return comparison.relative_effect is None or abs(comparison.relative_effect) >= minimum_effect


def _winner(config: ExperimentConfig, comparisons: Sequence[Comparison]) -> tuple[str | None, float | None]:
    primary = [c for c in comparisons if c.role == "primary"]
    harmed = {c.arm for c in comparisons if c.role == "guardrail" and c.significant and c.better is False}
    helped = {c.arm for c in comparisons if c.role == "guardrail" and c.significant and c.better is True}
    winners = [
        c
        for c in primary
        if c.significant and c.better and c.arm not in harmed and _practical(c, config.minimum_effect)
    ]
    if winners:
        spec = METRICS[config.primary_metric]
        sign = 1.0 if spec.direction is Direction.HIGHER_IS_BETTER else -1.0
        best = max(winners, key=lambda c: sign * c.test.effect)
        return best.arm, 1.0 - best.adjusted_p_value
    control_wins = (
        primary
        and all(c.significant and c.better is False and _practical(c, config.minimum_effect) for c in primary)
        and not helped
    )
    if control_wins:
        return config.control_arm, 1.0 - max(c.adjusted_p_value for c in primary)
    return None, None


@dataclass(frozen=True)
class Decision:
    """What the evidence decides now: the comparisons, the sample-ratio check, the winner and the status,
    and the sequential state to keep for the next read."""

    comparisons: tuple[Comparison, ...]
    srm: SRMResult
    winner: str | None
    confidence: float | None
    status: ResultStatus
    state: State
    total_orders: int


def _decide(experiment: Experiment, data: Mapping[str, _ArmData], detail: bool) -> Decision:
    config = experiment.config
    adaptive = config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED
    observed = [d.orders + d.in_flight for d in data.values()]
    expected = [d.design_weight for d in data.values()] if adaptive else [config.weights[a] for a in data]
    srm = stats.srm_check(observed, expected if sum(expected) > 0 else [1.0] * len(observed))
    new_state = dict(experiment.sequential_state)
    comparisons = _comparisons(experiment, data, new_state, detail)
    winner, confidence = (None, None) if srm.mismatch else _winner(config, comparisons)
    if srm.mismatch:
        status = ResultStatus.SAMPLE_RATIO_MISMATCH
    elif winner is not None:
        status = ResultStatus.SIGNIFICANT
    elif experiment.status.is_final or _at_max(config, data):
        status = ResultStatus.INCONCLUSIVE
    else:
        status = ResultStatus.RUNNING
    return Decision(comparisons, srm, winner, confidence, status, new_state, sum(observed))


def decide(
    experiment: Experiment, records: Sequence[OrderRecord] | Tally, *, detail: bool = False
) -> Decision:
    """The verdict of ``experiment`` from its order ``records`` (or a :class:`Tally` of them) without the
    arm summaries, for callers that read a test very often; ``detail`` adds the supporting tests."""
    config = experiment.config
    if isinstance(records, Tally):
        return _decide(experiment, records.arms, detail)
    return _decide(experiment, _collect(config, records, config.decision_metrics), detail)


def analyze(
    experiment: Experiment,
    records: Sequence[OrderRecord],
    *,
    now: datetime,
    p_best: Mapping[str, float] | None = None,
    allocation: Mapping[str, float] | None = None,
) -> tuple[TestResults, State]:
    """The results of ``experiment`` from its order ``records``, and its updated sequential state."""
    config = experiment.config
    data = _collect(config, records)
    decision = _decide(experiment, data, detail=True)
    results = TestResults(
        test_id=experiment.test_id,
        test_name=config.test_name,
        experiment_status=experiment.status.value,
        status=decision.status,
        routing_strategy=config.routing_strategy,
        primary_metric=config.primary_metric,
        significance_level=config.significance_level,
        method=_method(config),
        total_orders=decision.total_orders,
        arms=_summaries(config, data, p_best, allocation),
        comparisons=decision.comparisons,
        srm=decision.srm,
        winner=decision.winner,
        confidence=decision.confidence,
        recommendations=(),
        generated_at=now,
    )
    return replace(results, recommendations=tuple(recommend(config, results))), decision.state


def _at_max(config: ExperimentConfig, data: Mapping[str, _ArmData]) -> bool:
    cap = config.max_sample_size
    return cap is not None and all(d.orders >= cap for d in data.values())


def _method(config: ExperimentConfig) -> str:
    alpha = config.significance_level
    if config.sequential:
        core = (
            f"always-valid mSPRT (normal mixture tuned for {config.sequential_tuning_n} orders), "
            "running minimum p-value, readable after every batch"
        )
    else:
        core = "fixed-horizon Welch t / two-proportion z (Fisher for small counts)"
    if config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED:
        core += (
            " on the orders routed at random (the warm-up and the uniform share of Thompson sampling); "
            "arm figures inverse-propensity (Hajek) corrected; P(best) from the router's posterior"
        )
    return (
        f"{core}; Holm correction across arms x metrics at alpha={alpha:g} (family fixed when the test "
        f"was defined); SRM chi-square at p<0.001; verdicts from {config.minimum_sample_size} orders per arm"
    )
