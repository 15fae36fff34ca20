"""The statistical basis of a comparison: tests per pair of brokers and dimension, Holm-corrected together,
and the verdict each pair gets on each dimension.

* latency: two tests on the operation's latencies. The p99 difference (a percentile bootstrap of the
  nearest-rank p99, the histograms' own rule, with the p-value that inverts its interval) and Mann-Whitney
  U for the typical call (the effect is the probability that a call at B is slower than one at A).
  Histograms are turned into at most ``max_samples`` values at evenly spaced quantiles. **Criterion**:
  the tail first. A venue is faster when its p99 is significantly lower; when the p99s cannot be told
  apart, when its calls are significantly faster more often than not. A venue whose p99 is significantly
  higher is never the faster one, however quick its typical call: an order that must not wait meets the
  tail, not the median.
* reliability: broker-caused failures per answered call: two-proportion z-test, or Fisher's exact test
  when fewer than five failures are expected in either arm.
* cost: Welch's t-test on per-order all-in cost in bps.
* fill quality: share of accepted orders filled in full: z-test, or Fisher's exact test for small counts.

Every test of one comparison is in one Holm family, fixed by the brokers and dimensions compared. The
figures a test carries (``value_a``, ``value_b``) are the ones the brokers' metrics report: the
histograms' p50 and p99, the broker error rate, the mean all-in cost, the full-fill rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from broker_integration.metrics.aggregate import BrokerAggregate
from broker_integration.metrics.buckets import OrderStats
from broker_integration.metrics.histograms import LatencySummary, representative_sample
from broker_integration.metrics.summary import BROKER_FAULT_CODES, answered_calls
from broker_integration.stats import (
    Interval,
    TestResult,
    bootstrap_quantile_test,
    fisher_exact_test,
    holm_correction,
    mann_whitney_u,
    two_proportion_z_test,
    welch_t_test,
)

__all__ = ["TAIL_QUANTILE", "DimensionTest", "PairVerdict", "pair_verdicts", "run_pair_tests"]

#: The latency quantile that decides first which venue is faster.
TAIL_QUANTILE = 0.99
_TAIL_TEST = "bootstrap_quantile"
_TYPICAL_TEST = "mann_whitney_u"
#: Bootstrap resamples at least; more when the family is so large that a p-value floor of
#: 2 / (resamples + 1) could not pass Holm's smallest threshold alpha / m.
_MIN_RESAMPLES = 4000


@dataclass(frozen=True, slots=True)
class DimensionTest:
    """One test between ``broker_a`` and ``broker_b`` on one dimension.

    ``result.effect`` follows :mod:`broker_integration.stats` (B relative to A). ``better`` names the
    broker this test found better after the Holm correction, or is ``None``. ``interval`` is the CI of the
    difference B - A in the metric's unit (ms of p99 latency, failure-rate points, bps, fill-rate points);
    ``value_a`` and ``value_b`` are the two figures compared, as the brokers' metrics report them.
    """

    dimension: str
    metric: str
    broker_a: str
    broker_b: str
    value_a: float
    value_b: float
    result: TestResult
    adjusted_p_value: float
    better: str | None
    interval: Interval | None

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "dimension": self.dimension,
            "metric": self.metric,
            "broker_a": self.broker_a,
            "broker_b": self.broker_b,
            "value_a": self.value_a,
            "value_b": self.value_b,
            "test": self.result.name,
            "statistic": _finite(self.result.statistic),
            "p_value": _finite(self.result.p_value),
            "adjusted_p_value": _finite(self.adjusted_p_value),
            "effect": _finite(self.result.effect),
            "n_a": self.result.n_a,
            "n_b": self.result.n_b,
            "better": self.better,
            "interval": None
            if interval is None
            else {
                "low": _finite(interval.low),
                "high": _finite(interval.high),
                "confidence": interval.confidence,
            },
        }


@dataclass(frozen=True, slots=True)
class PairVerdict:
    """Which of two brokers is better on one dimension, by the dimension's criterion, and on what test.

    ``deciding`` is the test the verdict rests on (for latency the p99 test when it is significant, else
    the typical-call test); ``tests`` are every test of the pair on the dimension.
    """

    dimension: str
    broker_a: str
    broker_b: str
    better: str | None
    deciding: DimensionTest
    tests: tuple[DimensionTest, ...]

    def test(self, name: str) -> DimensionTest | None:
        """The pair's test named ``name`` (``bootstrap_quantile``, ``mann_whitney_u`` ...), if it ran."""
        return next((t for t in self.tests if t.result.name == name), None)

    def involves(self, broker: str) -> bool:
        return broker in (self.broker_a, self.broker_b)

    def other(self, broker: str) -> str:
        return self.broker_b if broker == self.broker_a else self.broker_a

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "broker_a": self.broker_a,
            "broker_b": self.broker_b,
            "better": self.better,
            "deciding_test": self.deciding.result.name,
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class _Raw:
    dimension: str
    metric: str
    value_a: float
    value_b: float
    result: TestResult
    a_better_when_effect_positive: bool
    interval: Interval | None


def _proportions(s_a: int, n_a: int, s_b: int, n_b: int, confidence: float) -> TestResult:
    pooled = (s_a + s_b) / (n_a + n_b) if n_a + n_b else 0.0
    expected_small = min(n_a, n_b) * min(pooled, 1 - pooled) < 5
    if expected_small:
        return fisher_exact_test(s_a, n_a, s_b, n_b, confidence=confidence)
    return two_proportion_z_test(s_a, n_a, s_b, n_b, confidence)


def _latency(
    a: BrokerAggregate,
    b: BrokerAggregate,
    operation: str,
    max_samples: int,
    confidence: float,
    resamples: int,
) -> list[_Raw]:
    ha, hb = a.operations[operation], b.operations[operation]
    sa, sb = (
        representative_sample(ha.histogram, max_samples),
        representative_sample(hb.histogram, max_samples),
    )
    la = LatencySummary.from_histogram(ha.histogram, ha.sum_us)
    lb = LatencySummary.from_histogram(hb.histogram, hb.sum_us)
    tail = bootstrap_quantile_test(sa, sb, TAIL_QUANTILE, confidence, n_resamples=resamples)
    typical = mann_whitney_u(sa, sb)
    return [
        # a positive effect means B is slower (a higher p99, or slower more often): A is better
        _Raw("latency", f"{operation} p99 latency (ms)", la.p99_ms, lb.p99_ms, tail, True, tail.interval),
        _Raw("latency", f"{operation} latency, typical call", la.p50_ms, lb.p50_ms, typical, True, None),
    ]


def _reliability(a: BrokerAggregate, b: BrokerAggregate, confidence: float) -> _Raw:
    (na, _, ea), (nb, _, eb) = answered_calls(a.totals()), answered_calls(b.totals())
    fa = sum(n for code, n in ea.items() if code in BROKER_FAULT_CODES)
    fb = sum(n for code, n in eb.items() if code in BROKER_FAULT_CODES)
    result = _proportions(fa, na, fb, nb, confidence)
    return _Raw(
        "reliability",
        "broker error rate",
        fa / na if na else math.nan,
        fb / nb if nb else math.nan,
        result,
        True,
        result.interval,
    )


def _order_stats(a: BrokerAggregate, b: BrokerAggregate) -> tuple[OrderStats, OrderStats]:
    """Both brokers' order figures: a cost or fill dimension is scored only when every broker has orders."""
    oa, ob = a.totals().orders, b.totals().orders
    assert oa is not None
    assert ob is not None
    return oa, ob


def _cost(a: BrokerAggregate, b: BrokerAggregate, confidence: float) -> _Raw:
    oa, ob = _order_stats(a, b)
    ca, cb = np.asarray(oa.cost_bps.samples), np.asarray(ob.cost_bps.samples)
    result = welch_t_test(ca, cb, confidence)
    return _Raw(
        "cost",
        "all-in cost per order (bps)",
        float(ca.mean()),
        float(cb.mean()),
        result,
        True,
        result.interval,
    )


def _fill(a: BrokerAggregate, b: BrokerAggregate, confidence: float) -> _Raw:
    oa, ob = _order_stats(a, b)
    accepted_a, accepted_b = oa.accepted, ob.accepted
    result = _proportions(oa.filled, accepted_a, ob.filled, accepted_b, confidence)
    return _Raw(
        "fill_quality",
        "full fill rate of accepted orders",
        oa.filled / accepted_a,
        ob.filled / accepted_b,
        result,
        False,  # a higher fill rate at B (effect > 0) makes B better
        result.interval,
    )


def _family_size(brokers: int, dimensions: list[str], latency_operation: str | None) -> int:
    tests = sum(2 if d == "latency" else 1 for d in dimensions if d != "latency" or latency_operation)
    return brokers * (brokers - 1) // 2 * tests


def run_pair_tests(
    aggregates: dict[str, BrokerAggregate],
    dimensions: list[str],
    latency_operation: str | None,
    *,
    alpha: float,
    max_samples: int,
) -> list[DimensionTest]:
    """Every pair of brokers (in the given order) on every scored dimension, Holm-corrected together."""
    confidence = 1.0 - alpha
    names = list(aggregates)
    family = _family_size(len(names), dimensions, latency_operation)
    resamples = max(_MIN_RESAMPLES, math.ceil(4 * family / alpha))
    raws: list[tuple[str, str, _Raw]] = []
    for i, name_a in enumerate(names):
        for name_b in names[i + 1 :]:
            a, b = aggregates[name_a], aggregates[name_b]
            for dimension in dimensions:
                if dimension == "latency" and latency_operation is not None:
                    found = _latency(a, b, latency_operation, max_samples, confidence, resamples)
                elif dimension == "reliability":
                    found = [_reliability(a, b, confidence)]
                elif dimension == "cost":
                    found = [_cost(a, b, confidence)]
                elif dimension == "fill_quality":
                    found = [_fill(a, b, confidence)]
                else:
                    continue
                raws += [(name_a, name_b, raw) for raw in found]
    adjusted = holm_correction([raw.result.p_value for _, _, raw in raws])
    tests = []
    for (name_a, name_b, raw), p_adj in zip(raws, adjusted, strict=True):
        better: str | None = None
        if p_adj <= alpha:
            neutral = 0.5 if raw.result.name == _TYPICAL_TEST else 0.0
            b_higher = raw.result.effect > neutral
            if raw.result.effect != neutral:
                a_wins = b_higher == raw.a_better_when_effect_positive
                better = name_a if a_wins else name_b
        tests.append(
            DimensionTest(
                raw.dimension,
                raw.metric,
                name_a,
                name_b,
                raw.value_a,
                raw.value_b,
                raw.result,
                p_adj,
                better,
                raw.interval,
            )
        )
    return tests


def pair_verdicts(tests: Iterable[DimensionTest]) -> list[PairVerdict]:
    """One verdict per pair and dimension, in the order the tests ran (see the module's criteria)."""
    grouped: dict[tuple[str, str, str], list[DimensionTest]] = {}
    for t in tests:
        grouped.setdefault((t.broker_a, t.broker_b, t.dimension), []).append(t)
    verdicts = []
    for (a, b, dimension), group in grouped.items():
        deciding = group[0]
        if dimension == "latency":
            tail = next((t for t in group if t.result.name == _TAIL_TEST), None)
            typical = next((t for t in group if t.result.name == _TYPICAL_TEST), None)
            deciding = (
                tail
                if tail is not None and (tail.better is not None or typical is None)
                else typical or group[0]
            )
        verdicts.append(PairVerdict(dimension, a, b, deciding.better, deciding, tuple(group)))
    return verdicts
