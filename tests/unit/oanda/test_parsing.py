"""OANDA v20 parsing against the shapes recorded from real responses.

Sources of the payloads (field names and values as recorded; see shared/reference/broker_apis.md §1):
the position object and ClientPrice from oandapyV20's 2016 practice-account captures, the limit order
request from a real capture, the candle from oandapyV20's instrument fixtures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from broker_integration.adapters.oanda import parsing
from broker_integration.models import (
    Granularity,
    InstrumentType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    UnifiedOrder,
)

RECORDED_POSITION = {
    "instrument": "EUR_USD",
    "pl": "-44.6272",
    "unrealizedPL": "-0.0738",
    "resettablePL": "-44.6272",
    "long": {"units": "0", "pl": "-44.6272", "unrealizedPL": "0.0000", "resettablePL": "-44.6272"},
    "short": {
        "units": "-100",
        "averagePrice": "1.09843",
        "tradeIDs": ["2323"],
        "pl": "0.0000",
        "unrealizedPL": "-0.0738",
        "resettablePL": "0.0000",
    },
}

RECORDED_PRICE = {
    "type": "PRICE",
    "instrument": "EUR_USD",
    "time": "2016-10-27T08:38:45.664613867Z",
    "status": "tradeable",
    "tradeable": True,
    "bids": [{"price": "1.09177", "liquidity": 10000000}, {"price": "1.09176", "liquidity": 10000000}],
    "asks": [{"price": "1.09188", "liquidity": 10000000}, {"price": "1.09189", "liquidity": 10000000}],
    "closeoutBid": "1.09173",
    "closeoutAsk": "1.09192",
}

RECORDED_CANDLE = {
    "time": "2016-10-17T19:35:00.000000000Z",
    "volume": 132,
    "complete": True,
    "mid": {"o": "10503.8", "h": "10508.0", "l": "10503.8", "c": "10506.0"},
}


def test_times_with_nine_digits_and_unix() -> None:
    parsed = parsing.parse_time("2016-10-24T21:48:18.593753865Z")
    assert parsed == datetime(2016, 10, 24, 21, 48, 18, 593753, tzinfo=UTC)
    assert parsing.parse_time("1476732900.000000000") == datetime(2016, 10, 17, 19, 35, tzinfo=UTC)
    assert parsing.format_time(parsed) == "2016-10-24T21:48:18.593753000Z"
    assert parsing.parse_time("2016-10-24T21:48:18Z").microsecond == 0
    with pytest.raises(ValueError, match="RFC 3339"):
        parsing.parse_time("yesterday")


def test_decimals_from_strings_and_lenient_numbers() -> None:
    assert parsing.parse_decimal("1.12170") == Decimal("1.12170")
    assert parsing.parse_decimal(10000000.0) == Decimal("10000000.0")
    assert parsing.format_decimal(Decimal("1E+2")) == "100"
    with pytest.raises(ValueError, match="not a decimal"):
        parsing.parse_decimal("abc")


def test_recorded_position_nets_the_short_side() -> None:
    position = parsing.parse_position(RECORDED_POSITION, "101-004-1435156-001")
    assert position.instrument == "EUR/USD"
    assert position.quantity == Decimal(-100)
    assert position.side is OrderSide.SELL
    assert position.average_price == Decimal("1.09843")
    assert position.unrealized_pnl == Decimal("-0.0738")
    assert position.short_quantity == Decimal(100)
    assert position.long_quantity == Decimal(0)


def test_recorded_price_uses_best_levels() -> None:
    tick = parsing.parse_price(RECORDED_PRICE)
    assert (tick.bid, tick.ask) == (Decimal("1.09177"), Decimal("1.09188"))
    assert tick.tradeable
    assert tick.bid_size == Decimal(10000000)
    no_depth = {**RECORDED_PRICE, "bids": [], "asks": [], "tradeable": False}
    fallback = parsing.parse_price(no_depth)
    assert (fallback.bid, fallback.ask) == (Decimal("1.09173"), Decimal("1.09192"))
    assert not fallback.tradeable


def test_recorded_candle() -> None:
    candle = parsing.parse_candle(RECORDED_CANDLE, "DE30_EUR", Granularity.M5)
    assert candle.instrument == "DE30/EUR"
    assert candle.high == Decimal("10508.0")
    assert candle.volume == 132
    assert candle.complete


def test_limit_order_request_matches_the_recorded_shape() -> None:
    order = UnifiedOrder(
        instrument="EUR/USD",
        side="sell",
        order_type="limit",
        quantity=Decimal(100),
        price=Decimal("1.2"),
        stop_loss=Decimal("1.22"),
        order_id="my-1",
    )
    body = parsing.order_request(order)
    assert body == {
        "type": "LIMIT",
        "instrument": "EUR_USD",
        "units": "-100",
        "price": "1.2",
        "timeInForce": "GTC",
        "positionFill": "DEFAULT",
        "clientExtensions": {"id": "my-1"},
        "stopLossOnFill": {"price": "1.22", "timeInForce": "GTC"},
    }


def test_market_and_stop_and_gtd_requests() -> None:
    market = parsing.order_request(UnifiedOrder(instrument="USD/JPY", side="buy", quantity=Decimal(10)))
    assert market["type"] == "MARKET"
    assert market["timeInForce"] == "FOK"
    assert "price" not in market
    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    stop = parsing.order_request(
        UnifiedOrder(
            instrument="EUR/USD",
            side="buy",
            order_type="stop",
            quantity=Decimal(10),
            stop_price=Decimal("1.3"),
            time_in_force="GTD",
            expire_time=expiry,
        )
    )
    assert stop["price"] == "1.3"
    assert stop["gtdTime"] == "2030-01-02T03:04:05.000000000Z"
    day = parsing.order_request(
        UnifiedOrder(
            instrument="EUR/USD",
            side="buy",
            order_type="limit",
            quantity=Decimal(1),
            price=Decimal(1),
            time_in_force="DAY",
        )
    )
    assert day["timeInForce"] == "GFD"


def test_order_round_trip_and_dependent_orders_skipped() -> None:
    data = {
        "id": "2304",
        "createTime": "2016-10-28T14:48:05.231759081Z",
        "type": "STOP",
        "instrument": "EUR_USD",
        "units": "-100",
        "price": "1.20000",
        "timeInForce": "GTC",
        "state": "PENDING",
        "clientExtensions": {"id": "abc"},
        "replacesOrderID": "2300",
    }
    order = parsing.parse_order(data)
    assert order.order_type is OrderType.STOP
    assert order.stop_price == Decimal("1.20000")
    assert order.price is None
    assert order.side is OrderSide.SELL
    assert order.status is OrderStatus.ACCEPTED
    assert order.client_order_id == "abc"
    assert order.replaces_order_id == "2300"
    assert order.time_in_force is TimeInForce.GTC
    assert not parsing.is_entry_order({"id": "9", "type": "TAKE_PROFIT", "tradeID": "8", "price": "1.1"})
    assert parsing.is_entry_order(data)


def test_instrument_metadata() -> None:
    instrument = parsing.parse_instrument(
        {
            "name": "USD_JPY",
            "type": "CURRENCY",
            "displayName": "USD/JPY",
            "pipLocation": -2,
            "displayPrecision": 3,
            "tradeUnitsPrecision": 0,
            "minimumTradeSize": "1",
            "maximumOrderUnits": "100000000",
            "marginRate": "0.04",
        }
    )
    assert instrument.symbol == "USD/JPY"
    assert instrument.tick_size == Decimal("0.001")
    assert instrument.pip_location == -2
    assert instrument.quantity_increment == Decimal(1)
    assert instrument.type is InstrumentType.CURRENCY
    assert instrument.margin_rate == Decimal("0.04")
    assert instrument.is_on_tick(Decimal("115.346"))
    assert not instrument.is_on_tick(Decimal("115.3465"))


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        (
            {"lossQuoteHomeConversionFactor": "0.00673401", "gainQuoteHomeConversionFactor": "0.00673"},
            "0.00673401",
        ),
        (
            {
                "homeConversionFactors": {
                    "lossQuoteHome": {"factor": "0.0067"},
                    "gainQuoteHome": {"factor": "0.0066"},
                }
            },
            "0.0067",
        ),
        (
            {
                "homeConversionFactors": {"lossQuoteHome": {"factor": "0.0067"}},
                "lossQuoteHomeConversionFactor": "9",
            },
            "0.0067",
        ),
        ({"commission": "0.0000"}, None),
        ({"lossQuoteHomeConversionFactor": "0"}, None),
    ],
)
def test_the_quote_home_factor_of_a_fill_is_the_one_for_losses(
    fill: dict[str, object], expected: str | None
) -> None:
    factor = parsing.quote_home_factor(fill)
    assert factor == (Decimal(expected) if expected is not None else None)
