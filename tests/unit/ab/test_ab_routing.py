"""Routing: stable hashing, balanced buckets, weighted draws, Thompson sampling with logged propensities."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from scipy.stats import norm as stats_norm

from broker_integration import stats
from broker_integration.ab_testing.models import ABTestError, PerformanceRouting
from broker_integration.ab_testing.outcomes import Execution
from broker_integration.ab_testing.routing import (
    HashRouter,
    RandomRouter,
    ThompsonRouter,
    choose_arm,
    fnv1a32,
    hash_unit,
    reward,
    sticky_key_of,
)
from broker_integration.models import OrderStatus, UnifiedOrder


def order(order_id: str = "o-1", **fields: object) -> UnifiedOrder:
    return UnifiedOrder.model_validate(
        {"order_id": order_id, "instrument": "EUR/USD", "side": "buy", "quantity": Decimal(1), **fields}
    )


def test_fnv1a_and_hash_reproduce_the_reference_vectors() -> None:
    assert fnv1a32("a") == 0xE40C292C
    assert hash_unit("seed", "a") == 0.0505
    assert hash_unit("seed", "b") == 0.2696
    assert hash_unit("foo", "ab") == 0.2575
    assert hash_unit("broker-exp", "order-42") == 0.9371


def test_bucket_ranges_are_half_open_and_in_split_order() -> None:
    arms, weights = ["a", "b", "c"], [0.2, 0.3, 0.5]
    assert choose_arm(0.0, arms, weights) == "a"
    assert choose_arm(0.1999, arms, weights) == "a"
    assert choose_arm(0.2, arms, weights) == "b"
    assert choose_arm(0.5, arms, weights) == "c"
    assert choose_arm(0.9999, arms, weights) == "c"


def test_same_key_always_lands_in_the_same_arm() -> None:
    weights = {"oanda": 0.5, "alpaca": 0.5}
    first = HashRouter(weights, "salt-1", "order_id")
    again = HashRouter(dict(weights), "salt-1", "order_id")  # a new process/restart builds a new router
    for i in range(500):
        o = order(f"key-{i}")
        arm = first.route(o).arm
        assert first.route(o).arm == arm
        assert again.route(order(f"key-{i}")).arm == arm


def test_hash_assignment_does_not_depend_on_the_process() -> None:
    """Python's hash() is salted per process; the router's must not be."""
    keys = [f"client-{i}" for i in range(50)]
    code = (
        "from broker_integration.ab_testing.routing import hash_unit;"
        f"print(','.join(str(hash_unit('s', k)) for k in {keys!r}))"
    )
    other_process = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "123"},
        check=True,
    )
    assert other_process.stdout.strip() == ",".join(str(hash_unit("s", k)) for k in keys)


@pytest.mark.parametrize("weights", [{"a": 0.5, "b": 0.5}, {"a": 0.2, "b": 0.3, "c": 0.5}])
def test_over_100k_keys_every_arm_is_within_one_percent_of_its_split(weights: dict[str, float]) -> None:
    router = HashRouter(weights, "experiment-salt", "order_id")
    keys = 100_000
    counts = Counter(
        choose_arm(hash_unit(router.salt, f"bi-{i:08x}"), list(weights), list(weights.values()))
        for i in range(keys)
    )
    for arm, weight in weights.items():
        assert abs(counts[arm] / keys - weight) < 0.01, (arm, counts[arm] / keys)
    assert not stats.srm_check([counts[a] for a in weights], list(weights.values())).mismatch


def test_a_new_salt_reshuffles_assignments() -> None:
    weights = {"a": 0.5, "b": 0.5}
    one, two = HashRouter(weights, "salt-1", "order_id"), HashRouter(weights, "salt-2", "order_id")
    same = sum(one.route(order(f"k{i}")).arm == two.route(order(f"k{i}")).arm for i in range(4000))
    assert 0.45 < same / 4000 < 0.55  # independent experiments agree only by chance


def test_sticky_keys_from_fields_and_metadata() -> None:
    o = order("o-9", account_id="acct-7", metadata={"strategy": "momo"})
    assert sticky_key_of(o, "order_id") == "o-9"
    assert sticky_key_of(o, "client_order_id") == "o-9"
    assert sticky_key_of(o, "account_id") == "acct-7"
    assert sticky_key_of(o, "instrument") == "EUR/USD"
    assert sticky_key_of(o, "strategy") == "momo"
    with pytest.raises(ABTestError, match=r"metadata\['desk'\]"):
        sticky_key_of(o, "desk")
    with pytest.raises(ABTestError, match="account_id"):
        sticky_key_of(order(), "account_id")


def test_sticky_key_keeps_a_strategys_orders_together() -> None:
    router = HashRouter({"a": 0.5, "b": 0.5}, "s", "strategy")
    arms = {router.route(order(f"o{i}", metadata={"strategy": "alpha-1"})).arm for i in range(50)}
    assert len(arms) == 1
    decision = router.route(order("x", metadata={"strategy": "alpha-1"}))
    assert decision.sticky_key == "alpha-1"
    assert decision.propensity == 0.5


def test_random_router_follows_the_weights() -> None:
    router = RandomRouter({"a": 0.7, "b": 0.3}, random.Random(4))
    counts = Counter(router.route(order(f"o{i}")).arm for i in range(20_000))
    assert counts["a"] / 20_000 == pytest.approx(0.7, abs=0.015)
    assert router.route(order()).probabilities == {"a": 0.7, "b": 0.3}


def execution(*, success: bool = True, latency: float = 50.0, cost: float | None = None) -> Execution:
    return Execution(
        status=OrderStatus.FILLED if success else OrderStatus.REJECTED,
        success=success,
        sent=True,
        error_code=None if success else "INVALID_ORDER",
        latency_ms=latency,
        quote_latency_ms=None,
        requested_quantity=Decimal(1),
        filled_quantity=Decimal(1) if success else Decimal(0),
        average_fill_price=Decimal(1) if success else None,
        arrival_bid=None,
        arrival_ask=None,
        commission=Decimal(0),
        slippage_bps=cost,
        spread_cost_bps=None,
        commission_bps=0.0 if success else None,
        completed_at=datetime(2024, 1, 2, tzinfo=UTC),
    )


def test_reward_formula() -> None:
    s = PerformanceRouting()
    assert reward(execution(success=False), s) == 0.0
    assert reward(execution(latency=250.0), s) == pytest.approx(0.5 + 0.3 * 0.5 + 0.2)
    assert reward(execution(latency=0.0, cost=5.0), s) == pytest.approx(0.5 + 0.3 + 0.2 * 0.5)
    assert reward(execution(latency=0.0, cost=-3.0), s) == pytest.approx(1.0)  # price improvement caps at 1


def thompson(**settings: object) -> ThompsonRouter:
    return ThompsonRouter(
        {"a": 0.5, "b": 0.3, "c": 0.2}, PerformanceRouting.model_validate(settings), np.random.default_rng(0)
    )


def test_thompson_uses_the_splits_until_warmed_up() -> None:
    router = thompson(warmup_per_arm=5, exploration=0.0, weight_floor=0.0)
    assert router.allocation() == pytest.approx({"a": 0.5, "b": 0.3, "c": 0.2})
    for arm in "abc":
        for _ in range(5):
            router.observe(arm, execution(latency=10.0 if arm == "c" else 900.0, success=arm != "a"))
    assert router.warmed_up
    alloc = router.allocation()
    assert alloc["c"] > 0.7
    assert alloc["c"] > alloc["b"] > alloc["a"]


def test_thompson_keeps_the_floor_and_exploration_slice() -> None:
    router = thompson(warmup_per_arm=1, exploration=0.1, weight_floor=0.05)
    for _ in range(200):
        router.observe("a", execution(latency=1.0))
        router.observe("b", execution(success=False))
        router.observe("c", execution(success=False))
    alloc = router.allocation()
    assert sum(alloc.values()) == pytest.approx(1.0)
    minimum = 0.1 / 3 + 0.9 * 0.05
    assert alloc["b"] == pytest.approx(minimum)
    assert alloc["c"] == pytest.approx(minimum)
    assert router.p_best()["a"] == 1.0


def test_thompson_decisions_happen_with_their_logged_probabilities() -> None:
    router = thompson(warmup_per_arm=1)
    for arm, latency in (("a", 80.0), ("b", 40.0), ("c", 60.0)):
        for _ in range(30):
            router.observe(arm, execution(latency=latency))
    decisions = [router.route(order(f"o{i}")) for i in range(20_000)]
    logged = decisions[0].probabilities
    counts = Counter(d.arm for d in decisions)
    for arm, p in logged.items():
        assert counts[arm] / 20_000 == pytest.approx(p, abs=0.015)
    # The uniform share: the exploration slice plus every arm's floor, drawn without looking at outcomes.
    explored = [d for d in decisions if d.explore]
    assert len(explored) / 20_000 == pytest.approx(0.1 + 0.9 * 3 * 0.02, abs=0.01)
    uniform = Counter(d.arm for d in explored)
    for arm in "abc":
        assert uniform[arm] / len(explored) == pytest.approx(1 / 3, abs=0.03)
    assert all(d.propensity == d.probabilities[d.arm] for d in decisions[:100])


def test_warm_up_decisions_are_randomised_and_follow_the_splits() -> None:
    router = thompson(warmup_per_arm=50)
    for arm in "abc":
        for _ in range(49):
            router.observe(arm, execution(latency=10.0 if arm == "a" else 900.0))
    decisions = [router.route(order(f"o{i}")) for i in range(6000)]
    assert all(d.explore for d in decisions)  # the splits never look at an outcome
    counts = Counter(d.arm for d in decisions)
    expected = {"a": 0.5, "b": 0.3, "c": 0.2}
    for arm, weight in expected.items():
        mixed = 0.1 / 3 + 0.9 * (0.02 + (1 - 3 * 0.02) * weight)
        assert decisions[0].probabilities[arm] == pytest.approx(mixed)
        assert counts[arm] / 6000 == pytest.approx(mixed, abs=0.02)


def test_thompson_posterior_is_normal_on_the_mean_reward() -> None:
    router = ThompsonRouter(
        {"a": 0.5, "b": 0.5}, PerformanceRouting(prior=2.0, warmup_per_arm=0), np.random.default_rng(1)
    )
    latencies = [10.0, 40.0, 250.0, 90.0]
    for latency in latencies:
        router.observe("a", execution(latency=latency))
    rewards = np.array([reward(execution(latency=x), router.settings) for x in latencies])
    weight = 2.0 + 4
    mean = (2.0 * 0.5 + rewards.sum()) / weight
    assert router.posterior_means()["a"] == pytest.approx(mean)
    assert router.posterior_means()["b"] == pytest.approx(0.5)  # the prior alone
    sd_a, sd_b = math.sqrt(rewards.var(ddof=1) / weight), math.sqrt(0.25 / 2.0)
    # two arms: P(best) is exact, the normal probability that a's mean exceeds b's
    expected = stats_norm.sf(0.0, mean - 0.5, math.hypot(sd_a, sd_b))
    assert router.p_best()["a"] == pytest.approx(expected, rel=1e-12)


def test_thompson_learns_from_the_spread_of_fractional_rewards() -> None:
    """Rewards about 0.954 and 0.946 with little spread: a Beta posterior fed fractions treats each order
    as a coin flip (posterior sd ~ sqrt(0.95 · 0.05 / n)) and after 200 orders each is still unsure which
    arm is better; a model of the mean reward with the rewards' own spread is sure by then."""
    router = ThompsonRouter({"a": 0.5, "b": 0.5}, PerformanceRouting(), np.random.default_rng(1))
    for i in range(200):
        jitter = 5.0 * (i % 3)
        router.observe("a", execution(latency=40.0 + jitter))  # reward ~0.954
        router.observe("b", execution(latency=50.0 + jitter))  # reward ~0.946
    assert router.p_best()["a"] > 0.999


def test_an_arm_whose_rewards_are_all_alike_is_not_certain() -> None:
    router = ThompsonRouter({"a": 0.5, "b": 0.5}, PerformanceRouting(), np.random.default_rng(1))
    for _ in range(20):
        router.observe("a", execution(success=False))  # reward 0 every time: no sample variance
        router.observe("b", execution(success=False))
    assert router.p_best() == pytest.approx({"a": 0.5, "b": 0.5})
    router.observe("b", execution(latency=1.0))
    assert 0.5 < router.p_best()["b"] < 0.999


def test_p_best_of_three_arms_is_a_distribution_in_the_posteriors_order() -> None:
    router = thompson(warmup_per_arm=0)
    for latency, arm in ((40.0, "a"), (45.0, "b"), (300.0, "c")):
        for i in range(30):
            router.observe(arm, execution(latency=latency + i))
    three = router.p_best()
    assert sum(three.values()) == pytest.approx(1.0)
    assert three["a"] > three["b"] > three["c"]
