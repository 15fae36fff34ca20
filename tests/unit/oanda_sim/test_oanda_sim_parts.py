"""The simulator's parts on their own: v20 value formats, request parsing, the trade ledger, the
per-connection rate limit and the settings' checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from broker_integration.clock import ManualClock
from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.instruments import default_instruments
from broker_integration.sim.oanda.errors import V20Error
from broker_integration.sim.oanda.formats import InstrumentNames, TimeFormat, decimal_text, parse_time, units
from broker_integration.sim.oanda.history import VenueHistory
from broker_integration.sim.oanda.parse import parse_closeout, parse_order
from broker_integration.sim.oanda.ratelimit import ConnectionRateLimiter
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings, new_account_id, new_token
from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.records import OrderRequest

NAMES = InstrumentNames(default_instruments())
SPECS = {spec.symbol: spec for spec in default_instruments()}


# ================================================================== formats


def test_times_have_nine_digits_in_both_formats() -> None:
    when = datetime(2016, 10, 24, 21, 48, 18, 593753, tzinfo=UTC)
    assert TimeFormat.RFC3339.render(when) == "2016-10-24T21:48:18.593753000Z"
    assert TimeFormat.UNIX.render(when) == "1477345698.593753000"
    assert (
        TimeFormat.RFC3339.render(when.astimezone(timezone(timedelta(hours=-4))))
        == "2016-10-24T21:48:18.593753000Z"
    )
    assert TimeFormat.from_header("unix") is TimeFormat.UNIX
    assert TimeFormat.from_header(None) is TimeFormat.RFC3339
    assert TimeFormat.from_header("nonsense") is TimeFormat.RFC3339


@pytest.mark.parametrize(
    "text",
    [
        "2016-10-24T21:48:18.593753865Z",
        "2016-10-24T17:48:18.593753+04:00".replace("+04", "-04"),
        "1477345698.593753865",
    ],
)
def test_request_times_in_either_format(text: str) -> None:
    assert parse_time(text) == datetime(2016, 10, 24, 21, 48, 18, 593753, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2016-10-24 21:48:18Z", "yesterday", "1.2.3", ""])
def test_unreadable_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 3339 or UNIX time"):
        parse_time(text)


def test_decimals_are_plain_strings_at_their_precision() -> None:
    assert decimal_text(Decimal("-0.00001"), 4) == "0.0000", "no negative zero"
    assert decimal_text(Decimal("1E+3"), 2) == "1000.00", "no exponent"
    assert decimal_text(Decimal("1.234565"), 5) == "1.23456", "half to even, as Decimal rounds"
    assert units(Decimal(-100), SPECS["EUR/USD"]) == "-100"
    assert units(Decimal("0.5"), SPECS["BTC/USD"]) == "0.5000"


def test_instrument_names_are_strict() -> None:
    assert NAMES.name("EUR/USD") == "EUR_USD"
    assert NAMES.name("AAPL") == "AAPL"
    assert NAMES.spec("EUR_USD") == SPECS["EUR/USD"]
    for other in ("EUR/USD", "eur_usd", "EURUSD", "EUR_US"):
        assert NAMES.spec(other) is None


# ================================================================== parsing requests


def test_a_market_order_request() -> None:
    parsed = parse_order(
        {
            "order": {
                "type": "MARKET",
                "instrument": "EUR_USD",
                "units": -250,
                "clientExtensions": {"id": "x1", "tag": "t"},
            }
        },
        NAMES,
    )
    assert parsed.request == OrderRequest("EUR/USD", OrderSide.SELL, Decimal(250), client_order_id="x1")
    assert parsed.request.effective_time_in_force is TimeInForce.FOK, "v20's default for market orders"
    assert (parsed.extras.client_tag, parsed.extras.position_fill) == ("t", "DEFAULT")


def test_a_stop_order_triggers_at_its_price_and_gfd_is_day() -> None:
    body = {
        "order": {
            "type": "STOP",
            "instrument": "USD_JPY",
            "units": "10",
            "price": "150.5",
            "timeInForce": "GFD",
        }
    }
    parsed = parse_order(body, NAMES)
    assert parsed.request.order_type is OrderType.STOP
    assert parsed.request.stop_price == Decimal("150.5")
    assert parsed.request.price is None
    assert parsed.request.time_in_force is TimeInForce.DAY


def test_on_fill_details_are_normalised_and_legacy_spellings_accepted() -> None:
    body = {
        "order": {
            "type": "LIMIT", "instrument": "EUR_USD", "units": "-100", "price": "1.2", "positionFill": "POSITION_DEFAULT",
            "triggerCondition": "TRIGGER_DEFAULT", "stopLossOnFill": {"price": "1.22"}, "takeProfitOnFill": {"price": 1.1},
        }
    }  # fmt: skip
    extras = parse_order(body, NAMES).extras
    assert extras.on_fill == {
        "stopLossOnFill": {"price": "1.22000", "timeInForce": "GTC"},
        "takeProfitOnFill": {"price": "1.10000", "timeInForce": "GTC"},
    }
    assert (extras.position_fill, extras.trigger_condition, extras.price_text) == (
        "POSITION_DEFAULT",
        "TRIGGER_DEFAULT",
        "1.2",
    )


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (
            {"type": "MARKET", "instrument": "EUR/USD", "units": "1"},
            "Invalid value specified for 'order.instrument'",
        ),
        (
            {"type": "MARKET", "instrument": "EUR_USD", "units": "1e"},
            "Invalid value specified for 'order.units'",
        ),
        (
            {"type": "MARKET", "instrument": "EUR_USD", "units": True},
            "Invalid value specified for 'order.units'",
        ),
        (
            {"type": "TAKE_PROFIT", "instrument": "EUR_USD", "units": "1"},
            "Invalid value specified for 'order.type'",
        ),
        (
            {"type": "LIMIT", "instrument": "EUR_USD", "units": "1", "price": "x"},
            "Invalid value specified for 'order.price'",
        ),
        (
            {"type": "LIMIT", "instrument": "EUR_USD", "units": "1", "price": "1", "timeInForce": "DAY"},
            "'order.timeInForce'",
        ),
        (
            {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "positionFill": "ALL"},
            "'order.positionFill'",
        ),
        ({"type": "MARKET", "units": "1"}, "The request was missing required data"),
        ({"type": "MARKET", "instrument": "EUR_USD"}, "The request was missing required data"),
    ],
)
def test_unreadable_orders_are_schema_400s(order: dict[str, object], message: str) -> None:
    with pytest.raises(V20Error) as caught:
        parse_order({"order": order}, NAMES)
    assert caught.value.status == 400
    assert message in caught.value.body["errorMessage"]
    assert "errorCode" not in caught.value.body, "a schema-level 400 has no reject reason"


def test_closeout_bodies() -> None:
    assert [(c.side, c.units) for c in parse_closeout({"longUnits": "ALL", "shortUnits": "NONE"})] == [
        ("long", "ALL")
    ]
    assert [(c.side, c.units) for c in parse_closeout({"shortUnits": "25"})] == [("short", "25")]
    for bad in ({"longUnits": "-5"}, {"longUnits": 5}, {"shortUnits": "some"}):
        with pytest.raises(V20Error):
            parse_closeout(bad)
    with pytest.raises(V20Error) as caught:
        parse_closeout({"longUnits": "NONE"})
    assert caught.value.body["errorCode"] == "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION"


# ================================================================== P&L by side


def test_side_pl_adds_up_to_what_the_engine_booked() -> None:
    clock = ManualClock()
    engine = VenueEngine(VenueProfile(enforce_trading_hours=False), clock=clock)
    account = engine.open_account("101-004-1-001").account_id
    history = VenueHistory(engine)
    for side, size in (
        (OrderSide.BUY, 100),
        (OrderSide.BUY, 50),
        (OrderSide.SELL, 120),
        (OrderSide.SELL, 40),
    ):
        engine.submit_order(account, OrderRequest("EUR/USD", side, Decimal(size)))
    clock.advance(60)
    engine.submit_order(account, OrderRequest("EUR/USD", OrderSide.BUY, Decimal(10)))
    history.catch_up()
    ledger = history.ledger(account, "EUR/USD")
    fills = [t for t in engine.transactions(account_id=account) if t.pl is not None]
    realized = sum((t.pl or Decimal(0) for t in fills), Decimal(0))
    assert realized, "the round trip realized something"
    assert ledger.long_pl + ledger.short_pl == realized, "the sides' P&L add up to what the engine booked"
    assert ledger.long_pl == sum((t.pl or Decimal(0) for t in fills if t.side is OrderSide.SELL), Decimal(0))


# ================================================================== rate limit and settings


def test_rate_limit_per_connection_with_retry_after() -> None:
    now = [0.0]
    limiter = ConnectionRateLimiter(100, clock=lambda: now[0])
    assert all(limiter.admit("a") == 0 for _ in range(100)), "a second's worth passes at once"
    assert limiter.admit("a") == 1, "then 429 with Retry-After: 1"
    assert limiter.admit("b") == 0, "another connection has its own budget"
    now[0] += 0.05
    assert [limiter.admit("a") for _ in range(6)] == [0, 0, 0, 0, 0, 1], "five tokens came back in 50 ms"
    assert limiter.connections == 2


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="account id"):
        Credential(new_token(), ("12345",))
    with pytest.raises(ValueError, match="token"):
        Credential("short", (new_account_id(1, 1),))
    with pytest.raises(ValueError, match="positive"):
        SimulatorSettings(heartbeat_interval=0)
    token = new_token()
    twice = (Credential(token, ("101-004-1-001",)), Credential(token, ("101-004-1-002",)))
    with pytest.raises(ValueError, match="once"):
        SimulatorSettings(credentials=twice)
    generated = SimulatorSettings().resolved_credentials()
    assert len(generated) == 1
    assert generated[0].account_ids == ("101-004-1435156-001",)
