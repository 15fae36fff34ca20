"""What to do next, in sentences with the numbers behind them, from an analysed A/B test.

Every figure a sentence quotes about a comparison is a field of that :class:`Comparison` (the two means
it compared, its difference, interval and Holm-adjusted p-value), so a sentence never disagrees with the
table of comparisons it summarises; arm-level figures (allocation, P(best), counts) are fields of the
arm's :class:`ArmSummary`.
"""

from __future__ import annotations

import math

from broker_integration import stats
from broker_integration.ab_testing.models import (
    METRICS,
    Comparison,
    ExperimentConfig,
    Metric,
    MetricKind,
    ResultStatus,
    RoutingStrategy,
    TestResults,
)

__all__ = ["format_p", "format_value", "recommend"]


def format_p(value: float) -> str:
    """A p-value as a reader wants it: ``= 0.032``, or ``< 1e-12`` where floating point reached zero."""
    return "< 1e-12" if value < 1e-12 else f"= {value:.2g}"


def _significant(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits in positional notation (1,234, not 1.23e+03)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def format_value(metric: Metric, value: float) -> str:
    """``value`` in the metric's unit: rates as percentages, means with 3 significant digits."""
    if math.isnan(value):
        return "n/a"
    spec = METRICS[metric]
    if spec.kind is MetricKind.PROPORTION:
        return f"{value:.2%}"
    return f"{_significant(value)} {spec.unit}".rstrip()


def _level(config: ExperimentConfig) -> str:
    return f"{1 - config.significance_level:.0%}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _orders(results: TestResults) -> str:
    """What the comparisons count: orders, or randomised orders under adaptive routing."""
    adaptive = results.routing_strategy is RoutingStrategy.PERFORMANCE_BASED
    return "orders routed at random" if adaptive else "orders"


def _srm(results: TestResults) -> str:
    srm = results.srm
    observed = ", ".join(f"{a.arm} {a.orders + a.in_flight}" for a in results.arms)
    expected = ", ".join(f"{a.arm} {e:.0f}" for a, e in zip(results.arms, srm.expected, strict=True))
    return (
        f"Sample ratio mismatch (chi-square {srm.statistic:.1f}, p {format_p(srm.p_value)}): observed {observed} "
        f"orders vs expected {expected}. The assignment is broken (failing routes, filtered orders, a "
        "changed split); fix it and restart the test before trusting any comparison."
    )


def _winner(config: ExperimentConfig, results: TestResults, winner: str) -> str:
    metric = config.primary_metric
    label = METRICS[metric].label
    if winner == config.control_arm:
        losers = [c for c in results.comparisons if c.role == "primary"]
        worst_p = max(c.adjusted_p_value for c in losers)
        return (
            f"Keep {winner}: every other arm is significantly worse on {label} "
            f"(largest adjusted p {format_p(worst_p)}); "
            + "; ".join(_effect_phrase(config, results, c) for c in losers)
            + "."
        )
    c = results.comparison(winner, metric)
    return (
        f"Prefer {winner}: {_effect_phrase(config, results, c)}, adjusted p {format_p(c.adjusted_p_value)} "
        f"({c.test.n_b} and {c.test.n_a} {_orders(results)})."
    )


def _effect_phrase(config: ExperimentConfig, results: TestResults, c: Comparison) -> str:
    metric = c.metric
    arm_value, control_value = c.arm_value, c.control_value
    rel = f" ({c.relative_effect:+.1%})" if c.relative_effect is not None else ""
    interval = c.test.interval
    ci = ""
    if interval is not None and math.isfinite(interval.width):
        ci = (
            f", {_level(config)} interval of the difference {format_value(metric, interval.low)} "
            f"to {format_value(metric, interval.high)}"
        )
    return (
        f"{METRICS[metric].label} {format_value(metric, arm_value)} on {c.arm} vs "
        f"{format_value(metric, control_value)} on {c.control}{rel}{ci}"
    )


def _sample_size(config: ExperimentConfig, results: TestResults) -> str | None:
    """How many orders a fixed-horizon test would need, from the primary comparison's control figures."""
    metric = config.primary_metric
    spec = METRICS[metric]
    primary = next((c for c in results.comparisons if c.metric is metric), None)
    if primary is None or not math.isfinite(primary.control_value):
        return None
    mde = config.minimum_detectable_effect
    base, sd = primary.control_value, primary.control_sd
    try:
        if spec.kind is MetricKind.PROPORTION:
            delta = mde * base if base + mde * base < 1 else -mde * base
            n = stats.sample_size_for_proportions(base, delta, config.significance_level)
            spread = ""
        elif math.isfinite(sd) and sd > 0 and base != 0:
            n = stats.sample_size_for_means(sd, mde * abs(base), config.significance_level)
            spread = f", sd {format_value(metric, sd)}"
        else:
            return None
    except ValueError:
        return None
    return (
        f"To detect a {mde:.0%} change in {spec.label} (control {format_value(metric, base)}{spread}) "
        f"a fixed-horizon test needs about {n} orders per arm at 80% power; the always-valid test "
        "may be read at any time but needs more orders on average to reach a verdict."
    )


def _primary_counts(results: TestResults) -> dict[str, int]:
    """Observations of the primary metric each arm has in the comparisons (the control's from the first)."""
    counts: dict[str, int] = {}
    for c in results.comparisons:
        if c.role == "primary":
            counts.setdefault(c.control, c.test.n_a)
            counts[c.arm] = c.test.n_b
    return counts


def _slice_hint(results: TestResults) -> str:
    if results.routing_strategy is not RoutingStrategy.PERFORMANCE_BASED:
        return ""
    return " routed at random: only the warm-up and the uniform share count under performance-based routing"


def _adaptive_note(results: TestResults) -> str:
    shares = ", ".join(
        f"{a.arm} {a.allocation:.1%} (P(best) {a.p_best:.3f})"
        for a in results.arms
        if a.allocation is not None and a.p_best is not None
    )
    randomised = ", ".join(f"{a.arm} {a.randomised_orders}" for a in results.arms)
    now = f"Thompson sampling now sends {shares}. " if shares else ""
    return (
        f"{now}The comparisons read only the orders routed at random (warm-up and uniform share: "
        f"{randomised}), which adaptive routing cannot bias, so they stay valid however often they are "
        "read; arm figures are inverse-propensity corrected over every order, and P(best) is the router's "
        "belief, not a test."
    )


def recommend(config: ExperimentConfig, results: TestResults) -> list[str]:
    """Sentences that say what the results mean for routing, each with its numbers."""
    if results.status is ResultStatus.SAMPLE_RATIO_MISMATCH:
        return [_srm(results)]
    notes: list[str] = []
    if results.winner is not None:
        notes.append(_winner(config, results, results.winner))
    for c in results.comparisons:
        if c.role == "guardrail" and c.significant and c.better is False:
            notes.append(
                f"Guardrail: {_effect_phrase(config, results, c)} — {c.arm} is significantly worse "
                f"(adjusted p {format_p(c.adjusted_p_value)}); do not move traffic to it on the primary metric alone."
            )
    counted = _primary_counts(results)
    short = [(arm, have) for arm, have in counted.items() if have < config.minimum_sample_size]
    for arm, have in short:
        notes.append(
            f"{arm}: {have} of {config.minimum_sample_size} observations of "
            f"{METRICS[config.primary_metric].label} needed before a verdict "
            f"({config.minimum_sample_size - have} more{_slice_hint(results)})."
        )
    if results.winner is None and not short:
        for c in results.comparisons:
            if c.role != "primary" or c.significant or c.test.interval is None:
                continue
            iv = c.test.interval
            n = min(c.test.n_a, c.test.n_b)
            bound = (
                f"; differences outside {format_value(c.metric, iv.low)} to {format_value(c.metric, iv.high)} "
                f"are ruled out at {_level(config)}"
                if math.isfinite(iv.width)
                else ""
            )
            verdict = (
                "keep collecting" if results.status is ResultStatus.RUNNING else "treat them as equivalent"
            )
            notes.append(
                f"No significant difference in {METRICS[c.metric].label} between {c.arm} and {c.control} "
                f"after {n} {_orders(results)} per arm{bound}; {verdict}."
            )
    if results.winner is None and (planning := _sample_size(config, results)):
        notes.append(planning)
    if config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED:
        notes.append(_adaptive_note(results))
    for a in results.arms:
        if a.failovers_out:
            notes.append(
                f"{_count(a.failovers_out, 'order')} failed over from {a.arm} (breaker open or refused "
                "before sending); they count as failures of its success rate."
            )
        if a.ambiguous:
            notes.append(
                f"{_count(a.ambiguous, 'order')} at {a.arm} ended with an unknown outcome; check "
                f"{'it' if a.ambiguous == 1 else 'them'} by client order id."
            )
    return notes
