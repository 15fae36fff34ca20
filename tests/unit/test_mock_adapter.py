"""MockBrokerAdapter: fills, resting orders, netting, scripting, streams and candles."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from pydantic import SecretStr, ValidationError

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.clock import ManualClock
from broker_integration.errors import (
    AuthenticationError,
    InvalidInstrumentError,
    MarketClosedError,
    OrderNotFoundError,
    PermissionDeniedError,
    StandardErrorCode,
    UnknownBrokerError,
)
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    Granularity,
    HealthState,
    InstrumentType,
    OrderModification,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderType,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.testing import MockBrokerAdapter
from broker_integration.testing.mock import DEFAULT_ACCOUNT_ID, DEFAULT_PRICES

D = Decimal
START = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def mock(clock: ManualClock) -> AsyncIterator[MockBrokerAdapter]:
    adapter = MockBrokerAdapter(
        prices={"EUR/USD": (D("1.1000"), D("1.1002")), "AAPL": ("190.00", "190.10")},
        event_bus=EventBus(),
        clock=clock,
    )
    async with adapter:
        yield adapter


def market(side: str, quantity: str | int, instrument: str = "EUR/USD", **extra: Any) -> UnifiedOrder:
    return UnifiedOrder.model_validate(
        {"instrument": instrument, "side": side, "quantity": D(quantity), **extra}
    )


def limit(side: str, quantity: str | int, price: str, **extra: Any) -> UnifiedOrder:
    return market(side, quantity, order_type=OrderType.LIMIT, price=D(price), **extra)


def stop(side: str, quantity: str | int, stop_price: str) -> UnifiedOrder:
    return market(side, quantity, order_type=OrderType.STOP, stop_price=D(stop_price))


def error_code(result: OrderResult) -> StandardErrorCode:
    assert not result.success
    assert result.error is not None
    return result.error.error_code


# ------------------------------------------------------------------ construction and login


def test_defaults_quote_the_default_prices_and_account() -> None:
    adapter = MockBrokerAdapter()
    assert adapter.name == "mock"
    assert adapter.account_id == DEFAULT_ACCOUNT_ID
    assert set(adapter._instruments) == set(DEFAULT_PRICES)


def test_account_id_comes_from_the_configuration() -> None:
    config = BrokerConfiguration(broker_name="sim-a", credentials=BrokerCredentials(account_id="acc-7"))
    adapter = MockBrokerAdapter(config)
    assert adapter.account_id == "acc-7"
    assert adapter.name == "sim-a"


@pytest.mark.parametrize("currency", ["US", "USDT", "U5D"])
def test_bad_currency_is_refused(currency: str) -> None:
    with pytest.raises(ValueError, match="three-letter"):
        MockBrokerAdapter(currency=currency)


def test_float_prices_are_refused() -> None:
    adapter = MockBrokerAdapter()
    with pytest.raises(TypeError, match="float"):
        adapter.set_price("EUR/USD", cast(str, 1.1), "1.2")


def test_crossed_price_is_refused() -> None:
    with pytest.raises(ValidationError):
        MockBrokerAdapter().set_price("EUR/USD", "1.2", "1.1")


async def test_calls_need_authentication_except_login_logout_and_health() -> None:
    adapter = MockBrokerAdapter(event_bus=EventBus())
    with pytest.raises(AuthenticationError, match="not authenticated"):
        await adapter.get_current_price("EUR/USD")
    result = await adapter.place_order(market("buy", 1))
    assert error_code(result) is StandardErrorCode.AUTHENTICATION_FAILED
    assert (await adapter.health_check()).state is HealthState.DOWN
    await adapter.disconnect()
    assert await adapter.authenticate()
    assert (await adapter.health_check()).state is HealthState.HEALTHY
    assert (await adapter.get_current_price("EUR/USD")).bid == DEFAULT_PRICES["EUR/USD"][0]


async def test_valid_api_key_is_checked_and_never_shown() -> None:
    config = BrokerConfiguration(
        broker_name="mock", credentials=BrokerCredentials(api_key=SecretStr("right-key"))
    )
    adapter = MockBrokerAdapter(config, valid_api_key="right-key", event_bus=EventBus())
    assert await adapter.authenticate()
    assert not await adapter.authenticate(BrokerCredentials(api_key=SecretStr("wrong-key")))
    assert not adapter.is_authenticated
    assert not await adapter.authenticate(BrokerCredentials())
    assert "right-key" not in repr(adapter)
    assert "right-key" not in repr(adapter.calls)


async def test_context_manager_refuses_a_wrong_key() -> None:
    config = BrokerConfiguration(broker_name="mock", credentials=BrokerCredentials(api_key=SecretStr("nope")))
    with pytest.raises(AuthenticationError):
        async with MockBrokerAdapter(config, valid_api_key=SecretStr("yes"), event_bus=EventBus()):
            pass


async def test_no_key_given_fails_when_one_is_required() -> None:
    adapter = MockBrokerAdapter(valid_api_key="k", event_bus=EventBus())
    assert not await adapter.authenticate()


# ------------------------------------------------------------------ market orders and positions


async def test_market_orders_fill_at_the_touch(mock: MockBrokerAdapter, clock: ManualClock) -> None:
    buy = await mock.place_order(market("buy", 10))
    assert buy.success
    assert buy.status is OrderStatus.FILLED
    assert buy.filled_quantity == D(10)
    assert buy.average_fill_price == D("1.1002")
    assert buy.broker_order_id == "1"
    assert buy.submitted_at == START
    assert buy.completed_at == START
    sell = await mock.place_order(market("sell", 4))
    assert sell.average_fill_price == D("1.1000")
    assert sell.broker_order_id == "2"


async def test_positions_net_with_a_weighted_average_price(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("buy", 100))  # at 1.1002
    mock.set_price("EUR/USD", "1.1010", "1.1012")
    await mock.place_order(market("buy", 300))  # at 1.1012
    (position,) = await mock.get_positions()
    assert position.quantity == D(400)
    assert position.average_price == D("1.10095")  # (100 * 1.1002 + 300 * 1.1012) / 400
    assert position.unrealized_pnl == (D("1.1010") - D("1.10095")) * 400
    assert position.side is OrderSide.BUY


async def test_reducing_realizes_pnl_and_keeps_the_average(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("buy", 100))  # at 1.1002
    mock.set_price("EUR/USD", "1.1102", "1.1104")
    await mock.place_order(market("sell", 40))  # at 1.1102
    (position,) = await mock.get_positions("EUR/USD")
    assert position.quantity == D(60)
    assert position.average_price == D("1.1002")
    assert position.realized_pnl == D("0.4000")  # 40 * 0.0100
    summary = await mock.get_account_summary()
    assert summary.realized_pnl == D("0.4000")
    assert summary.balance == D(100_000) + D("0.4000")


async def test_a_fill_larger_than_the_position_flips_it(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("buy", 100))  # long at 1.1002
    mock.set_price("EUR/USD", "1.0900", "1.0902")
    await mock.place_order(market("sell", 150))  # closes 100 at 1.0900, opens 50 short
    (position,) = await mock.get_positions()
    assert position.quantity == D(-50)
    assert position.average_price == D("1.0900")
    assert position.side is OrderSide.SELL
    assert position.realized_pnl == D("-0.0102") * 100
    mock.set_price("EUR/USD", "1.0800", "1.0802")
    (position,) = await mock.get_positions()
    assert position.unrealized_pnl == D("0.0098") * 50  # a short is marked at the ask


async def test_close_position_flattens_all_or_part(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("sell", 10))
    partial = await mock.close_position("EUR/USD", D(4))
    assert partial.success
    assert partial.side is OrderSide.BUY
    assert partial.filled_quantity == D(4)
    assert partial.average_fill_price == D("1.1002")
    assert partial.client_order_id is not None
    assert [p.quantity for p in await mock.get_positions()] == [D(-6)]
    full = await mock.close_position("eur_usd")
    assert full.filled_quantity == D(6)
    assert await mock.get_positions() == []
    assert error_code(await mock.close_position("EUR/USD")) is StandardErrorCode.POSITION_NOT_FOUND


async def test_close_position_refuses_more_than_is_held(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("buy", 2))
    assert error_code(await mock.close_position("EUR/USD", D(3))) is StandardErrorCode.INVALID_ORDER
    assert [p.quantity for p in await mock.get_positions()] == [D(2)]


async def test_account_summary_marks_open_positions(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("buy", 1000))  # at 1.1002, marked at bid 1.1000
    await mock.place_order(limit("buy", 1, "1.0"))
    summary = await mock.get_account_summary()
    assert summary.account_id == DEFAULT_ACCOUNT_ID
    assert summary.balance == D(100_000)
    assert summary.unrealized_pnl == D("-0.2000")
    assert summary.equity == summary.balance + summary.unrealized_pnl
    assert summary.open_position_count == 1
    assert summary.open_order_count == 1
    assert summary.time == START


async def test_other_accounts_are_refused(mock: MockBrokerAdapter) -> None:
    with pytest.raises(PermissionDeniedError):
        await mock.get_account_summary("someone-else")
    result = await mock.place_order(market("buy", 1, account_id="someone-else"))
    assert error_code(result) is StandardErrorCode.PERMISSION_DENIED
    assert (await mock.get_account_summary(DEFAULT_ACCOUNT_ID)).account_id == DEFAULT_ACCOUNT_ID


async def test_quantities_off_the_step_are_invalid(mock: MockBrokerAdapter) -> None:
    assert error_code(await mock.place_order(market("buy", "0.00001"))) is StandardErrorCode.INVALID_ORDER
    assert (await mock.place_order(market("buy", "0.0001"))).success


async def test_unknown_instruments(mock: MockBrokerAdapter) -> None:
    assert (
        error_code(await mock.place_order(market("buy", 1, "GBP/CHF")))
        is StandardErrorCode.INVALID_INSTRUMENT
    )
    with pytest.raises(InvalidInstrumentError, match="set_price"):
        await mock.get_current_price("GBP/CHF")
    with pytest.raises(InvalidInstrumentError):
        await mock.get_current_price("not a symbol!")
    with pytest.raises(InvalidInstrumentError):
        await mock.get_orders("not a symbol!")


# ------------------------------------------------------------------ resting orders


async def test_limit_rests_until_the_price_crosses_then_fills_at_the_touch(mock: MockBrokerAdapter) -> None:
    placed = await mock.place_order(limit("buy", 5, "1.0950"))
    assert placed.status is OrderStatus.ACCEPTED
    assert placed.completed_at is None
    mock.set_price("EUR/USD", "1.0955", "1.0957")  # not yet
    assert (await mock.get_order(placed.broker_order_id or "")).status is OrderStatus.ACCEPTED
    mock.set_price("EUR/USD", "1.0940", "1.0942")  # gaps through the limit
    filled = await mock.get_order(placed.broker_order_id or "")
    assert filled.status is OrderStatus.FILLED
    assert filled.average_fill_price == D("1.0942")
    assert filled.filled_quantity == D(5)
    assert [p.quantity for p in await mock.get_positions()] == [D(5)]


async def test_a_marketable_limit_fills_at_once_at_the_better_touch(mock: MockBrokerAdapter) -> None:
    result = await mock.place_order(limit("buy", 1, "1.2000"))
    assert result.status is OrderStatus.FILLED
    assert result.average_fill_price == D("1.1002")
    sell = await mock.place_order(limit("sell", 1, "1.0000"))
    assert sell.average_fill_price == D("1.1000")


async def test_sell_limit_and_stops_trigger_on_the_right_side(mock: MockBrokerAdapter) -> None:
    sell_limit = await mock.place_order(limit("sell", 1, "1.1050"))
    buy_stop = await mock.place_order(stop("buy", 1, "1.1030"))
    sell_stop = await mock.place_order(stop("sell", 1, "1.0900"))
    assert {r.status for r in (sell_limit, buy_stop, sell_stop)} == {OrderStatus.ACCEPTED}
    mock.set_price("EUR/USD", "1.1028", "1.1030")  # ask touches the buy stop only
    statuses = {o.broker_order_id: o.status for o in await mock.get_orders(include_closed=True)}
    assert statuses[buy_stop.broker_order_id or ""] is OrderStatus.FILLED
    assert statuses[sell_limit.broker_order_id or ""] is OrderStatus.ACCEPTED
    mock.set_price("EUR/USD", "1.1050", "1.1052")
    assert (await mock.get_order(sell_limit.broker_order_id or "")).average_fill_price == D("1.1050")
    mock.set_price("EUR/USD", "1.0899", "1.0901")
    assert (await mock.get_order(sell_stop.broker_order_id or "")).average_fill_price == D("1.0899")


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
async def test_immediate_orders_that_cannot_fill_are_cancelled(
    mock: MockBrokerAdapter, tif: TimeInForce
) -> None:
    result = await mock.place_order(limit("buy", 1, "1.0", time_in_force=tif))
    assert result.success
    assert result.status is OrderStatus.CANCELLED
    assert await mock.get_orders() == []


async def test_gtd_orders_expire_on_the_injected_clock(mock: MockBrokerAdapter, clock: ManualClock) -> None:
    order = limit("buy", 1, "1.0", time_in_force=TimeInForce.GTD, expire_time=START + timedelta(hours=1))
    placed = await mock.place_order(order)
    clock.advance(3599)
    assert (await mock.get_order(order.order_id)).status is OrderStatus.ACCEPTED
    clock.advance(1)
    assert (await mock.get_order(order.order_id)).status is OrderStatus.EXPIRED
    assert await mock.get_orders() == []
    assert (
        error_code(await mock.cancel_order(placed.broker_order_id or "")) is StandardErrorCode.ORDER_NOT_FOUND
    )


async def test_expire_time_in_the_past_is_invalid(mock: MockBrokerAdapter) -> None:
    order = limit("buy", 1, "1.0", time_in_force=TimeInForce.GTD, expire_time=START - timedelta(seconds=1))
    assert error_code(await mock.place_order(order)) is StandardErrorCode.INVALID_ORDER


async def test_get_orders_filters_by_instrument_and_state(mock: MockBrokerAdapter) -> None:
    eur = await mock.place_order(limit("buy", 1, "1.0"))
    aapl = await mock.place_order(limit("buy", 1, "150", instrument="AAPL"))
    filled = await mock.place_order(market("buy", 1))
    assert [o.broker_order_id for o in await mock.get_orders()] == [eur.broker_order_id, aapl.broker_order_id]
    assert [o.broker_order_id for o in await mock.get_orders("eur-usd")] == [eur.broker_order_id]
    closed = await mock.get_orders("EUR/USD", include_closed=True)
    assert [o.broker_order_id for o in closed] == [eur.broker_order_id, filled.broker_order_id]


async def test_get_order_by_either_id(mock: MockBrokerAdapter) -> None:
    order = limit("buy", 1, "1.0", order_id="my-order-1")
    placed = await mock.place_order(order)
    by_broker = await mock.get_order(placed.broker_order_id or "")
    by_client = await mock.get_order("my-order-1")
    assert by_broker == by_client
    assert by_client.client_order_id == "my-order-1"
    assert by_client.account_id == DEFAULT_ACCOUNT_ID
    with pytest.raises(OrderNotFoundError):
        await mock.get_order("nope")


async def test_cancel_by_client_id_and_only_once(mock: MockBrokerAdapter) -> None:
    await mock.place_order(limit("buy", 2, "1.0", order_id="c-1"))
    cancelled = await mock.cancel_order("c-1")
    assert cancelled.success
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.client_order_id == "c-1"
    assert cancelled.requested_quantity == D(2)
    assert await mock.get_orders() == []
    again = await mock.cancel_order("c-1")
    assert error_code(again) is StandardErrorCode.ORDER_NOT_FOUND
    assert again.status is OrderStatus.REJECTED


async def test_a_reused_client_order_id_is_a_duplicate(mock: MockBrokerAdapter) -> None:
    await mock.place_order(market("buy", 1, order_id="same"))
    second = await mock.place_order(limit("buy", 1, "1.0", order_id="same"))
    assert error_code(second) is StandardErrorCode.DUPLICATE_ORDER
    assert second.client_order_id == "same"
    assert await mock.get_orders() == []
    assert [p.quantity for p in await mock.get_positions()] == [D(1)]


# ------------------------------------------------------------------ modify as replace


async def test_modify_replaces_the_order(mock: MockBrokerAdapter, clock: ManualClock) -> None:
    placed = await mock.place_order(limit("buy", 2, "1.0500", order_id="mod-1"))
    clock.advance(5)
    modified = await mock.modify_order("mod-1", OrderModification(price=D("1.0600"), quantity=D(3)))
    assert modified.success
    assert modified.status is OrderStatus.ACCEPTED
    assert modified.broker_order_id != placed.broker_order_id
    assert modified.replaces_order_id == placed.broker_order_id
    assert modified.client_order_id == "mod-1"
    old = await mock.get_order(placed.broker_order_id or "")
    assert old.status is OrderStatus.CANCELLED
    assert old.replaced_by_order_id == modified.broker_order_id
    new = await mock.get_order("mod-1")
    assert new.broker_order_id == modified.broker_order_id
    assert (new.price, new.quantity, new.created_at) == (D("1.0600"), D(3), START + timedelta(seconds=5))
    assert [o.broker_order_id for o in await mock.get_orders()] == [modified.broker_order_id]


async def test_a_modification_that_crosses_fills(mock: MockBrokerAdapter) -> None:
    placed = await mock.place_order(limit("buy", 1, "1.0"))
    modified = await mock.modify_order(placed.broker_order_id or "", OrderModification(price=D("1.2")))
    assert modified.status is OrderStatus.FILLED
    assert modified.average_fill_price == D("1.1002")


async def test_modify_can_change_time_in_force(mock: MockBrokerAdapter) -> None:
    expiry = START + timedelta(days=1)
    placed = await mock.place_order(limit("buy", 1, "1.0", time_in_force=TimeInForce.GTD, expire_time=expiry))
    to_gtc = await mock.modify_order(
        placed.broker_order_id or "", OrderModification(time_in_force=TimeInForce.GTC)
    )
    current = await mock.get_order(to_gtc.broker_order_id or "")
    assert current.time_in_force is TimeInForce.GTC
    assert current.expire_time is None


@pytest.mark.parametrize(
    ("modification", "code"),
    [
        (OrderModification(stop_price=D("1.05")), StandardErrorCode.INVALID_ORDER),
        (OrderModification(trailing_distance=D("0.01")), StandardErrorCode.INVALID_ORDER),
        (OrderModification(quantity=D("0.00001")), StandardErrorCode.INVALID_ORDER),
        (OrderModification(take_profit=D("2")), StandardErrorCode.UNSUPPORTED_OPERATION),
    ],
)
async def test_bad_modifications_are_refused_and_leave_the_order(
    mock: MockBrokerAdapter, modification: OrderModification, code: StandardErrorCode
) -> None:
    placed = await mock.place_order(limit("buy", 1, "1.0"))
    result = await mock.modify_order(placed.broker_order_id or "", modification)
    assert error_code(result) is code
    assert [o.broker_order_id for o in await mock.get_orders()] == [placed.broker_order_id]


async def test_modifying_a_filled_order_is_not_found(mock: MockBrokerAdapter) -> None:
    filled = await mock.place_order(market("buy", 1))
    result = await mock.modify_order(filled.broker_order_id or "", OrderModification(quantity=D(2)))
    assert error_code(result) is StandardErrorCode.ORDER_NOT_FOUND


# ------------------------------------------------------------------ what the pipeline refuses


@pytest.mark.parametrize(
    "order",
    [
        market("buy", 1, order_type=OrderType.STOP_LIMIT, price=D("1.2"), stop_price=D("1.2")),
        market("buy", 1, order_type=OrderType.TRAILING_STOP, trailing_distance=D("0.01")),
        market("buy", 1, time_in_force=TimeInForce.DAY),
        limit("buy", 1, "1.0", take_profit=D("1.5")),
    ],
    ids=["stop_limit", "trailing_stop", "day", "take_profit"],
)
async def test_undeclared_features_never_reach_the_broker(
    mock: MockBrokerAdapter, order: UnifiedOrder
) -> None:
    before = len(mock.calls)
    result = await mock.place_order(order)
    assert error_code(result) is StandardErrorCode.UNSUPPORTED_OPERATION
    assert len(mock.calls) == before


# ------------------------------------------------------------------ scripting


async def test_fail_next_fails_the_next_calls_then_recovers(mock: MockBrokerAdapter) -> None:
    mock.fail_next("place_order", StandardErrorCode.INSUFFICIENT_FUNDS, times=2)
    first = await mock.place_order(market("buy", 1))
    second = await mock.place_order(market("buy", 1))
    assert error_code(first) is StandardErrorCode.INSUFFICIENT_FUNDS
    assert error_code(second) is StandardErrorCode.INSUFFICIENT_FUNDS
    assert first.error is not None
    assert first.error.broker_name == "mock"
    assert "scripted" in first.error.message
    assert (await mock.place_order(market("buy", 1))).success
    assert [p.quantity for p in await mock.get_positions()] == [D(1)]


async def test_fail_next_with_a_timeout_makes_an_unknown_outcome(mock: MockBrokerAdapter) -> None:
    mock.fail_next("place_order", StandardErrorCode.TIMEOUT)
    result = await mock.place_order(market("buy", 1))
    assert error_code(result) is StandardErrorCode.TIMEOUT
    assert result.status is OrderStatus.UNKNOWN


async def test_scripted_failures_queue_in_order(mock: MockBrokerAdapter) -> None:
    mock.fail_next("get_accounts", StandardErrorCode.PERMISSION_DENIED)
    mock.fail_next("get_accounts", UnknownBrokerError("second"))
    with pytest.raises(PermissionDeniedError):
        await mock.get_accounts()
    with pytest.raises(UnknownBrokerError, match="second"):
        await mock.get_accounts()
    assert [a.account_id for a in await mock.get_accounts()] == [DEFAULT_ACCOUNT_ID]


async def test_a_scripted_exception_is_raised_as_a_fresh_copy(mock: MockBrokerAdapter) -> None:
    template = MarketClosedError("closed for the weekend")
    mock.fail_next("get_instruments", template, times=2)
    raised = []
    for _ in range(2):
        with pytest.raises(MarketClosedError) as info:
            await mock.get_instruments()
        raised.append(info.value)
    assert raised[0] is not template
    assert raised[0] is not raised[1]
    assert raised[0].error.message == "closed for the weekend"
    assert template.__traceback__ is None


async def test_fail_next_applies_to_one_operation_only(mock: MockBrokerAdapter) -> None:
    mock.fail_next("get_orders", StandardErrorCode.PERMISSION_DENIED)
    assert (await mock.get_positions()) == []
    with pytest.raises(PermissionDeniedError):
        await mock.get_orders()


async def test_a_scripted_failure_hits_even_a_stream(mock: MockBrokerAdapter) -> None:
    mock.fail_next("stream_prices", StandardErrorCode.PERMISSION_DENIED)
    stream = cast(AsyncGenerator[PriceTick, None], mock.stream_prices(["EUR/USD"]))
    with pytest.raises(PermissionDeniedError):
        async with contextlib.aclosing(stream):
            await anext(stream)


def test_fail_next_checks_its_arguments() -> None:
    adapter = MockBrokerAdapter()
    with pytest.raises(ValueError, match="unknown operation 'place_orders'"):
        adapter.fail_next("place_orders", StandardErrorCode.TIMEOUT)
    with pytest.raises(ValueError, match="times"):
        adapter.fail_next("place_order", StandardErrorCode.TIMEOUT, times=0)
    with pytest.raises(ValueError):
        adapter.fail_next("place_order", cast(StandardErrorCode, "NOT_A_CODE"))


async def test_calls_record_what_reached_the_broker_as_made(mock: MockBrokerAdapter) -> None:
    order = market("buy", 1)
    await mock.place_order(order)
    await mock.get_orders("EUR/USD", include_closed=True)
    await mock.get_historical_data("AAPL", Granularity.M5, count=2)
    assert mock.calls[0] == ("authenticate", (None,), {})
    assert mock.calls[1:] == [
        ("place_order", (order,), {}),
        ("get_orders", ("EUR/USD",), {"include_closed": True}),
        ("get_historical_data", ("AAPL", Granularity.M5), {"count": 2}),
    ]


async def test_failed_calls_are_recorded_too(mock: MockBrokerAdapter) -> None:
    mock.fail_next("get_accounts", StandardErrorCode.PERMISSION_DENIED)
    with pytest.raises(PermissionDeniedError):
        await mock.get_accounts()
    assert mock.calls[-1] == ("get_accounts", (), {})


async def test_each_call_emits_one_event_on_the_injected_bus() -> None:
    bus = EventBus()
    events: list[CallEvent] = []
    bus.subscribe(CallEvent, events.append)
    async with MockBrokerAdapter(event_bus=bus) as adapter:
        await adapter.get_current_prices(["EUR/USD", "GBP/USD"])
        await adapter.place_order(market("buy", 1))
    assert [e.operation for e in events] == [
        "authenticate",
        "get_current_prices",
        "place_order",
        "disconnect",
    ]
    assert all(e.broker_name == "mock" for e in events)


# ------------------------------------------------------------------ market data


async def test_prices_are_stamped_with_the_injected_clock(
    mock: MockBrokerAdapter, clock: ManualClock
) -> None:
    clock.advance(60)
    mock.set_price("EUR/USD", "1.2", "1.3")
    tick = await mock.get_current_price("eur/usd")
    assert (tick.bid, tick.ask, tick.time) == (D("1.2"), D("1.3"), START + timedelta(seconds=60))


async def test_get_current_prices_keys_by_canonical_symbol(mock: MockBrokerAdapter) -> None:
    prices = await mock.get_current_prices(["eur_usd", "aapl"])
    assert set(prices) == {"EUR/USD", "AAPL"}
    assert prices["AAPL"].ask == D("190.10")


async def test_set_price_adds_an_instrument_with_the_quote_precision(mock: MockBrokerAdapter) -> None:
    mock.set_price("usd/jpy", "150.123", "150.13")
    specs = {spec.symbol: spec for spec in await mock.get_instruments()}
    assert set(specs) == {"EUR/USD", "AAPL", "USD/JPY"}
    jpy = specs["USD/JPY"]
    assert jpy.tick_size == D("0.001")
    assert jpy.display_precision == 3
    assert jpy.type is InstrumentType.CURRENCY
    assert jpy.quote_currency == "JPY"
    assert specs["AAPL"].type is InstrumentType.EQUITY
    assert specs["AAPL"].tick_size == D("0.01")


async def test_stream_yields_the_current_price_then_each_change(mock: MockBrokerAdapter) -> None:
    seen: list[PriceTick] = []
    stream = cast(AsyncGenerator[PriceTick, None], mock.stream_prices(["EUR/USD"]))
    async with asyncio.timeout(2), contextlib.aclosing(stream):
        seen.append(await anext(stream))
        mock.set_price("AAPL", "191", "192")  # not subscribed
        mock.set_price("EUR/USD", "1.2000", "1.2002")
        mock.set_price("EUR/USD", "1.2001", "1.2003")
        seen.append(await anext(stream))
        seen.append(await anext(stream))
    assert [t.bid for t in seen] == [D("1.1000"), D("1.2000"), D("1.2001")]
    assert all(t.instrument == "EUR/USD" for t in seen)
    mock.set_price("EUR/USD", "1.3", "1.4")  # no subscriber left: nothing to deliver, nothing raised


async def test_disconnect_ends_open_streams(mock: MockBrokerAdapter) -> None:
    received: list[PriceTick] = []
    opened = asyncio.Event()

    async def consume() -> None:
        async for tick in mock.stream_prices(["EUR/USD", "AAPL", "EUR/USD"]):
            received.append(tick)
            if len(received) == 2:  # the current prices came through: the stream is open
                opened.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(2):
        await opened.wait()
        await mock.disconnect()
        await task
    assert sorted(t.instrument for t in received) == ["AAPL", "EUR/USD"]


async def test_stream_of_nothing_is_refused(mock: MockBrokerAdapter) -> None:
    with pytest.raises(InvalidInstrumentError):
        async for _ in mock.stream_prices([]):
            pass


async def test_candles_are_deterministic_oldest_first_and_end_now(mock: MockBrokerAdapter) -> None:
    candles = await mock.get_historical_data("EUR/USD", Granularity.M15, count=6)
    assert candles == await mock.get_historical_data("EUR/USD", Granularity.M15, count=6)
    assert len(candles) == 6
    assert [c.time for c in candles] == [START - timedelta(minutes=15 * i) for i in range(5, -1, -1)]
    assert [c.complete for c in candles] == [True] * 5 + [False]
    for before, after in itertools.pairwise(candles):
        assert before.close == after.open
    assert len({c.open for c in candles}) > 1  # a series, not a flat line
    mid = D("1.1001")
    assert all(abs(c.open - mid) <= mid * D("0.005") for c in candles)


async def test_candles_between_start_and_end(mock: MockBrokerAdapter) -> None:
    start, end = START - timedelta(hours=5, minutes=30), START - timedelta(hours=2)
    candles = await mock.get_historical_data("AAPL", Granularity.H1, start=start, end=end)
    assert [c.time for c in candles] == [START - timedelta(hours=h) for h in (5, 4, 3, 2)]
    capped = await mock.get_historical_data("AAPL", Granularity.H1, start=start, count=2)
    assert [c.time for c in capped] == [START - timedelta(hours=h) for h in (5, 4)]
    assert len(await mock.get_historical_data("AAPL", Granularity.D)) == 500


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 0},
        {"count": 5001},
        {"start": datetime(2024, 1, 1)},  # naive on purpose
        {"start": START, "end": START - timedelta(hours=1)},
    ],
)
async def test_bad_candle_requests_are_refused(mock: MockBrokerAdapter, kwargs: dict[str, object]) -> None:
    with pytest.raises(UnknownBrokerError) as info:
        await mock.get_historical_data("EUR/USD", **kwargs)  # type: ignore[arg-type]
    assert info.value.error.broker_error_code == "BAD_REQUEST"


async def test_accounts_and_health(mock: MockBrokerAdapter) -> None:
    (account,) = await mock.get_accounts()
    assert account.account_id == DEFAULT_ACCOUNT_ID
    assert account.currency == "USD"
    await mock.place_order(limit("buy", 1, "1.0"))
    health = await mock.health_check()
    assert health.healthy
    assert health.checked_at == START
    assert health.details == {"open_orders": 1, "positions": 0}
