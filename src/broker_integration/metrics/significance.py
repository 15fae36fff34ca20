"""The statistical basis of a comparison: one test per pair of brokers and dimension, Holm-corrected.

* latency — Mann-Whitney U on the operation's latencies (robust to the heavy right tail; the effect is
  the probability that a call at B is slower than one at A), plus a bootstrap interval for the p99
  difference. Histograms are turned into at most ``max_samples`` values at evenly spaced quantiles.
* reliability — broker-caused failures per call: two-proportion z-test, or Fisher's exact test when
  fewer than five failures are expected in either arm.
* cost — Welch's t-test on per-order all-in cost in bps.
* fill quality - share of accepted orders filled in full: z-test, or Fisher's exact test for small counts.

All p-values of one comparison form one family for the Holm correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from broker_integration.metrics.aggregate import BrokerAggregate
from broker_integration.metrics.histograms import representative_sample
from broker_integration.metrics.summary import BROKER_FAULT_CODES
from broker_integration.stats import (
    Interval,
    TestResult,
    bootstrap_quantile_difference,
    fisher_exact_test,
    holm_correction,
    mann_whitney_u,
    two_proportion_z_test,
    welch_t_test,
)

__all__ = ["DimensionTest", "run_pair_tests"]


@dataclass(frozen=True, slots=True)
class DimensionTest:
    """One test between ``broker_a`` and ``broker_b`` on one dimension.

    ``result.effect`` follows :mod:`broker_integration.stats` (B relative to A). ``better`` names the
    broker the test found better after the Holm correction, or is ``None``. ``interval`` is the CI of the
    difference B - A in the metric's unit (ms of p99 latency, failure-rate points, bps, fill-rate points).
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
    a: BrokerAggregate, b: BrokerAggregate, operation: str, max_samples: int, confidence: float
) -> _Raw:
    sa = representative_sample(a.operations[operation].histogram, max_samples)
    sb = representative_sample(b.operations[operation].histogram, max_samples)
    result = mann_whitney_u(sa, sb)
    p99 = bootstrap_quantile_difference(sa, sb, 0.99, confidence=confidence)
    return _Raw(
        "latency",
        f"{operation} latency (ms)",
        float(np.median(sa)),
        float(np.median(sb)),
        result,
        True,  # effect > 0.5 means B tends to be slower: A is better
        p99,
    )


def _reliability(a: BrokerAggregate, b: BrokerAggregate, confidence: float) -> _Raw:
    ta, tb = a.totals(), b.totals()
    fa = sum(n for code, n in ta.errors.items() if code in BROKER_FAULT_CODES)
    fb = sum(n for code, n in tb.errors.items() if code in BROKER_FAULT_CODES)
    result = _proportions(fa, ta.calls, fb, tb.calls, confidence)
    return _Raw(
        "reliability",
        "broker error rate",
        fa / ta.calls,
        fb / tb.calls,
        result,
        True,
        result.interval,
    )


def _cost(a: BrokerAggregate, b: BrokerAggregate, confidence: float) -> _Raw:
    oa, ob = a.totals().orders, b.totals().orders
    assert oa is not None
    assert ob is not None
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
    oa, ob = a.totals().orders, b.totals().orders
    assert oa is not None
    assert ob is not None
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
    raws: list[tuple[str, str, _Raw]] = []
    for i, name_a in enumerate(names):
        for name_b in names[i + 1 :]:
            a, b = aggregates[name_a], aggregates[name_b]
            for dimension in dimensions:
                if dimension == "latency" and latency_operation is not None:
                    raw = _latency(a, b, latency_operation, max_samples, confidence)
                elif dimension == "reliability":
                    raw = _reliability(a, b, confidence)
                elif dimension == "cost":
                    raw = _cost(a, b, confidence)
                elif dimension == "fill_quality":
                    raw = _fill(a, b, confidence)
                else:
                    continue
                raws.append((name_a, name_b, raw))
    adjusted = holm_correction([raw.result.p_value for _, _, raw in raws])
    tests = []
    for (name_a, name_b, raw), p_adj in zip(raws, adjusted, strict=True):
        better: str | None = None
        if p_adj <= alpha:
            neutral = 0.5 if raw.result.name == "mann_whitney_u" else 0.0
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
