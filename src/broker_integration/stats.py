"""The statistics that A/B tests and broker comparisons share: tests, intervals, sequential inference.

Pure functions over numbers and arrays; floats are allowed here and only here. Every function is
written from its formula (sources in ``shared/reference/ab_stats.md``) and checked against scipy and
statsmodels in ``tests/unit/stats``. Conventions:

* Two-sample functions take arm A (the control) first and report ``effect = B - A``.
* Empty or too-small samples never raise: the result carries ``nan`` (fixed-horizon tests) or ``p = 1``
  with an unbounded interval (always-valid tests), and :meth:`TestResult.significant` is then false.
  Invalid parameters (a confidence outside (0, 1), a quantile outside [0, 1]) raise ``ValueError``.
* Quantiles follow one rule across the library, :func:`quantile`: the nearest rank, the sample of rank
  ``max(1, floor(q·n + 0.5))``, which is HdrHistogram's ``get_value_at_percentile`` rule, so an A/B test's
  p99 and the metrics collector's histogram p99 are the same statistic. The p95 of 1..100 is 95 (numpy's
  default linear interpolation would give 95.05).

Always-valid inference (:func:`always_valid_mean_difference`, :func:`always_valid_proportion_difference`)
is the mixture sequential probability ratio test (mSPRT, Johari et al., "Always Valid Inference") with a
normal mixing distribution. Its p-value and interval may be read after every batch of data without
inflating false positives; keep the running minimum of the p-value (and the running intersection of
the intervals) across reads, as :mod:`broker_integration.ab_testing` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SEQUENTIAL_TUNING_N",
    "Interval",
    "SRMResult",
    "SequentialResult",
    "TestResult",
    "always_valid_mean_difference",
    "always_valid_proportion_difference",
    "bootstrap_quantile_difference",
    "bootstrap_quantile_interval",
    "bootstrap_quantile_test",
    "fisher_exact_test",
    "holm_correction",
    "ipw_mean",
    "mann_whitney_u",
    "mean_interval",
    "quantile",
    "relative_lift",
    "sample_size_for_means",
    "sample_size_for_proportions",
    "srm_check",
    "two_proportion_z_test",
    "welch_t_test",
    "wilson_interval",
]


def _scipy_stats() -> Any:  # scipy ships no type information
    """``scipy.stats``, imported on first use: importing it takes half a second, which every command
    line call would otherwise pay."""
    from scipy import stats

    return stats


#: Total sample (both arms of one comparison) at which the default always-valid boundary is tightest
#: (GrowthBook's N*, whose own default of 5000 suits web experiments; broker experiments compare hundreds
#: to a few thousand orders). The A/B framework's ``sequential_tuning_n`` defaults to this value.
DEFAULT_SEQUENTIAL_TUNING_N = 1000

_NAN = float("nan")
_INF = float("inf")


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval around ``estimate`` at level ``confidence`` (e.g. 0.95)."""

    estimate: float
    low: float
    high: float
    confidence: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class TestResult:
    """The outcome of a two-sample test: ``effect`` is B - A unless the test's name says otherwise."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    name: str
    statistic: float
    p_value: float
    effect: float
    interval: Interval | None
    n_a: int
    n_b: int

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether ``p_value <= alpha``; false when the test could not be computed (``nan``)."""
        return bool(self.p_value <= alpha)


@dataclass(frozen=True)
class SRMResult:
    """A sample-ratio-mismatch check: ``mismatch`` is true when ``p_value < threshold``."""

    statistic: float
    p_value: float
    mismatch: bool
    expected: list[float]


@dataclass(frozen=True)
class SequentialResult:
    """An always-valid p-value and confidence interval (level ``1 - alpha``) for the effect B - A."""

    p_value: float
    interval: Interval
    n_a: int
    n_b: int

    def significant(self, alpha: float = 0.05) -> bool:
        return bool(self.p_value <= alpha)


# --------------------------------------------------------------------------------------------- helpers


def _sample(values: ArrayLike, name: str = "samples") -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers")
    return arr


def _check_level(value: float, name: str = "confidence") -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, not {value!r}")


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def _z(confidence: float) -> float:
    """The two-sided normal critical value for ``confidence``."""
    return float(_scipy_stats().norm.ppf(0.5 + confidence / 2.0))


def _moments(x: NDArray[np.float64]) -> tuple[int, float, float]:
    """(n, mean, sample variance with n - 1); the variance is nan below two observations."""
    n = int(x.size)
    if n == 0:
        return 0, _NAN, _NAN
    mean = float(x.mean())
    var = float(x.var(ddof=1)) if n > 1 else _NAN
    return n, mean, var


def _unbounded(estimate: float, confidence: float) -> Interval:
    return Interval(estimate, -_INF, _INF, confidence)


# --------------------------------------------------------------------------------------------- rates


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion; good coverage even for small ``n`` or rates near 0 or 1.

    With ``n == 0`` the estimate is ``nan`` and the interval is [0, 1].
    """
    _check_counts(successes, n)
    _check_level(confidence)
    if n == 0:
        return Interval(_NAN, 0.0, 1.0, confidence)
    z = _z(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)  # exact ends, not 1 - 1e-16
    return Interval(p, low, high, confidence)


def two_proportion_z_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int, confidence: float = 0.95
) -> TestResult:
    """Two-sided z-test of p_B = p_A: pooled standard error for the p-value, unpooled for the interval."""
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    _check_level(confidence)
    if n_a == 0 or n_b == 0:
        return TestResult("two_proportion_z", _NAN, _NAN, _NAN, None, n_a, n_b)
    pa, pb = successes_a / n_a, successes_b / n_b
    effect = pb - pa
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se0 == 0.0:  # both arms all successes or all failures: no evidence of a difference
        z_stat, p_value = 0.0, 1.0
    else:
        z_stat = effect / se0
        p_value = float(2 * _scipy_stats().norm.sf(abs(z_stat)))
    se1 = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    half = _z(confidence) * se1
    return TestResult(
        "two_proportion_z",
        z_stat,
        p_value,
        effect,
        Interval(effect, effect - half, effect + half, confidence),
        n_a,
        n_b,
    )


def fisher_exact_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, confidence: float = 0.95
) -> TestResult:
    """Fisher's exact test of p_B = p_A, for small counts; ``statistic`` is the sample odds ratio B:A.

    ``effect`` is p_B - p_A with Newcombe's hybrid score interval (built from two Wilson intervals).
    """
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    _check_level(confidence)
    if n_a == 0 or n_b == 0:
        return TestResult("fisher_exact", _NAN, _NAN, _NAN, None, n_a, n_b)
    table = [[successes_b, n_b - successes_b], [successes_a, n_a - successes_a]]
    odds_ratio, p_value = _scipy_stats().fisher_exact(table, alternative="two-sided")
    pa, pb = successes_a / n_a, successes_b / n_b
    effect = pb - pa
    wa = wilson_interval(successes_a, n_a, confidence)
    wb = wilson_interval(successes_b, n_b, confidence)
    low = effect - math.sqrt((pb - wb.low) ** 2 + (wa.high - pa) ** 2)
    high = effect + math.sqrt((wb.high - pb) ** 2 + (pa - wa.low) ** 2)
    return TestResult(
        "fisher_exact",
        float(odds_ratio),
        min(1.0, float(p_value)),
        effect,
        Interval(effect, low, high, confidence),
        n_a,
        n_b,
    )


# --------------------------------------------------------------------------------------------- means


def mean_interval(values: ArrayLike, confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean of ``values``; unbounded with fewer than two values."""
    _check_level(confidence)
    n, mean, var = _moments(_sample(values))
    if n < 2:
        return _unbounded(mean, confidence)
    half = float(_scipy_stats().t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half, confidence)


def _welch_df(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom of the difference of two means (sample variances, n > 1)."""
    sa, sb = var_a / n_a, var_b / n_b
    return (sa + sb) ** 2 / (sa * sa / (n_a - 1) + sb * sb / (n_b - 1))


def welch_t_test(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> TestResult:
    """Welch's t-test of mean(B) = mean(A) (unequal variances, Welch-Satterthwaite degrees of freedom)."""
    _check_level(confidence)
    na, ma, va = _moments(_sample(a, "a"))
    nb, mb, vb = _moments(_sample(b, "b"))
    effect = mb - ma
    if na < 2 or nb < 2:
        return TestResult("welch_t", _NAN, _NAN, effect, _unbounded(effect, confidence), na, nb)
    sa, sb = va / na, vb / nb
    se = math.sqrt(sa + sb)
    if se == 0.0:  # two constant samples: they differ or they do not
        same = effect == 0.0
        stat = 0.0 if same else math.copysign(_INF, effect)
        return TestResult(
            "welch_t",
            stat,
            1.0 if same else 0.0,
            effect,
            Interval(effect, effect, effect, confidence),
            na,
            nb,
        )
    df = _welch_df(va, na, vb, nb)
    t_stat = effect / se
    p_value = float(2 * _scipy_stats().t.sf(abs(t_stat), df))
    half = float(_scipy_stats().t.ppf(0.5 + confidence / 2, df)) * se
    return TestResult(
        "welch_t", t_stat, p_value, effect, Interval(effect, effect - half, effect + half, confidence), na, nb
    )


def relative_lift(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> Interval:
    """(mean(B) - mean(A)) / |mean(A)| with a delta-method interval; unbounded when it cannot be formed.

    The variance is vB/(mA²·nB) + vA·mB²/(mA⁴·nA) and the critical value Student's t with the
    Welch-Satterthwaite degrees of freedom of the two means, as GrowthBook's frequentist engine does
    (gbstats ``frequentist/tests.py``): at small samples z would make the interval too narrow.
    """
    _check_level(confidence)
    na, ma, va = _moments(_sample(a, "a"))
    nb, mb, vb = _moments(_sample(b, "b"))
    if na == 0 or nb == 0 or ma == 0.0:
        return _unbounded(_NAN, confidence)
    lift = (mb - ma) / abs(ma)
    if na < 2 or nb < 2:
        return _unbounded(lift, confidence)
    var = vb / (ma * ma * nb) + va * mb * mb / (ma**4 * na)
    if var == 0.0:  # two constant samples: the lift is exact
        return Interval(lift, lift, lift, confidence)
    df = _welch_df(va, na, vb, nb)
    half = float(_scipy_stats().t.ppf(0.5 + confidence / 2, df)) * math.sqrt(var)
    return Interval(lift, lift - half, lift + half, confidence)


def mann_whitney_u(a: ArrayLike, b: ArrayLike) -> TestResult:
    """Mann-Whitney U (rank-sum) test: does B tend to be larger or smaller than A?

    ``statistic`` is U of B; ``effect`` is the common-language effect size P(B > A) + 0.5 P(B = A)
    (0.5 means no tendency). The p-value is scipy's two-sided ``method="auto"`` (exact for small
    samples without ties, else normal with tie and continuity corrections).
    """
    xa, xb = _sample(a, "a"), _sample(b, "b")
    na, nb = int(xa.size), int(xb.size)
    if na == 0 or nb == 0:
        return TestResult("mann_whitney_u", _NAN, _NAN, _NAN, None, na, nb)
    res = _scipy_stats().mannwhitneyu(xb, xa, alternative="two-sided", method="auto")
    u_b = float(res.statistic)
    return TestResult("mann_whitney_u", u_b, float(res.pvalue), u_b / (na * nb), None, na, nb)


# --------------------------------------------------------------------------------------------- quantiles


def _check_quantile(q: float) -> None:
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q is a quantile between 0 and 1 (0.95 for p95), not {q!r}")


def _rank(n: int, q: float) -> int:
    """The 1-based nearest rank of the ``q`` quantile among ``n`` values (HdrHistogram's rounding)."""
    return min(n, max(1, int(q * 100.0 * n / 100 + 0.5)))


def quantile(values: ArrayLike, q: float) -> float:
    """The ``q`` quantile (0.99 for p99) of ``values`` by the library's one rule, the nearest rank.

    The value of rank ``max(1, floor(q·n + 0.5))`` in ascending order: what HdrHistogram's
    ``get_value_at_percentile`` returns for the same samples (``HdrHistogram_py``, ``hdrh/histogram.py``),
    so quantiles of raw samples (A/B tests) and of the metrics collector's histograms agree. Always one
    of the samples, never an interpolation between two. ``nan`` when empty.
    """
    _check_quantile(q)
    x = _sample(values)
    if x.size == 0:
        return _NAN
    k = _rank(int(x.size), q)
    return float(np.partition(x, k - 1)[k - 1])


def _bootstrap_quantiles(
    sorted_x: NDArray[np.float64], q: float, n_resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """The nearest-rank ``q`` quantile of ``n_resamples`` bootstrap resamples of ``sorted_x``, in O(n_resamples).

    The quantile of a resample of n is its k-th smallest value for a fixed k (:func:`_rank`), which is
    ``sorted_x[floor(n · U_(k))]`` with ``U_(k)`` the k-th order statistic of n uniforms, distributed
    Beta(k, n - k + 1). Drawing that one order statistic gives exactly what drawing and sorting every
    resample would, whatever the sample size.
    """
    n = int(sorted_x.size)
    k = _rank(n, q)
    u = rng.beta(k, n - k + 1, size=n_resamples)
    return sorted_x[np.minimum((u * n).astype(np.int64), n - 1)]


def _percentile_interval(estimate: float, replicates: NDArray[np.float64], confidence: float) -> Interval:
    tail = (1 - confidence) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    return Interval(estimate, float(low), float(high), confidence)


def _check_bootstrap(confidence: float, n_resamples: int) -> None:
    _check_level(confidence)
    if n_resamples < 100:
        raise ValueError(f"n_resamples must be at least 100, not {n_resamples}")


def bootstrap_quantile_interval(
    samples: ArrayLike,
    q: float,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Interval:
    """Percentile bootstrap interval for the ``q`` quantile (0.95 for p95) of ``samples``.

    The estimate is :func:`quantile`. Deterministic for a given ``seed``; cost does not grow with the
    sample size. ``nan`` when empty.
    """
    _check_quantile(q)
    _check_bootstrap(confidence, n_resamples)
    x = np.sort(_sample(samples))
    if x.size == 0:
        return Interval(_NAN, _NAN, _NAN, confidence)
    estimate = float(x[_rank(int(x.size), q) - 1])
    replicates = _bootstrap_quantiles(x, q, n_resamples, np.random.default_rng(seed))
    return _percentile_interval(estimate, replicates, confidence)


def bootstrap_quantile_test(
    a: ArrayLike,
    b: ArrayLike,
    q: float,
    confidence: float = 0.95,
    n_resamples: int = 4000,
    seed: int | None = 0,
) -> TestResult:
    """Percentile-bootstrap test of quantile_q(B) = quantile_q(A), the arms resampled independently.

    ``effect`` and ``statistic`` are the difference of the two :func:`quantile` values, B - A; the
    interval is the percentile interval of the replicated differences. The p-value inverts that interval
    (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, §15.4): it is the smallest level whose
    interval excludes 0, 2 · min(#{Δ* ≤ 0} + 1, #{Δ* ≥ 0} + 1) / (n_resamples + 1), with the Monte Carlo
    +1 so that it is never 0; it cannot go below 2 / (n_resamples + 1), so a family of m such tests
    corrected by Holm needs n_resamples above 2m / alpha. ``nan`` when an arm is empty.
    """
    _check_quantile(q)
    _check_bootstrap(confidence, n_resamples)
    xa, xb = np.sort(_sample(a, "a")), np.sort(_sample(b, "b"))
    na, nb = int(xa.size), int(xb.size)
    if na == 0 or nb == 0:
        return TestResult("bootstrap_quantile", _NAN, _NAN, _NAN, None, na, nb)
    rng = np.random.default_rng(seed)
    estimate = float(xb[_rank(nb, q) - 1] - xa[_rank(na, q) - 1])
    differences = _bootstrap_quantiles(xb, q, n_resamples, rng) - _bootstrap_quantiles(
        xa, q, n_resamples, rng
    )
    below, above = int(np.count_nonzero(differences <= 0)), int(np.count_nonzero(differences >= 0))
    p_value = min(1.0, 2 * (min(below, above) + 1) / (n_resamples + 1))
    interval = _percentile_interval(estimate, differences, confidence)
    return TestResult("bootstrap_quantile", estimate, p_value, estimate, interval, na, nb)


def bootstrap_quantile_difference(
    a: ArrayLike,
    b: ArrayLike,
    q: float,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Interval:
    """Percentile bootstrap interval for quantile_q(B) - quantile_q(A) (:func:`bootstrap_quantile_test`)."""
    result = bootstrap_quantile_test(a, b, q, confidence, n_resamples, seed)
    return result.interval or Interval(_NAN, _NAN, _NAN, confidence)


# --------------------------------------------------------------------------------------------- families


def holm_correction(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the given order (controls the family-wise error rate).

    ``nan`` entries (tests that could not be computed) stay ``nan`` and are not counted in the family. A
    family must be fixed before the data are seen: to keep a test that cannot be read yet in it, pass
    ``1.0`` for it (it counts in the family size and is never rejected), as the A/B framework does.
    """
    values = [float(p) for p in p_values]
    finite = sorted((p, i) for i, p in enumerate(values) if not math.isnan(p))
    m = len(finite)
    adjusted = list(values)
    running = 0.0
    for rank, (p, index) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def srm_check(
    observed: Sequence[int], expected_weights: Sequence[float], threshold: float = 0.001
) -> SRMResult:
    """Pearson chi-square goodness of fit of the arms' counts to the intended weights.

    A sample-ratio mismatch means the assignment is broken, so no comparison can be trusted. Weights
    need not sum to one. An arm with zero weight that received units is a mismatch by itself (p = 0);
    arms with zero weight and no units are left out. The strict default threshold allows for the check
    being repeated at every read.
    """
    if len(observed) != len(expected_weights):
        raise ValueError("observed and expected_weights must have one entry per arm")
    if any(o < 0 for o in observed) or any(w < 0 for w in expected_weights):
        raise ValueError("counts and weights cannot be negative")
    _check_level(threshold, "threshold")
    total_weight = float(sum(expected_weights))
    total = int(sum(observed))
    if total_weight <= 0:
        raise ValueError("expected_weights must not all be zero")
    expected = [w / total_weight * total for w in expected_weights]
    if any(w == 0 and o > 0 for o, w in zip(observed, expected_weights, strict=True)):
        return SRMResult(_INF, 0.0, True, expected)
    cells = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0]
    if total == 0 or len(cells) < 2:
        return SRMResult(0.0, 1.0, False, expected)
    statistic = sum((o - e) ** 2 / e for o, e in cells)
    p_value = float(_scipy_stats().chi2.sf(statistic, len(cells) - 1))
    return SRMResult(statistic, p_value, p_value < threshold, expected)


# --------------------------------------------------------------------------------------------- sequential


def _mixture_variance(
    var_effect: float, n_total: int, alpha: float, tau: float | None, tuning_n: int
) -> float:
    """tau² of the normal mixture over the effect.

    By default it is set, as GrowthBook's confidence sequences do, so that the boundary is tightest when
    ``tuning_n`` units (both arms) have been seen: tau² = (per-unit variance) · ρ² with
    ρ² = (-2 ln alpha + ln(-2 ln alpha + 1)) / tuning_n.
    """
    if tau is not None:
        if tau <= 0:
            raise ValueError(f"tau must be positive, not {tau!r}")
        return tau * tau
    if tuning_n < 1:
        raise ValueError(f"tuning_n must be positive, not {tuning_n!r}")
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning_n
    return var_effect * n_total * rho2


def _msprt(
    effect: float, var_effect: float, n_a: int, n_b: int, alpha: float, tau: float | None, tuning_n: int
) -> SequentialResult:
    """Normal-mixture SPRT of effect = 0 given the estimate and its variance (Johari et al.).

    Λ = sqrt(V / (V + τ²)) · exp(τ² Δ² / (2 V (V + τ²))); p = min(1, 1/Λ); the interval inverts Λ < 1/alpha:
    |Δ - θ| < sqrt(V (V + τ²) / τ² · (2 ln(1/alpha) + ln((V + τ²) / V))).
    """
    confidence = 1 - alpha
    if var_effect == 0.0:
        p = 1.0 if effect == 0.0 else 0.0
        return SequentialResult(p, Interval(effect, effect, effect, confidence), n_a, n_b)
    tau2 = _mixture_variance(var_effect, n_a + n_b, alpha, tau, tuning_n)
    v = var_effect
    log_lambda = 0.5 * math.log(v / (v + tau2)) + tau2 * effect * effect / (2 * v * (v + tau2))
    p_value = 1.0 if log_lambda <= 0 else math.exp(-log_lambda)
    half = math.sqrt(v * (v + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((v + tau2) / v)))
    return SequentialResult(p_value, Interval(effect, effect - half, effect + half, confidence), n_a, n_b)


def always_valid_mean_difference(
    a: ArrayLike,
    b: ArrayLike,
    alpha: float = 0.05,
    tau: float | None = None,
    *,
    tuning_n: int = DEFAULT_SEQUENTIAL_TUNING_N,
) -> SequentialResult:
    """Always-valid p-value and (1 - alpha) interval for mean(B) - mean(A), by the normal-mixture mSPRT.

    ``tau`` is the standard deviation of the mixing distribution over the effect, in the metric's unit;
    by default it scales with the observed spread so that the test is most sensitive at ``tuning_n``
    total observations. The variance is the plug-in V = s²_A/n_A + s²_B/n_B, so validity is asymptotic:
    read it once each arm has some tens of observations. Below two observations per arm: p = 1.
    """
    _check_level(alpha, "alpha")
    na, ma, va = _moments(_sample(a, "a"))
    nb, mb, vb = _moments(_sample(b, "b"))
    effect = mb - ma
    if na < 2 or nb < 2:
        return SequentialResult(1.0, _unbounded(effect, 1 - alpha), na, nb)
    return _msprt(effect, va / na + vb / nb, na, nb, alpha, tau, tuning_n)


def always_valid_proportion_difference(
    successes_a: int,
    n_a: int,
    successes_b: int,
    n_b: int,
    alpha: float = 0.05,
    tau: float | None = None,
    *,
    tuning_n: int = DEFAULT_SEQUENTIAL_TUNING_N,
) -> SequentialResult:
    """Always-valid p-value and interval for p_B - p_A (mSPRT, Bernoulli variance).

    The variance uses (s + 1) / (n + 2) for each rate, so two arms that are both at 0 % or 100 % early on
    do not produce a zero variance and a spurious verdict.
    """
    _check_level(alpha, "alpha")
    _check_counts(successes_a, n_a)
    _check_counts(successes_b, n_b)
    if n_a == 0 or n_b == 0:
        return SequentialResult(1.0, _unbounded(_NAN, 1 - alpha), n_a, n_b)
    effect = successes_b / n_b - successes_a / n_a
    ta, tb = (successes_a + 1) / (n_a + 2), (successes_b + 1) / (n_b + 2)
    var = ta * (1 - ta) / n_a + tb * (1 - tb) / n_b
    return _msprt(effect, var, n_a, n_b, alpha, tau, tuning_n)


# --------------------------------------------------------------------------------------------- planning


def _power_z(alpha: float, power: float) -> tuple[float, float]:
    _check_level(alpha, "alpha")
    _check_level(power, "power")
    return float(_scipy_stats().norm.ppf(1 - alpha / 2)), float(_scipy_stats().norm.ppf(power))


def sample_size_for_proportions(
    p_baseline: float, minimum_detectable_effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Orders per arm for a two-sided two-proportion z-test to detect p_baseline → p_baseline + MDE.

    The effect is absolute (0.01 is one percentage point). Normal approximation with the pooled
    variance under the null and the unpooled one under the alternative.
    """
    p1, p2 = p_baseline, p_baseline + minimum_detectable_effect
    if minimum_detectable_effect == 0 or not (0 < p1 < 1 and 0 < p2 < 1):
        raise ValueError("need 0 < p_baseline < 1, 0 < p_baseline + effect < 1 and a non-zero effect")
    z_a, z_b = _power_z(alpha, power)
    p_bar = (p1 + p2) / 2
    root = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / minimum_detectable_effect**2)


def sample_size_for_means(
    std_dev: float, minimum_detectable_effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Observations per arm for a two-sided two-sample z-test to detect a mean difference of the MDE.

    Both in the metric's unit (e.g. ms); n = 2 (z_{1-alpha/2} + z_{power})² σ² / MDE².
    """
    if std_dev <= 0 or minimum_detectable_effect == 0:
        raise ValueError("std_dev must be positive and the effect non-zero")
    z_a, z_b = _power_z(alpha, power)
    return math.ceil(2 * (z_a + z_b) ** 2 * std_dev**2 / minimum_detectable_effect**2)


# --------------------------------------------------------------------------------------------- adaptive allocation


def _ipw_parts(values: ArrayLike, propensities: ArrayLike) -> tuple[int, float, float]:
    """(n, Hájek mean, its linearised variance with the n / (n - 1) small-sample factor)."""
    y = _sample(values, "values")
    pi = _sample(propensities, "propensities")
    if y.size != pi.size:
        raise ValueError("values and propensities must have the same length")
    if pi.size and (np.any(pi <= 0) or np.any(pi > 1)):
        raise ValueError("propensities must lie in (0, 1]")
    n = int(y.size)
    if n == 0:
        return 0, _NAN, _NAN
    w = 1.0 / pi
    total = float(w.sum())
    mean = float((w * y).sum() / total)
    if n == 1:
        return 1, mean, _INF
    var = float(np.sum(w * w * (y - mean) ** 2) / (total * total)) * n / (n - 1)
    return n, mean, var


def ipw_mean(values: ArrayLike, propensities: ArrayLike, *, confidence: float = 0.95) -> Interval:
    """Inverse-propensity (Hájek, self-normalised) estimate of an arm's mean, with a normal interval.

    ``values`` are the outcomes of the units that went to the arm and ``propensities`` the logged
    probability that each of them would go there. Under adaptive routing (Thompson sampling) the plain
    sample mean is biased because traffic follows past luck; weighting each unit by 1/propensity
    estimates the mean as if every unit had been offered to the arm. The variance is the usual
    linearisation Σ w²(y - μ)² / (Σ w)² (equal to a weighted regression's HC1 sandwich).

    The interval describes one arm; it is not a test to read repeatedly. Adaptive routing makes the
    sample sizes depend on earlier outcomes, and a z-test on these means read after every batch declared
    a difference between identical arms in a fifth of simulated A/A tests; the A/B framework bases its
    verdict on the orders routed at random instead (see :mod:`broker_integration.ab_testing.results`).
    """
    _check_level(confidence)
    _, mean, var = _ipw_parts(values, propensities)
    if math.isnan(var) or math.isinf(var):
        return _unbounded(mean, confidence)
    half = _z(confidence) * math.sqrt(var)
    return Interval(mean, mean - half, mean + half, confidence)
