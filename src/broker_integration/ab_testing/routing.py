"""Routing strategies: which arm an order goes to, and with what probability.

* :class:`HashRouter` puts a sticky key in a bucket by a stable hash of (per-test salt, key): the same
  key lands in the same arm in every process and after restarts. The hash is 32-bit FNV-1a applied
  twice, as GrowthBook's v2 hash (``shared/reference/ab_stats.md`` §2): u = (fnv1a(str(fnv1a(salt +
  key))) mod 10 000) / 10 000; arms own consecutive ranges of [0, 1) in split order.
* :class:`RandomRouter` draws an arm per order with the split weights.
* :class:`ThompsonRouter` routes by Thompson sampling on a composite reward (see
  :class:`~broker_integration.ab_testing.models.PerformanceRouting`), logging each decision's exact
  probabilities so that estimates can be corrected by inverse propensity weighting.

Every decision carries every arm's probability; the chosen arm's is its propensity. A decision is
``randomised`` when its arm was drawn without looking at any outcome (every hash and random decision;
Thompson's warm-up and its uniform share): those orders form a randomised experiment that an A/B verdict
may be read from at any time, whatever the adaptive part of the routing did.
"""

from __future__ import annotations

import math
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
    """The arm chosen for one order and every arm's probability at that moment.

    ``explore`` is true when the arm was drawn without reference to any outcome (Thompson's warm-up and
    its uniform share); those orders are the randomised slice a performance-based test's verdict reads.
    """

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
    """Thompson sampling on each arm's mean reward, with a weight floor and a uniform share.

    The reward of an order is a number in [0, 1] (:func:`reward`), not a success or a failure, so the
    posterior is not a Beta (which would treat every order as one coin flip and ignore how tightly the
    rewards cluster): each arm's mean reward has a normal posterior whose variance is the rewards' own
    sample variance, as GrowthBook's bandits model a continuous metric (``gbstats/bayesian/bandits.py``:
    precision = prior precision + n / s²; Agrawal & Goyal, "Further Optimal Regret Bounds for Thompson
    Sampling", AISTATS 2013, analyse Thompson sampling with Gaussian posteriors for rewards in [0, 1]).
    The prior is a mean reward of 0.5 worth ``prior`` orders:

        mean = (prior · 0.5 + Σ r) / (prior + n)
        sd   = sqrt(s² / (prior + n))

    with s² the sample variance of the arm's rewards, or 0.25 / n (0.25: the largest variance a reward in
    [0, 1] can have) while the rewards so far are all equal or fewer than two, so that an arm is never
    certain on a handful of identical outcomes.

    Allocation: with probability ``u = exploration + (1 - exploration) · arms · weight_floor`` an order
    takes an arm uniformly at random (the uniform share); otherwise the arm with probability P(best). That
    is the same law as "exploration slice, else P(best) floored at ``weight_floor``", written so that
    every order drawn without reference to outcomes is marked ``explore``. Until every arm has
    ``warmup_per_arm`` outcomes the configured splits replace P(best), and every decision is marked
    ``explore`` (the splits do not depend on outcomes either).
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
        self._counts = np.zeros(k, dtype=np.int64)
        self._means = np.zeros(k)  # running mean reward per arm (Welford)
        self._squares = np.zeros(k)  # running sum of squared deviations per arm
        self._p_best: np.ndarray | None = None

    def observe(self, arm: str, execution: Execution) -> None:
        r = reward(execution, self.settings)
        i = self.arms.index(arm)
        self._counts[i] += 1
        delta = r - self._means[i]
        self._means[i] += delta / self._counts[i]
        self._squares[i] += delta * (r - self._means[i])
        self._p_best = None

    @property
    def warmed_up(self) -> bool:
        return bool(self._counts.min() >= self.settings.warmup_per_arm)

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Each arm's posterior mean reward and its standard deviation."""
        n = self._counts
        weight = self.settings.prior + n
        mean = (self.settings.prior * _PRIOR_MEAN + n * self._means) / weight
        sample = np.where(n >= 2, self._squares / np.maximum(n - 1, 1), 0.0)
        variance = np.where(sample > 0, sample, _MAX_VARIANCE / np.maximum(n, 1))
        return mean, np.sqrt(variance / weight)

    def posterior_means(self) -> dict[str, float]:
        return dict(zip(self.arms, self._posterior()[0].tolist(), strict=True))

    def p_best(self) -> dict[str, float]:
        """Each arm's posterior probability of having the highest mean reward."""
        return dict(zip(self.arms, self._best_shares().tolist(), strict=True))

    def _best_shares(self) -> np.ndarray:
        """P(best): exact for two arms (a difference of normals), Monte Carlo with ``draws`` otherwise."""
        if self._p_best is None:
            mean, sd = self._posterior()
            if len(self.arms) == 2:  # P(mean_0 - mean_1 > 0) for a normal difference
                z = (mean[0] - mean[1]) / math.hypot(sd[0], sd[1])
                first = 0.5 * math.erfc(-z / math.sqrt(2.0))
                self._p_best = np.array([first, 1.0 - first])
            else:
                draws = self.rng.normal(mean, sd, size=(self.settings.draws, len(self.arms)))
                best = np.bincount(draws.argmax(axis=1), minlength=len(self.arms))
                self._p_best = best / self.settings.draws
        return self._p_best

    def _uniform_share(self) -> float:
        s = self.settings
        return s.exploration + (1.0 - s.exploration) * len(self.arms) * s.weight_floor

    def allocation(self) -> dict[str, float]:
        """The probability each arm has of receiving the next order."""
        k = len(self.arms)
        if not self.warmed_up:
            s = self.settings
            floored = s.weight_floor + (1.0 - k * s.weight_floor) * self.initial
            mixed = s.exploration / k + (1.0 - s.exploration) * floored
        else:
            u = self._uniform_share()
            mixed = u / k + (1.0 - u) * self._best_shares()
        return dict(zip(self.arms, mixed.tolist(), strict=True))

    def route(self, order: UnifiedOrder) -> RoutingDecision:
        probabilities = self.allocation()
        if not self.warmed_up:
            arm = choose_arm(float(self.rng.random()), self.arms, list(probabilities.values()))
            return RoutingDecision(arm, probabilities, explore=True)
        if self.rng.random() < self._uniform_share():
            return RoutingDecision(
                self.arms[int(self.rng.integers(len(self.arms)))], probabilities, explore=True
            )
        arm = choose_arm(float(self.rng.random()), self.arms, self._best_shares().tolist())
        return RoutingDecision(arm, probabilities, explore=False)


#: The prior mean reward of the Thompson router's normal model, and the largest variance a reward in
#: [0, 1] can have (its stand-in while an arm's rewards carry no spread yet).
_PRIOR_MEAN = 0.5
_MAX_VARIANCE = 0.25


def make_router(config: ExperimentConfig, seed: int | None = None) -> Router:
    """The router ``config`` asks for; ``seed`` fixes the random and Thompson draws (tests, replays)."""
    if config.routing_strategy is RoutingStrategy.HASH_BASED:
        return HashRouter(config.weights, config.salt, config.sticky_key)
    if config.routing_strategy is RoutingStrategy.RANDOM:
        return RandomRouter(config.weights, random.Random(seed))
    return ThompsonRouter(config.weights, config.performance, np.random.default_rng(seed))
