"""The engine's vocabulary in OANDA's words, and back: one table per enum, complete.

The venue engine names its order types, states, reasons and log entries in its own terms
(:mod:`broker_integration.sim.records`); this face translates every one of them through these tables and
never passes an engine value through as it is, so the engine can serve other venues' faces in their
words. OANDA's spellings come from the v20 spec (``oanda/v20-openapi`` ``json/v20.json``: ``OrderType``,
``TimeInForce``, ``OrderState``, ``TradeState``, ``TransactionType``, ``TransactionRejectReason``,
``OrderCancelReason``, ``OrderFillReason``, ``MarketOrderReason``, ``LimitOrderReason``), including its
``UNITS_MIMIMUM_NOT_MET`` typo.
"""

from __future__ import annotations

from collections.abc import Mapping

from broker_integration.models import OrderType, TimeInForce
from broker_integration.sim.records import (
    CancelReason,
    CreateReason,
    FillReason,
    OrderState,
    RejectReason,
    TradeRejectReason,
    TradeState,
    TransactionReason,
    TransactionType,
)

__all__ = [
    "ORDER_STATES",
    "ORDER_STATE_NAMES",
    "ORDER_TYPES",
    "ORDER_TYPE_NAMES",
    "REASON_NAMES",
    "TIF_NAMES",
    "TIME_IN_FORCE",
    "TRADE_STATES",
    "TRADE_STATE_NAMES",
    "TRANSACTION_TYPE_NAMES",
    "reason_name",
]

#: v20 entry order types (spec ``OrderType``) the simulator accepts in a create or replace request.
ORDER_TYPES: Mapping[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "STOP": OrderType.STOP,
    "MARKET_IF_TOUCHED": OrderType.MARKET_IF_TOUCHED,
}
#: Engine order types → v20 ``OrderType``. The OANDA face creates only the first four; the others can
#: exist in an engine shared with the paper adapter and are shown as their nearest v20 kind.
ORDER_TYPE_NAMES: Mapping[OrderType, str] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP",
    OrderType.MARKET_IF_TOUCHED: "MARKET_IF_TOUCHED",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TRAILING_STOP: "TRAILING_STOP_LOSS",
}
#: Spec ``TimeInForce``; OANDA's GFD (good for day) is the engine's DAY.
TIME_IN_FORCE: Mapping[str, TimeInForce] = {
    "GTC": TimeInForce.GTC,
    "GTD": TimeInForce.GTD,
    "GFD": TimeInForce.DAY,
    "FOK": TimeInForce.FOK,
    "IOC": TimeInForce.IOC,
}
TIF_NAMES: Mapping[TimeInForce, str] = {tif: name for name, tif in TIME_IN_FORCE.items()}

#: Engine order states → spec ``OrderState`` (a triggered stop-limit rests as a limit: v20's TRIGGERED).
ORDER_STATE_NAMES: Mapping[OrderState, str] = {
    OrderState.PENDING: "PENDING",
    OrderState.TRIGGERED: "TRIGGERED",
    OrderState.FILLED: "FILLED",
    OrderState.CANCELLED: "CANCELLED",
}
#: A v20 ``state`` filter value → the engine state it selects.
ORDER_STATES: Mapping[str, OrderState] = {name: state for state, name in ORDER_STATE_NAMES.items()}
#: Engine trade states → spec ``TradeState``.
TRADE_STATE_NAMES: Mapping[TradeState, str] = {TradeState.OPEN: "OPEN", TradeState.CLOSED: "CLOSED"}
TRADE_STATES: Mapping[str, TradeState] = {name: state for state, name in TRADE_STATE_NAMES.items()}

#: Engine log entries → spec ``TransactionType``, for the entries whose type does not depend on the order
#: type (an order's create and reject are ``<ORDER TYPE>_ORDER`` and ``<ORDER TYPE>_ORDER_REJECT``).
TRANSACTION_TYPE_NAMES: Mapping[TransactionType, str] = {
    TransactionType.ACCOUNT_OPEN: "CREATE",
    TransactionType.ORDER_FILL: "ORDER_FILL",
    TransactionType.ORDER_CANCEL: "ORDER_CANCEL",
    TransactionType.ORDER_CANCEL_REJECT: "ORDER_CANCEL_REJECT",
}

_R, _T, _X, _N, _F = RejectReason, TradeRejectReason, CancelReason, CreateReason, FillReason

#: Every engine reason → its v20 spelling: ``rejectReason`` of a reject (``TransactionRejectReason``),
#: ``reason`` of a cancel (``OrderCancelReason``), of an order's create (``MarketOrderReason``,
#: ``LimitOrderReason`` …) or of a fill (``OrderFillReason``).
REASON_NAMES: Mapping[TransactionReason, str] = {
    _R.INSUFFICIENT_MARGIN: "INSUFFICIENT_MARGIN",
    _R.INSUFFICIENT_LIQUIDITY: "INSUFFICIENT_LIQUIDITY",
    _R.MARKET_HALTED: "MARKET_HALTED",
    _R.INSTRUMENT_UNKNOWN: "INSTRUMENT_UNKNOWN",
    _R.INSTRUMENT_NOT_TRADEABLE: "INSTRUMENT_NOT_TRADEABLE",
    _R.UNITS_INVALID: "UNITS_INVALID",
    _R.UNITS_PRECISION_EXCEEDED: "UNITS_PRECISION_EXCEEDED",
    _R.UNITS_MINIMUM_NOT_MET: "UNITS_MIMIMUM_NOT_MET",  # sic: the spec's spelling
    _R.UNITS_LIMIT_EXCEEDED: "UNITS_LIMIT_EXCEEDED",
    _R.PRICE_MISSING: "PRICE_MISSING",
    _R.PRICE_INVALID: "PRICE_INVALID",
    _R.PRICE_PRECISION_EXCEEDED: "PRICE_PRECISION_EXCEEDED",
    _R.PRICE_DISTANCE_MISSING: "PRICE_DISTANCE_MISSING",
    _R.PRICE_DISTANCE_INVALID: "PRICE_DISTANCE_INVALID",
    _R.PRICE_DISTANCE_PRECISION_EXCEEDED: "PRICE_DISTANCE_PRECISION_EXCEEDED",
    _R.TIME_IN_FORCE_INVALID: "TIME_IN_FORCE_INVALID",
    _R.TIME_IN_FORCE_GTD_TIMESTAMP_MISSING: "TIME_IN_FORCE_GTD_TIMESTAMP_MISSING",
    _R.TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST: "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST",
    _R.CLIENT_ORDER_ID_ALREADY_EXISTS: "CLIENT_ORDER_ID_ALREADY_EXISTS",
    _R.ORDER_DOESNT_EXIST: "ORDER_DOESNT_EXIST",
    _R.REPLACING_ORDER_INVALID: "REPLACING_ORDER_INVALID",
    _R.CLOSEOUT_POSITION_DOESNT_EXIST: "CLOSEOUT_POSITION_DOESNT_EXIST",
    _R.CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE: "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE",
    # OANDA reports a FOK or IOC order that found too little to fill as cancelled for INSUFFICIENT_LIQUIDITY
    # [obs?]; the engine tells the three cases apart.
    _R.FOK_NOT_FILLED: "INSUFFICIENT_LIQUIDITY",
    _R.IOC_NOT_FILLED: "INSUFFICIENT_LIQUIDITY",
    _X.IOC_REMAINDER: "INSUFFICIENT_LIQUIDITY",
    _X.CLIENT_REQUEST: "CLIENT_REQUEST",
    _X.CLIENT_REQUEST_REPLACED: "CLIENT_REQUEST_REPLACED",
    _X.TIME_IN_FORCE_EXPIRED: "TIME_IN_FORCE_EXPIRED",
    _T.TRADE_DOESNT_EXIST: "TRADE_DOESNT_EXIST",
    _T.CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE: "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE",
    _N.CLIENT_ORDER: "CLIENT_ORDER",
    _N.REPLACEMENT: "REPLACEMENT",
    _N.POSITION_CLOSEOUT: "POSITION_CLOSEOUT",
    _N.TRADE_CLOSE: "TRADE_CLOSE",
    _F.MARKET_ORDER: "MARKET_ORDER",
    _F.LIMIT_ORDER: "LIMIT_ORDER",
    _F.STOP_ORDER: "STOP_ORDER",
    _F.STOP_LIMIT_ORDER: "STOP_ORDER",  # v20 has no stop-limit order; the face shows it as a STOP
    _F.MARKET_IF_TOUCHED_ORDER: "MARKET_IF_TOUCHED_ORDER",
    _F.TRAILING_STOP_ORDER: "TRAILING_STOP_LOSS_ORDER",
    _F.MARKET_ORDER_POSITION_CLOSEOUT: "MARKET_ORDER_POSITION_CLOSEOUT",
    _F.MARKET_ORDER_TRADE_CLOSE: "MARKET_ORDER_TRADE_CLOSE",
}


def reason_name(reason: TransactionReason | None) -> str:
    """The v20 spelling of an engine reason ("" for none)."""
    return "" if reason is None else REASON_NAMES[reason]
