"""Alpaca's wire bodies read into the unified model. The fixtures are recorded real bodies, each with its
source; hand-written variations say so."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from broker_integration.adapters.alpaca import parsing
from broker_integration.errors import StandardErrorCode, map_http_error
from broker_integration.models import (
    Granularity,
    InstrumentType,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdateKind,
    TimeInForce,
    UnifiedOrder,
)

#: alpacahq/alpaca-trade-api-python @9f75328 tests/test_rest.py::test_errors: a v2 SPY limit order, 2021-04-07.
SPY_LIMIT = {
    "id": "fb61d316-2179-4df2-8b28-eb026c0dd78e",
    "client_order_id": "6de7d1b2-f772-4a0d-8c15-bacea15eb29e",
    "created_at": "2021-04-07T18:25:30.812371Z",
    "updated_at": "2021-04-07T18:25:30.812371Z",
    "submitted_at": "2021-04-07T18:25:30.803178Z",
    "filled_at": None, "expired_at": None, "canceled_at": None, "failed_at": None, "replaced_at": None,
    "replaced_by": None, "replaces": None,
    "asset_id": "b28f4066-5c6d-479b-a2af-85dc1a8f16fb",
    "symbol": "SPY", "asset_class": "us_equity", "notional": None,
    "qty": "1", "filled_qty": "0", "filled_avg_price": None,
    "order_class": "", "order_type": "limit", "type": "limit", "side": "buy", "time_in_force": "day",
    "limit_price": "400", "stop_price": None, "status": "accepted", "extended_hours": False,
    "legs": None, "trail_percent": None, "trail_price": None, "hwm": None,
}  # fmt: skip

#: Alpaca's streaming docs (trade_updates example; reference §2.2): a fill with a -04:00 offset.
FILL_EVENT_TIME = "2022-04-19T13:45:04.981350886-04:00"

#: Alpaca's historical data docs (reference §2.5): AAPL's latest quote, 2022-04-12.
AAPL_QUOTE = {"t": "2022-04-12T17:16:36.390749849Z", "ax": "V", "ap": 170.34, "as": 1, "bx": "V", "bp": 165.5,
              "bs": 1, "c": ["R"], "z": "C"}  # fmt: skip
#: alpaca-py @bd1fa9e tests/data/test_historical_crypto_data.py (v1beta3; prices edited there, shape real).
BTC_QUOTE = {
    "t": "2022-05-26T11:47:18.499478272Z",
    "bp": 40517.08,
    "bs": 4.0178,
    "ap": 40765.93,
    "as": 1.5516,
}
#: reference §2.5 [doc]: one AAPL bar.
AAPL_BAR = {"t": "2022-04-11T08:00:00Z", "o": 168.99, "h": 169.81, "l": 168.99, "c": 169, "v": 7170, "n": 206,
            "vw": 169.233976}  # fmt: skip


def test_a_recorded_limit_order_reads_exactly() -> None:
    order = parsing.parse_order(SPY_LIMIT)
    assert order.broker_order_id == SPY_LIMIT["id"]
    assert order.client_order_id == SPY_LIMIT["client_order_id"]
    assert (order.instrument, order.side, order.order_type) == ("SPY", OrderSide.BUY, OrderType.LIMIT)
    assert order.price == Decimal(400)
    assert order.quantity == Decimal(1)
    assert order.filled_quantity == 0
    assert order.time_in_force is TimeInForce.DAY
    assert order.status is OrderStatus.ACCEPTED
    assert order.created_at == datetime(2021, 4, 7, 18, 25, 30, 812371, tzinfo=UTC)


def test_statuses_and_replacement_links() -> None:
    replaced = {**SPY_LIMIT, "status": "replaced", "replaced_by": "c7f0d5b8-0000-4000-8000-000000000001"}
    order = parsing.parse_order(replaced)
    assert order.status is OrderStatus.CANCELLED
    assert order.replaced_by_order_id == replaced["replaced_by"]
    filled = parsing.parse_order(
        {**SPY_LIMIT, "status": "filled", "filled_qty": "1", "filled_avg_price": "399.98"}
    )
    assert (filled.status, filled.average_fill_price) == (OrderStatus.FILLED, Decimal("399.98"))
    # numbers where strings are documented (older servers, hand-edited SDK mocks): read exactly too
    lenient = parsing.parse_order({**SPY_LIMIT, "qty": 2, "limit_price": 400.1})
    assert (lenient.quantity, lenient.price) == (Decimal(2), Decimal("400.1"))


def test_a_notional_order_without_qty_has_a_size() -> None:
    order = parsing.parse_order(
        {**SPY_LIMIT, "type": "market", "limit_price": None, "qty": None, "notional": "500", "symbol": "BTC/USD",
         "asset_class": "crypto"}
    )  # fmt: skip
    assert order.instrument == "BTC/USD"
    assert order.quantity == Decimal(500)


def test_a_fill_event_with_an_offset_time() -> None:
    order = {**SPY_LIMIT, "status": "filled", "filled_qty": "1", "filled_avg_price": "399.5"}
    update = parsing.order_update(
        {"event": "fill", "timestamp": FILL_EVENT_TIME, "price": "399.5", "qty": "1", "position_qty": "1",
         "order": order},
        Decimal(0),
    )  # fmt: skip
    assert update is not None
    assert update.kind is OrderUpdateKind.FILLED
    assert (update.fill_quantity, update.fill_price, update.filled_quantity) == (
        Decimal(1),
        Decimal("399.5"),
        Decimal(1),
    )
    assert update.time == datetime(2022, 4, 19, 17, 45, 4, 981350, tzinfo=UTC)
    pending = parsing.order_update(
        {"event": "pending_new", "timestamp": FILL_EVENT_TIME, "order": SPY_LIMIT}, Decimal(0)
    )
    assert pending is None


def test_a_partial_fill_counts_only_its_own_quantity() -> None:
    order = {
        **SPY_LIMIT,
        "qty": "10",
        "status": "partially_filled",
        "filled_qty": "7",
        "filled_avg_price": "400",
    }
    update = parsing.order_update(
        {"event": "partial_fill", "timestamp": FILL_EVENT_TIME, "order": order}, Decimal(3)
    )
    assert update is not None
    assert (update.kind, update.fill_quantity, update.remaining_quantity) == (
        OrderUpdateKind.PARTIALLY_FILLED,
        Decimal(4),
        Decimal(3),
    )


@pytest.mark.parametrize(
    "body",
    [
        SPY_LIMIT,
        {**SPY_LIMIT, "status": "filled", "filled_qty": "1", "filled_avg_price": "399.5"},
        {**SPY_LIMIT, "qty": "10", "status": "partially_filled", "filled_qty": "7", "filled_avg_price": "400"},
        {**SPY_LIMIT, "type": "market", "limit_price": None, "qty": None, "notional": "500", "symbol": "BTCUSD",
         "asset_class": "crypto", "filled_qty": "0.01", "filled_avg_price": "40000", "status": "filled"},
        {**SPY_LIMIT, "status": "replaced", "replaced_by": "0a2c6ef2-7d23-4a1f-9b8f-0d5b8a7f4e11", "side": "sell"},
    ],
)  # fmt: skip
def test_an_orders_facts_are_the_parsed_orders_own(body: dict[str, object]) -> None:
    """The result and update paths read only ``order_facts``: each must be what the whole Order says."""
    facts, order = parsing.order_facts(body), parsing.parse_order(body)
    for name in parsing.OrderFacts._fields:
        assert getattr(facts, name) == getattr(order, name), name
    assert facts.remaining_quantity == order.remaining_quantity


def test_a_fill_events_update_reads_a_bad_embedded_side_as_an_error() -> None:
    order = {**SPY_LIMIT, "status": "filled", "filled_qty": "1", "filled_avg_price": "399.5", "side": "long"}
    with pytest.raises(ValueError, match="long"):
        parsing.order_update({"event": "fill", "timestamp": FILL_EVENT_TIME, "order": order}, Decimal(0))


@pytest.mark.parametrize("side", list(OrderSide))
def test_sides_go_out_and_come_back_as_the_enum_names_them(side: OrderSide) -> None:
    """The side tables stand in for ``side.value`` and ``OrderSide(value)``: they must agree for every side."""
    assert parsing.SIDE_TO_ALPACA[side] == side.value
    assert type(parsing.SIDE_TO_ALPACA[side]) is str
    order = UnifiedOrder(instrument="AAPL", side=side, quantity=Decimal(1))
    assert parsing.order_request(order)["side"] == side.value
    assert parsing.order_facts({**SPY_LIMIT, "side": side.value}).side is side


@pytest.mark.parametrize("side", ["BUY", "long", "", None, 1, ["buy"]])
def test_a_side_that_is_not_alpacas_is_an_error_naming_it(side: object) -> None:
    """A side the table does not hold (another spelling, another type, even an unhashable one) still meets
    the enum, which refuses it with a ValueError naming it."""
    with pytest.raises(ValueError, match="OrderSide"):
        parsing.order_facts({**SPY_LIMIT, "side": side})


def test_market_data_numbers_become_exact_decimals() -> None:
    tick = parsing.parse_quote("AAPL", AAPL_QUOTE)
    assert (tick.bid, tick.ask, tick.bid_size) == (Decimal("165.5"), Decimal("170.34"), Decimal(1))
    coin = parsing.parse_quote("BTC/USD", BTC_QUOTE)
    assert (coin.bid, coin.bid_size) == (Decimal("40517.08"), Decimal("4.0178"))
    bar = parsing.parse_bar("AAPL", Granularity.H1, AAPL_BAR)
    assert (bar.open, bar.close, bar.volume) == (Decimal("168.99"), Decimal(169), 7170)


def test_remembered_numbers_stay_exact_and_keep_their_kind() -> None:
    """Numbers are remembered between quotes: a float and an integer of one value, and the two zeros,
    must still read as themselves, and the table must stay bounded."""
    assert str(parsing.number(190.1)) == str(parsing.number(190.1)) == "190.1"
    assert str(parsing.number(3)) == "3"
    assert str(parsing.number(3.0)) == "3.0"
    assert str(parsing.number(3)) == "3"
    assert str(parsing.number(0.0)) == "0.0"
    assert str(parsing.number(-0.0)) == "-0.0"
    assert str(parsing.number(0.0)) == "0.0"
    for cents in range(2 * parsing._MAX_NUMBERS):
        assert parsing.number(cents / 100) == Decimal(cents) / 100
    assert len(parsing._FLOATS) <= parsing._MAX_NUMBERS
    with pytest.raises(ValueError, match="not a decimal"):
        parsing.number("1,5")


def test_remembered_trading_api_decimals_keep_their_exact_form() -> None:
    """The Trading API's decimal strings are remembered between answers: each must still read as itself
    (``"1"`` and ``"1.0"`` are equal but not the same Decimal), a bad one must still be refused, and the
    table must stay bounded."""
    for text in ("1", "1.0", "1", "0", "0.00", "-0", "1.0", "400.01"):
        for _ in range(2):
            facts = parsing.order_facts(
                {**SPY_LIMIT, "qty": "500", "filled_qty": text, "filled_avg_price": "1"}
            )
            assert str(facts.filled_quantity) == (text if Decimal(text) else "0"), text
    assert str(parsing.order_facts({**SPY_LIMIT, "qty": "2.50"}).quantity) == "2.50"
    for text in ("1,5", "one"):
        with pytest.raises(ValueError, match="not a decimal"):
            parsing.order_facts({**SPY_LIMIT, "qty": text})
    for n in range(2 * parsing._MAX_NUMBERS):
        assert str(parsing.order_facts({**SPY_LIMIT, "qty": f"{n}.5"}).quantity) == f"{n}.5"
    assert len(parsing._TEXTS) <= parsing._MAX_NUMBERS


@pytest.mark.parametrize(
    ("qty", "filled", "kept"), [("1", "1.0", "1.0"), ("1.0", "1", "1"), ("1.0", "2", "1.0")]
)
def test_the_filled_quantity_is_capped_at_the_size_as_min_would(qty: str, filled: str, kept: str) -> None:
    """The cap is written out instead of ``min``: on a tie it keeps the filled quantity's own form, as
    ``min(filled, qty)`` does."""
    facts = parsing.order_facts({**SPY_LIMIT, "qty": qty, "filled_qty": filled, "filled_avg_price": "1"})
    assert str(facts.filled_quantity) == kept == str(min(Decimal(filled), Decimal(qty)))


def test_a_one_sided_quote_is_not_crossed() -> None:
    tick = parsing.parse_quote("AAPL", {**AAPL_QUOTE, "bp": 0})
    assert tick.bid == tick.ask == Decimal("170.34")
    assert not tick.tradeable


def test_trade_ids_above_2_53_stay_exact() -> None:
    frame = b'[{"T":"t","S":"BTC/USD","i":9007199254740993,"p":40000.5}]'
    assert orjson.loads(frame)[0]["i"] == 2**53 + 1  # a float would have made it 2**53


def test_crypto_symbols_in_every_spelling() -> None:
    assert parsing.symbol_from_alpaca("BTCUSD", "crypto") == "BTC/USD"  # positions (reference §2.2 [rec])
    assert parsing.symbol_from_alpaca("BTC/USD") == "BTC/USD"
    assert parsing.symbol_from_alpaca("brk.a") == "BRK.A"


def test_assets_carry_their_size_rules() -> None:
    stock = parsing.parse_asset(
        {"symbol": "BRK.A", "class": "us_equity", "fractionable": False, "tradable": True}
    )
    assert (stock.type, stock.quantity_increment, stock.tick_size) == (
        InstrumentType.EQUITY,
        Decimal(1),
        Decimal("0.01"),
    )
    assert stock.quantity_refusal(Decimal("0.5")) is not None
    coin = parsing.parse_asset(
        {"symbol": "BTC/USD", "class": "crypto", "fractionable": True, "min_order_size": "0.0001",
         "min_trade_increment": "0.000000001", "price_increment": "1"}
    )  # fmt: skip
    assert (coin.min_quantity, coin.tick_size, coin.quote_currency) == (Decimal("0.0001"), Decimal(1), "USD")
    assert coin.quantity_refusal(Decimal("0.00005")) is not None


def test_an_order_request_carries_strings_and_alpacas_default_time_in_force() -> None:
    stock = parsing.order_request(
        UnifiedOrder(order_id="abc-1", instrument="AAPL", side=OrderSide.BUY, quantity=Decimal("1.5"))
    )
    assert stock == {"symbol": "AAPL", "qty": "1.5", "side": "buy", "type": "market", "time_in_force": "day",
                     "client_order_id": "abc-1"}  # fmt: skip
    coin = parsing.order_request(
        UnifiedOrder(instrument="BTC/USD", side=OrderSide.SELL, quantity=Decimal("0.01"))
    )
    assert coin["time_in_force"] == "gtc"
    chosen = parsing.order_request(
        UnifiedOrder(
            instrument="AAPL", side=OrderSide.BUY, quantity=Decimal(1), time_in_force=TimeInForce.FOK
        )
    )
    assert chosen["time_in_force"] == "fok"
    trailing = parsing.order_request(
        UnifiedOrder(instrument="AAPL", side=OrderSide.SELL, order_type=OrderType.TRAILING_STOP,
                     trailing_distance=Decimal("2.5"), quantity=Decimal(1))
    )  # fmt: skip
    assert trailing["trail_price"] == "2.5"
    assert trailing["type"] == "trailing_stop"


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        # alpaca-py#225: buying power
        (403, {"buying_power": "176531.28", "code": 40310000, "cost_basis": "48640000",
               "message": "insufficient buying power"}, StandardErrorCode.INSUFFICIENT_FUNDS),
        # alpaca-trade-api-python tests/test_rest.py::test_errors
        (422, {"code": 40010001, "message": "qty must be integer"}, StandardErrorCode.INVALID_ORDER),
        # alpacahq/Alpaca-API#184: an unknown asset
        (422, {"code": 40010001, "message": "could not find us_equity 'b0b6dd9d'"}, StandardErrorCode.INVALID_INSTRUMENT),
        # bennycode/trading-signals#1079
        (422, {"code": 42210000, "message": 'order is already in "filled" state'}, StandardErrorCode.ORDER_NOT_FOUND),
        # 2024 capture with headers (Petersoj/alpaca-java#156)
        (401, {"code": 40110000, "message": "request is not authorized"}, StandardErrorCode.AUTHENTICATION_FAILED),
        # dev.to log, 2026: no code at all
        (401, {"message": "unauthorized."}, StandardErrorCode.AUTHENTICATION_FAILED),
    ],
)  # fmt: skip
def test_recorded_error_bodies_map_by_code(
    status: int, body: dict[str, object], code: StandardErrorCode
) -> None:
    assert map_http_error("alpaca", status, body).error_code is code
