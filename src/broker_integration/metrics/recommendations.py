"""Recommendations: sentences that say what differs, by how much, with what confidence, and what to do.

Every number in a sentence comes from the comparison it describes: the figures from the brokers'
metrics, the p-values (Holm-adjusted) and intervals from its tests, sample sizes from
:func:`broker_integration.stats.sample_size_for_means` / ``sample_size_for_proportions``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from broker_integration.metrics.significance import DimensionTest
from broker_integration.stats import sample_size_for_means, sample_size_for_proportions

if TYPE_CHECKING:
    from broker_integration.metrics.comparison import BrokerComparison

__all__ = ["recommend"]

#: Availability below this (with enough checks) earns a sentence of its own.
AVAILABILITY_WARNING = 0.99
_MIN_HEALTH_CHECKS = 10


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def recommend(c: BrokerComparison) -> list[str]:
    """The recommendations for ``c``, most important first."""
    out: list[str] = []
    if c.insufficient:
        for name, why in c.insufficient.items():
            out.append(
                f"Too little data for {name} in {c.period}: {why}. Keep collecting before routing on "
                f"these numbers; no winner is declared until every broker has enough."
            )
    significant = [t for t in c.tests if t.better is not None]
    order = {d: -c.settings.weights.of(d) for d in ("latency", "reliability", "cost", "fill_quality")}
    for test in sorted(significant, key=lambda t: (order[t.dimension], t.adjusted_p_value)):
        out.append(_significant(c, test))
    for test in c.tests:
        if test.better is None:
            sentence = _not_significant(c, test)
            if sentence:
                out.append(sentence)
    out.extend(_availability(c))
    out.append(_overall(c))
    return out


def _other(test: DimensionTest, name: str) -> str:
    return test.broker_b if name == test.broker_a else test.broker_a


def _significant(c: BrokerComparison, t: DimensionTest) -> str:
    better = t.better
    assert better is not None
    worse = _other(t, better)
    mb, mw = c.metrics[better], c.metrics[worse]
    p = _p(t.adjusted_p_value)
    if t.dimension == "latency":
        op = c.latency_operation or ""
        lb, lw = mb.operations[op].latency, mw.operations[op].latency
        slower = t.result.effect if worse == t.broker_b else 1.0 - t.result.effect
        sign = 1.0 if worse == t.broker_b else -1.0
        return (
            f"Latency: {better} is faster on {op}: p50 {lb.p50_ms:.2f} ms vs {lw.p50_ms:.2f} ms, "
            f"p99 {lb.p99_ms:.2f} ms vs {lw.p99_ms:.2f} ms at {worse} "
            f"(p99 difference{_ci_signed(t, sign, ' ms')}); a call to {worse} is slower than a call to "
            f"{better} {slower:.1%} of the time (Mann-Whitney, Holm-adjusted {p}). "
            f"Prefer {better} for latency-sensitive orders."
        )
    if t.dimension == "reliability":
        rb, rw = mb.reliability, mw.reliability
        top_code = next((code for code in rw.errors_by_code), None)
        cause = f"; most often {top_code} ({rw.errors_by_code[top_code]})" if top_code else ""
        gap = ((rw.broker_error_rate or 0.0) - (rb.broker_error_rate or 0.0)) * 100
        return (
            f"Reliability: {worse} failed {rw.broker_error_rate or 0.0:.2%} of calls through its own fault "
            f"({rw.broker_failures}/{rw.calls}{cause}) against {rb.broker_error_rate or 0.0:.2%} "
            f"({rb.broker_failures}/{rb.calls}) at {better}: {gap:.2f} percentage points more "
            f"({t.result.name}, Holm-adjusted {p}). Shift order flow towards {better} or investigate "
            f"{worse}'s errors."
        )
    if t.dimension == "cost":
        cb, cw = mb.cost, mw.cost
        gap = (cw.avg_cost_bps or 0.0) - (cb.avg_cost_bps or 0.0)
        money = float(cw.notional) * gap / 10_000
        sign = 1.0 if worse == t.broker_b else -1.0
        return (
            f"Cost: orders at {worse} cost {cw.avg_cost_bps or 0.0:.2f} bps all-in against "
            f"{cb.avg_cost_bps or 0.0:.2f} bps at {better} (difference{_ci_signed(t, sign, ' bps')}; "
            f"Welch, Holm-adjusted {p}); on {worse}'s filled notional of {cw.notional:,.2f} that is about "
            f"{money:,.2f} in the account currency. Route cost-sensitive flow to {better}."
        )
    fb, fw = mb.fill, mw.fill
    return (
        f"Fill quality: {better} filled {fb.full_fill_rate or 0.0:.1%} of accepted orders in full "
        f"({fb.filled}/{fb.accepted}) against {fw.full_fill_rate or 0.0:.1%} "
        f"({fw.filled}/{fw.accepted}) at "
        f"{worse} ({t.result.name}, Holm-adjusted {p}). Prefer {better} when certainty of execution matters."
    )


def _ci_signed(t: DimensionTest, sign: float, unit: str) -> str:
    """The B - A interval turned into worse - better."""
    interval = t.interval
    if interval is None or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return " not estimable"
    low, high = sorted((interval.low * sign, interval.high * sign))
    level = round(interval.confidence * 100)
    return f" {interval.estimate * sign:.2f}{unit}, {level}% CI {low:.2f} to {high:.2f}{unit}"


def _not_significant(c: BrokerComparison, t: DimensionTest) -> str | None:
    a, b = t.broker_a, t.broker_b
    p = _p(t.adjusted_p_value) if math.isfinite(t.adjusted_p_value) else "no test possible"
    if t.dimension == "latency":
        op = c.latency_operation or ""
        la, lb = c.metrics[a].operations[op].latency, c.metrics[b].operations[op].latency
        hint = _latency_sample_hint(c, op, a, b)
        return (
            f"No significant latency difference between {a} and {b} on {op} (p50 {la.p50_ms:.2f} vs "
            f"{lb.p50_ms:.2f} ms, Holm-adjusted {p}){hint}."
        )
    if t.dimension == "reliability":
        ra, rb = c.metrics[a].reliability, c.metrics[b].reliability
        hint = _rate_sample_hint(
            max(ra.broker_error_rate or 0.0, rb.broker_error_rate or 0.0), ra.calls, rb.calls
        )
        return (
            f"No significant reliability difference between {a} ({ra.broker_error_rate or 0.0:.2%} failed) "
            f"and {b} ({rb.broker_error_rate or 0.0:.2%}), Holm-adjusted {p}{hint}."
        )
    if t.dimension == "cost":
        ca, cb = c.metrics[a].cost, c.metrics[b].cost
        return (
            f"No significant cost difference between {a} ({ca.avg_cost_bps or 0.0:.2f} bps) and {b} "
            f"({cb.avg_cost_bps or 0.0:.2f} bps), Holm-adjusted {p}."
        )
    return None


def _latency_sample_hint(c: BrokerComparison, op: str, a: str, b: str) -> str:
    la, lb = c.metrics[a].operations[op].latency, c.metrics[b].operations[op].latency
    spread = max(la.p95_ms - la.p50_ms, lb.p95_ms - lb.p50_ms) / 1.645  # a normal sigma from the upper tail
    mean = (la.mean_ms + lb.mean_ms) / 2
    if spread <= 0 or mean <= 0:
        return ""
    needed = sample_size_for_means(spread, 0.1 * mean, alpha=c.settings.alpha)
    return (
        f"; detecting a 10% difference in mean latency ({0.1 * mean:.2f} ms) takes about {needed:,} calls "
        f"per broker (now {la.count:,} and {lb.count:,})"
    )


def _rate_sample_hint(rate: float, n_a: int, n_b: int) -> str:
    baseline = min(max(rate, 0.005), 0.5)
    needed = sample_size_for_proportions(baseline, 0.01)
    return (
        f"; detecting one percentage point from {baseline:.1%} takes about {needed:,} calls per broker "
        f"(now {n_a:,} and {n_b:,})"
    )


def _availability(c: BrokerComparison) -> list[str]:
    out = []
    for name, m in c.metrics.items():
        r = m.reliability
        if (
            r.availability is not None
            and r.health_checks >= _MIN_HEALTH_CHECKS
            and r.availability < AVAILABILITY_WARNING
        ):
            out.append(
                f"Availability: {name} was healthy in {r.availability:.1%} of health checks "
                f"({r.healthy_checks}/{r.health_checks}), below {AVAILABILITY_WARNING:.0%}; check its "
                f"connectivity and keep a fallback broker configured."
            )
    return out


def _overall(c: BrokerComparison) -> str:
    scores = ", ".join(f"{n} {c.overall[n]:.0f}" for n in c.ranking)
    if c.winner is not None:
        wins = sorted({t.dimension for t in c.tests if t.better == c.winner})
        return (
            f"Overall: route to {c.winner} (scores out of 100: {scores}); it is significantly better on "
            f"{', '.join(wins)} at alpha {c.settings.alpha:g} after Holm correction."
        )
    return f"Overall: no winner ({c.verdict}); scores out of 100: {scores}."
