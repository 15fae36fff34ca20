"""Routing strategies: which arm an order goes to, and with what probability.

* :class:`HashRouter` puts a sticky key in a bucket by a stable hash of (per-test salt, key): the same
  key lands in the same arm in every process and after restarts. The hash is 32-bit FNV-1a applied
  twice, as GrowthBook's v2 hash (``shared/reference/ab_stats.md`` §2): u = (fnv1a(str(fnv1a(salt +
  key))) mod 10 000) / 10 000; arms own consecutive ranges of [0, 1) in split order.
* :class:`RandomRouter` draws an arm per order with the split weights.
* :class:`ThompsonRouter` routes by Thompson sampling on a composite reward (see
  :class:`~broker_integration.ab_testing.models.PerformanceRouting`), logging each decision's exact
  probabilities so that estimates can be corrected by inverse propensity weighting.

Every decision carries every arm's probability; the chosen arm's is its propensity.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from broker_integration.ab_testing.models import (
    ABTestError,
    ExperimentConfig,
    PerformanceRouting,
    RoutingStrategy,
)
from broker_integration.ab_testing.outcomes import Execution
from broker_integration.models import UnifiedOrder

__all__ = [
    "HashRouter",
    "RandomRouter",
    "Router",
    "RoutingDecision",
    "ThompsonRouter",
    "choose_arm",
    "fnv1a32",
    "hash_unit",
    "make_router",
    "reward",
    "sticky_key_of",
]

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_BUCKETS = 10_000


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes of ``text``."""
    h = _FNV_OFFSET
    for byte in text.encode():
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def hash_unit(salt: str, key: str) -> float:
    """A uniform-looking number in [0, 1) that depends only on ``salt`` and ``key`` (10 000 buckets)."""
    return (fnv1a32(str(fnv1a32(salt + key))) % _BUCKETS) / _BUCKETS


def choose_arm(unit: float, arms: Sequence[str], weights: Sequence[float]) -> str:
    """The arm whose cumulative-weight range [start, start + w) contains ``unit`` (weights sum to 1)."""
    start = 0.0
    for arm, weight in zip(arms, weights, strict=True):
        start += weight
        if unit < start:
            return arm
    return arms[-1]  # rounding left a sliver at the top: it belongs to the last arm


_ORDER_FIELDS = {"order_id": "order_id", "client_order_id": "order_id", "account_id": "account_id"}


def sticky_key_of(order: UnifiedOrder, spec: str) -> str:
    """The value hash routing hashes: an order field (``order_id``, ``account_id``, ``instrument``) or a
    key of ``order.metadata`` (``strategy``...). A missing value is an error, never a silent fallback that
    would break stickiness."""
    if spec == "instrument":
        return order.instrument
    attribute = _ORDER_FIELDS.get(spec)
    value = getattr(order, attribute) if attribute is not None else order.metadata.get(spec)
    if value is None or value == "":
        where = f"order.{spec}" if attribute is not None else f"order.metadata[{spec!r}]"
        raise ABTestError(f"this test routes by {spec!r} but {where} is not set on order {order.order_id}")
    return str(value)


@dataclass(frozen=True)
class RoutingDecision:
    """The arm chosen for one order and every arm's probability at that moment."""

    arm: str
    probabilities: Mapping[str, float]
    explore: bool = False
    sticky_key: str | None = None

    @property
    def propensity(self) -> float:
        return self.probabilities[self.arm]


class Router(Protocol):
    """Chooses arms; learns from outcomes if it adapts."""

    def route(self, order: UnifiedOrder) -> RoutingDecision: ...

    def observe(self, arm: str, execution: Execution) -> None: ...


class HashRouter:
    """Deterministic buckets from (salt, sticky key)."""

    def __init__(self, weights: Mapping[str, float], salt: str, sticky_key: str) -> None:
        self.weights = dict(weights)
        self.salt = salt
        self.sticky_key = sticky_key

    def route(self, order: UnifiedOrder) -> RoutingDecision:
        key = sticky_key_of(order, self.sticky_key)
        arm = choose_arm(hash_unit(self.salt, key), list(self.weights), list(self.weights.values()))
        return RoutingDecision(arm, self.weights, sticky_key=key)

    def observe(self, arm: str, execution: Execution) -> None:
        return None


class RandomRouter:
    """An independent weighted draw per order."""

    def __init__(self, weights: Mapping[str, float], rng: random.Random) -> None:
        self.weights = dict(weights)
        self.rng = rng

    def route(self, order: UnifiedOrder) -> RoutingDecision:
        arm = choose_arm(self.rng.random(), list(self.weights), list(self.weights.values()))
        return RoutingDecision(arm, self.weights)

    def observe(self, arm: str, execution: Execution) -> None:
        return None


def reward(execution: Execution, settings: PerformanceRouting) -> float:
    """The composite reward in [0, 1] of one execution (formula in :class:`PerformanceRouting`)."""
    if not execution.success:
        return 0.0
    latency = execution.latency_ms or 0.0
    latency_score = 1.0 / (1.0 + latency / settings.latency_target_ms)
    cost = execution.total_cost_bps
    cost_score = 1.0 if cost is None else 1.0 / (1.0 + max(cost, 0.0) / settings.cost_target_bps)
    return (
        settings.success_weight + settings.latency_weight * latency_score + settings.cost_weight * cost_score
    )


class ThompsonRouter:
    """Thompson sampling over Beta posteriors of the composite reward, with a floor and exploration.

    The allocation is each arm's Monte Carlo probability of having the best posterior draw, floored and
    mixed with a uniform slice; the arm is then drawn from that allocation, so the logged probability is
    exactly the one the draw used.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        settings: PerformanceRouting,
        rng: np.random.Generator,
    ) -> None:
        self.arms = list(weights)
        self.initial = np.array([weights[a] for a in self.arms])
        self.settings = settings
        self.rng = rng
        k = len(self.arms)
        self._wins = np.zeros(k)
        self._losses = np.zeros(k)
        self._counts = np.zeros(k, dtype=np.int64)
        self._allocation: np.ndarray | None = None
        self._p_best: np.ndarray | None = None

    def observe(self, arm: str, execution: Execution) -> None:
        r = reward(execution, self.settings)
        i = self.arms.index(arm)
        self._wins[i] += r
        self._losses[i] += 1.0 - r
        self._counts[i] += 1
        self._allocation = None
        self._p_best = None

    @property
    def warmed_up(self) -> bool:
        return bool(self._counts.min() >= self.settings.warmup_per_arm)

    def p_best(self) -> dict[str, float]:
        """Each arm's posterior probability of having the highest mean reward (Monte Carlo)."""
        return dict(zip(self.arms, self._best_shares().tolist(), strict=True))

    def posterior_means(self) -> dict[str, float]:
        prior = self.settings.prior
        means = (self._wins + prior) / (self._wins + self._losses + 2 * prior)
        return dict(zip(self.arms, means.tolist(), strict=True))

    def _best_shares(self) -> np.ndarray:
        if self._p_best is None:
            prior = self.settings.prior
            draws = self.rng.beta(
                self._wins + prior, self._losses + prior, size=(self.settings.draws, len(self.arms))
            )
            best = np.bincount(draws.argmax(axis=1), minlength=len(self.arms))
            self._p_best = best / self.settings.draws
        return self._p_best

    def _floored(self) -> np.ndarray:
        """The exploitation weights: P(best) (or the splits during warm-up) with every arm floored."""
        if self._allocation is None:
            floor = self.settings.weight_floor
            target = self._best_shares() if self.warmed_up else self.initial
            self._allocation = floor + (1.0 - len(self.arms) * floor) * target
        return self._allocation

    def allocation(self) -> dict[str, float]:
        """The probability each arm has of receiving the next order: exploration slice plus floored weights."""
        eps = self.settings.exploration
        mixed = eps / len(self.arms) + (1.0 - eps) * self._floored()
        return dict(zip(self.arms, mixed.tolist(), strict=True))

    def route(self, order: UnifiedOrder) -> RoutingDecision:
        probabilities = self.allocation()
        explore = bool(self.rng.random() < self.settings.exploration)
        if explore:
            arm = self.arms[int(self.rng.integers(len(self.arms)))]
        else:
            arm = choose_arm(float(self.rng.random()), self.arms, self._floored().tolist())
        return RoutingDecision(arm, probabilities, explore=explore)


def make_router(config: ExperimentConfig, seed: int | None = None) -> Router:
    """The router ``config`` asks for; ``seed`` fixes the random and Thompson draws (tests, replays)."""
    if config.routing_strategy is RoutingStrategy.HASH_BASED:
        return HashRouter(config.weights, config.salt, config.sticky_key)
    if config.routing_strategy is RoutingStrategy.RANDOM:
        return RandomRouter(config.weights, random.Random(seed))
    return ThompsonRouter(config.weights, config.performance, np.random.default_rng(seed))
