"""Alpaca JSON ⇄ the unified model. Pure functions, no I/O.

Wire facts (``shared/reference/broker_apis.md`` §2): the Trading API writes decimals as JSON strings
(``"qty":"1"``), the Market Data API as JSON numbers (``"ap":170.34``); ids are UUIDs; times are RFC 3339
with up to nine fractional digits and not always ``Z`` (trade updates carry ``-04:00``). Stocks are
tickers (``AAPL``) and crypto pairs ``BTC/USD``, though positions and older answers spell them ``BTCUSD``.
Parsers are lenient where real servers were seen to vary (numbers where strings are documented, a
``daytrade_count`` as a string or an int). The decimal and time readers are OANDA's (the same RFC 3339
and decimal-string conventions), imported rather than copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from broker_integration.adapters.oanda.parsing import format_decimal, format_time, parse_decimal, parse_time
from broker_integration.models import (
    AccountSummary,
    Candle,
    Granularity,
    Instrument,
    InstrumentType,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    OrderUpdateKind,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
    checked_quote,
    checked_update,
)
from broker_integration.symbols import SymbolMapper, SymbolStyle

__all__ = [
    "ORDER_TYPE_TO_ALPACA",
    "SIDE_TO_ALPACA",
    "TIF_TO_ALPACA",
    "MarketClock",
    "OrderFacts",
    "effective_time_in_force",
    "format_decimal",
    "format_time",
    "is_crypto",
    "number",
    "order_facts",
    "order_request",
    "order_update",
    "parse_account_summary",
    "parse_asset",
    "parse_bar",
    "parse_clock",
    "parse_decimal",
    "parse_order",
    "parse_position",
    "parse_quote",
    "parse_time",
    "replace_request",
    "symbol_from_alpaca",
    "symbol_to_alpaca",
    "timeframe",
]

_CONCAT = SymbolMapper(SymbolStyle.CONCAT)

#: Our time in force → Alpaca's (``day|gtc|opg|cls|ioc|fok``; Alpaca has no GTD).
TIF_TO_ALPACA: Mapping[TimeInForce, str] = {
    TimeInForce.DAY: "day",
    TimeInForce.GTC: "gtc",
    TimeInForce.IOC: "ioc",
    TimeInForce.FOK: "fok",
    TimeInForce.OPG: "opg",
    TimeInForce.CLS: "cls",
}
_TIF_FROM_ALPACA: Mapping[str, TimeInForce] = {v: k for k, v in TIF_TO_ALPACA.items()}

ORDER_TYPE_TO_ALPACA: Mapping[OrderType, str] = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop",
    OrderType.STOP_LIMIT: "stop_limit",
    OrderType.TRAILING_STOP: "trailing_stop",
}
_ORDER_TYPE_FROM_ALPACA: Mapping[str, OrderType] = {v: k for k, v in ORDER_TYPE_TO_ALPACA.items()}

#: Our sides → Alpaca's ``buy|sell`` and back: a dict lookup, where the enum's ``.value`` and ``OrderSide(…)``
#: run the enum's Python code on every order and answer.
SIDE_TO_ALPACA: Mapping[OrderSide, str] = {side: side.value for side in OrderSide}
_SIDE_FROM_ALPACA: Mapping[str, OrderSide] = {v: k for k, v in SIDE_TO_ALPACA.items()}

#: Alpaca's order statuses (spec enum + alpaca-py's) → ours. ``done_for_day`` stays open (it may fill
#: on the next session); ``replaced`` is a cancellation in our model (its replacement carries on).
_STATUS: Mapping[str, OrderStatus] = {
    "new": OrderStatus.ACCEPTED,
    "accepted": OrderStatus.ACCEPTED,
    "pending_new": OrderStatus.SUBMITTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "done_for_day": OrderStatus.ACCEPTED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "replaced": OrderStatus.CANCELLED,
    "pending_cancel": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "rejected": OrderStatus.REJECTED,
    "suspended": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.FILLED,
    "held": OrderStatus.ACCEPTED,
    "pending_review": OrderStatus.SUBMITTED,
}

#: Trade-update events (Alpaca's streaming docs, alpaca-py ``TradeEvent``) → our update kinds; the
#: others (pending_new, pending_cancel, pending_replace, calculated, done_for_day …) change nothing final.
_EVENTS: Mapping[str, OrderUpdateKind] = {
    "new": OrderUpdateKind.ACCEPTED,
    "accepted": OrderUpdateKind.ACCEPTED,
    "fill": OrderUpdateKind.FILLED,
    "partial_fill": OrderUpdateKind.PARTIALLY_FILLED,
    "canceled": OrderUpdateKind.CANCELLED,
    "expired": OrderUpdateKind.EXPIRED,
    "rejected": OrderUpdateKind.REJECTED,
    "replaced": OrderUpdateKind.REPLACED,
}

#: Our candle widths → Alpaca's ``timeframe`` (``{N}Min`` 1-59, ``{N}Hour`` 1-23, ``1Day``, ``1Week``,
#: ``{N}Month``); widths under a minute have no Alpaca bar.
_TIMEFRAMES: Mapping[Granularity, str] = {
    Granularity.M1: "1Min",
    Granularity.M2: "2Min",
    Granularity.M4: "4Min",
    Granularity.M5: "5Min",
    Granularity.M10: "10Min",
    Granularity.M15: "15Min",
    Granularity.M30: "30Min",
    Granularity.H1: "1Hour",
    Granularity.H2: "2Hour",
    Granularity.H3: "3Hour",
    Granularity.H4: "4Hour",
    Granularity.H6: "6Hour",
    Granularity.H8: "8Hour",
    Granularity.H12: "12Hour",
    Granularity.D: "1Day",
    Granularity.W: "1Week",
    Granularity.MONTH: "1Month",
}


def timeframe(granularity: Granularity) -> str | None:
    """Alpaca's ``timeframe`` for ``granularity``, or ``None`` when Alpaca has no such bar."""
    return _TIMEFRAMES.get(granularity)


def is_crypto(symbol: str) -> bool:
    """A canonical pair (``BTC/USD``) is crypto at Alpaca; a ticker (``AAPL``) is a stock."""
    return "/" in symbol


def symbol_to_alpaca(symbol: str) -> str:
    """The canonical symbol as Alpaca's trading and data APIs take it: ``AAPL``, ``BTC/USD``."""
    return symbol


def symbol_from_alpaca(symbol: str, asset_class: str | None = None) -> str:
    """Alpaca's symbol in canonical form; ``BTCUSD`` (crypto in positions and older answers) → ``BTC/USD``."""
    if asset_class == "crypto" and "/" not in symbol:
        return _CONCAT.from_broker(symbol)
    return symbol.strip().upper() if "/" not in symbol else _CONCAT.from_broker(symbol.replace("/", ""))


_ZERO = Decimal(0)

#: Market-data numbers read lately and their Decimals, floats and integers apart (``3 == 3.0`` but
#: ``Decimal(3)`` is not ``Decimal("3.0")``). A stream repeats its prices and sizes (a quote moves by ticks)
#: and a float's shortest repr made a Decimal costs ten dict lookups. Zeros are not kept (``0.0`` and
#: ``-0.0`` are one key); each table is emptied when full.
_FLOATS: dict[float, Decimal] = {}
_INTEGERS: dict[int, Decimal] = {}
_MAX_NUMBERS = 8_192


def number(value: Any) -> Decimal:
    """A Market Data number (a JSON number, read exactly from its shortest repr) as ``Decimal``. The usual
    kinds are converted here directly and remembered (the stream's hot path: four per quote); others go
    through :func:`parse_decimal`, which names what is wrong."""
    kind = type(value)
    if kind is float:
        found = _FLOATS.get(value)
        if found is None:
            found = Decimal(repr(value))
            _remember(_FLOATS, value, found)
        return found
    if kind is int:
        exact = _INTEGERS.get(value)
        if exact is None:
            exact = Decimal(value)
            _remember(_INTEGERS, value, exact)
        return exact
    return parse_decimal(value)


def _remember(table: dict[Any, Decimal], value: object, decimal: Decimal) -> None:
    """Keep ``value``'s ``decimal`` in ``table`` (not a zero number: see above), emptying a full table first."""
    if value:
        if len(table) >= _MAX_NUMBERS:
            table.clear()
        table[value] = decimal


#: The Trading API's decimal strings read lately (``"1"``, ``"0"``, a fill price) and their Decimals, kept
#: like the market-data numbers above: every answer and update repeats a few (sizes, the zero fill), and
#: between two orders' I/O a cold ``Decimal(text)`` measured several times a dict lookup's cost.
_TEXTS: dict[str, Decimal] = {}


def _optional_decimal(value: Any) -> Decimal | None:
    if type(value) is str and value:  # the Trading API's own form, read directly (several per event)
        found = _TEXTS.get(value)
        if found is None:
            try:
                found = Decimal(value)
            except InvalidOperation:
                return parse_decimal(value)  # which names what is wrong
            _remember(_TEXTS, value, found)
        return found
    return None if value is None or value == "" else parse_decimal(value)


def _optional_time(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) and value else None


# ----------------------------------------------------------------------------------------- orders


def effective_time_in_force(order: UnifiedOrder) -> TimeInForce:
    """The time in force ``order`` goes to Alpaca with: the caller's, else ``day`` for stocks and ``gtc`` for
    crypto (Alpaca's usual choices; crypto takes no ``day``) — the model's own default (FOK for market, GTC
    otherwise) was not the caller's choice."""
    tif = order.time_in_force
    if tif is None or "time_in_force" not in order.__pydantic_fields_set__:
        return TimeInForce.GTC if is_crypto(order.instrument) else TimeInForce.DAY
    return tif


def order_request(order: UnifiedOrder, tif: TimeInForce | None = None) -> dict[str, Any]:
    """The body of ``POST /v2/orders`` for ``order``: decimals as strings, our client order id as Alpaca's,
    the size as ``qty`` or ``notional``; ``tif`` is :func:`effective_time_in_force` of ``order`` when the
    caller has it already."""
    size = ("qty", order.quantity) if order.quantity is not None else ("notional", order.notional)
    assert size[1] is not None  # the model holds exactly one of them
    body: dict[str, Any] = {
        "symbol": symbol_to_alpaca(order.instrument),
        size[0]: format_decimal(size[1]),
        "side": SIDE_TO_ALPACA[order.side],
        "type": ORDER_TYPE_TO_ALPACA[order.order_type],
        "time_in_force": TIF_TO_ALPACA[tif or effective_time_in_force(order)],
        "client_order_id": order.order_id,
    }
    if order.price is not None:
        body["limit_price"] = format_decimal(order.price)
    if order.stop_price is not None:
        body["stop_price"] = format_decimal(order.stop_price)
    if order.trailing_distance is not None:
        body["trail_price"] = format_decimal(order.trailing_distance)
    return body


def replace_request(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The body of ``PATCH /v2/orders/{id}`` for an :class:`OrderModification`'s set fields."""
    body: dict[str, Any] = {}
    names = {
        "quantity": "qty",
        "price": "limit_price",
        "stop_price": "stop_price",
        "trailing_distance": "trail",
    }
    for ours, theirs in names.items():
        value = changes.get(ours)
        if value is not None:
            body[theirs] = format_decimal(value)
    tif = changes.get("time_in_force")
    if tif is not None:
        body["time_in_force"] = TIF_TO_ALPACA[tif]
    return body


class OrderFacts(NamedTuple):
    """What an order's result and its updates carry of an Alpaca Order: its ids, instrument, side, sizes,
    fill price and status. The models these go into validate them; the rest of the Order (its times,
    prices, time in force …) is read only by :func:`parse_order`."""

    broker_order_id: str
    client_order_id: str | None
    instrument: str
    side: OrderSide
    quantity: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    status: OrderStatus
    replaced_by_order_id: str | None

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity


def order_facts(data: Mapping[str, Any]) -> OrderFacts:
    """The :class:`OrderFacts` of an Alpaca Order. A notional order carries no ``qty`` until it fills: its
    size is the filled quantity then (or the notional itself, as the best known size, while it rests)."""
    get = data.get
    filled = _optional_decimal(get("filled_qty")) or _ZERO
    qty = _optional_decimal(get("qty"))
    if qty is None or qty <= _ZERO:
        qty = filled if filled > _ZERO else _optional_decimal(get("notional")) or Decimal(1)
    side = get("side", "buy")
    return OrderFacts(
        str(data["id"]),
        get("client_order_id"),
        symbol_from_alpaca(str(data["symbol"]), get("asset_class")),
        (_SIDE_FROM_ALPACA.get(side) if type(side) is str else None) or OrderSide(str(side)),
        qty,
        qty if qty < filled else filled,  # min(filled, qty), without the builtin's generic loop
        _optional_decimal(get("filled_avg_price")) if filled > _ZERO else None,
        _STATUS.get(str(get("status")), OrderStatus.ACCEPTED),
        get("replaced_by"),
    )


def parse_order(data: Mapping[str, Any]) -> Order:
    """An Alpaca Order, every field validated (see :func:`order_facts` for its sizes)."""
    facts = order_facts(data)
    kind = _ORDER_TYPE_FROM_ALPACA.get(str(data.get("type") or data.get("order_type")), OrderType.MARKET)
    trail = _optional_decimal(data.get("trail_price"))
    created = parse_time(data.get("created_at") or data["submitted_at"])
    updated = _optional_time(data.get("updated_at"))
    return Order(
        broker_order_id=facts.broker_order_id,
        client_order_id=facts.client_order_id,
        instrument=facts.instrument,
        side=facts.side,
        order_type=kind,
        quantity=facts.quantity,
        filled_quantity=facts.filled_quantity,
        price=_optional_decimal(data.get("limit_price"))
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        else None,
        stop_price=_optional_decimal(data.get("stop_price"))
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT)
        else None,
        trailing_distance=trail if kind is OrderType.TRAILING_STOP else None,
        time_in_force=_TIF_FROM_ALPACA.get(str(data.get("time_in_force")), TimeInForce.DAY),
        status=facts.status,
        average_fill_price=facts.average_fill_price,
        created_at=created,
        updated_at=updated if updated is not None and updated >= created else None,
        notional=_positive(data.get("notional")),
        replaces_order_id=data.get("replaces"),
        replaced_by_order_id=facts.replaced_by_order_id,
    )


def order_update(message: Mapping[str, Any], filled_before: Decimal) -> OrderUpdate | None:
    """One ``trade_updates`` event (``data`` of the frame) as an :class:`OrderUpdate`, or ``None`` for an event
    that changes nothing final (pending_new, pending_cancel …).

    A fill event carries the execution's ``price`` and ``qty`` (strings or, in older frames, numbers); the
    order's cumulative ``filled_qty`` says how much has filled in all. ``filled_before`` is what this
    order had filled before, for frames that give no ``qty``. Only the embedded order's :class:`OrderFacts`
    are read: the update carries nothing else of it.
    """
    event = str(message.get("event"))
    kind = _EVENTS.get(event)
    if kind is None:
        return None
    data = message["order"]
    order = order_facts(data)  # the embedded order's fields that the update carries, not a whole Order
    when = message.get("timestamp") or message.get("at") or data.get("updated_at")
    time = parse_time(when if isinstance(when, str) else data.get("created_at") or data["submitted_at"])
    fill_qty = Decimal(0)
    fill_price: Decimal | None = None
    fill = kind.is_fill
    if fill:
        cumulative = order.filled_quantity
        given = _optional_decimal(message.get("qty"))
        fill_qty = given if given is not None and given > 0 else cumulative - filled_before
        fill_price = _optional_decimal(message.get("price")) or order.average_fill_price
        if kind is OrderUpdateKind.FILLED and order.filled_quantity < order.quantity:
            kind = OrderUpdateKind.PARTIALLY_FILLED
    return checked_update(
        kind,
        order.broker_order_id,
        time,
        client_order_id=order.client_order_id,
        instrument=order.instrument,
        side=order.side,
        fill_quantity=fill_qty,
        fill_price=fill_price,
        filled_quantity=order.filled_quantity if fill else None,
        remaining_quantity=order.remaining_quantity if fill else None,
        replaced_by_order_id=order.replaced_by_order_id,
        reason=event,
    )


# --------------------------------------------------------------------------------- account, positions


def parse_account_summary(
    data: Mapping[str, Any], positions: Sequence[Position], time: datetime
) -> AccountSummary:
    """``GET /v2/account`` with the open positions: equity is the portfolio's value, the unrealized P&L
    the positions' own, the balance what equity would be without it; buying power is what is available."""
    equity = parse_decimal(data.get("equity") or data.get("portfolio_value") or data.get("cash") or "0")
    unrealized = sum((p.unrealized_pnl for p in positions), Decimal(0))
    return AccountSummary(
        account_id=str(data["id"]),
        currency=str(data.get("currency") or "USD"),
        balance=equity - unrealized,
        equity=equity,
        unrealized_pnl=unrealized,
        margin_used=max(parse_decimal(data.get("initial_margin") or "0"), Decimal(0)),
        margin_available=parse_decimal(data.get("buying_power") or "0"),
        open_position_count=len(positions),
        time=time,
    )


def parse_position(data: Mapping[str, Any], account_id: str | None = None) -> Position:
    """An Alpaca Position: ``qty`` is negative for a short; prices and P&L are strings."""
    quantity = parse_decimal(data["qty"])
    average = _optional_decimal(data.get("avg_entry_price"))
    return Position(
        instrument=symbol_from_alpaca(str(data["symbol"]), data.get("asset_class")),
        quantity=quantity,
        average_price=average if average is not None and average > 0 else None,
        unrealized_pnl=_optional_decimal(data.get("unrealized_pl")) or Decimal(0),
        account_id=account_id,
        long_quantity=max(quantity, Decimal(0)),
        short_quantity=max(-quantity, Decimal(0)),
    )


def parse_asset(data: Mapping[str, Any]) -> Instrument:
    """An Alpaca Asset as an instrument: ``fractionable``, ``min_order_size``, ``min_trade_increment`` and
    ``price_increment`` give its sizes and tick (stocks: whole shares unless fractionable, cent ticks)."""
    crypto = data.get("class", data.get("asset_class")) == "crypto"
    symbol = symbol_from_alpaca(str(data["symbol"]), "crypto" if crypto else None)
    fractionable = bool(data.get("fractionable"))
    if crypto:
        increment = _positive(data.get("min_trade_increment")) or Decimal("0.000000001")
        minimum = _positive(data.get("min_order_size")) or increment
        tick = _positive(data.get("price_increment")) or Decimal("0.01")
    else:
        increment = Decimal("0.000000001") if fractionable else Decimal(1)
        minimum = increment
        tick = _positive(data.get("price_increment")) or Decimal("0.01")
    exponent = tick.normalize().as_tuple().exponent
    precision = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return Instrument(
        symbol=symbol,
        broker_symbol=str(data["symbol"]),
        type=InstrumentType.CRYPTO if crypto else InstrumentType.EQUITY,
        display_name=str(data.get("name") or symbol),
        tick_size=tick,
        display_precision=min(precision, 12),
        min_quantity=minimum,
        quantity_increment=increment,
        quote_currency=symbol.split("/")[1] if crypto else "USD",
    )


def _positive(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    parsed = parse_decimal(value)
    return parsed if parsed > 0 else None


class MarketClock:
    """``GET /v2/clock``: whether the stock market is open now, and its next open and close."""

    __slots__ = ("is_open", "next_close", "next_open", "timestamp")

    def __init__(self, timestamp: datetime, is_open: bool, next_open: datetime, next_close: datetime) -> None:
        self.timestamp = timestamp
        self.is_open = is_open
        self.next_open = next_open
        self.next_close = next_close

    def is_open_at(self, when: datetime) -> bool:
        """Whether the market is open at ``when``, from this reading (valid until its next open or close)."""
        if self.is_open:
            return when < self.next_close
        return self.next_open <= when < self.next_close

    def stale_at(self, when: datetime) -> bool:
        """Whether this reading says nothing certain at ``when`` any more (its next open or close has come)."""
        return when >= min(self.next_open, self.next_close)


def parse_clock(data: Mapping[str, Any]) -> MarketClock:
    return MarketClock(
        parse_time(data["timestamp"]),
        bool(data["is_open"]),
        parse_time(data["next_open"]),
        parse_time(data["next_close"]),
    )


# ----------------------------------------------------------------------------------------- market data


def parse_quote(symbol: str, data: Mapping[str, Any]) -> PriceTick:
    """A Market Data quote (``bp``/``ap``/``bs``/``as``/``t``, JSON numbers) as a tick.

    Alpaca's IEX quotes can show one side empty (``0``) or crossed outside hours; a tick needs both sides
    and ask ≥ bid, so an empty side takes the other's price and a crossed quote is marked not tradeable.
    """
    get = data.get
    bid, ask = number(get("bp", 0)), number(get("ap", 0))
    tradeable = _ZERO < bid <= ask
    if not tradeable:
        if bid <= _ZERO < ask:
            bid = ask
        elif ask <= _ZERO < bid:
            ask = bid
        elif bid > ask > _ZERO:
            bid, ask = ask, bid
    return checked_quote(
        symbol,
        bid,
        ask,
        parse_time(data["t"]),
        tradeable=tradeable,
        bid_size=None if (bid_size := get("bs")) is None else number(bid_size),
        ask_size=None if (ask_size := get("as")) is None else number(ask_size),
    )


def parse_bar(symbol: str, granularity: Granularity, data: Mapping[str, Any]) -> Candle:
    """A Market Data bar (``t o h l c v``); crypto volumes are fractional and rounded down to whole units."""
    return Candle(
        instrument=symbol,
        granularity=granularity,
        time=parse_time(data["t"]),
        open=number(data["o"]),
        high=number(data["h"]),
        low=number(data["l"]),
        close=number(data["c"]),
        volume=int(number(data.get("v", 0))),
    )
