"""Recommendations: one sentence per dimension naming the best broker and the evidence, then the overall one.

Each dimension's sentence names the broker that is better than every other by the dimension's criterion
(:mod:`broker_integration.metrics.significance`: for latency the p99 first, then the typical call), or
says that no broker is, and which ones lose. The evidence is the test against the closest rival. Every
figure in a sentence is one the brokers' metrics report (the histograms' p50 and p99, the broker error
rate with its counts, the mean all-in cost, the full-fill rate with its counts), a difference of two such
figures, or an interval and Holm-adjusted p-value of the test it cites; every pairwise test is in
``BrokerComparison.tests`` (``--json``), not in the sentences. The comparison is observational (the
brokers' calls were not randomised between them), and the overall sentence says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from broker_integration.metrics.significance import DimensionTest, PairVerdict

if TYPE_CHECKING:
    from broker_integration.metrics.comparison import BrokerComparison

__all__ = ["OBSERVATIONAL", "recommend"]

#: Availability below this (with enough checks) earns a sentence of its own.
AVAILABILITY_WARNING = 0.99
_MIN_HEALTH_CHECKS = 10
#: What every comparison over a window is, said once in the overall sentence.
OBSERVATIONAL = (
    "observational: the calls were not assigned to the brokers at random, so a difference may come from "
    "when, what and how much each traded; a randomised A/B test's verdict takes precedence"
)
_TITLES = {
    "latency": "Latency",
    "reliability": "Reliability",
    "cost": "Cost",
    "fill_quality": "Fill quality",
}
_CRITERIA = {
    "latency": "faster = a significantly lower p99, or, when the p99s cannot be told apart, calls "
    "significantly faster more often than not",
    "reliability": "failures through the broker's own fault per answered call",
    "cost": "mean all-in cost per filled order",
    "fill_quality": "share of accepted orders filled in full",
}
_ADVICE = {
    "latency": "Prefer {best} for latency-sensitive orders.",
    "reliability": "Prefer {best} when an order must not fail.",
    "cost": "Route cost-sensitive flow to {best}.",
    "fill_quality": "Prefer {best} when certainty of execution matters.",
}


def p_text(value: float) -> str:
    """A Holm-adjusted p-value in a sentence: ``p = 0.012``, ``p < 0.001``, or ``no test possible``."""
    if not math.isfinite(value):
        return "no test possible"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def recommend(c: BrokerComparison) -> list[str]:
    """The recommendations for ``c``: too-little-data notes, one sentence per tested dimension (heaviest
    weight first), availability warnings, and the overall sentence."""
    out: list[str] = []
    for name, why in c.insufficient.items():
        out.append(
            f"Too little data for {name} in {c.period}: {why}. Keep collecting before routing on "
            f"these numbers; no winner is declared until every broker has enough."
        )
    tested = {v.dimension for v in c.verdicts}
    said = set(tested)
    if c.latency_operation is None and c.settings.weights.of("latency") > 0 and not c.insufficient:
        said.add("latency")  # enough calls everywhere, but of no one operation: said, not left out
    for dimension in sorted(said, key=lambda d: (-c.settings.weights.of(d), d)):
        out.append(_dimension(c, dimension) if dimension in tested else _latency_not_compared(c))
    out.extend(_availability(c))
    out.append(_overall(c))
    return out


# ------------------------------------------------------------------------------------------ figures


def _figures(c: BrokerComparison, dimension: str, name: str) -> str:
    """The broker's figures on ``dimension``, as its metrics report them."""
    m = c.metrics[name]
    if dimension == "latency":
        lat = m.operations[c.latency_operation or ""].latency
        return f"p50 {lat.p50_ms:.2f} ms, p99 {lat.p99_ms:.2f} ms"
    if dimension == "reliability":
        r = m.reliability
        return f"{r.broker_error_rate or 0.0:.2%} failed, {r.broker_failures}/{r.calls}"
    if dimension == "cost":
        return f"{m.cost.avg_cost_bps or 0.0:.2f} bps"
    f = m.fill
    return f"{f.full_fill_rate or 0.0:.1%} filled in full, {f.filled}/{f.accepted}"


_TEST_NAMES = {
    "fisher_exact": "Fisher's exact test",
    "two_proportion_z": "two-proportion z-test",
    "welch_t": "Welch's t-test",
    "mann_whitney_u": "Mann-Whitney",
    "bootstrap_quantile": "bootstrap",
}


def _gap(test: DimensionTest, loser: str, scale: float = 1.0) -> tuple[float, float, float, int]:
    """(loser - winner, and the test's interval of it, at its level in percent), in ``scale`` units.

    The difference is the one of the two reported figures; the tests report B - A, so it is turned
    round when the loser is A. The interval bounds are ``nan`` when the test has none.
    """
    sign = scale if loser == test.broker_b else -scale
    difference = (test.value_b - test.value_a) * sign
    interval = test.interval
    if interval is None or not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return difference, math.nan, math.nan, 0
    low, high = sorted((interval.low * sign, interval.high * sign))
    return difference, low, high, round(interval.confidence * 100)


def _by(test: DimensionTest) -> str:
    return f"{_TEST_NAMES.get(test.result.name, test.result.name)}, Holm-adjusted {p_text(test.adjusted_p_value)}"


def _amount(test: DimensionTest, loser: str, unit: str, up: str, down: str, scale: float = 1.0) -> str:
    """How much worse ``loser`` is on ``test``, with the interval and the test:
    ``19.86 ms higher (95% CI 17.63 to 23.36 ms; bootstrap, Holm-adjusted p < 0.001)``."""
    difference, low, high, level = _gap(test, loser, scale)
    word = up if difference >= 0 else down
    if difference < 0:
        difference, low, high = -difference, -high, -low
    interval = f"{level}% CI {low:.2f} to {high:.2f}{unit} before correction; " if level else ""
    return f"{difference:.2f}{unit} {word} ({interval}{_by(test)})"


def _latency_evidence(c: BrokerComparison, v: PairVerdict, winner: str) -> str:
    loser = v.other(winner)
    tail, typical = v.test("bootstrap_quantile"), v.test("mann_whitney_u")
    parts = []
    if tail is not None:
        amount = _amount(tail, loser, " ms", "higher", "lower")
        parts.append(
            f"its p99 is {amount}" if tail.better == winner else f"its p99 is {amount}, not significantly"
        )
    if typical is not None:
        slower = typical.result.effect if loser == typical.broker_b else 1.0 - typical.result.effect
        if typical.better == winner:
            parts.append(f"a call there is slower than at {winner} {slower:.1%} of the time ({_by(typical)})")
        elif typical.better == loser:
            parts.append(f"though a call there is faster {1.0 - slower:.1%} of the time ({_by(typical)})")
        else:
            parts.append(
                f"a call there is slower {slower:.1%} of the time, not significantly ({_by(typical)})"
            )
    return "; ".join(parts)


def _reliability_evidence(c: BrokerComparison, v: PairVerdict, winner: str) -> str:
    amount = _amount(v.deciding, v.other(winner), " points", "more often", "less often", 100.0)
    return f"it fails {amount}"


def _fill_evidence(c: BrokerComparison, v: PairVerdict, winner: str) -> str:
    amount = _amount(v.deciding, v.other(winner), " points", "more often", "less often", 100.0)
    return f"it fills in full {amount}"


def _cost_evidence(c: BrokerComparison, v: PairVerdict, winner: str) -> str:
    return f"an order there costs {_amount(v.deciding, v.other(winner), ' bps', 'more', 'less')}"


_EVIDENCE: dict[str, Callable[[BrokerComparison, PairVerdict, str], str]] = {
    "latency": _latency_evidence,
    "reliability": _reliability_evidence,
    "cost": _cost_evidence,
    "fill_quality": _fill_evidence,
}


# ------------------------------------------------------------------------------------------ sentences


def _order(c: BrokerComparison, dimension: str) -> list[str]:
    """The brokers from best to worst on the dimension's score (ties by name)."""
    return sorted(c.brokers, key=lambda n: (-c.scores[n].get(dimension, 0.0), n))


def _dimension(c: BrokerComparison, dimension: str) -> str:
    verdicts = c.verdicts_on(dimension)
    order = _order(c, dimension)
    losers = {v.other(v.better) for v in verdicts if v.better is not None}
    unbeaten = [n for n in order if n not in losers]
    title = _TITLES[dimension] + (f" of {c.latency_operation}" if dimension == "latency" else "")
    head = f"{title} ({_CRITERIA[dimension]})"
    if not losers:
        p_min = min((v.deciding.adjusted_p_value for v in verdicts), default=math.nan)
        listed = "; ".join(f"{n} {_figures(c, dimension, n)}" for n in order)
        return (
            f"{head}: no significant difference between the brokers ({listed}; smallest Holm-adjusted "
            f"{p_text(p_min)})."
        )
    advice = _ADVICE[dimension].format(best=_join(unbeaten, "or"))
    if len(unbeaten) == 1 and all(_pair(verdicts, unbeaten[0], n).better == unbeaten[0] for n in losers):
        best = unbeaten[0]
        rival = next(n for n in order if n != best)
        evidence = _EVIDENCE[dimension](c, _pair(verdicts, best, rival), best)
        others = [n for n in order if n not in (best, rival)]
        also = ""
        if others:
            p_values = [_pair(verdicts, best, n).deciding.adjusted_p_value for n in others]
            also = f"; it is better than {_join(others)} too ({_for_each(p_values)})"
        return (
            f"{head}: {best} is best ({_figures(c, dimension, best)}). Against the closest, {rival} "
            f"({_figures(c, dimension, rival)}): {evidence}{also}. {advice}"
        )
    if len(unbeaten) == 1:
        lead = unbeaten[0]
        level = [n for n in order if n != lead and _pair(verdicts, lead, n).better != lead]
        first = (
            f"{lead} leads ({_figures(c, dimension, lead)}) but is not significantly better than "
            f"{_join(level)}"
        )
    else:
        group = "; ".join(f"{n} {_figures(c, dimension, n)}" for n in unbeaten)
        first = f"{_join(unbeaten)} are best and cannot be told apart ({group})"
    worse = []
    for n in (n for n in order if n in losers):
        beaten_by = [v for v in verdicts if v.involves(n) and v.better not in (None, n)]
        names = sorted((str(v.better) for v in beaten_by), key=order.index)
        p_values = [v.deciding.adjusted_p_value for v in beaten_by]
        worse.append(
            f"{n} ({_figures(c, dimension, n)}{_cause(c, dimension, n)}) is worse than {_join(names)} "
            f"({_for_each(p_values)})"
        )
    return f"{head}: {first}; {'; '.join(worse)}. {advice}"


def _latency_not_compared(c: BrokerComparison) -> str:
    """Every broker has enough calls, but no one operation has enough at each of them (orders routed
    unevenly): latency is not compared rather than left out without a word."""
    return (
        f"Latency ({_CRITERIA['latency']}): not compared: no operation has at least {c.settings.min_calls} "
        f"calls at every broker yet. Keep collecting before routing on latency."
    )


def _cause(c: BrokerComparison, dimension: str, name: str) -> str:
    """For reliability, the broker's most frequent error code (from its errors by code)."""
    if dimension != "reliability":
        return ""
    codes = c.metrics[name].reliability.errors_by_code
    top = max(codes, key=lambda code: codes[code], default=None)
    return f", most often {top}" if top else ""


def _for_each(p_values: list[float]) -> str:
    """Several Holm-adjusted p-values at once, by the largest of them."""
    p = max(p_values)
    if len(p_values) == 1:
        return f"Holm-adjusted {p_text(p)}"
    return "Holm-adjusted p < 0.001 for each" if p < 0.001 else f"Holm-adjusted p <= {p:.3f} for each"


def _pair(verdicts: list[PairVerdict], a: str, b: str) -> PairVerdict:
    return next(v for v in verdicts if {v.broker_a, v.broker_b} == {a, b})


def _join(names: list[str], conjunction: str = "and") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {conjunction} " + names[-1]


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
    if c.winner is None:
        return f"Overall ({OBSERVATIONAL}): no winner ({c.verdict}); scores out of 100: {scores}."
    winner = c.winner
    rivals = [n for n in c.ranking if n != winner]
    beaten_on = {
        d: [r for r in rivals if _pair(c.verdicts_on(d), winner, r).better == winner]
        for d in sorted({v.dimension for v in c.verdicts}, key=lambda d: (-c.settings.weights.of(d), d))
    }
    common = [d for d, beaten in beaten_on.items() if len(beaten) == len(rivals)]
    partial = [
        f"on {d} than {_join(beaten)}" for d, beaten in beaten_on.items() if 0 < len(beaten) < len(rivals)
    ]
    clauses = [f"than every other broker on {_join(common)}"] if common else []
    if partial:
        clauses.append(("and also " if common else "") + _join(partial))
    return (
        f"Overall ({OBSERVATIONAL}): route to {winner} (scores out of 100: {scores}); it is significantly "
        f"better {', '.join(clauses)}, at alpha {c.settings.alpha:g} after Holm correction."
    )
