"""Value types of A/B tests: traffic splits, strategies, the experiment's configuration and life cycle.

Configurations are validated when built, so an experiment that cannot be run (splits that do not add up
to 100, a single arm, an unknown control) never exists. The result types at the
end are what :mod:`broker_integration.ab_testing.results` produces.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from broker_integration.models import OrderResult
from broker_integration.stats import DEFAULT_SEQUENTIAL_TUNING_N, Interval, SRMResult, TestResult

if TYPE_CHECKING:
    from broker_integration.tca import Execution

__all__ = [
    "METRICS",
    "ABOrderResult",
    "ABTestConfigError",
    "ABTestError",
    "ArmSummary",
    "Comparison",
    "Direction",
    "Experiment",
    "ExperimentConfig",
    "ExperimentStatus",
    "Metric",
    "MetricKind",
    "MetricSpec",
    "PerformanceRouting",
    "ResultStatus",
    "RoutingStrategy",
    "TestResults",
    "TrafficSplit",
]


class ABTestError(RuntimeError):
    """An A/B-test request that cannot be honoured: unknown test, wrong state, unregistered broker."""


class ABTestConfigError(ABTestError, ValueError):
    """An experiment configuration that is invalid; the message names every problem."""


class RoutingStrategy(StrEnum):
    """How an order is given to an arm."""

    #: A deterministic bucket from the test's salt and a sticky key: same key, same arm, in any process.
    HASH_BASED = "hash_based"
    #: A weighted random draw per order.
    RANDOM = "random"
    #: Thompson sampling on a composite reward, with a weight floor and a uniform share; the verdict is
    #: read from the orders routed at random (the warm-up and the uniform share).
    PERFORMANCE_BASED = "performance_based"


class ExperimentStatus(StrEnum):
    """An experiment's life: created as a draft, started, possibly paused, then stopped or completed."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # ended early; results stay readable
    COMPLETED = "completed"  # ended as planned

    @property
    def is_final(self) -> bool:
        return self in (ExperimentStatus.STOPPED, ExperimentStatus.COMPLETED)

    def can_move_to(self, target: ExperimentStatus) -> bool:
        return target in _STATUS_MOVES[self]


_STATUS_MOVES: Mapping[ExperimentStatus, frozenset[ExperimentStatus]] = {
    ExperimentStatus.DRAFT: frozenset({ExperimentStatus.RUNNING, ExperimentStatus.STOPPED}),
    ExperimentStatus.RUNNING: frozenset(
        {ExperimentStatus.PAUSED, ExperimentStatus.STOPPED, ExperimentStatus.COMPLETED}
    ),
    ExperimentStatus.PAUSED: frozenset(
        {ExperimentStatus.RUNNING, ExperimentStatus.STOPPED, ExperimentStatus.COMPLETED}
    ),
    ExperimentStatus.STOPPED: frozenset(),
    ExperimentStatus.COMPLETED: frozenset(),
}


class MetricKind(StrEnum):
    PROPORTION = "proportion"  # a rate per order: tested with z / Fisher / sequential proportions
    MEAN = "mean"  # a value per order: tested with Welch / sequential means


class Direction(StrEnum):
    LOWER_IS_BETTER = "lower"
    HIGHER_IS_BETTER = "higher"


class Metric(StrEnum):
    """What an experiment measures per order; the figures are defined in :mod:`broker_integration.tca`."""

    LATENCY_MS = "latency_ms"
    SUCCESS_RATE = "success_rate"
    FILL_RATE = "fill_rate"
    SLIPPAGE_BPS = "slippage_bps"
    SPREAD_COST_BPS = "spread_cost_bps"
    COMMISSION_BPS = "commission_bps"
    TOTAL_COST_BPS = "total_cost_bps"
    EFFECTIVE_SPREAD_BPS = "effective_spread_bps"
    EFFECTIVE_TO_QUOTED = "effective_to_quoted"
    PRICE_IMPROVEMENT_BPS = "price_improvement_bps"
    SHORTFALL_BPS = "shortfall_bps"

    def of(self, execution: Execution) -> float | None:
        """This order's value of the metric, or ``None`` when the order is outside the metric's scope."""
        return METRICS[self].read(execution)


def _flag(value: bool) -> float:
    return 1.0 if value else 0.0


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is tested and read: its kind, which way is better, its unit, what it covers, and how
    one order's value is read off its execution (``None``: the order is outside the scope)."""

    kind: MetricKind
    direction: Direction
    unit: str
    label: str
    scope: str
    read: Callable[[Execution], float | None]


_QUOTED = "filled orders with an arrival quote"

#: The metrics as data: analysis loops over this table instead of branching on names.
METRICS: Mapping[Metric, MetricSpec] = {
    Metric.LATENCY_MS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "ms",
        "mean latency",
        "orders that succeeded",
        lambda e: e.latency_ms if e.success else None,
    ),
    Metric.SUCCESS_RATE: MetricSpec(
        MetricKind.PROPORTION,
        Direction.HIGHER_IS_BETTER,
        "",
        "success rate",
        "all orders",
        lambda e: _flag(e.success),
    ),
    Metric.FILL_RATE: MetricSpec(
        MetricKind.PROPORTION,
        Direction.HIGHER_IS_BETTER,
        "",
        "fill rate (fully filled)",
        "all orders",
        lambda e: _flag(e.fully_filled),
    ),
    Metric.SLIPPAGE_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "bps",
        "slippage vs arrival mid",
        _QUOTED,
        lambda e: e.slippage_bps,
    ),
    Metric.SPREAD_COST_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "bps",
        "half quoted spread",
        _QUOTED,
        lambda e: e.spread_cost_bps,
    ),
    Metric.COMMISSION_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "bps",
        "commission and fees",
        "filled orders",
        lambda e: e.commission_bps,
    ),
    Metric.TOTAL_COST_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "bps",
        "slippage plus commission",
        _QUOTED,
        lambda e: e.total_cost_bps,
    ),
    Metric.EFFECTIVE_SPREAD_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "bps",
        "effective spread",
        _QUOTED,
        lambda e: e.effective_spread_bps,
    ),
    Metric.EFFECTIVE_TO_QUOTED: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "x",
        "effective / quoted spread",
        "filled orders with a quoted spread at arrival",
        lambda e: e.effective_to_quoted,
    ),
    Metric.PRICE_IMPROVEMENT_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.HIGHER_IS_BETTER,
        "bps",
        "price improvement vs arrival quote",
        _QUOTED,
        lambda e: e.price_improvement_bps,
    ),
    Metric.SHORTFALL_BPS: MetricSpec(
        MetricKind.MEAN,
        Direction.LOWER_IS_BETTER,
        "bps",
        "implementation shortfall",
        "accepted orders that ended, with an arrival quote (and a later one for an unfilled part)",
        lambda e: e.shortfall_bps,
    ),
}


@dataclass(frozen=True)
class TrafficSplit:
    """One arm: a registered broker name and its share of the traffic in percent (``TrafficSplit("oanda", 50.0)``)."""

    broker_name: str
    percentage: float

    def __post_init__(self) -> None:
        if not isinstance(self.broker_name, str) or not self.broker_name.strip():
            raise ABTestConfigError("a traffic split needs a broker name")
        if not math.isfinite(self.percentage) or not 0.0 < self.percentage <= 100.0:
            raise ABTestConfigError(
                f"{self.broker_name}: percentage must be above 0 and at most 100, not {self.percentage!r}"
            )


_Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class PerformanceRouting(BaseModel):
    """Thompson-sampling settings for :attr:`RoutingStrategy.PERFORMANCE_BASED`.

    Each order earns a reward in [0, 1]: 0 when it failed, else
    ``success_weight + latency_weight · L + cost_weight · C`` with
    ``L = 1 / (1 + latency_ms / latency_target_ms)`` and ``C = 1 / (1 + max(cost_bps, 0) / cost_target_bps)``
    (1 when no cost could be measured). Each arm's mean reward has a normal posterior with the rewards'
    own variance (they are fractions, not successes and failures); ``prior`` is the weight, in orders, of
    the prior belief of a mean reward of 0.5. Traffic: a share ``exploration`` is spread uniformly over the arms; the rest
    follows each arm's posterior probability of being best (P(best), from ``draws`` Monte Carlo draws
    beyond two arms), with every arm kept at ``weight_floor`` or more (so ``weight_floor`` times the
    number of arms must stay below 1). Until every arm has ``warmup_per_arm`` outcomes the configured
    splits are used instead. The exploration, the floors and the warm-up route orders without looking at
    any outcome; the test's verdict is read from those orders only (see
    :mod:`broker_integration.ab_testing.results`), so more exploration means an earlier verdict.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    success_weight: _Fraction = 0.5
    latency_weight: _Fraction = 0.3
    cost_weight: _Fraction = 0.2
    latency_target_ms: Annotated[float, Field(gt=0)] = 250.0
    cost_target_bps: Annotated[float, Field(gt=0)] = 5.0
    weight_floor: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.02
    exploration: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    warmup_per_arm: Annotated[int, Field(ge=0)] = 20
    draws: Annotated[int, Field(ge=100)] = 2000
    prior: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Self:
        total = self.success_weight + self.latency_weight + self.cost_weight
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"success, latency and cost weights must add up to 1, not {total:g}")
        return self


def new_salt() -> str:
    """A fresh per-test salt, so that two tests hashing the same keys are independent."""
    return secrets.token_hex(8)


class ExperimentConfig(BaseModel):
    """Everything that defines an experiment; fixed once it is created.

    ``minimum_sample_size`` is per arm: no verdict is read before every arm has it. ``minimum_effect`` is
    the relative improvement on the primary metric that is worth acting on (a winner must beat the
    control by at least this much); ``minimum_detectable_effect`` (relative) sizes the sample-size
    estimate in the recommendations. ``sticky_key`` names what hash routing hashes: an order field
    (``order_id``, ``account_id``, ``instrument``) or else a key of ``order.metadata`` (``strategy``).
    ``fetch_arrival_quote``: ask the chosen broker for a quote just before sending when the caller gave
    none, and after an order that ended with part of it unfilled (the later price of its opportunity cost).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    test_name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    traffic_splits: tuple[TrafficSplit, ...]
    routing_strategy: RoutingStrategy = RoutingStrategy.HASH_BASED
    primary_metric: Metric = Metric.LATENCY_MS
    guardrail_metrics: tuple[Metric, ...] = (Metric.SUCCESS_RATE, Metric.FILL_RATE)
    significance_level: Annotated[float, Field(gt=0.0, lt=0.5)] = 0.05
    minimum_sample_size: Annotated[int, Field(ge=2)] = 100
    minimum_effect: Annotated[float, Field(ge=0.0)] = 0.0
    minimum_detectable_effect: Annotated[float, Field(gt=0.0)] = 0.1
    max_sample_size: Annotated[int, Field(ge=2)] | None = None
    control: str | None = None
    sticky_key: Annotated[str, Field(min_length=1, max_length=64)] = "order_id"
    salt: Annotated[str, Field(min_length=1, max_length=64)] = Field(default_factory=new_salt)
    sequential: bool = True
    sequential_tuning_n: Annotated[int, Field(ge=2)] = DEFAULT_SEQUENTIAL_TUNING_N
    failover: bool = True
    fetch_arrival_quote: bool = True
    performance: PerformanceRouting = Field(default_factory=PerformanceRouting)

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [s.broker_name for s in self.traffic_splits]
        if len(names) < 2:
            raise ValueError("an A/B test needs at least two arms (traffic splits)")
        if len(set(names)) != len(names):
            raise ValueError(f"each broker may appear in one split only, got {names}")
        total = sum(s.percentage for s in self.traffic_splits)
        if not math.isclose(total, 100.0, abs_tol=1e-6):
            raise ValueError(f"traffic split percentages must add up to 100, not {total:g}")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control {self.control!r} is not one of the arms {names}")
        if self.max_sample_size is not None and self.max_sample_size < self.minimum_sample_size:
            raise ValueError("max_sample_size cannot be below minimum_sample_size")
        floor = self.performance.weight_floor
        if self.routing_strategy is RoutingStrategy.PERFORMANCE_BASED and floor * len(names) >= 1.0:
            raise ValueError(
                f"performance.weight_floor {floor:g} times {len(names)} arms leaves nothing to allocate; "
                f"it must be below {1 / len(names):.4g}"
            )
        guardrails = tuple(dict.fromkeys(m for m in self.guardrail_metrics if m is not self.primary_metric))
        object.__setattr__(self, "guardrail_metrics", guardrails)
        return self

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(s.broker_name for s in self.traffic_splits)

    @property
    def weights(self) -> dict[str, float]:
        """Each arm's intended share as a probability."""
        return {s.broker_name: s.percentage / 100.0 for s in self.traffic_splits}

    @property
    def control_arm(self) -> str:
        return self.control or self.traffic_splits[0].broker_name

    @property
    def decision_metrics(self) -> tuple[Metric, ...]:
        """The primary metric and the guardrails: the family the multiple-testing correction covers."""
        return (self.primary_metric, *self.guardrail_metrics)


@dataclass
class Experiment:
    """An experiment as the framework holds it: identity, configuration, life-cycle state.

    ``sequential_state`` keeps, per comparison, the running minimum of the always-valid p-value and the
    running intersection of its intervals, so that reading results often never weakens them.
    """

    test_id: str
    config: ExperimentConfig
    status: ExperimentStatus
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    sequential_state: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.test_name


class ABOrderResult(OrderResult):
    """An :class:`OrderResult` from an A/B test, with how it was routed.

    ``arm`` is the arm the router chose and ``assignment_probability`` the probability it had of
    choosing it (log it to correct estimates under adaptive routing). ``executed_arm`` is where the
    order finally went: another arm than ``arm`` only after a failover, which ``failover_from`` names.
    """

    test_id: str
    arm: str
    executed_arm: str
    assignment_probability: Annotated[float, Field(gt=0.0, le=1.0)]
    failover_from: str | None = None
    attempted_arms: tuple[str, ...] = ()

    @property
    def failed_over(self) -> bool:
        return self.failover_from is not None


# ------------------------------------------------------------------------------------------ results


class ResultStatus(StrEnum):
    """What the evidence says now."""

    RUNNING = "running"  # no verdict yet; keep collecting
    SIGNIFICANT = "significant"  # a winner is supported by the evidence
    INCONCLUSIVE = "inconclusive"  # the test ended (or hit its maximum size) without a winner
    SAMPLE_RATIO_MISMATCH = "sample_ratio_mismatch"  # the split is broken: no comparison can be trusted


@dataclass(frozen=True)
class ArmSummary:
    """One arm's figures. ``metrics`` holds an interval per metric (Wilson for rates, t for means) over
    the arm's first attempts; ``corrected`` the inverse-propensity versions under performance-based
    routing. ``randomised_orders`` counts the orders the comparisons read: all of them, except under
    performance-based routing, where only those routed without looking at outcomes count.
    ``latency_quantiles`` use the library's nearest-rank rule (:func:`broker_integration.stats.quantile`)."""

    arm: str
    is_control: bool
    target_share: float
    observed_share: float
    orders: int
    in_flight: int
    ambiguous: int
    failovers_out: int
    failovers_in: int
    metrics: Mapping[Metric, Interval]
    samples: Mapping[Metric, int]
    latency_quantiles: Mapping[str, Interval]
    corrected: Mapping[Metric, Interval] = field(default_factory=dict)
    p_best: float | None = None
    allocation: float | None = None
    randomised_orders: int = 0


@dataclass(frozen=True)
class Comparison:
    """One arm against the control on one metric; ``test.effect`` is arm - control.

    ``control_value`` and ``arm_value`` are the two means (or rates) the test compared, over the orders
    it read (``test.n_a`` and ``test.n_b``), and ``control_sd`` the standard deviation of the control's
    values (``nan`` below two): every figure a recommendation quotes about this comparison is one of
    these fields, or computed from them. ``adjusted_p_value`` is Holm-corrected over the whole family of arms x
    decision metrics, fixed when the test was defined; ``nan`` while the comparison is not readable.
    """

    metric: Metric
    arm: str
    control: str
    role: str
    test: TestResult
    adjusted_p_value: float
    relative_effect: float | None
    readable: bool
    significant: bool
    better: bool | None
    control_value: float
    control_sd: float
    arm_value: float
    supporting: tuple[TestResult, ...] = ()
    tail_differences: Mapping[str, Interval] = field(default_factory=dict)


@dataclass(frozen=True)
class TestResults:
    """The answer to ``get_test_results``: figures, comparisons, a verdict and recommendations.

    ``confidence`` is 1 - (Holm-adjusted) p-value of the winner's weakest decisive comparison: how strongly
    the data reject "no difference", not a probability that the winner is best, so reports print the
    adjusted p-value itself. ``None`` without a winner.
    """

    __test__ = False  # not a pytest test class, despite the name

    test_id: str
    test_name: str
    experiment_status: str
    status: ResultStatus
    routing_strategy: RoutingStrategy
    primary_metric: Metric
    significance_level: float
    method: str
    total_orders: int
    arms: tuple[ArmSummary, ...]
    comparisons: tuple[Comparison, ...]
    srm: SRMResult
    winner: str | None
    confidence: float | None
    recommendations: tuple[str, ...]
    generated_at: datetime

    def arm(self, name: str) -> ArmSummary:
        for summary in self.arms:
            if summary.arm == name:
                return summary
        raise KeyError(f"no arm {name!r} in test {self.test_id}")

    @property
    def winner_p_value(self) -> float | None:
        """The Holm-adjusted p-value behind the winner (the weakest one when the control wins), or ``None``.

        What a report prints next to a winner: ``confidence`` is 1 minus it, which rounds to 1.0000 as soon
        as the evidence is strong and reads like a certainty it is not.
        """
        primary = [c for c in self.comparisons if c.role == "primary"]
        if self.winner is None or not primary:
            return None
        if self.winner == primary[0].control:
            return max(c.adjusted_p_value for c in primary)
        return self.comparison(self.winner, self.primary_metric).adjusted_p_value

    def comparison(self, arm: str, metric: Metric | str) -> Comparison:
        for comparison in self.comparisons:
            if comparison.arm == arm and comparison.metric == metric:
                return comparison
        raise KeyError(f"no comparison of {arm!r} on {metric!s}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as values, non-finite numbers as ``None``)."""
        converted = _plain(self)
        assert isinstance(converted, dict)
        return converted


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
