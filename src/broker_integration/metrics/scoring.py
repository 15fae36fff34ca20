"""Per-dimension scores (0-100) and the weighted overall score of brokers being compared.

Each dimension reduces to "lower is better" figures; a broker's score on one figure is
``100 · (1 - (value - best) / max(|value| + |best|, floor))`` clipped at 0, where ``best`` is the lowest
value among the brokers and ``floor`` keeps differences that are tiny in absolute terms from looking
large (1 µs for latency, one percentage point for rates, 1 bp for cost). The best broker scores 100;
twice the best value scores about 67. A dimension counts only when every broker has enough data for it;
the weights of the others are rescaled to sum to one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from broker_integration.metrics.summary import BrokerMetrics

__all__ = [
    "DIMENSIONS",
    "ComparisonWeights",
    "DimensionFigures",
    "dimension_figures",
    "overall_scores",
    "relative_score",
    "score_dimension",
]

DIMENSIONS = ("latency", "reliability", "cost", "fill_quality")


@dataclass(frozen=True, slots=True)
class ComparisonWeights:
    """How much each dimension counts in the overall score; any non-negative numbers, not all zero."""

    latency: float = 0.30
    reliability: float = 0.30
    cost: float = 0.25
    fill_quality: float = 0.15

    def __post_init__(self) -> None:
        values = [getattr(self, f.name) for f in fields(self)]
        if any(v < 0 for v in values) or sum(values) <= 0:
            raise ValueError("comparison weights must be non-negative and not all zero")

    def of(self, dimension: str) -> float:
        return float(getattr(self, dimension))

    def to_dict(self) -> dict[str, float]:
        return {d: self.of(d) for d in DIMENSIONS}

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ComparisonWeights:
        unknown = set(values) - set(DIMENSIONS)
        if unknown:
            raise ValueError(f"unknown dimensions {sorted(unknown)}; use {', '.join(DIMENSIONS)}")
        return cls(**{k: float(v) for k, v in values.items()})


def relative_score(value: float, best: float, floor: float) -> float:
    """Score of ``value`` against the ``best`` (lowest) one; see the module docstring."""
    scale = max(abs(value) + abs(best), floor)
    return 100.0 * max(0.0, 1.0 - (value - best) / scale)


@dataclass(frozen=True, slots=True)
class DimensionFigures:
    """The lower-is-better figures a dimension is scored on, per broker, and each figure's floor."""

    dimension: str
    figures: dict[str, tuple[float, ...]]
    floors: tuple[float, ...]


def score_dimension(figures: DimensionFigures) -> dict[str, float]:
    """Each broker's score: the mean of its relative scores on the dimension's figures."""
    names = list(figures.figures)
    count = len(figures.floors)
    best = [min(figures.figures[n][i] for n in names) for i in range(count)]
    return {
        n: sum(relative_score(figures.figures[n][i], best[i], figures.floors[i]) for i in range(count))
        / count
        for n in names
    }


def dimension_figures(
    metrics: dict[str, BrokerMetrics], latency_operation: str | None, min_orders: int
) -> list[DimensionFigures]:
    """The dimensions every broker has data for, with their figures."""
    out: list[DimensionFigures] = []
    names = list(metrics)
    if latency_operation is not None and all(latency_operation in metrics[n].operations for n in names):
        lat = {n: metrics[n].operations[latency_operation].latency for n in names}
        out.append(
            DimensionFigures("latency", {n: (lat[n].p50_ms, lat[n].p99_ms) for n in names}, (1e-3, 1e-3))
        )
    rel = {n: metrics[n].reliability for n in names}
    if all(r.broker_error_rate is not None for r in rel.values()):
        with_availability = all(r.availability is not None for r in rel.values())
        figures = {
            n: (r.broker_error_rate or 0.0, *((1.0 - (r.availability or 0.0),) if with_availability else ()))
            for n, r in rel.items()
        }
        out.append(DimensionFigures("reliability", figures, (0.01, 0.01) if with_availability else (0.01,)))
    costs = {n: metrics[n].cost for n in names}
    if all(c.avg_cost_bps is not None and c.orders_with_fills >= min_orders for c in costs.values()):
        out.append(DimensionFigures("cost", {n: (c.avg_cost_bps or 0.0,) for n, c in costs.items()}, (1.0,)))
    fills = {n: metrics[n].fill for n in names}
    if all(f.full_fill_rate is not None and f.accepted >= min_orders for f in fills.values()):
        out.append(
            DimensionFigures(
                "fill_quality", {n: (1.0 - (f.full_fill_rate or 0.0),) for n, f in fills.items()}, (0.01,)
            )
        )
    return out


def overall_scores(scores: dict[str, dict[str, float]], weights: ComparisonWeights) -> dict[str, float]:
    """Weighted mean of each broker's dimension scores over the dimensions that were scored."""
    overall: dict[str, float] = {}
    for broker, by_dimension in scores.items():
        total_weight = sum(weights.of(d) for d in by_dimension)
        overall[broker] = (
            sum(weights.of(d) * s for d, s in by_dimension.items()) / total_weight if total_weight else 0.0
        )
    return overall
