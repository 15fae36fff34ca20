"""``broker_integration.stats`` against scipy and statsmodels on the same data, to floating tolerance."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from scipy import stats as sp
from statsmodels.regression.linear_model import WLS
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from broker_integration import stats

RNG = np.random.default_rng(20240102)
LAT_A = RNG.lognormal(np.log(50), 0.5, size=300)
LAT_B = RNG.lognormal(np.log(55), 0.6, size=240)


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (3, 10), (10, 10), (481, 500), (1, 2)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    got = stats.wilson_interval(successes, n, confidence)
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert got.low == pytest.approx(low, abs=1e-12)
    assert got.high == pytest.approx(high, abs=1e-12)
    assert got.estimate == successes / n
    assert got.contains(successes / n)


def test_welch_matches_scipy_and_statsmodels() -> None:
    got = stats.welch_t_test(LAT_A, LAT_B, confidence=0.9)
    ref = sp.ttest_ind(LAT_B, LAT_A, equal_var=False)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert got.effect == pytest.approx(LAT_B.mean() - LAT_A.mean(), rel=1e-12)
    assert got.interval is not None
    assert (got.interval.low, got.interval.high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    cm = CompareMeans.from_data(LAT_B, LAT_A)
    low, high = cm.tconfint_diff(alpha=0.1, usevar="unequal")
    assert (got.interval.low, got.interval.high) == pytest.approx((low, high), rel=1e-10)
    assert (got.n_a, got.n_b) == (300, 240)


def test_mean_interval_matches_scipy() -> None:
    got = stats.mean_interval(LAT_A, 0.95)
    low, high = sp.t.interval(0.95, LAT_A.size - 1, loc=LAT_A.mean(), scale=sp.sem(LAT_A))
    assert (got.low, got.high) == pytest.approx((low, high), rel=1e-12)


def test_mann_whitney_matches_scipy_and_effect_is_common_language() -> None:
    got = stats.mann_whitney_u(LAT_A, LAT_B)
    ref = sp.mannwhitneyu(LAT_B, LAT_A, alternative="two-sided")
    assert got.statistic == ref.statistic
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    greater = (LAT_B[:, None] > LAT_A[None, :]).mean()
    ties = (LAT_B[:, None] == LAT_A[None, :]).mean()
    assert got.effect == pytest.approx(greater + 0.5 * ties, rel=1e-12)


def test_mann_whitney_with_ties_matches_scipy() -> None:
    a = np.round(LAT_A / 10)
    b = np.round(LAT_B / 10)
    got = stats.mann_whitney_u(a, b)
    ref = sp.mannwhitneyu(b, a, alternative="two-sided")
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    equal = (b[:, None] == a[None, :]).mean()
    assert equal > 0
    assert got.effect == pytest.approx((b[:, None] > a[None, :]).mean() + 0.5 * equal)


@pytest.mark.parametrize(("sa", "na", "sb", "nb"), [(480, 500, 465, 500), (90, 100, 99, 120), (5, 40, 0, 37)])
def test_two_proportion_z_matches_statsmodels(sa: int, na: int, sb: int, nb: int) -> None:
    got = stats.two_proportion_z_test(sa, na, sb, nb)
    z, p = proportions_ztest([sb, sa], [nb, na])
    assert got.statistic == pytest.approx(z, rel=1e-10)
    assert got.p_value == pytest.approx(p, rel=1e-10)
    low, high = confint_proportions_2indep(sb, nb, sa, na, method="wald", compare="diff")
    assert got.interval is not None
    assert (got.interval.low, got.interval.high) == pytest.approx((low, high), rel=1e-10)


@pytest.mark.parametrize(
    ("sa", "na", "sb", "nb"), [(3, 10, 9, 11), (0, 8, 5, 9), (20, 20, 18, 20), (1, 3, 2, 3)]
)
def test_fisher_matches_scipy_and_newcombe_matches_statsmodels(sa: int, na: int, sb: int, nb: int) -> None:
    got = stats.fisher_exact_test(sa, na, sb, nb)
    odds, p = sp.fisher_exact([[sb, nb - sb], [sa, na - sa]])
    assert got.p_value == pytest.approx(p, rel=1e-12)
    assert got.statistic == pytest.approx(odds) or (math.isinf(odds) and math.isinf(got.statistic))
    low, high = confint_proportions_2indep(sb, nb, sa, na, method="newcomb", compare="diff")
    assert got.interval is not None
    assert (got.interval.low, got.interval.high) == pytest.approx((low, high), rel=1e-10)


def test_holm_matches_statsmodels() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.5]
    assert stats.holm_correction(p) == pytest.approx(list(multipletests(p, method="holm")[1]), rel=1e-12)


def test_holm_leaves_nan_out_of_the_family() -> None:
    got = stats.holm_correction([0.01, float("nan"), 0.04])
    assert got[0] == pytest.approx(0.02)
    assert math.isnan(got[1])
    assert got[2] == pytest.approx(0.04)


def test_srm_matches_scipy_chisquare() -> None:
    observed = [5230, 4770]
    got = stats.srm_check(observed, [50, 50])
    ref = sp.chisquare(observed, [5000, 5000])
    assert got.statistic == pytest.approx(ref.statistic)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert got.mismatch
    assert got.expected == [5000.0, 5000.0]


def test_srm_three_arms_unequal_weights() -> None:
    observed = [2010, 4950, 3040]
    got = stats.srm_check(observed, [0.2, 0.5, 0.3])
    ref = sp.chisquare(observed, [2000, 5000, 3000])
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert not got.mismatch


def test_sample_size_for_means_matches_statsmodels() -> None:
    n = stats.sample_size_for_means(std_dev=20.0, minimum_detectable_effect=5.0)
    ref = NormalIndPower().solve_power(effect_size=5.0 / 20.0, alpha=0.05, power=0.8, ratio=1.0)
    assert n == math.ceil(ref)


@pytest.mark.parametrize(("p", "mde"), [(0.95, 0.02), (0.5, -0.05), (0.1, 0.03)])
def test_sample_size_for_proportions_matches_statsmodels(p: float, mde: float) -> None:
    n = stats.sample_size_for_proportions(p, mde)
    ref = samplesize_proportions_2indep_onetail(diff=mde, prop2=p, power=0.8, alpha=0.05)
    assert n == math.ceil(ref)


def test_ipw_mean_matches_weighted_regression_with_hc1() -> None:
    y = RNG.normal(10, 3, size=400)
    pi = RNG.uniform(0.05, 0.9, size=400)
    got = stats.ipw_mean(y, pi)
    assert got.estimate == pytest.approx(DescrStatsW(y, weights=1 / pi).mean, rel=1e-12)
    fit = WLS(y, np.ones_like(y), weights=1 / pi).fit(cov_type="HC1")
    se = float(fit.bse[0])
    z = sp.norm.ppf(0.975)
    assert got.estimate == pytest.approx(float(fit.params[0]), rel=1e-12)
    assert (got.low, got.high) == pytest.approx((fit.params[0] - z * se, fit.params[0] + z * se), rel=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 33, 100, 101, 150, 999, 1030])
def test_quantile_is_hdrhistograms_value_at_percentile(n: int) -> None:
    """Integers below 2048 are exact in a 3-significant-figure HdrHistogram: its quantile is the rule's."""
    x = np.random.default_rng(n).integers(1, 2000, size=n)
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    for value in x:
        histogram.record_value(int(value))
    for q in (0.0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
        assert stats.quantile(x, q) == histogram.get_value_at_percentile(q * 100), q


def test_quantile_is_numpys_inverted_cdf_where_the_rank_is_whole() -> None:
    x = RNG.lognormal(3, 1, size=400)
    for q in (0.25, 0.5, 0.95, 0.99):  # q * 400 is a whole number
        assert stats.quantile(x, q) == np.quantile(x, q, method="inverted_cdf")


def _nearest_rank(q: float) -> Callable[..., float]:
    return lambda *arms: stats.quantile(arms[-1], q) - (stats.quantile(arms[0], q) if len(arms) > 1 else 0.0)


def test_bootstrap_quantile_interval_agrees_with_scipy_bootstrap() -> None:
    x = RNG.lognormal(np.log(40), 0.7, size=800)
    got = stats.bootstrap_quantile_interval(x, 0.95, n_resamples=10_000, seed=1)
    ref = sp.bootstrap(
        (x,),
        _nearest_rank(0.95),
        n_resamples=10_000,
        vectorized=False,
        method="percentile",
        rng=np.random.default_rng(2),
    ).confidence_interval
    assert got.estimate == stats.quantile(x, 0.95)
    # Two Monte Carlo estimates of the same interval: they agree to within resampling noise.
    spread = ref.high - ref.low
    assert abs(got.low - ref.low) < 0.05 * spread
    assert abs(got.high - ref.high) < 0.05 * spread


@pytest.mark.parametrize("scale", [1.0, 1.1, 1.5])
def test_bootstrap_quantile_test_agrees_with_scipy_bootstrap(scale: float) -> None:
    """The same two-sample percentile bootstrap by scipy (arms resampled independently): the interval and
    the p-value read off its replicate distribution (2 · the smaller tail share at 0) agree within noise."""
    rng = np.random.default_rng(int(scale * 10))
    a, b = rng.lognormal(3, 0.6, size=300), rng.lognormal(3, 0.6, size=250) * scale
    got = stats.bootstrap_quantile_test(a, b, 0.99, n_resamples=10_000, seed=3)
    ref = sp.bootstrap(
        (a, b),
        _nearest_rank(0.99),
        n_resamples=10_000,
        vectorized=False,
        paired=False,
        method="percentile",
        rng=np.random.default_rng(4),
    )
    replicates = ref.bootstrap_distribution
    ref_p = min(1.0, 2 * min(np.mean(replicates <= 0), np.mean(replicates >= 0)))
    assert got.p_value == pytest.approx(ref_p, abs=0.05)  # 3.5 Monte Carlo standard errors
    assert got.effect == stats.quantile(b, 0.99) - stats.quantile(a, 0.99)
    assert got.interval is not None
    spread = ref.confidence_interval.high - ref.confidence_interval.low
    assert abs(got.interval.low - ref.confidence_interval.low) < 0.08 * spread
    assert abs(got.interval.high - ref.confidence_interval.high) < 0.08 * spread


def test_relative_lift_uses_welchs_degrees_of_freedom() -> None:
    a, b = LAT_A[:12], LAT_B[:9]
    got = stats.relative_lift(a, b, confidence=0.9)
    df = sp.ttest_ind(b, a, equal_var=False).df  # scipy's Welch-Satterthwaite degrees of freedom
    ma, mb = a.mean(), b.mean()
    se = math.sqrt(b.var(ddof=1) / (ma**2 * b.size) + a.var(ddof=1) * mb**2 / (ma**4 * a.size))
    half = sp.t.ppf(0.95, df) * se
    assert got.estimate == pytest.approx((mb - ma) / ma, rel=1e-12)
    assert (got.low, got.high) == pytest.approx((got.estimate - half, got.estimate + half), rel=1e-10)
