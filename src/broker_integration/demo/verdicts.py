"""Which verdict the demo stands by: the A/B test's (randomised) over the broker comparison's (observational).

The experiment assigned orders to venues at random (under performance-based routing, its verdict reads
only the orders routed at random); the collector's comparison covers every call each venue happened to
make: adaptive routing sent most flow to the venues that looked best, probes ran on a timer, failovers
went where the first venue failed. So where the experiment has a verdict, it is the one to act on, and
the comparison is context. :func:`deference` says so in one sentence, naming both verdicts.
"""

from __future__ import annotations

from broker_integration.ab_testing import METRICS, TestResults
from broker_integration.ab_testing.recommendations import format_p
from broker_integration.metrics.comparison import BrokerComparison

__all__ = ["deference"]


def deference(experiment: TestResults, comparison: BrokerComparison) -> str:
    """One sentence on how the experiment's verdict and the comparison's relate, and which one stands."""
    observational = (
        "The broker comparison is observational: its calls were not assigned to the venues at random "
        "(adaptive routing sent most flow to the venues that looked best, probes ran on a timer)"
    )
    significant = [c for c in experiment.comparisons if c.significant]
    if experiment.winner is not None and experiment.winner_p_value is not None:
        label = METRICS[experiment.primary_metric].label
        ab = (
            f"The A/B test, which assigned orders at random, names {experiment.winner} on {label} "
            f"(Holm-adjusted p {format_p(experiment.winner_p_value)}); that verdict stands. "
        )
        if comparison.winner == experiment.winner:
            return ab + f"{observational}; its winner, {comparison.winner}, agrees."
        if comparison.winner is not None:
            return (
                ab + f"{observational}; where its winner, {comparison.winner}, differs, follow the A/B test."
            )
        return ab + f"{observational} and names no winner; read it as context."
    if significant:
        found = ", ".join(
            f"{c.arm} {'better' if c.better else 'worse'} than {c.control} on {METRICS[c.metric].label}"
            for c in significant
        )
        return (
            f"The A/B test names no winner, but its randomised comparisons find {found}: where they "
            f"speak, they take precedence. {observational}; read it as context."
        )
    return (
        "The A/B test has no significant comparison yet. "
        f"{observational}; any difference it finds is a lead for an experiment, not a verdict."
    )
