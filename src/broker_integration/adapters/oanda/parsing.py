"""OANDA v20 JSON ⇄ the unified model. Pure functions, no I/O.

Wire facts (``shared/reference/broker_apis.md`` §1): decimals are JSON strings, ``units`` are signed
strings, times are RFC 3339 with nine fractional digits (or UNIX seconds as strings), instruments are
spelled ``EUR_USD``, and every id is a numeric string from one per-account transaction sequence.
Parsers are lenient where real servers were seen to vary (numbers as JSON numbers, legacy enum spellings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from broker_integration.models import (
    Account,
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
)
from broker_integration.symbols import SymbolMapper, SymbolStyle

__all__ = [
    "SYMBOLS",
    "find_order_transaction",
    "format_decimal",
    "format_time",
    "order_request",
    "order_update",
    "parse_account",
    "parse_account_summary",
    "parse_candle",
    "parse_decimal",
    "parse_instrument",
    "parse_order",
    "parse_position",
    "parse_price",
    "parse_time",
]

SYMBOLS = SymbolMapper(SymbolStyle.UNDERSCORE)

_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")

#: Our time in force → OANDA's. DAY is OANDA's GFD (good for day).
TIF_TO_OANDA: Mapping[TimeInForce, str] = {
    TimeInForce.GTC: "GTC",
    TimeInForce.GTD: "GTD",
    TimeInForce.DAY: "GFD",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
}
TIF_FROM_OANDA: Mapping[str, TimeInForce] = {v: k for k, v in TIF_TO_OANDA.items()}

ORDER_TYPE_TO_OANDA: Mapping[OrderType, str] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP",
    OrderType.MARKET_IF_TOUCHED: "MARKET_IF_TOUCHED",
}
ORDER_TYPE_FROM_OANDA: Mapping[str, OrderType] = {v: k for k, v in ORDER_TYPE_TO_OANDA.items()}

_STATE: Mapping[str, OrderStatus] = {
    "PENDING": OrderStatus.ACCEPTED,
    "FILLED": OrderStatus.FILLED,
    "TRIGGERED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
}

_INSTRUMENT_TYPE: Mapping[str, InstrumentType] = {
    "CURRENCY": InstrumentType.CURRENCY,
    "CFD": InstrumentType.CFD,
    "METAL": InstrumentType.METAL,
}


def parse_decimal(value: Any) -> Decimal:
    """A v20 decimal (a string, or a JSON number from lenient servers) as ``Decimal``."""
    try:
        kind = type(value)
        # Strings and integers convert exactly; a float from a lenient server goes by its shortest repr.
        return Decimal(value) if kind is str or kind is int else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc


def format_decimal(value: Decimal) -> str:
    """A ``Decimal`` as v20 writes it: a plain string, no exponent."""
    return format(value, "f")


def parse_time(value: str) -> datetime:
    """RFC 3339 with up to nine fractional digits, or UNIX seconds as a string, to UTC (µs precision)."""
    if len(value) >= 20 and value[-1] == "Z" and value[10] == "T" and value[19] in ".Z":
        try:  # v20's own form, the common case; digits past the sixth are dropped
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # the strict reading below names what is wrong
    match = _TIME.match(value)
    if match is None:
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except ValueError:
            raise ValueError(f"not an RFC 3339 or UNIX time: {value!r}") from None
    base, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    parsed = datetime.fromisoformat(f"{base}.{micros}{'+00:00' if zone == 'Z' else zone}")
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """UTC RFC 3339 with nine fractional digits, as v20 writes times."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000Z"


def quote_home_factor(fill: Mapping[str, Any]) -> Decimal | None:
    """What one unit of the quote currency was worth in the account currency at ``fill`` (an
    ``OrderFillTransaction``): the factor v20 converts losses with, which is what a cost is.

    Newer servers send ``homeConversionFactors.lossQuoteHome.factor``, older ones
    ``lossQuoteHomeConversionFactor`` (reference §1.5, spec ``HomeConversionFactors``); ``None`` if neither.
    """
    factors = fill.get("homeConversionFactors")
    nested = factors.get("lossQuoteHome") if isinstance(factors, Mapping) else None
    raw = nested.get("factor") if isinstance(nested, Mapping) else fill.get("lossQuoteHomeConversionFactor")
    if raw is None:
        return None
    factor = parse_decimal(raw)
    return factor if factor.is_finite() and factor > 0 else None


def signed_units(order: UnifiedOrder) -> str:
    return format_decimal(order.signed_quantity)


def order_request(order: UnifiedOrder) -> dict[str, Any]:
    """The ``order`` object of ``POST /v3/accounts/{id}/orders`` for ``order``.

    The client order id travels in ``clientExtensions.id`` so the order can be found as ``@<id>``.
    """
    kind = order.order_type
    body: dict[str, Any] = {
        "type": ORDER_TYPE_TO_OANDA[kind],
        "instrument": SYMBOLS.to_broker(order.instrument),
        "units": signed_units(order),
        "timeInForce": TIF_TO_OANDA[order.time_in_force or TimeInForce.GTC],
        "positionFill": "DEFAULT",
        "clientExtensions": {"id": order.order_id},
    }
    if kind is OrderType.STOP:
        body["price"] = format_decimal(order.stop_price)  # type: ignore[arg-type]
    elif order.price is not None:
        body["price"] = format_decimal(order.price)
    if order.expire_time is not None:
        body["gtdTime"] = format_time(order.expire_time)
    if order.take_profit is not None:
        body["takeProfitOnFill"] = {"price": format_decimal(order.take_profit), "timeInForce": "GTC"}
    if order.stop_loss is not None:
        body["stopLossOnFill"] = {"price": format_decimal(order.stop_loss), "timeInForce": "GTC"}
    return body


#: The transaction types that create an entry order, and those that refuse one (spec: TransactionType).
_ORDER_CREATES = frozenset(f"{kind}_ORDER" for kind in ORDER_TYPE_FROM_OANDA)
_ORDER_REJECTS = frozenset(f"{kind}_ORDER_REJECT" for kind in ORDER_TYPE_FROM_OANDA)


def find_order_transaction(
    transactions: Sequence[Mapping[str, Any]], client_order_id: str
) -> tuple[bool, Mapping[str, Any]] | None:
    """The transaction that created (``True``) or refused (``False``) the entry order sent with
    ``client_order_id`` in its ``clientExtensions.id``, or ``None`` when ``transactions`` hold neither."""
    for transaction in transactions:
        kind = transaction.get("type")
        if kind not in _ORDER_CREATES and kind not in _ORDER_REJECTS:
            continue
        if (transaction.get("clientExtensions") or {}).get("id") == client_order_id:
            return kind in _ORDER_CREATES, transaction
    return None


#: An ORDER_CANCEL's reason, as our update kind (spec: OrderCancelReason); any other reason is a cancel.
_CANCEL_KIND: Mapping[str, OrderUpdateKind] = {
    "CLIENT_REQUEST_REPLACED": OrderUpdateKind.REPLACED,
    "TIME_IN_FORCE_EXPIRED": OrderUpdateKind.EXPIRED,
}


def order_update(
    transaction: Mapping[str, Any], filled_before: Decimal, units: Decimal | None
) -> OrderUpdate | None:
    """A v20 transaction as an :class:`OrderUpdate`, or ``None`` for one that changes no entry order.

    ``filled_before`` is what the order had filled before this transaction and ``units`` its size, when
    known, to tell a partial fill from a full one (an ``ORDER_FILL`` does not say).
    """
    kind = transaction.get("type")
    time = parse_time(transaction["time"])
    account = transaction.get("accountID")
    if kind in _ORDER_CREATES:
        return OrderUpdate(
            kind=OrderUpdateKind.ACCEPTED,
            broker_order_id=str(transaction["id"]),
            client_order_id=(transaction.get("clientExtensions") or {}).get("id"),
            instrument=_instrument(transaction),
            side=_side(transaction.get("units")),
            time=time,
            remaining_quantity=abs(parse_decimal(transaction["units"])) if "units" in transaction else None,
            reason=str(transaction.get("reason", "")),
            account_id=account,
        )
    if kind in _ORDER_REJECTS:
        return OrderUpdate(
            kind=OrderUpdateKind.REJECTED,
            broker_order_id=str(transaction["id"]),
            client_order_id=(transaction.get("clientExtensions") or {}).get("id"),
            instrument=_instrument(transaction),
            side=_side(transaction.get("units")),
            time=time,
            reason=str(transaction.get("rejectReason", "")),
            account_id=account,
        )
    if kind == "ORDER_FILL":
        filled = abs(parse_decimal(transaction.get("units", "0")))
        total = filled_before + filled
        full = units is None or total >= units
        price = transaction.get("price") or transaction.get("fullVWAP")
        return OrderUpdate(
            kind=OrderUpdateKind.FILLED if full else OrderUpdateKind.PARTIALLY_FILLED,
            broker_order_id=str(transaction["orderID"]),
            client_order_id=transaction.get("clientOrderID"),
            instrument=_instrument(transaction),
            side=_side(transaction.get("units")),
            time=time,
            fill_quantity=filled,
            fill_price=parse_decimal(price) if price else None,
            commission=abs(parse_decimal(transaction.get("commission", "0"))),
            quote_home_rate=quote_home_factor(transaction),
            filled_quantity=total,
            remaining_quantity=max(units - total, Decimal(0)) if units is not None else None,
            reason=str(transaction.get("reason", "")),
            account_id=account,
        )
    if kind == "ORDER_CANCEL":
        reason = str(transaction.get("reason", ""))
        cancel_kind = _CANCEL_KIND.get(reason, OrderUpdateKind.CANCELLED)
        replaced_by = transaction.get("replacedByOrderID")
        return OrderUpdate(
            kind=cancel_kind,
            broker_order_id=str(transaction["orderID"]),
            client_order_id=transaction.get("clientOrderID"),
            time=time,
            replaced_by_order_id=str(replaced_by) if replaced_by is not None else None,
            reason=reason,
            account_id=account,
        )
    return None


def _instrument(transaction: Mapping[str, Any]) -> str | None:
    return SYMBOLS.from_broker(transaction["instrument"]) if "instrument" in transaction else None


def _side(units: Any) -> OrderSide | None:
    if units is None:
        return None
    return OrderSide.SELL if str(units).startswith("-") else OrderSide.BUY


def is_entry_order(data: Mapping[str, Any]) -> bool:
    """Entry orders have an instrument and units; TAKE_PROFIT/STOP_LOSS orders hang off a trade instead."""
    return "instrument" in data and "units" in data and data.get("type") in ORDER_TYPE_FROM_OANDA


def parse_order(data: Mapping[str, Any]) -> Order:
    """A v20 entry ``Order`` (MARKET, LIMIT, STOP, MARKET_IF_TOUCHED)."""
    units = parse_decimal(data["units"])
    kind = ORDER_TYPE_FROM_OANDA[data["type"]]
    price = parse_decimal(data["price"]) if "price" in data else None
    extensions = data.get("clientExtensions") or {}
    filled_time = data.get("filledTime")
    status = _STATE.get(data.get("state", "PENDING"), OrderStatus.ACCEPTED)
    take_profit = (data.get("takeProfitOnFill") or {}).get("price")
    stop_loss = (data.get("stopLossOnFill") or {}).get("price")
    return Order(
        broker_order_id=str(data["id"]),
        client_order_id=extensions.get("id"),
        instrument=SYMBOLS.from_broker(data["instrument"]),
        side=OrderSide.BUY if units > 0 else OrderSide.SELL,
        order_type=kind,
        quantity=abs(units),
        filled_quantity=abs(units) if status is OrderStatus.FILLED else Decimal(0),
        price=price if kind is not OrderType.STOP else None,
        stop_price=price if kind is OrderType.STOP else None,
        time_in_force=TIF_FROM_OANDA.get(data.get("timeInForce", "GTC"), TimeInForce.GTC),
        expire_time=parse_time(data["gtdTime"]) if data.get("gtdTime") else None,
        take_profit=parse_decimal(take_profit) if take_profit else None,
        stop_loss=parse_decimal(stop_loss) if stop_loss else None,
        status=status,
        average_fill_price=parse_decimal(data["averageFillPrice"]) if data.get("averageFillPrice") else None,
        created_at=parse_time(data["createTime"]),
        updated_at=parse_time(filled_time) if filled_time else None,
        replaces_order_id=data.get("replacesOrderID"),
        replaced_by_order_id=data.get("replacedByOrderID"),
    )


def parse_position(data: Mapping[str, Any], account_id: str | None = None) -> Position:
    """A v20 Position: long and short sides netted; the average price of the side that remains."""
    long_side, short_side = data.get("long") or {}, data.get("short") or {}
    long_units = parse_decimal(long_side.get("units", "0"))
    short_units = parse_decimal(short_side.get("units", "0"))
    net = long_units + short_units
    side = long_side if net > 0 else short_side
    average = side.get("averagePrice")
    return Position(
        instrument=SYMBOLS.from_broker(data["instrument"]),
        quantity=net,
        average_price=parse_decimal(average) if average and net != 0 else None,
        unrealized_pnl=parse_decimal(data.get("unrealizedPL", "0")),
        realized_pnl=parse_decimal(data.get("pl", "0")),
        margin_used=parse_decimal(data.get("marginUsed", "0")),
        account_id=account_id,
        long_quantity=long_units,
        short_quantity=abs(short_units),
    )


def parse_price(data: Mapping[str, Any]) -> PriceTick:
    """A v20 ClientPrice: best bid ``bids[0]``, best ask ``asks[0]``; ``tradeable`` as given."""
    bids, asks = data.get("bids"), data.get("asks")
    best_bid = bids[0] if bids else None
    best_ask = asks[0] if asks else None
    bid_liquidity = best_bid.get("liquidity") if best_bid else None
    ask_liquidity = best_ask.get("liquidity") if best_ask else None
    return checked_quote(
        SYMBOLS.from_broker(data["instrument"]),
        parse_decimal(best_bid["price"] if best_bid else data["closeoutBid"]),
        parse_decimal(best_ask["price"] if best_ask else data["closeoutAsk"]),
        parse_time(data["time"]),
        tradeable=bool(data.get("tradeable", data.get("status") == "tradeable")),
        bid_size=parse_decimal(bid_liquidity) if bid_liquidity is not None else None,
        ask_size=parse_decimal(ask_liquidity) if ask_liquidity is not None else None,
    )


def parse_candle(data: Mapping[str, Any], instrument: str, granularity: Granularity) -> Candle:
    """A v20 Candlestick with mid prices (``price=M``)."""
    mid = data.get("mid") or data.get("bid") or data["ask"]
    return Candle(
        instrument=SYMBOLS.from_broker(instrument),
        granularity=granularity,
        time=parse_time(data["time"]),
        open=parse_decimal(mid["o"]),
        high=parse_decimal(mid["h"]),
        low=parse_decimal(mid["l"]),
        close=parse_decimal(mid["c"]),
        volume=int(data.get("volume", 0)),
        complete=bool(data.get("complete", True)),
    )


def parse_account_summary(data: Mapping[str, Any], time: datetime) -> AccountSummary:
    """A v20 AccountSummary; ``NAV`` is the equity."""
    return AccountSummary(
        account_id=data["id"],
        currency=data["currency"],
        balance=parse_decimal(data["balance"]),
        equity=parse_decimal(data.get("NAV", data["balance"])),
        unrealized_pnl=parse_decimal(data.get("unrealizedPL", "0")),
        realized_pnl=parse_decimal(data.get("pl", "0")),
        margin_used=parse_decimal(data.get("marginUsed", "0")),
        margin_available=parse_decimal(data.get("marginAvailable", data["balance"])),
        open_position_count=int(data.get("openPositionCount", 0)),
        open_order_count=int(data.get("pendingOrderCount", 0)),
        time=time,
    )


def parse_account(data: Mapping[str, Any], currency: str | None = None) -> Account:
    return Account(
        account_id=data["id"],
        currency=currency or data.get("currency"),
        alias=data.get("alias", ""),
        tags=tuple(str(t.get("name", t)) if isinstance(t, Mapping) else str(t) for t in data.get("tags", [])),
    )


def parse_instrument(data: Mapping[str, Any]) -> Instrument:
    """A v20 Instrument: tick from ``displayPrecision``, size step from ``tradeUnitsPrecision``."""
    precision = int(data["displayPrecision"])
    units_precision = int(data.get("tradeUnitsPrecision", 0))
    name = data["name"]
    quote = name.split("_")[1] if "_" in name else None
    maximum = data.get("maximumOrderUnits")
    return Instrument(
        symbol=SYMBOLS.from_broker(name),
        broker_symbol=name,
        type=_INSTRUMENT_TYPE.get(data.get("type", "CURRENCY"), InstrumentType.CFD),
        display_name=data.get("displayName", name),
        tick_size=Decimal(1).scaleb(-precision),
        display_precision=precision,
        pip_location=int(data["pipLocation"]) if "pipLocation" in data else None,
        min_quantity=parse_decimal(data.get("minimumTradeSize", "1")),
        quantity_increment=Decimal(1).scaleb(-units_precision),
        max_quantity=parse_decimal(maximum) if maximum else None,
        margin_rate=parse_decimal(data["marginRate"]) if "marginRate" in data else None,
        quote_currency=quote,
    )
