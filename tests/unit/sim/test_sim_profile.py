"""Venue profiles, the fault plan, determinism, and how much two profiles differ."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from decimal import Decimal

import pytest
from pydantic import ValidationError

from broker_integration.clock import ManualClock
from broker_integration.models import OrderSide, OrderType
from broker_integration.sim import (
    PRESETS,
    CommissionModel,
    Fault,
    FaultKind,
    FaultPlan,
    LatencyModel,
    OrderRequest,
    OrderState,
    VenueEngine,
    VenueProfile,
)

# ------------------------------------------------------------------------------------ profile


def test_profile_from_options_with_preset_and_overrides() -> None:
    profile = VenueProfile.from_options({"preset": "ecn", "seed": 3, "latency": {"median_ms": 0}})
    assert profile.name == "ecn"
    assert profile.seed == 3
    assert profile.spread_multiplier == PRESETS["ecn"]["spread_multiplier"]
    assert profile.commission.bps == Decimal("0.3")
    assert profile.latency.median_ms == 0
    assert VenueProfile.from_options({}) == VenueProfile()
    assert profile.with_changes(slippage_bps=3).slippage_bps == 3
    for name in PRESETS:
        assert VenueProfile.from_options({"preset": name}).name == name


@pytest.mark.parametrize(
    "options",
    [
        {"sead": 1},  # a misspelt option fails loudly
        {"preset": "nope"},
        {"spread_multiplier": 0},
        {"currency": "dollars"},
        {"error_rate": 0.6, "timeout_rate": 0.6},
        {"partial_fill_probability": 1.5},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises((ValidationError, ValueError)):
        VenueProfile.from_options(options)


def test_commission_model() -> None:
    model = CommissionModel(per_unit=Decimal("0.005"), bps=Decimal(1), minimum=Decimal(1))
    assert model.charge(Decimal(100), Decimal(10_000)) == Decimal("1.5000")
    assert model.charge(Decimal(10), Decimal(100)) == Decimal("1.0000")
    assert CommissionModel().is_free
    assert CommissionModel().charge(Decimal(5), Decimal(5)) == 0


def test_latency_model_is_lognormal_around_its_median() -> None:
    rng = random.Random(1)
    assert LatencyModel().sample_seconds(rng) == 0.0
    draws = [LatencyModel(median_ms=40, sigma=0.5).sample_seconds(rng) for _ in range(4_000)]
    assert 0.036 < statistics.median(draws) < 0.044
    assert min(draws) > 0
    assert statistics.mean(draws) > statistics.median(draws)


# ------------------------------------------------------------------------------------ fault plan


def test_scripted_faults_fire_in_order_for_their_operations() -> None:
    plan = FaultPlan(VenueProfile())
    lost = Fault(FaultKind.RESPONSE_LOST)
    plan.inject(lost, operations=["place_order"], count=2)
    plan.inject(Fault(FaultKind.RATE_LIMITED, retry_after_s=2.0))
    assert plan.pending == 3
    assert plan.next_fault("get_orders", mutating=False) == Fault(FaultKind.RATE_LIMITED, retry_after_s=2.0)
    assert plan.next_fault("get_orders", mutating=False) is None
    assert plan.next_fault("place_order", mutating=True) is lost
    assert plan.next_fault("place_order", mutating=True) is lost
    assert plan.next_fault("place_order", mutating=True) is None
    plan.inject(lost)
    plan.clear()
    assert plan.pending == 0
    with pytest.raises(ValueError, match="count"):
        plan.inject(lost, count=0)
    assert FaultKind.RESPONSE_LOST.executes
    assert not FaultKind.SERVICE_UNAVAILABLE.executes


def test_random_faults_follow_the_rates_and_the_seed() -> None:
    profile = VenueProfile(seed=5, error_rate=0.1, rate_limit_rate=0.05, response_lost_rate=0.05)

    def run(plan: FaultPlan, mutating: bool) -> list[FaultKind | None]:
        return [(f.kind if (f := plan.next_fault("op", mutating=mutating)) else None) for _ in range(4_000)]

    reads = run(FaultPlan(profile), mutating=False)
    assert reads == run(FaultPlan(profile), mutating=False)  # the same seed misbehaves the same way
    assert reads != run(FaultPlan(profile.with_changes(seed=6)), mutating=False)
    assert FaultKind.RESPONSE_LOST not in reads  # only a state change can lose its response
    assert 0.08 < reads.count(FaultKind.SERVICE_UNAVAILABLE) / 4_000 < 0.12
    writes = run(FaultPlan(profile), mutating=True)
    assert 0.035 < writes.count(FaultKind.RESPONSE_LOST) / 4_000 < 0.065
    quiet = FaultPlan(profile)
    quiet.random_faults_enabled = False
    assert set(run(quiet, mutating=True)) == {None}


# ------------------------------------------------------------------------------------ determinism


def _script(engine: VenueEngine, clock: ManualClock) -> list[tuple[object, ...]]:
    """A fixed sequence of orders and clock moves; returns the log in comparable form."""
    account = engine.open_account().account_id
    for i in range(60):
        symbol = ("EUR/USD", "USD/JPY", "BTC/USD")[i % 3]
        units = Decimal("0.01") if symbol == "BTC/USD" else Decimal(1_000 * (i + 1))
        side = OrderSide.BUY if i % 2 else OrderSide.SELL
        engine.submit_order(account, OrderRequest(symbol, side, units))
        if i % 5 == 0:
            quote = engine.quote(symbol)
            price = quote.bid - 5 * engine.instrument(symbol).tick_size * 10
            engine.submit_order(
                account, OrderRequest(symbol, OrderSide.BUY, units, OrderType.LIMIT, price=price)
            )
        clock.advance(37)
    return [
        (
            t.id,
            t.type,
            t.time,
            t.order_id,
            t.instrument,
            t.side,
            t.units,
            t.price,
            t.pl,
            t.commission,
            t.balance,
        )
        for t in engine.transactions()
    ]


def test_same_seed_same_fills_different_seed_different_fills() -> None:
    options = {"slippage_bps": 1.0, "partial_fill_probability": 0.3, "rejection_rate": 0.05}
    logs = []
    for seed in (21, 21, 22):
        clock = ManualClock()
        logs.append(_script(VenueEngine(VenueProfile(seed=seed, **options), clock=clock), clock))  # type: ignore[arg-type]
    assert logs[0] == logs[1]
    assert len(logs[0]) > 120
    assert logs[0] != logs[2]
    prices = lambda log: [row[7] for row in log]  # noqa: E731
    assert prices(logs[0]) != prices(logs[2])


def test_two_profiles_differ_measurably(make_engine: Callable[..., VenueEngine], clock: ManualClock) -> None:
    cheap = make_engine(name="cheap")
    dear = make_engine(
        name="dear",
        spread_multiplier=2.0,
        slippage_bps=0.5,
        commission={"bps": "1"},
        partial_fill_probability=0.5,
    )
    results = {}
    for engine in (cheap, dear):
        account = engine.open_account().account_id
        costs, filled = [], Decimal(0)
        for _i in range(200):
            clock.advance(3)
            quote = engine.quote("EUR/USD")
            outcome = engine.submit_order(account, OrderRequest("EUR/USD", OrderSide.BUY, Decimal(10_000)))
            order = outcome.order
            assert order is not None
            if order.filled_units:
                assert order.average_fill_price is not None
                costs.append((order.average_fill_price - quote.mid) * order.filled_units + order.commission)
                filled += order.filled_units
            engine.close_position(account, "EUR/USD")
        results[engine.profile.name] = (statistics.mean(costs), filled / (200 * 10_000))
    (cheap_cost, cheap_fill), (dear_cost, dear_fill) = results["cheap"], results["dear"]
    assert dear_cost > 2 * cheap_cost  # wider spread, slippage and commission all cost more
    assert cheap_fill == 1
    assert dear_fill < Decimal("0.75")
    assert all(
        o.state is OrderState.FILLED
        for o in cheap.orders(cheap.accounts()[0].account_id, include_closed=True)
    )
