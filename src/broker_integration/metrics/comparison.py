"""Compare brokers over a window: dimension scores, a ranking, a winner only when the data earns one.

Ranking is by the weighted overall score (see :mod:`broker_integration.metrics.scoring`). The top broker
is declared the ``winner`` only when every broker has at least ``min_calls`` calls and, against every
other broker, it is better on at least one dimension by that dimension's criterion (Holm-adjusted tests,
:mod:`broker_integration.metrics.significance`) and the dimensions it wins outweigh those it loses.
Otherwise ``winner`` is ``None`` and ``verdict`` says why.

The window's calls were not assigned to the brokers at random: each broker traded at its own times, on
its own instruments and sizes, under its own load. The comparison is therefore observational, and says
so; a randomised A/B test of the same brokers (:mod:`broker_integration.ab_testing`) is the stronger
evidence where one exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from broker_integration.metrics.aggregate import BrokerAggregate
from broker_integration.metrics.recommendations import recommend
from broker_integration.metrics.recorder import HEALTH_OPERATION
from broker_integration.metrics.scoring import (
    ComparisonWeights,
    dimension_figures,
    overall_scores,
    score_dimension,
)
from broker_integration.metrics.significance import DimensionTest, PairVerdict, pair_verdicts, run_pair_tests
from broker_integration.metrics.summary import BrokerMetrics, summarize

__all__ = ["BrokerComparison", "ComparisonSettings", "compare_aggregates", "pick_latency_operation"]

_PLACE = "place_order"


@dataclass(frozen=True, slots=True)
class ComparisonSettings:
    """Knobs of a comparison.

    ``min_calls``: calls a broker needs before any verdict; ``min_orders``: orders with fills (cost) or
    placements (fill quality) before those dimensions are scored; ``max_test_samples``: latency values per
    broker handed to the rank test; ``latency_operation``: the operation whose latency is compared
    (default ``place_order`` when every broker has enough of it, else the busiest common operation).
    """

    weights: ComparisonWeights = field(default_factory=ComparisonWeights)
    alpha: float = 0.05
    min_calls: int = 30
    min_orders: int = 10
    max_test_samples: int = 10_000
    latency_operation: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError("alpha must lie between 0 and 1")
        if self.min_calls < 2 or self.min_orders < 2 or self.max_test_samples < 100:
            raise ValueError("min_calls and min_orders must be at least 2, max_test_samples at least 100")


@dataclass(frozen=True)
class BrokerComparison:
    """The result of comparing brokers over one window."""

    brokers: tuple[str, ...]
    period: str
    start: datetime
    end: datetime
    metrics: dict[str, BrokerMetrics]
    scores: dict[str, dict[str, float]]
    overall: dict[str, float]
    ranking: list[str]
    winner: str | None
    verdict: str
    tests: list[DimensionTest]
    recommendations: list[str]
    settings: ComparisonSettings
    latency_operation: str | None
    insufficient: dict[str, str]
    #: One verdict per pair of brokers and dimension, by the dimension's criterion.
    verdicts: list[PairVerdict] = field(default_factory=list)

    def tests_between(self, a: str, b: str) -> list[DimensionTest]:
        return [t for t in self.tests if {t.broker_a, t.broker_b} == {a, b}]

    def verdicts_on(self, dimension: str) -> list[PairVerdict]:
        return [v for v in self.verdicts if v.dimension == dimension]

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "brokers": list(self.brokers),
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "winner": self.winner,
            "verdict": self.verdict,
            "ranking": self.ranking,
            "overall": self.overall,
            "scores": self.scores,
            "weights": s.weights.to_dict(),
            "alpha": s.alpha,
            "min_calls": s.min_calls,
            "latency_operation": self.latency_operation,
            "insufficient": self.insufficient,
            "observational": True,
            "tests": [t.to_dict() for t in self.tests],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "recommendations": self.recommendations,
            "metrics": {name: m.to_dict() for name, m in self.metrics.items()},
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()


def pick_latency_operation(
    aggregates: dict[str, BrokerAggregate], settings: ComparisonSettings
) -> str | None:
    """The operation whose latency is compared; ``None`` when no operation has enough calls everywhere."""
    if settings.latency_operation is not None:
        return settings.latency_operation
    common = set.intersection(*(set(a.operations) for a in aggregates.values())) if aggregates else set()

    def fewest(op: str) -> int:
        return min(a.operations[op].calls for a in aggregates.values())

    if _PLACE in common and fewest(_PLACE) >= settings.min_calls:
        return _PLACE
    candidates = sorted((fewest(op), op) for op in common if op != HEALTH_OPERATION or len(common) == 1)
    candidates = [c for c in candidates if c[0] >= settings.min_calls]
    return candidates[-1][1] if candidates else None


def compare_aggregates(
    aggregates: dict[str, BrokerAggregate],
    *,
    period: str,
    end: float,
    settings: ComparisonSettings,
    uptimes: dict[str, float | None] | None = None,
) -> BrokerComparison:
    """Score, test and rank the brokers of ``aggregates`` (in that order); pure, no I/O."""
    uptimes = uptimes or {}
    metrics = {n: summarize(a, end, uptime_seconds=uptimes.get(n)) for n, a in aggregates.items()}
    insufficient = {
        n: f"{m.calls} calls (at least {settings.min_calls} needed)"
        for n, m in metrics.items()
        if m.calls < settings.min_calls
    }
    latency_op = pick_latency_operation(aggregates, settings)
    figures = dimension_figures(metrics, latency_op, settings.min_orders)
    scores: dict[str, dict[str, float]] = {n: {} for n in aggregates}
    for fig in figures:
        for name, score in score_dimension(fig).items():
            scores[name][fig.dimension] = score
    overall = overall_scores(scores, settings.weights)
    ranking = sorted(aggregates, key=lambda n: (-overall[n], n))
    scored = [f.dimension for f in figures if settings.weights.of(f.dimension) > 0]
    tests = (
        run_pair_tests(
            aggregates, scored, latency_op, alpha=settings.alpha, max_samples=settings.max_test_samples
        )
        if not insufficient
        else []
    )
    verdicts = pair_verdicts(tests)
    winner, verdict = _verdict(ranking, verdicts, insufficient, settings)
    first = next(iter(metrics.values()))
    comparison = BrokerComparison(
        brokers=tuple(aggregates),
        period=period,
        start=first.start,
        end=first.end,
        metrics=metrics,
        scores=scores,
        overall=overall,
        ranking=ranking,
        winner=winner,
        verdict=verdict,
        tests=tests,
        recommendations=[],
        settings=settings,
        latency_operation=latency_op,
        insufficient=insufficient,
        verdicts=verdicts,
    )
    comparison.recommendations.extend(recommend(comparison))
    return comparison


def _verdict(
    ranking: list[str],
    verdicts: list[PairVerdict],
    insufficient: dict[str, str],
    settings: ComparisonSettings,
) -> tuple[str | None, str]:
    if insufficient:
        names = ", ".join(f"{n} has {why}" for n, why in insufficient.items())
        return None, f"too little data: {names}"
    top = ranking[0]
    weights = settings.weights
    for rival in ranking[1:]:
        pair = [v for v in verdicts if {v.broker_a, v.broker_b} == {top, rival}]
        wins = sorted({v.dimension for v in pair if v.better == top})
        losses = sorted({v.dimension for v in pair if v.better == rival})
        if not wins:
            return None, (
                f"{top} ranks first but is not significantly better than {rival} on any dimension "
                f"(alpha {settings.alpha:g}, Holm-corrected)"
            )
        won, lost = sum(weights.of(d) for d in wins), sum(weights.of(d) for d in losses)
        if won <= lost:
            return None, (
                f"a trade-off: {top} is significantly better on {', '.join(wins)} (weight {won:g}), "
                f"{rival} on {', '.join(losses)} (weight {lost:g})"
            )
    others = ", ".join(ranking[1:])
    return top, f"{top} is significantly better than {others} on the dimensions that carry the weight"
