"""ccxt's unified structures (CCXT manual: "Order Structure", "Ticker Structure", "OHLCV Structure",
"Market Structure", "Balance Structure") in the unified model's types.

ccxt hands numbers over as floats; each becomes a ``Decimal`` from its shortest decimal representation
(``repr``), which is the text the venue sent for every value a venue writes with at most 15 significant
digits. Status semantics follow ccxt's: ``closed`` is fully filled, ``canceled`` may carry a partial fill,
``expired`` ended by its time in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from math import isfinite
from typing import Any

from broker_integration.models import (
    Candle,
    Granularity,
    Instrument,
    InstrumentType,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    PriceTick,
    TimeInForce,
)
from broker_integration.symbols import canonical_symbol

__all__ = [
    "TIMEFRAMES",
    "decimal",
    "from_ms",
    "instrument",
    "instruments",
    "order_status",
    "order_type",
    "parse_candle",
    "parse_order",
    "parse_ticker",
]

#: Candle widths in ccxt's unified timeframe names (the exchange's ``timeframes`` says which it offers).
TIMEFRAMES: Mapping[Granularity, str] = {
    Granularity.M1: "1m",
    Granularity.M5: "5m",
    Granularity.M15: "15m",
    Granularity.M30: "30m",
    Granularity.H1: "1h",
    Granularity.H2: "2h",
    Granularity.H4: "4h",
    Granularity.H6: "6h",
    Granularity.H8: "8h",
    Granularity.H12: "12h",
    Granularity.D: "1d",
    Granularity.W: "1w",
    Granularity.MONTH: "1M",
}

_STATUSES = {"closed": OrderStatus.FILLED, "expired": OrderStatus.EXPIRED, "rejected": OrderStatus.REJECTED}
_TIF = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "GTD": TimeInForce.GTD,
    "PO": TimeInForce.GTC,
}


def decimal(value: Any) -> Decimal | None:
    """A number from ccxt as a Decimal (``None`` stays ``None``)."""
    if type(value) is float:  # what ccxt hands over nearly always: straight from its shortest repr
        return Decimal(repr(value)) if isfinite(value) else None
    if value is None:
        return None
    try:
        number = (
            Decimal(value)
            if isinstance(value, str | int)
            else Decimal(repr(value if isinstance(value, float) else float(value)))
        )
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def from_ms(value: Any) -> datetime | None:
    """An epoch-milliseconds timestamp from ccxt as a UTC datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def order_status(order: Mapping[str, Any], filled: Decimal | None = None) -> OrderStatus:
    """ccxt's ``status`` with the fill (``filled``, read from the order when not given) taken into account:
    an open order with fills is partly filled; a cancelled one keeps its fills (ccxt says ``canceled``)."""
    status = order.get("status")
    if filled is None:
        filled = decimal(order.get("filled")) or Decimal(0)
    if status == "open":
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    if status == "canceled":
        return OrderStatus.CANCELLED
    return _STATUSES.get(str(status), OrderStatus.UNKNOWN)


def order_type(order: Mapping[str, Any]) -> OrderType:
    """The unified order type: a market or limit order with a trigger price is a stop or stop-limit."""
    kind = str(order.get("type") or "").lower()
    triggered = order.get("triggerPrice") is not None or order.get("stopPrice") is not None
    if kind in ("stop_loss", "stop", "stop_market", "stop_loss_market"):
        return OrderType.STOP
    if kind in ("stop_loss_limit", "stop_limit"):
        return OrderType.STOP_LIMIT
    if kind == "market":
        return OrderType.STOP if triggered else OrderType.MARKET
    return OrderType.STOP_LIMIT if triggered else OrderType.LIMIT


def parse_order(
    order: Mapping[str, Any], *, client_order_id: str | None = None, account_id: str | None = None
) -> Order:
    """A ccxt order as an :class:`Order` (``client_order_id`` when the answer carries another one: Binance's
    cancel answer shows the cancel's own id)."""
    amount = decimal(order.get("amount")) or Decimal(0)
    filled = decimal(order.get("filled")) or Decimal(0)
    average = decimal(order.get("average"))
    if average is None and filled > 0:
        cost = decimal(order.get("cost"))
        average = cost / filled if cost else None
    created = from_ms(order.get("timestamp")) or datetime.now(UTC)
    updated = from_ms(order.get("lastUpdateTimestamp") or order.get("lastTradeTimestamp"))
    kind = order_type(order)
    price = decimal(order.get("price")) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    return Order(
        broker_order_id=str(order["id"]),
        client_order_id=client_order_id or order.get("clientOrderId"),
        instrument=order["symbol"],
        side=OrderSide(str(order.get("side")).lower()),
        order_type=kind,
        quantity=max(amount, filled) if max(amount, filled) > 0 else Decimal(1),
        filled_quantity=filled,
        price=price if price else None,
        stop_price=decimal(order.get("triggerPrice") or order.get("stopPrice")) or None,
        time_in_force=_TIF.get(str(order.get("timeInForce") or "GTC").upper(), TimeInForce.GTC),
        status=order_status(order),
        average_fill_price=average if average else None,
        created_at=created,
        updated_at=updated,
        account_id=account_id,
    )


def parse_ticker(ticker: Mapping[str, Any], symbol: str) -> PriceTick | None:
    """A ccxt ticker's best bid and ask as a :class:`PriceTick`; ``None`` when it has no two-sided quote."""
    bid, ask = decimal(ticker.get("bid")), decimal(ticker.get("ask"))
    if not bid or not ask or bid <= 0 or ask <= 0:
        return None
    return PriceTick(
        instrument=symbol,
        bid=min(bid, ask),
        ask=max(bid, ask),
        time=from_ms(ticker.get("timestamp")) or datetime.now(UTC),
        bid_size=decimal(ticker.get("bidVolume")),
        ask_size=decimal(ticker.get("askVolume")),
    )


def parse_candle(row: list[Any], symbol: str, granularity: Granularity, now: datetime) -> Candle | None:
    """``[timestamp, open, high, low, close, volume]`` as a :class:`Candle` (``None`` for a row with a
    missing price, which some exchanges send for an empty bar). Volume is whole base units."""
    opened = from_ms(row[0])
    prices = [decimal(value) for value in row[1:5]]
    if opened is None or any(p is None or p <= 0 for p in prices):
        return None
    first, high, low, last = (p for p in prices if p is not None)
    volume = decimal(row[5]) if len(row) > 5 else None
    return Candle(
        instrument=symbol,
        granularity=granularity,
        time=opened,
        open=first,
        high=max(high, first, last),
        low=min(low, first, last),
        close=last,
        volume=int(volume) if volume else 0,
        complete=(opened.timestamp() + granularity.seconds) <= now.timestamp(),
    )


#: ccxt's ``precisionMode`` values (``ccxt/base/decimal_to_precision.py``): precision as decimal places,
#: or as the tick itself; the third, significant digits, gives no fixed tick.
DECIMAL_PLACES, TICK_SIZE = 2, 4


def _step(value: Any, precision_mode: int) -> Decimal | None:
    number = decimal(value)
    if number is None:
        return None
    if precision_mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(number))
    return number if precision_mode == TICK_SIZE else None


def instrument(market: Mapping[str, Any], precision_mode: int = TICK_SIZE) -> Instrument | None:
    """A ccxt market as an :class:`Instrument` (its precision as tick and step, its limits as sizes);
    ``None`` for a market whose symbol is not one the unified model spells or that gives no fixed tick."""
    try:
        symbol = canonical_symbol(str(market["symbol"]))
    except (ValueError, TypeError, KeyError):
        return None
    precision = market.get("precision") or {}
    limits = (market.get("limits") or {}).get("amount") or {}
    tick = _step(precision.get("price"), precision_mode)
    step = _step(precision.get("amount"), precision_mode)
    if not tick or not step or tick <= 0 or step <= 0 or tick >= 1_000_000:
        return None
    minimum = decimal(limits.get("min"))
    maximum = decimal(limits.get("max"))
    exponent = tick.normalize().as_tuple().exponent
    return Instrument(
        symbol=symbol,
        broker_symbol=str(market.get("id") or symbol),
        type=InstrumentType.CRYPTO,
        display_name=symbol,
        tick_size=tick,
        display_precision=min(12, max(0, -exponent)) if isinstance(exponent, int) else 0,
        min_quantity=minimum if minimum and minimum > 0 else step,
        quantity_increment=step,
        max_quantity=maximum if maximum and maximum > 0 else None,
        quote_currency=str(market.get("quote") or "") or None,
    )


def instruments(
    markets: Iterable[Mapping[str, Any]], market_type: str, precision_mode: int = TICK_SIZE
) -> dict[str, Instrument]:
    """The active markets of ``market_type`` as instruments, by canonical symbol."""
    listed = {}
    for market in markets:
        if market.get("type") != market_type or market.get("active") is False:
            continue
        found = instrument(market, precision_mode)
        if found is not None:
            listed[found.symbol] = found
    return listed
