"""The simulated venue's records in Alpaca's words: orders, positions, the account, assets, the clock, and
market data (reference §2.2-§2.5; alpaca-py's models for the fields a client requires).

The Trading API writes decimals as strings and times as RFC 3339 with nine fractional digits; the Market
Data API writes prices and sizes as JSON numbers. Trade ids in market data count from above 2**53, as
Alpaca's do (reference scale_out §1 [rec]), so a client that reads them as floats loses them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from broker_integration.models import OrderType
from broker_integration.sim.alpaca.listing import ListedAsset
from broker_integration.sim.records import (
    AccountSnapshot,
    Bar,
    CancelReason,
    OrderView,
    PositionSnapshot,
    Quote,
    RejectReason,
)

__all__ = [
    "FIRST_TRADE_ID",
    "OrderRecord",
    "account_json",
    "asset_json",
    "bar_json",
    "decimal_text",
    "order_json",
    "parse_time_param",
    "position_json",
    "query_time",
    "quote_json",
    "status_of",
    "time_text",
    "trade_json",
]

#: Market-data trade ids start above 2**53: exact as integers, not as floats.
FIRST_TRADE_ID = 2**53 + 1

_TYPE_NAMES = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop",
    OrderType.STOP_LIMIT: "stop_limit",
    OrderType.TRAILING_STOP: "trailing_stop",
}
_ENDED_AS_CANCELED = frozenset(
    {
        CancelReason.CLIENT_REQUEST,
        CancelReason.IOC_REMAINDER,
        RejectReason.FOK_NOT_FILLED,
        RejectReason.IOC_NOT_FILLED,
    }
)


@dataclass(slots=True)
class OrderRecord:
    """What Alpaca shows of an order that the engine does not keep: its UUID, client order id, Alpaca's
    own time in force and sizing, and the replace links in UUIDs."""

    engine_id: str
    order_id: str
    client_order_id: str
    asset: ListedAsset
    time_in_force: str
    submitted_at: datetime
    notional: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool = False
    replaces: str | None = None
    replaced_by: str | None = None
    #: Refused at once in the engine for a reason Alpaca answers synchronously (buying power): Alpaca never
    #: created it, so it is not shown.
    hidden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def time_text(when: datetime) -> str:
    """RFC 3339 in UTC with nine fractional digits, as the Trading API writes times."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000Z"


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def parse_time_param(value: str) -> datetime:
    """A request's RFC 3339 time (up to nine fractional digits, ``Z`` or an offset) or a date
    (``YYYY-MM-DD``, midnight UTC); ``ValueError`` otherwise."""
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    base, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    return datetime.fromisoformat(f"{base}.{micros}{'+00:00' if zone == 'Z' else zone}").astimezone(UTC)


def query_time(query: Mapping[str, str], name: str, refuse: Callable[[str], Exception]) -> datetime | None:
    """The optional time parameter ``name`` of a request's ``query`` (see :func:`parse_time_param`): ``None``
    when absent or empty; one that is not a time raises ``refuse("invalid <name>")``, the refusal of the API
    asked (the trading and the data API answer it differently)."""
    value = query.get(name)
    if not value:
        return None
    try:
        return parse_time_param(value)
    except ValueError:
        raise refuse(f"invalid {name}") from None


def decimal_text(value: Decimal) -> str:
    """A decimal as the Trading API writes it: a plain string without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def status_of(view: OrderView) -> str:
    """The order's Alpaca status now (reference §2.4)."""
    if view.is_open:
        return "partially_filled" if view.filled_units else "new"
    if view.filled_units and view.filled_units >= view.units:
        return "filled"
    reason = view.cancel_reason
    if reason is CancelReason.CLIENT_REQUEST_REPLACED:
        return "replaced"
    if reason is CancelReason.TIME_IN_FORCE_EXPIRED:
        return "expired"
    if reason in _ENDED_AS_CANCELED or reason is None:
        return "canceled"
    return "rejected"


def order_json(
    record: OrderRecord,
    view: OrderView,
    *,
    status: str | None = None,
    filled: Decimal | None = None,
    average: Decimal | None = None,
    updated: datetime | None = None,
) -> dict[str, Any]:
    """An Alpaca Order. ``status``/``filled``/``average``/``updated`` show it as it was at an earlier moment
    (the POST answer shows it ``accepted``; a trade update shows it as of that event)."""
    status = status or status_of(view)
    filled = view.filled_units if filled is None else filled
    average = view.average_fill_price if average is None and filled else average
    updated_at = updated or view.updated_at
    ended = updated_at if status in ("filled", "canceled", "expired", "replaced", "rejected") else None
    kind = view.order_type
    notional = record.notional
    trailing = kind is OrderType.TRAILING_STOP
    body: dict[str, Any] = {
        "id": record.order_id,
        "client_order_id": record.client_order_id,
        "created_at": time_text(view.created_at),
        "updated_at": time_text(updated_at),
        "submitted_at": time_text(record.submitted_at),
        "filled_at": time_text(ended) if status == "filled" and ended else None,
        "expired_at": time_text(ended) if status == "expired" and ended else None,
        "canceled_at": time_text(ended) if status == "canceled" and ended else None,
        "failed_at": time_text(ended) if status == "rejected" and ended else None,
        "replaced_at": time_text(ended) if status == "replaced" and ended else None,
        "replaced_by": record.replaced_by,
        "replaces": record.replaces,
        "asset_id": record.asset.asset_id,
        "symbol": record.asset.symbol,
        "asset_class": record.asset.asset_class,
        "notional": _optional(notional),
        "qty": None if notional is not None and not filled else decimal_text(view.units),
        "filled_qty": decimal_text(filled),
        "filled_avg_price": _optional(average) if filled else None,
        "order_class": "simple",
        "order_type": _TYPE_NAMES[kind],
        "type": _TYPE_NAMES[kind],
        "side": view.side.value,
        "time_in_force": record.time_in_force,
        "limit_price": _optional(view.price) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        "stop_price": _optional(view.stop_price)
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT)
        else _optional(view.trailing_stop_value)
        if trailing
        else None,
        "status": status,
        "extended_hours": record.extended_hours,
        "legs": None,
        "trail_percent": _optional(record.trail_percent) if trailing else None,
        "trail_price": _optional(view.trailing_distance)
        if trailing and record.trail_percent is None
        else None,
        "hwm": None,
        "expires_at": time_text(view.expire_time) if view.expire_time is not None else None,
        "source": None,
        "subtag": None,
    }
    return body


def position_json(
    asset: ListedAsset, snapshot: PositionSnapshot, quote: Quote, previous: Quote
) -> dict[str, Any]:
    """An Alpaca Position: numbers as strings, ``qty`` negative for a short, crypto named ``BTCUSD``."""
    units = snapshot.units
    price = quote.bid if units > 0 else quote.ask
    average = snapshot.average_price or price
    market_value = units * price
    cost_basis = units * average
    unrealized = market_value - cost_basis
    lastday = previous.mid
    return {
        "asset_id": asset.asset_id,
        "symbol": asset.wire_symbol,
        "exchange": asset.exchange,
        "asset_class": asset.asset_class,
        "asset_marginable": not asset.is_crypto,
        "avg_entry_price": decimal_text(average),
        "qty": decimal_text(units),
        "qty_available": decimal_text(units),
        "side": "long" if units > 0 else "short",
        "market_value": decimal_text(market_value),
        "cost_basis": decimal_text(cost_basis),
        "unrealized_pl": decimal_text(unrealized),
        "unrealized_plpc": decimal_text((unrealized / abs(cost_basis)).quantize(Decimal("1e-10")))
        if cost_basis
        else "0",
        "unrealized_intraday_pl": decimal_text(unrealized),
        "unrealized_intraday_plpc": decimal_text((unrealized / abs(cost_basis)).quantize(Decimal("1e-10")))
        if cost_basis
        else "0",
        "current_price": decimal_text(price),
        "lastday_price": decimal_text(lastday),
        "change_today": decimal_text(((price - lastday) / lastday).quantize(Decimal("1e-10")))
        if lastday
        else "0",
    }


def account_json(
    snapshot: AccountSnapshot, account_number: str, created_at: datetime, positions: Mapping[str, Decimal]
) -> dict[str, Any]:
    """An Alpaca Account. Equity is the engine's NAV; long and short market values are the positions' values
    (``positions``: symbol → signed value); cash is what equity leaves once they are set aside. Buying
    power is twice the margin still available (Reg T), the non-marginable buying power (crypto) once."""
    equity = snapshot.nav
    long_value = sum((v for v in positions.values() if v > 0), Decimal(0))
    short_value = sum((v for v in positions.values() if v < 0), Decimal(0))
    free = max(snapshot.margin_available, Decimal(0))
    money = Decimal("0.01")
    return {
        "id": snapshot.account_id,
        "account_number": account_number,
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": snapshot.currency,
        "buying_power": decimal_text((free * 2).quantize(money)),
        "regt_buying_power": decimal_text((free * 2).quantize(money)),
        "daytrading_buying_power": "0",
        "non_marginable_buying_power": decimal_text(free.quantize(money)),
        "cash": decimal_text((equity - long_value - short_value).quantize(money)),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "portfolio_value": decimal_text(equity.quantize(money)),
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "created_at": time_text(created_at),
        "trade_suspended_by_user": False,
        "multiplier": "2",
        "shorting_enabled": True,
        "equity": decimal_text(equity.quantize(money)),
        "last_equity": decimal_text(equity.quantize(money)),
        "long_market_value": decimal_text(long_value.quantize(money)),
        "short_market_value": decimal_text(short_value.quantize(money)),
        "initial_margin": decimal_text(snapshot.margin_used.quantize(money)),
        "maintenance_margin": decimal_text(snapshot.margin_used.quantize(money)),
        "last_maintenance_margin": "0",
        "sma": "0",
        "daytrade_count": 0,
    }


def asset_json(asset: ListedAsset) -> dict[str, Any]:
    """An Alpaca Asset (alpaca-py ``Asset``)."""
    body: dict[str, Any] = {
        "id": asset.asset_id,
        "class": asset.asset_class,
        "exchange": asset.exchange,
        "symbol": asset.symbol,
        "name": asset.spec.instrument.display_name,
        "status": "active",
        "tradable": True,
        "marginable": not asset.is_crypto,
        "maintenance_margin_requirement": 100 if asset.is_crypto else 30,
        "shortable": asset.shortable,
        "easy_to_borrow": asset.shortable,
        "fractionable": asset.fractionable,
        "attributes": ["fractional_eh_enabled"] if asset.fractionable and not asset.is_crypto else [],
    }
    if asset.is_crypto:
        body["min_order_size"] = decimal_text(asset.min_order_size or Decimal(0))
        body["min_trade_increment"] = decimal_text(asset.min_trade_increment or Decimal(0))
        body["price_increment"] = decimal_text(asset.price_increment or Decimal(0))
    return body


def _size(symbol: str, when: datetime, crypto: bool) -> float | int:
    """A plausible displayed size, fixed by symbol and second."""
    seed = (hash(symbol) ^ int(when.timestamp())) & 0xFFFF
    return round(0.05 + (seed % 400) / 100, 4) if crypto else 1 + seed % 9


def quote_json(asset: ListedAsset, quote: Quote) -> dict[str, Any]:
    """A Market Data quote: prices and sizes as JSON numbers (reference §2.5, §2.6)."""
    t = time_text(quote.time)
    if asset.is_crypto:
        return {
            "t": t,
            "bp": float(quote.bid),
            "bs": _size(asset.symbol + "b", quote.time, True),
            "ap": float(quote.ask),
            "as": _size(asset.symbol + "a", quote.time, True),
        }
    return {
        "t": t,
        "ax": "V",
        "ap": float(quote.ask),
        "as": _size(asset.symbol + "a", quote.time, False),
        "bx": "V",
        "bp": float(quote.bid),
        "bs": _size(asset.symbol + "b", quote.time, False),
        "c": ["R"],
        "z": "C" if asset.exchange == "ARCA" else "A",
    }


def trade_json(asset: ListedAsset, quote: Quote, trade_id: int) -> dict[str, Any]:
    """A Market Data trade at the mid, with an integer id above 2**53."""
    t = time_text(quote.time)
    if asset.is_crypto:
        return {
            "t": t,
            "p": float(quote.mid),
            "s": _size(asset.symbol, quote.time, True),
            "tks": "B",
            "i": trade_id,
        }
    return {
        "t": t,
        "x": "V",
        "p": float(quote.mid),
        "s": _size(asset.symbol, quote.time, False) * 100,
        "c": ["@"],
        "i": trade_id,
        "z": "C" if asset.exchange == "ARCA" else "A",
    }


def bar_json(bar: Bar, *, crypto: bool) -> dict[str, Any]:
    """A Market Data bar (``t o h l c v n vw``)."""
    return {
        "t": time_text(bar.time).replace(".000000000Z", "Z"),
        "o": float(bar.open),
        "h": float(bar.high),
        "l": float(bar.low),
        "c": float(bar.close),
        "v": bar.volume / 1000 if crypto else bar.volume,
        "n": max(1, bar.volume // 50),
        "vw": float((bar.high + bar.low + bar.close) / 3),
    }
