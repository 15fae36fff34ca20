"""The unified model: every validation rule names its field, and the order status state machine."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from broker_integration.errors import StandardErrorCode, make_error
from broker_integration.models import (
    AccountSummary,
    Candle,
    Granularity,
    HealthState,
    HealthStatus,
    Instrument,
    InstrumentType,
    InvalidTransitionError,
    Order,
    OrderModification,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
    new_client_order_id,
)

D = Decimal
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
NAIVE = datetime(2024, 5, 6, 12, 0)  # naive on purpose


def invalid_field(model: type[BaseModel], **data: Any) -> tuple[str | int, ...]:
    """Build ``model`` from ``data``, expect exactly one error and return where it is."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"]


def order(**changes: Any) -> dict[str, Any]:
    return {"instrument": "EUR/USD", "side": "buy", "quantity": D(100), **changes}


def limit(**changes: Any) -> dict[str, Any]:
    return order(order_type="limit", price=D("1.1000"), **changes)


# ------------------------------------------------------------------ UnifiedOrder


@pytest.mark.parametrize("quantity", [D(0), D(-1), D("NaN"), D("Infinity"), D("-Infinity"), "abc"])
def test_quantity_must_be_a_positive_finite_number(quantity: object) -> None:
    assert invalid_field(UnifiedOrder, **order(quantity=quantity)) == ("quantity",)


@pytest.mark.parametrize("notional", [D(0), D(-1), D("NaN"), D("Infinity"), "abc"])
def test_notional_must_be_a_positive_finite_number(notional: object) -> None:
    assert invalid_field(UnifiedOrder, **order(quantity=None, notional=notional)) == ("notional",)


def test_an_order_is_sized_by_exactly_one_of_quantity_or_notional() -> None:
    assert invalid_field(UnifiedOrder, **order(notional=D(500))) == ("notional",)
    assert invalid_field(UnifiedOrder, **order(quantity=None)) == ("quantity",)
    by_cash = UnifiedOrder.model_validate(order(quantity=None, notional="500.25"))
    assert (by_cash.quantity, by_cash.notional) == (None, D("500.25"))
    with pytest.raises(ValueError, match=r"sized by notional 500\.25"):
        _ = by_cash.signed_quantity
    again = UnifiedOrder.model_validate_json(by_cash.model_dump_json())  # as the journal keeps an intent
    assert again == by_cash


@pytest.mark.parametrize("field", ["price", "take_profit", "stop_loss"])
@pytest.mark.parametrize("value", [D(0), D(-2), D("NaN"), D("Infinity")])
def test_prices_must_be_positive_and_finite(field: str, value: Decimal) -> None:
    data = limit(**{field: value}) if field != "price" else order(order_type="limit", price=value)
    assert invalid_field(UnifiedOrder, **data) == (field,)


@pytest.mark.parametrize(
    ("order_type", "fields", "missing"),
    [
        ("limit", {}, "price"),
        ("stop", {}, "stop_price"),
        ("stop_limit", {"stop_price": D("1.2")}, "price"),
        ("stop_limit", {"price": D("1.2")}, "stop_price"),
        ("market_if_touched", {}, "price"),
        ("trailing_stop", {}, "trailing_distance"),
    ],
)
def test_order_types_need_their_prices(order_type: str, fields: dict[str, Decimal], missing: str) -> None:
    assert invalid_field(UnifiedOrder, **order(order_type=order_type, **fields)) == (missing,)


@pytest.mark.parametrize(
    ("order_type", "fields", "extra"),
    [
        ("market", {"price": D("1.1")}, "price"),
        ("market", {"stop_price": D("1.1")}, "stop_price"),
        ("market", {"trailing_distance": D("0.01")}, "trailing_distance"),
        ("limit", {"price": D("1.1"), "stop_price": D("1.2")}, "stop_price"),
        ("limit", {"price": D("1.1"), "trailing_distance": D("0.01")}, "trailing_distance"),
        ("stop", {"stop_price": D("1.1"), "price": D("1.1")}, "price"),
        ("trailing_stop", {"trailing_distance": D("0.01"), "price": D("1.1")}, "price"),
    ],
)
def test_order_types_refuse_prices_they_do_not_take(
    order_type: str, fields: dict[str, Decimal], extra: str
) -> None:
    assert invalid_field(UnifiedOrder, **order(order_type=order_type, **fields)) == (extra,)


@pytest.mark.parametrize(
    ("order_type", "fields"),
    [
        ("market", {}),
        ("limit", {"price": D("1.1")}),
        ("stop", {"stop_price": D("1.1")}),
        ("stop_limit", {"price": D("1.1"), "stop_price": D("1.2")}),
        ("market_if_touched", {"price": D("1.1")}),
        ("trailing_stop", {"trailing_distance": D("0.005")}),
    ],
)
def test_each_order_type_with_its_prices_is_valid(order_type: str, fields: dict[str, Decimal]) -> None:
    built = UnifiedOrder.model_validate(order(order_type=order_type, **fields))
    assert built.order_type is OrderType(order_type)


def test_time_in_force_defaults_to_fok_for_market_and_gtc_otherwise() -> None:
    assert UnifiedOrder.model_validate(order()).time_in_force is TimeInForce.FOK
    assert UnifiedOrder.model_validate(limit()).time_in_force is TimeInForce.GTC
    assert UnifiedOrder.model_validate(limit(time_in_force="IOC")).time_in_force is TimeInForce.IOC


def test_gtd_needs_an_expire_time_and_only_gtd_takes_one() -> None:
    assert invalid_field(UnifiedOrder, **limit(time_in_force="GTD")) == ("expire_time",)
    assert invalid_field(UnifiedOrder, **limit(expire_time=NOW)) == ("expire_time",)
    assert invalid_field(UnifiedOrder, **limit(time_in_force="GTC", expire_time=NOW)) == ("expire_time",)
    assert UnifiedOrder.model_validate(limit(time_in_force="GTD", expire_time=NOW)).expire_time == NOW


@pytest.mark.parametrize("field", ["expire_time", "created_at"])
def test_naive_datetimes_are_refused(field: str) -> None:
    data = limit(time_in_force="GTD", expire_time=NOW)
    data[field] = NAIVE
    assert invalid_field(UnifiedOrder, **data) == (field,)


def test_aware_datetimes_are_converted_to_utc() -> None:
    eastern = datetime(2024, 5, 6, 8, 0, tzinfo=timezone(timedelta(hours=-4)))
    built = UnifiedOrder.model_validate(limit(time_in_force="GTD", expire_time=eastern, created_at=eastern))
    assert built.expire_time == NOW
    assert built.expire_time is not None
    assert built.expire_time.tzinfo is UTC
    assert built.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("side", "field", "value"),
    [
        ("buy", "take_profit", D("1.0900")),  # below the entry
        ("buy", "take_profit", D("1.1000")),  # at the entry
        ("buy", "stop_loss", D("1.1100")),
        ("buy", "stop_loss", D("1.1000")),
        ("sell", "take_profit", D("1.1100")),
        ("sell", "stop_loss", D("1.0900")),
    ],
)
def test_exit_levels_on_the_wrong_side_are_refused(side: str, field: str, value: Decimal) -> None:
    assert invalid_field(UnifiedOrder, **limit(side=side, **{field: value})) == (field,)


@pytest.mark.parametrize(
    ("side", "take_profit", "stop_loss"),
    [("buy", D("1.1100"), D("1.0900")), ("sell", D("1.0900"), D("1.1100"))],
)
def test_exit_levels_on_the_right_side_are_valid(side: str, take_profit: Decimal, stop_loss: Decimal) -> None:
    built = UnifiedOrder.model_validate(limit(side=side, take_profit=take_profit, stop_loss=stop_loss))
    assert (built.take_profit, built.stop_loss) == (take_profit, stop_loss)


def test_a_stop_order_checks_exit_levels_against_its_stop_price() -> None:
    data = order(order_type="stop", stop_price=D("1.2000"), take_profit=D("1.1500"))
    assert invalid_field(UnifiedOrder, **data) == ("take_profit",)


def test_a_market_order_has_no_reference_so_exit_levels_are_not_checked() -> None:
    built = UnifiedOrder.model_validate(order(take_profit=D("0.5"), stop_loss=D("5")))
    assert built.take_profit == D("0.5")


@pytest.mark.parametrize(
    "client_id", ["", "-starts-with-dash", "_underscore", "has space", "semi;colon", "a" * 65, "ünïcode"]
)
def test_client_order_id_pattern(client_id: str) -> None:
    assert invalid_field(UnifiedOrder, **order(order_id=client_id)) == ("order_id",)


@pytest.mark.parametrize("client_id", ["a", "A" * 64, "x-1_2.3:4", "0abc"])
def test_client_order_ids_in_the_pattern_are_kept(client_id: str) -> None:
    assert UnifiedOrder.model_validate(order(order_id=client_id)).order_id == client_id


def test_generated_client_order_ids_are_unique_and_valid() -> None:
    ids = {new_client_order_id() for _ in range(200)} | {UnifiedOrder.model_validate(order()).order_id}
    assert len(ids) == 201
    assert all(re.fullmatch(r"bi-[0-9a-f]{32}", i) for i in ids)


def test_instrument_is_canonicalized_or_refused() -> None:
    assert UnifiedOrder.model_validate(order(instrument="eur_usd")).instrument == "EUR/USD"
    assert invalid_field(UnifiedOrder, **order(instrument="EUR USD")) == ("instrument",)
    assert invalid_field(UnifiedOrder, **order(side="hold")) == ("side",)


def test_orders_are_frozen_and_refuse_unknown_fields() -> None:
    built = UnifiedOrder.model_validate(order())
    with pytest.raises(ValidationError):
        built.quantity = D(5)  # type: ignore[misc]
    assert invalid_field(UnifiedOrder, **order(colour="red")) == ("colour",)


def test_signed_quantity_and_sides() -> None:
    assert UnifiedOrder.model_validate(order(side="sell")).signed_quantity == D(-100)
    assert UnifiedOrder.model_validate(order()).signed_quantity == D(100)
    assert OrderSide.BUY.opposite is OrderSide.SELL
    assert OrderSide.SELL.opposite is OrderSide.BUY
    assert (OrderSide.BUY.sign, OrderSide.SELL.sign) == (1, -1)


# ------------------------------------------------------------------ OrderModification


def test_an_empty_modification_is_refused() -> None:
    with pytest.raises(ValidationError, match="changes nothing") as info:
        OrderModification()
    assert info.value.errors()[0]["loc"] == ("quantity",)


def test_modification_rules() -> None:
    assert invalid_field(OrderModification, time_in_force="GTD") == ("expire_time",)
    assert invalid_field(OrderModification, quantity=D(0)) == ("quantity",)
    assert invalid_field(OrderModification, price=D("NaN")) == ("price",)
    assert invalid_field(OrderModification, expire_time=NAIVE) == ("expire_time",)
    assert OrderModification(price=D("1.2")).model_dump(exclude_unset=True) == {"price": D("1.2")}
    assert OrderModification(time_in_force=TimeInForce.GTD, expire_time=NOW).expire_time == NOW


# ------------------------------------------------------------------ OrderResult


def failure() -> Any:
    return make_error(StandardErrorCode.INSUFFICIENT_FUNDS, "no money")


def test_result_success_and_error_must_agree() -> None:
    assert invalid_field(OrderResult, success=True, status="filled", error=failure()) == ("error",)
    assert invalid_field(OrderResult, success=False, status="rejected") == ("error",)
    refused = OrderResult(success=False, status=OrderStatus.REJECTED, error=failure())
    assert refused.error is not None


def test_a_fill_needs_an_average_price() -> None:
    data = {"success": True, "status": "filled", "filled_quantity": D(1)}
    assert invalid_field(OrderResult, **data) == ("average_fill_price",)
    assert OrderResult.model_validate({**data, "average_fill_price": D("1.1")}).filled_quantity == D(1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("filled_quantity", D(-1)),
        ("requested_quantity", D(-1)),
        ("commission", D("-0.01")),
        ("fees", D("NaN")),
        ("average_fill_price", D(0)),
        ("latency_ms", -1.0),
        ("submitted_at", NAIVE),
        ("completed_at", NAIVE),
        ("instrument", "??"),
    ],
)
def test_result_field_rules(field: str, value: object) -> None:
    assert invalid_field(OrderResult, success=True, status="accepted", **{field: value}) == (field,)


def test_total_cost_adds_commission_and_fees() -> None:
    result = OrderResult(success=True, status=OrderStatus.ACCEPTED, commission=D("1.5"), fees=D("0.25"))
    assert result.total_cost == D("1.75")


# ------------------------------------------------------------------ Order and Position


def broker_order(**changes: Any) -> dict[str, Any]:
    return {
        "broker_order_id": "1",
        "instrument": "EUR/USD",
        "side": "buy",
        "order_type": "limit",
        "quantity": D(10),
        "time_in_force": "GTC",
        "status": "accepted",
        "created_at": NOW,
        **changes,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", D(0)),
        ("filled_quantity", D(-1)),
        ("price", D(-1)),
        ("created_at", NAIVE),
        ("status", "done"),
    ],
)
def test_order_field_rules(field: str, value: object) -> None:
    assert invalid_field(Order, **broker_order(**{field: value})) == (field,)


def test_remaining_quantity() -> None:
    assert Order.model_validate(broker_order(filled_quantity=D(4))).remaining_quantity == D(6)


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", D("NaN")), ("average_price", D(0)), ("margin_used", D(-1)), ("long_quantity", D(-1))],
)
def test_position_field_rules(field: str, value: object) -> None:
    assert invalid_field(Position, instrument="EUR/USD", **{"quantity": D(1), field: value}) == (field,)


@pytest.mark.parametrize(("quantity", "side"), [(D(5), OrderSide.BUY), (D(-5), OrderSide.SELL), (D(0), None)])
def test_position_side_follows_the_sign(quantity: Decimal, side: OrderSide | None) -> None:
    assert Position(instrument="EUR/USD", quantity=quantity).side is side


# ------------------------------------------------------------------ market data


def test_a_crossed_tick_is_refused_at_the_ask() -> None:
    assert invalid_field(PriceTick, instrument="EUR/USD", bid=D("1.2"), ask=D("1.1"), time=NOW) == ("ask",)


@pytest.mark.parametrize(
    ("field", "value"), [("bid", D(0)), ("ask", D("Infinity")), ("time", NAIVE), ("bid_size", D(-1))]
)
def test_tick_field_rules(field: str, value: object) -> None:
    data = {"instrument": "EUR/USD", "bid": D("1.1"), "ask": D("1.2"), "time": NOW, field: value}
    assert invalid_field(PriceTick, **data) == (field,)


def test_a_locked_tick_is_valid_and_mid_and_spread() -> None:
    locked = PriceTick(instrument="EUR/USD", bid=D("1.1"), ask=D("1.1"), time=NOW)
    assert locked.spread == 0
    tick = PriceTick(instrument="EUR/USD", bid=D("1.1000"), ask=D("1.1004"), time=NOW)
    assert (tick.mid, tick.spread) == (D("1.1002"), D("0.0004"))


def candle(**changes: Any) -> dict[str, Any]:
    return {
        "instrument": "EUR/USD",
        "granularity": "H1",
        "time": NOW,
        "open": D("1.10"),
        "high": D("1.12"),
        "low": D("1.09"),
        "close": D("1.11"),
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"high": D("1.105")}, "high"),  # below the close
        ({"high": D("1.095")}, "high"),  # below the open
        ({"low": D("1.125"), "high": D("1.12")}, "high"),  # below the low
        ({"low": D("1.105")}, "low"),  # above the open
        ({"open": D("1.115"), "low": D("1.112")}, "low"),  # above the close
        ({"volume": -1}, "volume"),
        ({"time": NAIVE}, "time"),
        ({"granularity": "H5"}, "granularity"),
        ({"close": D(0)}, "close"),
    ],
)
def test_candle_rules(changes: dict[str, Any], field: str) -> None:
    assert invalid_field(Candle, **candle(**changes)) == (field,)


def test_a_flat_candle_is_valid() -> None:
    flat = Candle.model_validate(candle(open=D(1), high=D(1), low=D(1), close=D(1)))
    assert flat.high == flat.low


@pytest.mark.parametrize(
    ("granularity", "seconds"),
    [("S5", 5), ("M1", 60), ("M30", 1800), ("H4", 14_400), ("D", 86_400), ("W", 604_800), ("M", 2_592_000)],
)
def test_granularity_seconds(granularity: str, seconds: int) -> None:
    assert Granularity(granularity).seconds == seconds


def instrument(**changes: Any) -> dict[str, Any]:
    return {
        "symbol": "EUR/USD",
        "broker_symbol": "EUR_USD",
        "type": "currency",
        "tick_size": D("0.00001"),
        "display_precision": 5,
        "min_quantity": D(1),
        **changes,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tick_size", D(0)),
        ("display_precision", 13),
        ("display_precision", -1),
        ("min_quantity", D(0)),
        ("margin_rate", D(0)),
        ("margin_rate", D("1.5")),
        ("type", "bond"),
        ("symbol", "EUR USD"),
    ],
)
def test_instrument_field_rules(field: str, value: object) -> None:
    assert invalid_field(Instrument, **instrument(**{field: value})) == (field,)


def test_instrument_tick_and_quantity_checks() -> None:
    spec = Instrument.model_validate(
        instrument(min_quantity=D(10), quantity_increment=D(5), max_quantity=D(100))
    )
    assert spec.type is InstrumentType.CURRENCY
    assert spec.is_on_tick(D("1.10001"))
    assert not spec.is_on_tick(D("1.100005"))
    assert [spec.is_valid_quantity(D(q)) for q in (5, 10, 12, 15, 100, 105)] == [
        False,
        True,
        False,
        True,
        True,
        False,
    ]


# ------------------------------------------------------------------ accounts and health


def summary(**changes: Any) -> dict[str, Any]:
    return {
        "account_id": "a",
        "currency": "usd",
        "balance": D(100),
        "equity": D(100),
        "margin_available": D(100),
        "time": NOW,
        **changes,
    }


def test_account_currency_is_a_currency_or_asset_code() -> None:
    assert AccountSummary.model_validate(summary()).currency == "USD"
    assert AccountSummary.model_validate(summary(currency="usdt")).currency == "USDT"  # a crypto venue's cash
    for bad in ("US", "U$D", "123", "TOOLONGCODE1"):
        assert invalid_field(AccountSummary, **summary(currency=bad)) == ("currency",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("balance", D("NaN")),
        ("margin_used", D(-1)),
        ("open_position_count", -1),
        ("open_order_count", -1),
        ("time", NAIVE),
    ],
)
def test_account_summary_field_rules(field: str, value: object) -> None:
    assert invalid_field(AccountSummary, **summary(**{field: value})) == (field,)


def test_health_status() -> None:
    assert HealthStatus(state=HealthState.HEALTHY, checked_at=NOW).healthy
    assert not HealthStatus(state=HealthState.DEGRADED, checked_at=NOW).healthy
    assert invalid_field(HealthStatus, state="healthy", checked_at=NOW, latency_ms=-1) == ("latency_ms",)


# ------------------------------------------------------------------ the status state machine

S = OrderStatus
RESOLVED = {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}
ALLOWED: dict[OrderStatus, set[OrderStatus]] = {
    S.PENDING: {S.SUBMITTED, S.REJECTED, S.CANCELLED},
    S.SUBMITTED: RESOLVED | {S.UNKNOWN},
    S.ACCEPTED: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED},
    S.UNKNOWN: RESOLVED,
    S.FILLED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
    S.EXPIRED: set(),
}
TERMINAL = {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}
PAIRS = [(a, b) for a in OrderStatus for b in OrderStatus]


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p[1] in ALLOWED[p[0]]])
def test_allowed_transitions(current: OrderStatus, target: OrderStatus) -> None:
    assert current.can_transition_to(target)
    assert current.transition_to(target) is target


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p[1] not in ALLOWED[p[0]]])
def test_every_other_transition_is_refused(current: OrderStatus, target: OrderStatus) -> None:
    assert not current.can_transition_to(target)
    with pytest.raises(InvalidTransitionError) as info:
        current.transition_to(target)
    assert (info.value.current, info.value.target) == (current, target)
    assert f"from {current.value} to {target.value}" in str(info.value)


def test_terminal_states_are_final_and_say_so() -> None:
    assert {s for s in OrderStatus if s.is_terminal} == TERMINAL
    for status in TERMINAL:
        with pytest.raises(InvalidTransitionError, match="none: it is final"):
            status.transition_to(S.ACCEPTED)


def test_open_states() -> None:
    assert {s for s in OrderStatus if s.is_open} == {S.ACCEPTED, S.PARTIALLY_FILLED}


def test_an_invalid_transition_is_a_value_error() -> None:
    assert issubclass(InvalidTransitionError, ValueError)


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=30))
def test_random_walks_follow_the_table(targets: list[OrderStatus]) -> None:
    state = S.PENDING
    visited = [state]
    for target in targets:
        if target in ALLOWED[state]:
            state = state.transition_to(target)
            visited.append(state)
        else:
            with pytest.raises(InvalidTransitionError):
                state.transition_to(target)
    # Once final, an order never moves; PENDING and SUBMITTED are never re-entered.
    first_final = next((i for i, s in enumerate(visited) if s in TERMINAL), None)
    if first_final is not None:
        assert visited[first_final:] == [visited[first_final]]
    assert visited.count(S.PENDING) == 1
    assert visited.count(S.SUBMITTED) <= 1
