"""Engine records in Binance's words: orders (``ACK``, ``RESULT`` and ``FULL`` answers, queries, cancels),
fills, klines, tickers and balances, shaped as ``rest-api.md`` shows them: decimals as strings with eight
places, times in epoch milliseconds, ``orderListId`` -1 for an order outside a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from broker_integration.models import OrderType
from broker_integration.sim.binance.markets import decimal_text
from broker_integration.sim.binance.state import OrderExtras
from broker_integration.sim.binance.wallet import Balance
from broker_integration.sim.records import (
    Bar,
    CancelReason,
    OrderState,
    OrderView,
    RejectReason,
    Transaction,
)

__all__ = ["BINANCE_TYPES", "balance_json", "fills_json", "kline_row", "millis", "order_json", "order_status"]

_ZERO = Decimal(0)

#: The engine's order types as Binance names them (the simulator's default for an order it has no
#: extras for).
BINANCE_TYPES: dict[OrderType, str] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
}

_CANCELLED_BY_CLIENT = frozenset({CancelReason.CLIENT_REQUEST, CancelReason.CLIENT_REQUEST_REPLACED})


def millis(when: datetime) -> int:
    """Epoch milliseconds."""
    return int(when.timestamp() * 1000)


def order_status(view: OrderView) -> str:
    """Binance's ``status`` (``enums.md`` "Order status"): open orders ``NEW`` or ``PARTIALLY_FILLED``;
    cancelled at the client's request ``CANCELED``; ended by the venue (time in force, no liquidity)
    ``EXPIRED``."""
    if view.is_open:
        return "PARTIALLY_FILLED" if view.filled_units > 0 else "NEW"
    if view.state is OrderState.FILLED:
        return "FILLED"
    return "CANCELED" if view.cancel_reason in _CANCELLED_BY_CLIENT else "EXPIRED"


def order_json(
    view: OrderView,
    extras: OrderExtras | None,
    symbol: str,
    *,
    transact_time: int | None = None,
    full: bool = True,
) -> dict[str, Any]:
    """An order as ``GET /api/v3/order`` shows it (``transact_time``: as a placement or cancel answers it,
    with ``transactTime`` and without the query-only fields). ``full`` false: the ``ACK`` answer."""
    body: dict[str, Any] = {
        "symbol": symbol,
        "orderId": int(view.order_id),
        "orderListId": -1,
        "clientOrderId": view.client_order_id or "",
    }
    if transact_time is not None:
        body["transactTime"] = transact_time
    if not full:
        return body
    binance_type = extras.binance_type if extras else BINANCE_TYPES.get(view.order_type, "LIMIT")
    average = view.average_fill_price or _ZERO
    working = view.order_type is not OrderType.STOP_LIMIT or view.state is not OrderState.PENDING
    body.update(
        {
            "price": decimal_text(view.price or _ZERO),
            "origQty": decimal_text(view.units),
            "executedQty": decimal_text(view.filled_units),
            "origQuoteOrderQty": decimal_text(extras.quote_order_qty if extras else _ZERO),
            "cummulativeQuoteQty": decimal_text(view.filled_units * average),
            "status": order_status(view),
            "timeInForce": extras.time_in_force if extras else view.time_in_force.value,
            "type": binance_type,
            "side": view.side.value.upper(),
        }
    )
    if view.stop_price is not None:
        body["stopPrice"] = decimal_text(view.stop_price)
    if transact_time is None:
        body.update(
            {
                "icebergQty": decimal_text(_ZERO),
                "time": millis(view.created_at),
                "updateTime": millis(view.updated_at),
                "isWorking": working,
            }
        )
    body["workingTime"] = millis(view.created_at) if working else -1
    body["selfTradePreventionMode"] = "NONE"
    if view.cancel_reason is RejectReason.INSUFFICIENT_LIQUIDITY:
        body["expiryReason"] = "INSUFFICIENT_LIQUIDITY"
    return body


def fills_json(transactions: Iterable[Transaction], quote_asset: str) -> list[dict[str, Any]]:
    """The ``fills`` of a ``FULL`` answer: one per fill the request made, commission in the quote asset."""
    return [
        {
            "price": decimal_text(t.price or _ZERO),
            "qty": decimal_text(t.units or _ZERO),
            "commission": decimal_text(t.commission or _ZERO),
            "commissionAsset": quote_asset,
            "tradeId": t.id,
        }
        for t in transactions
        if t.price is not None and t.units
    ]


def kline_row(bar: Bar, close_ms: int) -> list[Any]:
    """One kline: open time, OHLC, base volume, close time, quote volume, trades, taker volumes, ignore."""
    volume = Decimal(bar.volume)
    opened = millis(bar.time)
    mid = (bar.high + bar.low) / 2
    return [
        opened,
        decimal_text(bar.open),
        decimal_text(bar.high),
        decimal_text(bar.low),
        decimal_text(bar.close),
        decimal_text(volume),
        close_ms,
        decimal_text(volume * mid),
        bar.volume,
        decimal_text(volume / 2),
        decimal_text(volume * mid / 2),
        "0",
    ]


def balance_json(balance: Balance) -> dict[str, str]:
    return {
        "asset": balance.asset,
        "free": decimal_text(balance.free),
        "locked": decimal_text(balance.locked),
    }
