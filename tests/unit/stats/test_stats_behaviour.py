"""Behaviour of ``broker_integration.stats`` beyond the reference values: edges, invariants, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from broker_integration import stats
from broker_integration.stats import _bootstrap_quantiles


def test_interval_helpers() -> None:
    iv = stats.Interval(1.0, 0.5, 2.0, 0.95)
    assert iv.contains(0.5)
    assert iv.contains(2.0)
    assert not iv.contains(2.01)
    assert iv.width == 1.5


def test_test_result_is_not_significant_when_nan() -> None:
    res = stats.welch_t_test([1.0], [2.0, 3.0])
    assert math.isnan(res.p_value)
    assert not res.significant()


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99, 0.0, 1.0])
def test_order_statistic_bootstrap_has_the_brute_force_distribution(q: float) -> None:
    rng = np.random.default_rng(5)
    x = np.sort(rng.lognormal(3, 0.8, size=60))
    fast = _bootstrap_quantiles(x, q, 20_000, np.random.default_rng(1))
    idx = np.random.default_rng(2).integers(0, x.size, size=(20_000, x.size))
    brute = np.array([stats.quantile(row, q) for row in x[idx]])
    assert sp.ks_2samp(fast, brute).pvalue > 0.001
    assert np.quantile(fast, [0.025, 0.975]) == pytest.approx(np.quantile(brute, [0.025, 0.975]), rel=0.03)


def test_quantile_is_one_of_the_samples_by_nearest_rank() -> None:
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert stats.quantile(values, 0.95) == 95  # numpy's default interpolation would say 95.05
    assert stats.quantile(values, 0.99) == 99
    assert stats.quantile(values, 0.0) == 1  # the rank is at least 1
    assert stats.quantile(values, 1.0) == 100
    assert stats.quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert stats.quantile([7.0, 1.0], 0.5) == 1.0  # rank round(1.0) = 1: never a midpoint
    assert math.isnan(stats.quantile([], 0.5))
    with pytest.raises(ValueError, match="quantile"):
        stats.quantile([1.0], 99)


def test_bootstrap_is_deterministic_for_a_seed_and_covers_the_estimate() -> None:
    x = np.random.default_rng(3).exponential(20, size=500)
    one = stats.bootstrap_quantile_interval(x, 0.99, seed=7)
    two = stats.bootstrap_quantile_interval(x, 0.99, seed=7)
    assert one == two
    assert one.low <= one.estimate <= one.high
    assert one.confidence == 0.95


def test_bootstrap_difference_detects_a_tail_shift() -> None:
    rng = np.random.default_rng(4)
    a = rng.lognormal(3, 0.5, size=2000)
    b = rng.lognormal(3, 0.5, size=2000) * 1.3
    diff = stats.bootstrap_quantile_difference(a, b, 0.95)
    assert diff.estimate == stats.quantile(b, 0.95) - stats.quantile(a, 0.95)
    assert diff.low > 0
    same = stats.bootstrap_quantile_difference(a, a, 0.95)
    assert same.contains(0.0)


@pytest.mark.parametrize(("scale", "seed"), [(1.0, 1), (1.0, 2), (1.08, 3), (1.15, 4), (1.3, 5)])
def test_bootstrap_quantile_p_value_inverts_its_interval(scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.lognormal(3, 0.5, size=800)
    b = rng.lognormal(3, 0.5, size=700) * scale
    for level in (0.9, 0.95, 0.99):
        test = stats.bootstrap_quantile_test(a, b, 0.95, confidence=level, seed=seed)
        assert test.interval is not None
        # p <= 1 - level exactly when that level's percentile interval leaves 0 out (Monte Carlo ties aside)
        excluded = not test.interval.contains(0.0)
        assert (test.p_value <= 1 - level) == excluded or abs(test.p_value - (1 - level)) < 2e-3
    assert stats.bootstrap_quantile_test(a, b, 0.95).effect == stats.quantile(b, 0.95) - stats.quantile(
        a, 0.95
    )


def test_bootstrap_quantile_p_value_is_never_zero_and_nan_when_empty() -> None:
    far = stats.bootstrap_quantile_test(
        [1.0, 2.0, 3.0] * 50, [100.0, 200.0, 300.0] * 50, 0.99, n_resamples=999
    )
    assert far.p_value == pytest.approx(2 / 1000)  # every replicate above 0: the +1 correction alone
    assert far.significant()
    empty = stats.bootstrap_quantile_test([], [1.0], 0.5)
    assert math.isnan(empty.p_value)
    assert not empty.significant()


def test_bootstrap_edges() -> None:
    assert math.isnan(stats.bootstrap_quantile_interval([], 0.5).estimate)
    single = stats.bootstrap_quantile_interval([4.0], 0.95)
    assert (single.low, single.estimate, single.high) == (4.0, 4.0, 4.0)
    with pytest.raises(ValueError, match="quantile"):
        stats.bootstrap_quantile_interval([1.0, 2.0], 95)
    with pytest.raises(ValueError, match="n_resamples"):
        stats.bootstrap_quantile_interval([1.0, 2.0], 0.5, n_resamples=10)


def test_invalid_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="successes"):
        stats.wilson_interval(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        stats.wilson_interval(1, 3, confidence=95)
    with pytest.raises(ValueError, match="finite"):
        stats.welch_t_test([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(ValueError, match="propensities"):
        stats.ipw_mean([1.0, 2.0], [0.5, 0.0])
    with pytest.raises(ValueError, match="one entry per arm"):
        stats.srm_check([1, 2], [1.0])


def test_empty_and_degenerate_samples() -> None:
    assert math.isnan(stats.wilson_interval(0, 0).estimate)
    assert math.isnan(stats.two_proportion_z_test(0, 0, 1, 2).p_value)
    assert stats.two_proportion_z_test(10, 10, 20, 20).p_value == 1.0
    constant = stats.welch_t_test([5.0, 5.0, 5.0], [5.0, 5.0])
    assert constant.p_value == 1.0
    shifted = stats.welch_t_test([5.0, 5.0, 5.0], [6.0, 6.0])
    assert shifted.p_value == 0.0
    assert shifted.effect == 1.0
    assert math.isnan(stats.mann_whitney_u([], [1.0]).p_value)


def test_srm_zero_weight_arm_with_units_is_a_mismatch() -> None:
    res = stats.srm_check([50, 50, 3], [1, 1, 0])
    assert res.mismatch
    assert res.p_value == 0.0
    assert not stats.srm_check([0, 0], [1, 1]).mismatch


def test_relative_lift_is_the_ratio_with_a_delta_method_interval() -> None:
    rng = np.random.default_rng(8)
    a = rng.normal(100, 10, size=4000)
    b = rng.normal(80, 10, size=4000)
    lift = stats.relative_lift(a, b)
    assert lift.estimate == pytest.approx((b.mean() - a.mean()) / a.mean())
    assert lift.contains(-0.2)
    assert lift.high < 0


def test_relative_lift_is_wider_than_a_z_interval_at_small_samples() -> None:
    rng = np.random.default_rng(13)
    a, b = rng.normal(100, 20, size=6), rng.normal(90, 20, size=5)
    lift = stats.relative_lift(a, b)
    var = b.var(ddof=1) / (a.mean() ** 2 * 5) + a.var(ddof=1) * b.mean() ** 2 / (a.mean() ** 4 * 6)
    z_half = sp.norm.ppf(0.975) * math.sqrt(var)
    assert lift.width / 2 > 1.1 * z_half  # t with about 8 degrees of freedom (2.31), not z (1.96)
    assert stats.relative_lift([2.0, 2.0], [3.0, 3.0]) == stats.Interval(0.5, 0.5, 0.5, 0.95)


# ------------------------------------------------------------------ always-valid inference


def test_msprt_matches_the_paired_formula_with_known_variance() -> None:
    """Equal arms, fixed tau: Λ_n = sqrt(2sigma²/(2sigma²+nτ²)) exp(n²τ²Δ²/(4sigma²(2sigma²+nτ²))) (Johari et al.)."""
    rng = np.random.default_rng(9)
    a, b = rng.normal(0, 2, 400), rng.normal(0.3, 2, 400)
    res = stats.always_valid_mean_difference(a, b, alpha=0.05, tau=0.5)
    n = 400
    sigma2 = (a.var(ddof=1) + b.var(ddof=1)) / 2  # so that V = 2sigma²/n exactly
    delta, tau2 = b.mean() - a.mean(), 0.25
    lam = math.sqrt(2 * sigma2 / (2 * sigma2 + n * tau2)) * math.exp(
        n * n * tau2 * delta * delta / (4 * sigma2 * (2 * sigma2 + n * tau2))
    )
    assert res.p_value == pytest.approx(min(1.0, 1 / lam), rel=1e-10)


def test_default_tuning_is_growthbooks_confidence_sequence() -> None:
    rng = np.random.default_rng(10)
    a, b = rng.normal(10, 3, 700), rng.normal(10.4, 3, 650)
    res = stats.always_valid_mean_difference(a, b, alpha=0.05, tuning_n=5000)
    se2 = a.var(ddof=1) / 700 + b.var(ddof=1) / 650
    n = 1350
    rho2 = (-2 * math.log(0.05) + math.log(-2 * math.log(0.05) + 1)) / 5000
    half2 = se2 * (n * rho2 + 1) / (n * rho2) * (2 * math.log(1 / 0.05) + math.log(n * rho2 + 1))
    assert res.interval.width / 2 == pytest.approx(math.sqrt(half2), rel=1e-10)
    s = (b.mean() - a.mean()) ** 2 * n / (se2 * n)
    e = math.exp(rho2 * s * n / (2 * (n * rho2 + 1))) / math.sqrt(n * rho2 + 1)
    assert res.p_value == pytest.approx(min(1.0, 1 / e), rel=1e-10)


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.3, 1.0])
def test_sequential_p_and_interval_agree(shift: float) -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 300), rng.normal(shift, 1, 300)
    res = stats.always_valid_mean_difference(a, b)
    assert res.significant() == (not res.interval.contains(0.0))
    assert res.interval.confidence == pytest.approx(0.95)


def test_sequential_interval_is_wider_than_the_fixed_horizon_one() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.normal(0, 1, 500), rng.normal(0, 1, 500)
    seq = stats.always_valid_mean_difference(a, b)
    fixed = stats.welch_t_test(a, b)
    assert fixed.interval is not None
    assert seq.interval.width > fixed.interval.width


def test_sequential_proportions() -> None:
    res = stats.always_valid_proportion_difference(950, 1000, 900, 1000)
    assert res.interval.estimate == pytest.approx(-0.05)
    assert res.significant()
    early = stats.always_valid_proportion_difference(0, 1, 1, 1)
    assert not early.significant()
    assert stats.always_valid_proportion_difference(0, 0, 1, 3).p_value == 1.0


def test_sequential_small_samples_carry_no_evidence() -> None:
    res = stats.always_valid_mean_difference([1.0], [5.0, 6.0])
    assert res.p_value == 1.0
    assert math.isinf(res.interval.width)
