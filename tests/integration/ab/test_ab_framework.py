"""BrokerABTestingFramework with real adapters and a real store: life cycle, failover, restarts, quotes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from ab_venues import TimedVenue, lognormal, order

from broker_integration import tca
from broker_integration.ab_testing.persistence import ABRepository
from broker_integration.ab_testing.routing import choose_arm, hash_unit
from broker_integration.ab_testing_framework import (
    ABTestConfigError,
    ABTestError,
    BrokerABTestingFramework,
    ExperimentStatus,
    Metric,
    RoutingStrategy,
    TrafficSplit,
)
from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.models import OrderStatus, PriceTick, UnifiedOrder
from broker_integration.pipeline import BrokerCapability
from broker_integration.store import Store, sqlite_url
from broker_integration.testing import MockBrokerAdapter

SPLITS = [TrafficSplit("a", 50.0), TrafficSplit("b", 50.0)]


async def venues(clock: ManualClock, **medians: float) -> dict[str, TimedVenue]:
    rng = np.random.default_rng(0)
    out = {name: TimedVenue(clock, lognormal(rng, median)) for name, median in medians.items()}
    for venue in out.values():
        await venue.authenticate()
    return out


def framework(
    clock: ManualClock, brokers: dict[str, TimedVenue], store: Store | None = None
) -> BrokerABTestingFramework:
    ab = BrokerABTestingFramework(store, clock=clock, seed=1)
    for name, adapter in brokers.items():
        ab.register_broker_adapter(name, adapter)
    return ab


def placed(adapter: MockBrokerAdapter) -> int:
    return sum(1 for op, _, _ in adapter.calls if op == "place_order")


def order_routed_to(ab: BrokerABTestingFramework, test_id: str, arm: str, start: int = 0) -> UnifiedOrder:
    """An order whose client id hashes to ``arm`` in ``test_id``."""
    config = ab.get_test(test_id).config
    for i in range(start, start + 1000):
        o = order(i)
        if (
            choose_arm(
                hash_unit(config.salt, o.order_id), list(config.weights), list(config.weights.values())
            )
            == arm
        ):
            return o
    raise AssertionError("no key found")


# ------------------------------------------------------------------ configuration and life cycle


async def test_create_needs_registered_brokers_and_valid_splits(clock: ManualClock) -> None:
    ab = framework(clock, await venues(clock, a=10))
    with pytest.raises(ABTestConfigError, match=r"brokers not registered: b; call register_broker_adapter"):
        ab.create_ab_test("t", "", SPLITS)
    ab.register_broker_adapter("b", MockBrokerAdapter())
    with pytest.raises(ABTestConfigError, match="percentages must add up to 100, not 90"):
        ab.create_ab_test("t", "", [TrafficSplit("a", 50.0), TrafficSplit("b", 40.0)])
    with pytest.raises(ABTestConfigError, match="at least two arms"):
        ab.create_ab_test("t", "", [TrafficSplit("a", 100.0)])
    with pytest.raises(TypeError, match="BrokerAdapter"):
        ab.register_broker_adapter("c", object())  # type: ignore[arg-type]
    test_id = ab.create_ab_test("t", "", SPLITS)
    assert ab.get_test(test_id).status is ExperimentStatus.RUNNING  # as in the seed: created, then routed
    assert ab.get_test(test_id).started_at is not None
    draft = ab.create_ab_test("t", "", SPLITS, start=False)
    assert ab.get_test(draft).status is ExperimentStatus.DRAFT
    assert ab.get_test(draft).started_at is None
    await ab.close()


async def test_orders_flow_only_while_the_test_runs(clock: ManualClock) -> None:
    brokers = await venues(clock, a=10, b=10)
    ab = framework(clock, brokers)
    test_id = ab.create_ab_test("t", "", SPLITS, start=False)
    with pytest.raises(ABTestError, match="draft; only a running test routes orders"):
        await ab.execute_order_with_test(order(1), test_id)
    assert ab.start_test(test_id) is ExperimentStatus.RUNNING
    assert (await ab.execute_order_with_test(order(1), test_id)).success
    ab.pause_test(test_id)
    with pytest.raises(ABTestError, match="paused"):
        await ab.execute_order_with_test(order(2), test_id)
    ab.start_test(test_id)
    assert (await ab.execute_order_with_test(order(2), test_id)).success
    ab.stop_test(test_id)
    with pytest.raises(ABTestError, match="stopped; it cannot become running"):
        ab.start_test(test_id)
    experiment = ab.get_test(test_id)
    assert experiment.started_at is not None
    assert experiment.ended_at is not None
    assert sum(placed(v) for v in brokers.values()) == 2
    with pytest.raises(ABTestError, match="no A/B test 'nope'"):
        ab.get_test_results("nope")
    await ab.close()


async def test_a_seed_routes_a_test_the_same_way_in_every_run(clock: ManualClock) -> None:
    async def arms(name: str) -> list[str]:
        brokers = await venues(clock, a=10, b=10)
        ab = framework(clock, brokers)  # seed=1, a new framework and a new test id each time
        test_id = ab.create_ab_test(name, "", SPLITS, RoutingStrategy.RANDOM)
        routed = [(await ab.execute_order_with_test(order(i), test_id)).arm for i in range(24)]
        await ab.close()
        return routed

    first = await arms("t")
    assert await arms("t") == first
    # another test's stream is its own (equal by chance with probability 2^-24)
    assert await arms("other") != first
    assert set(first) == {"a", "b"}


async def test_an_order_is_routed_once_and_needs_its_sticky_key(clock: ManualClock) -> None:
    brokers = await venues(clock, a=10, b=10)
    ab = framework(clock, brokers)
    test_id = ab.create_ab_test("t", "", SPLITS, sticky_key="strategy")
    ab.start_test(test_id)
    first = order(1, metadata={"strategy": "s1"})
    result = await ab.execute_order_with_test(first, test_id)
    with pytest.raises(ABTestError, match="already routed"):
        await ab.execute_order_with_test(first, test_id)
    with pytest.raises(ABTestError, match=r"metadata\['strategy'\] is not set"):
        await ab.execute_order_with_test(order(2), test_id)
    assert sum(placed(v) for v in brokers.values()) == 1
    same_strategy = [
        await ab.execute_order_with_test(order(i, metadata={"strategy": "s1"}), test_id) for i in range(3, 13)
    ]
    assert {r.arm for r in same_strategy} == {result.arm}
    assert ab.get_test_results(test_id).total_orders == 11
    await ab.close()


async def test_outcome_measures_latency_without_the_quote_and_slippage_against_arrival(
    clock: ManualClock,
) -> None:
    brokers = await venues(clock, a=10, b=10)
    ab = framework(clock, brokers)
    test_id = ab.create_ab_test("t", "", SPLITS, minimum_sample_size=2)
    ab.start_test(test_id)
    quote = PriceTick(
        instrument="EUR/USD", bid=Decimal("1.0990"), ask=Decimal("1.0992"), time=datetime.now(UTC)
    )
    result = await ab.execute_order_with_test(order(0), test_id, arrival_quote=quote)
    venue = brokers[result.arm]
    assert "get_current_price" not in [op for op, _, _ in venue.calls]  # the caller's quote was used
    assert result.average_fill_price == Decimal("1.10020")  # the mock's ask
    results = ab.get_test_results(test_id)
    arm = results.arm(result.arm)
    expected = (1.10020 - 1.0991) / 1.0991 * 1e4
    assert arm.metrics[Metric.SLIPPAGE_BPS].estimate == pytest.approx(expected)
    await ab.close()


class SlowQuotes(TimedVenue):
    """Quotes take 100 ms, orders 10 ms."""

    async def get_current_price(self, instrument: str) -> PriceTick:
        self.manual_clock.advance(0.1)
        return await super().get_current_price(instrument)


async def test_the_arrival_quote_is_timed_apart_from_the_order(clock: ManualClock) -> None:
    ab = BrokerABTestingFramework(clock=clock)
    for name in ("a", "b"):
        venue = SlowQuotes(clock, lambda: 10.0)
        await venue.authenticate()
        ab.register_broker_adapter(name, venue)
    test_id = ab.create_ab_test("t", "", SPLITS)
    ab.start_test(test_id)
    result = await ab.execute_order_with_test(order(0), test_id)
    assert result.latency_ms == pytest.approx(10.0)
    await ab.close()
    async with Store() as store:
        (record,) = (await ABRepository(store).load_records())[test_id]
    assert record.execution is not None
    assert record.execution.quote_latency_ms == pytest.approx(100.0)
    assert record.execution.latency_ms == pytest.approx(10.0)
    assert record.execution.arrival_ask == Decimal("1.10020")


async def test_an_enclosing_arrival_quote_block_is_the_benchmark(clock: ManualClock) -> None:
    brokers = await venues(clock, a=10, b=10)
    ab = framework(clock, brokers)
    test_id = ab.create_ab_test("t", "", SPLITS, minimum_sample_size=2)
    quote = PriceTick(instrument="EUR/USD", bid=Decimal("1.1000"), ask=Decimal("1.1004"), time=clock.now())
    with tca.arrival_quote(quote):
        result = await ab.execute_order_with_test(order(0), test_id)
    assert "get_current_price" not in [op for op, _, _ in brokers[result.arm].calls]
    await ab.close()
    async with Store() as store:
        (record,) = (await ABRepository(store).load_records())[test_id]
    assert record.execution is not None
    assert record.execution.arrival_mid == Decimal("1.1002")
    assert record.execution.price_improvement == Decimal("0.20000")  # bought 1,000 at 1.10020, ask 1.1004


async def test_a_later_quote_is_taken_only_for_an_order_that_ended_partly_unfilled(
    clock: ManualClock,
) -> None:
    half = TimedVenue(clock, lambda: 5.0, fill_ratio=Decimal("0.5"))
    full = TimedVenue(clock, lambda: 5.0)
    for venue in (half, full):
        await venue.authenticate()
    ab = BrokerABTestingFramework(clock=clock, seed=1)
    ab.register_broker_adapter("a", half)
    ab.register_broker_adapter("b", full)
    test_id = ab.create_ab_test("t", "", SPLITS, minimum_sample_size=2)
    quotes = {"a": 0, "b": 0}
    for i in range(12):
        result = await ab.execute_order_with_test(order(i), test_id)
        quotes[result.arm] += 1
        half.set_price(
            "EUR/USD", Decimal("1.1000") + i * Decimal("0.0001"), Decimal("1.1002") + i * Decimal("0.0001")
        )
    prices = {
        name: [op for op, _, _ in v.calls].count("get_current_price")
        for name, v in (("a", half), ("b", full))
    }
    assert prices == {"a": 2 * quotes["a"], "b": quotes["b"]}  # arrival and later quote; arrival only
    await ab.close()
    async with Store() as store:
        records = (await ABRepository(store).load_records())[test_id]
    partial = [r.execution for r in records if r.assignment.arm == "a" and r.execution is not None]
    assert len(partial) == quotes["a"] > 0
    assert all(e.end_mid is not None and e.shortfall is not None for e in partial)


# ------------------------------------------------------------------ failover


async def test_open_breaker_fails_over_to_the_next_arm(clock: ManualClock) -> None:
    brokers = await venues(clock, a=10, b=10)
    ab = framework(clock, brokers)
    test_id = ab.create_ab_test("t", "", SPLITS, minimum_sample_size=2)
    ab.start_test(test_id)
    breaker = brokers["a"].resilience.breaker  # type: ignore[union-attr]
    for _ in range(breaker.consecutive_threshold):
        breaker.record_failure()
    result = await ab.execute_order_with_test(order_routed_to(ab, test_id, "a"), test_id)
    assert result.success
    assert (result.arm, result.executed_arm, result.failover_from) == ("a", "b", "a")
    assert result.attempted_arms == ("a", "b")
    assert result.assignment_probability == 0.5
    assert placed(brokers["a"]) == 0
    assert "get_current_price" not in [op for op, _, _ in brokers["a"].calls]
    results = ab.get_test_results(test_id)
    assert results.arm("a").failovers_out == 1
    assert results.arm("b").failovers_in == 1
    assert results.arm("a").metrics[Metric.SUCCESS_RATE].estimate == 0.0  # unavailability counts against a
    assert results.arm("b").orders == 0  # the failover is not a randomised order of b
    await ab.close()


class MarketOnly(MockBrokerAdapter):
    capabilities = frozenset({BrokerCapability.MARKET_ORDERS, BrokerCapability.CURRENT_PRICES})


async def test_refused_before_sending_fails_over_but_an_ambiguous_outcome_never_does(
    clock: ManualClock,
) -> None:
    a, b = MarketOnly(), MockBrokerAdapter()
    for venue in (a, b):
        await venue.authenticate()
    ab = BrokerABTestingFramework(clock=clock)
    ab.register_broker_adapter("a", a)
    ab.register_broker_adapter("b", b)
    test_id = ab.create_ab_test("t", "", SPLITS)
    ab.start_test(test_id)
    routed = order_routed_to(ab, test_id, "a")
    limit = UnifiedOrder(
        order_id=routed.order_id,
        instrument="EUR/USD",
        side="buy",
        order_type="limit",
        quantity=1,
        price="1.09",
    )
    moved = await ab.execute_order_with_test(limit, test_id)
    assert moved.executed_arm == "b"
    assert moved.status is OrderStatus.ACCEPTED

    b.fail_next("place_order", StandardErrorCode.OUTCOME_UNKNOWN)
    unknown = await ab.execute_order_with_test(order_routed_to(ab, test_id, "b", start=2000), test_id)
    assert unknown.status is OrderStatus.UNKNOWN
    assert unknown.failover_from is None
    assert unknown.attempted_arms == ("b",)
    assert placed(a) == 0  # never sent twice
    assert ab.get_test_results(test_id).arm("b").ambiguous == 1
    await ab.close()


async def test_failover_can_be_switched_off(clock: ManualClock) -> None:
    brokers = await venues(clock, a=10, b=10)
    ab = framework(clock, brokers)
    test_id = ab.create_ab_test("t", "", SPLITS, failover=False)
    ab.start_test(test_id)
    breaker = brokers["a"].resilience.breaker  # type: ignore[union-attr]
    for _ in range(breaker.consecutive_threshold):
        breaker.record_failure()
    result = await ab.execute_order_with_test(order_routed_to(ab, test_id, "a"), test_id)
    assert not result.success
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.SERVICE_UNAVAILABLE
    assert result.attempted_arms == ("a",)
    assert placed(brokers["b"]) == 0
    await ab.close()


# ------------------------------------------------------------------ persistence


async def test_experiments_assignments_and_outcomes_survive_a_restart(
    clock: ManualClock, store_url: str
) -> None:
    url = store_url
    brokers = await venues(clock, a=20, b=14)
    first = framework(clock, brokers, Store(url))
    hashed = first.create_ab_test("hash", "", SPLITS, sticky_key="strategy")
    adaptive = first.create_ab_test("perf", "", SPLITS, routing_strategy=RoutingStrategy.PERFORMANCE_BASED)
    for test_id in (hashed, adaptive):
        first.start_test(test_id)
    arms = {}
    for i in range(120):
        strategy = f"s{i % 7}"
        r = await first.execute_order_with_test(order(i, metadata={"strategy": strategy}), hashed)
        arms[strategy] = r.arm
        await first.execute_order_with_test(order(1000 + i), adaptive)
    before = first.get_test_results(hashed)
    posterior = first._tests[adaptive].router.posterior_means()  # type: ignore[attr-defined]
    first.pause_test(adaptive)
    await first.close()

    second = framework(clock, brokers, Store(url))
    with pytest.raises(ABTestError, match=r"await ab\.open"):
        second.get_test(hashed)
    await second.open()
    assert {t.test_id for t in second.list_tests()} == {hashed, adaptive}
    assert second.get_test(adaptive).status is ExperimentStatus.PAUSED
    assert second.get_test(hashed).config.salt == first.get_test(hashed).config.salt
    after = second.get_test_results(hashed)
    assert after.total_orders == 120
    assert [a.orders for a in after.arms] == [a.orders for a in before.arms]
    assert after.arm("a").metrics[Metric.LATENCY_MS] == before.arm("a").metrics[Metric.LATENCY_MS]
    assert second.get_test(hashed).sequential_state == first.get_test(hashed).sequential_state
    assert second._tests[adaptive].router.posterior_means() == pytest.approx(posterior)  # type: ignore[attr-defined]
    for i, (strategy, arm) in enumerate(arms.items()):  # sticky across the restart
        r = await second.execute_order_with_test(order(5000 + i, metadata={"strategy": strategy}), hashed)
        assert r.arm == arm
    with pytest.raises(ABTestError, match="already routed"):
        await second.execute_order_with_test(order(0, metadata={"strategy": "s0"}), hashed)
    await second.close()


async def test_the_framework_closes_a_store_it_opened_and_leaves_an_open_one_open(
    clock: ManualClock, tmp_path: Path
) -> None:
    brokers = await venues(clock, a=20, b=14)
    unopened = Store(sqlite_url(tmp_path / "opened-by-the-framework.sqlite3"))
    async with framework(clock, brokers, unopened):
        assert unopened.is_open
    assert not unopened.is_open  # its connection thread does not outlive the framework

    async with Store(sqlite_url(tmp_path / "the-callers.sqlite3")) as callers:
        async with framework(clock, brokers, callers):
            pass
        assert callers.is_open  # the caller's store: the caller closes it
