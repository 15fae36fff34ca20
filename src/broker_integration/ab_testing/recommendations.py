"""What to do next, in sentences with the numbers behind them, from an analysed A/B test."""

from __future__ import annotations

import math

from broker_integration import stats
from broker_integration.ab_testing.models import (
    METRICS,
    ArmSummary,
    Comparison,
    ExperimentConfig,
    Metric,
    MetricKind,
    ResultStatus,
    RoutingStrategy,
    TestResults,
)

__all__ = ["format_value", "recommend"]


def _p(value: float) -> str:
    """A p-value as a reader wants it: ``= 0.032``, or ``< 1e-12`` where floating point reached zero."""
    return "< 1e-12" if value < 1e-12 else f"= {value:.2g}"


def format_value(metric: Metric, value: float) -> str:
    """``value`` in the metric's unit: rates as percentages, means with 3 significant digits."""
    if math.isnan(value):
        return "n/a"
    spec = METRICS[metric]
    if spec.kind is MetricKind.PROPORTION:
        return f"{value:.2%}"
    return f"{value:.3g} {spec.unit}".rstrip()


def _level(config: ExperimentConfig) -> str:
    return f"{1 - config.significance_level:.0%}"


def _arm_value(summary: ArmSummary, metric: Metric) -> float:
    interval = summary.corrected.get(metric) or summary.metrics.get(metric)
    return interval.estimate if interval is not None else math.nan


def _srm(results: TestResults) -> str:
    srm = results.srm
    observed = ", ".join(f"{a.arm} {a.orders + a.in_flight}" for a in results.arms)
    expected = ", ".join(f"{a.arm} {e:.0f}" for a, e in zip(results.arms, srm.expected, strict=True))
    return (
        f"Sample ratio mismatch (chi-square {srm.statistic:.1f}, p {_p(srm.p_value)}): observed {observed} "
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
            f"(largest adjusted p {_p(worst_p)}); "
            + "; ".join(_effect_phrase(config, results, c) for c in losers)
            + "."
        )
    c = results.comparison(winner, metric)
    return f"Prefer {winner}: {_effect_phrase(config, results, c)}, adjusted p {_p(c.adjusted_p_value)}."


def _effect_phrase(config: ExperimentConfig, results: TestResults, c: Comparison) -> str:
    metric = c.metric
    arm_value = _arm_value(results.arm(c.arm), metric)
    control_value = _arm_value(results.arm(c.control), metric)
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


def _sample_size(config: ExperimentConfig, results: TestResults, control_sd: float | None) -> str | None:
    metric = config.primary_metric
    spec = METRICS[metric]
    control = results.arm(config.control_arm).metrics.get(metric)
    if control is None or math.isnan(control.estimate):
        return None
    mde = config.minimum_detectable_effect
    base = control.estimate
    try:
        if spec.kind is MetricKind.PROPORTION:
            delta = mde * base if base + mde * base < 1 else -mde * base
            n = stats.sample_size_for_proportions(base, delta, config.significance_level)
            spread = ""
        elif control_sd is not None and base != 0:
            n = stats.sample_size_for_means(control_sd, mde * abs(base), config.significance_level)
            spread = f", sd {format_value(metric, control_sd)}"
        else:
            return None
    except ValueError:
        return None
    return (
        f"To detect a {mde:.0%} change in {spec.label} (control {format_value(metric, base)}{spread}) "
        f"a fixed-horizon test needs about {n} orders per arm at 80% power; the always-valid test "
        "may be read at any time but needs more orders on average to reach a verdict."
    )


def recommend(config: ExperimentConfig, results: TestResults, control_sd: float | None) -> list[str]:
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
                f"(adjusted p {_p(c.adjusted_p_value)}); do not move traffic to it on the primary metric alone."
            )
    short = [a for a in results.arms if a.samples.get(config.primary_metric, 0) < config.minimum_sample_size]
    for a in short:
        have = a.samples.get(config.primary_metric, 0)
        notes.append(
            f"{a.arm}: {have} of {config.minimum_sample_size} observations of "
            f"{METRICS[config.primary_metric].label} needed before a verdict ({config.minimum_sample_size - have} more)."
        )
    if results.winner is None and not short:
        for c in results.comparisons:
            if c.role != "primary" or c.significant or c.test.interval is None:
                continue
            iv = c.test.interval
            n = min(results.arm(c.arm).orders, results.arm(c.control).orders)
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
                f"after {n} orders per arm{bound}; {verdict}."
            )
    if results.winner is None and (planning := _sample_size(config, results, control_sd)):
        notes.append(planning)
    if config.routing_strategy is RoutingStrategy.PERFORMANCE_BASED:
        shares = ", ".join(
            f"{a.arm} {a.allocation:.0%} (P(best) {a.p_best:.2f})"
            for a in results.arms
            if a.allocation is not None and a.p_best is not None
        )
        if shares:
            notes.append(
                f"Thompson sampling now sends {shares}. Arm figures are inverse-propensity corrected; "
                "adaptive traffic biases plain means."
            )
    for a in results.arms:
        if a.failovers_out:
            notes.append(
                f"{a.failovers_out} orders failed over from {a.arm} (breaker open or refused before sending); "
                "they count as failures of its success rate."
            )
        if a.ambiguous:
            notes.append(
                f"{a.ambiguous} orders at {a.arm} ended with an unknown outcome; check them by client order id."
            )
    return notes
