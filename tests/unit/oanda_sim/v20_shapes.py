"""The v20 shapes the simulator is checked against, taken from the official spec and the reference.

``FIELDS``, the enums and ``RESPONSES`` are facts from ``oanda/v20-openapi`` ``json/v20.json`` (API 3.0.25,
commit 70324cf), listed here as data; ``check`` walks a response object and asserts that every field is
one the spec defines for that object, with the spec's value format (reference §1.2): decimals as
strings, prices at the instrument's precision, times RFC 3339 with nine digits, ids as numeric strings,
integers and booleans as JSON integers and booleans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# fmt: off
FIELDS: dict[str, frozenset[str]] = {
    "MarketOrderTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "timeInForce", "priceBound", "positionFill", "tradeClose",
            "longPositionCloseout", "shortPositionCloseout", "marginCloseout",
            "delayedTradeClose", "reason", "clientExtensions", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions"
        }
    ),
    "LimitOrderTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "price", "timeInForce", "gtdTime", "positionFill", "triggerCondition",
            "reason", "clientExtensions", "takeProfitOnFill", "stopLossOnFill",
            "trailingStopLossOnFill", "tradeClientExtensions", "replacesOrderID",
            "cancellingTransactionID"
        }
    ),
    "StopOrderTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "price", "priceBound", "timeInForce", "gtdTime", "positionFill",
            "triggerCondition", "reason", "clientExtensions", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions",
            "replacesOrderID", "cancellingTransactionID"
        }
    ),
    "MarketIfTouchedOrderTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "price", "priceBound", "timeInForce", "gtdTime", "positionFill",
            "triggerCondition", "reason", "clientExtensions", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions",
            "replacesOrderID", "cancellingTransactionID"
        }
    ),
    "OrderFillTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "orderID",
            "clientOrderID", "instrument", "units", "gainQuoteHomeConversionFactor",
            "lossQuoteHomeConversionFactor", "price", "fullVWAP", "fullPrice", "reason", "pl",
            "financing", "commission", "guaranteedExecutionFee", "accountBalance", "tradeOpened",
            "tradesClosed", "tradeReduced", "halfSpreadCost"
        }
    ),
    "OrderCancelTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "orderID",
            "clientOrderID", "reason", "replacedByOrderID"
        }
    ),
    "OrderCancelRejectTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "orderID",
            "clientOrderID", "rejectReason"
        }
    ),
    "MarketOrderRejectTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "timeInForce", "priceBound", "positionFill", "tradeClose",
            "longPositionCloseout", "shortPositionCloseout", "marginCloseout",
            "delayedTradeClose", "reason", "clientExtensions", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions", "rejectReason"
        }
    ),
    "LimitOrderRejectTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "price", "timeInForce", "gtdTime", "positionFill", "triggerCondition",
            "reason", "clientExtensions", "takeProfitOnFill", "stopLossOnFill",
            "trailingStopLossOnFill", "tradeClientExtensions", "intendedReplacesOrderID",
            "rejectReason"
        }
    ),
    "StopOrderRejectTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "price", "priceBound", "timeInForce", "gtdTime", "positionFill",
            "triggerCondition", "reason", "clientExtensions", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions",
            "intendedReplacesOrderID", "rejectReason"
        }
    ),
    "MarketIfTouchedOrderRejectTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "instrument",
            "units", "price", "priceBound", "timeInForce", "gtdTime", "positionFill",
            "triggerCondition", "reason", "clientExtensions", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions",
            "intendedReplacesOrderID", "rejectReason"
        }
    ),
    "TradeOpen": frozenset(
        {
            "tradeID", "units", "price", "guaranteedExecutionFee", "clientExtensions",
            "halfSpreadCost", "initialMarginRequired"
        }
    ),
    "TradeReduce": frozenset(
        {
            "tradeID", "units", "price", "realizedPL", "financing", "guaranteedExecutionFee",
            "halfSpreadCost"
        }
    ),
    "ClientPrice": frozenset(
        {
            "type", "instrument", "time", "status", "tradeable", "bids", "asks", "closeoutBid",
            "closeoutAsk", "quoteHomeConversionFactors", "unitsAvailable"
        }
    ),
    "PriceBucket": frozenset(
        {
            "price", "liquidity"
        }
    ),
    "PricingHeartbeat": frozenset(
        {
            "type", "time"
        }
    ),
    "Position": frozenset(
        {
            "instrument", "pl", "unrealizedPL", "marginUsed", "resettablePL", "financing",
            "commission", "guaranteedExecutionFees", "long", "short"
        }
    ),
    "PositionSide": frozenset(
        {
            "units", "averagePrice", "tradeIDs", "pl", "unrealizedPL", "resettablePL",
            "financing", "guaranteedExecutionFees"
        }
    ),
    "AccountSummary": frozenset(
        {
            "id", "alias", "currency", "balance", "createdByUserID", "createdTime",
            "guaranteedStopLossOrderMode", "pl", "resettablePL", "resettablePLTime", "financing",
            "commission", "guaranteedExecutionFees", "marginRate", "marginCallEnterTime",
            "marginCallExtensionCount", "lastMarginCallExtensionTime", "openTradeCount",
            "openPositionCount", "pendingOrderCount", "hedgingEnabled", "lastOrderFillTimestamp",
            "unrealizedPL", "NAV", "marginUsed", "marginAvailable", "positionValue",
            "marginCloseoutUnrealizedPL", "marginCloseoutNAV", "marginCloseoutMarginUsed",
            "marginCloseoutPercent", "marginCloseoutPositionValue", "withdrawalLimit",
            "marginCallMarginUsed", "marginCallPercent", "lastTransactionID"
        }
    ),
    "Account": frozenset(
        {
            "id", "alias", "currency", "balance", "createdByUserID", "createdTime",
            "guaranteedStopLossOrderMode", "pl", "resettablePL", "resettablePLTime", "financing",
            "commission", "guaranteedExecutionFees", "marginRate", "marginCallEnterTime",
            "marginCallExtensionCount", "lastMarginCallExtensionTime", "openTradeCount",
            "openPositionCount", "pendingOrderCount", "hedgingEnabled", "lastOrderFillTimestamp",
            "unrealizedPL", "NAV", "marginUsed", "marginAvailable", "positionValue",
            "marginCloseoutUnrealizedPL", "marginCloseoutNAV", "marginCloseoutMarginUsed",
            "marginCloseoutPercent", "marginCloseoutPositionValue", "withdrawalLimit",
            "marginCallMarginUsed", "marginCallPercent", "lastTransactionID", "trades",
            "positions", "orders"
        }
    ),
    "AccountProperties": frozenset(
        {
            "id", "mt4AccountID", "tags"
        }
    ),
    "Instrument": frozenset(
        {
            "name", "type", "displayName", "pipLocation", "displayPrecision",
            "tradeUnitsPrecision", "minimumTradeSize", "maximumTrailingStopDistance",
            "minimumTrailingStopDistance", "maximumPositionSize", "maximumOrderUnits",
            "marginRate", "commission"
        }
    ),
    "Candlestick": frozenset(
        {
            "time", "bid", "ask", "mid", "volume", "complete"
        }
    ),
    "CandlestickData": frozenset(
        {
            "o", "h", "l", "c"
        }
    ),
    "MarketOrder": frozenset(
        {
            "id", "createTime", "state", "clientExtensions", "type", "instrument", "units",
            "timeInForce", "priceBound", "positionFill", "tradeClose", "longPositionCloseout",
            "shortPositionCloseout", "marginCloseout", "delayedTradeClose", "takeProfitOnFill",
            "stopLossOnFill", "trailingStopLossOnFill", "tradeClientExtensions",
            "fillingTransactionID", "filledTime", "tradeOpenedID", "tradeReducedID",
            "tradeClosedIDs", "cancellingTransactionID", "cancelledTime"
        }
    ),
    "LimitOrder": frozenset(
        {
            "id", "createTime", "state", "clientExtensions", "type", "instrument", "units",
            "price", "timeInForce", "gtdTime", "positionFill", "triggerCondition",
            "takeProfitOnFill", "stopLossOnFill", "trailingStopLossOnFill",
            "tradeClientExtensions", "fillingTransactionID", "filledTime", "tradeOpenedID",
            "tradeReducedID", "tradeClosedIDs", "cancellingTransactionID", "cancelledTime",
            "replacesOrderID", "replacedByOrderID"
        }
    ),
    "StopOrder": frozenset(
        {
            "id", "createTime", "state", "clientExtensions", "type", "instrument", "units",
            "price", "priceBound", "timeInForce", "gtdTime", "positionFill", "triggerCondition",
            "takeProfitOnFill", "stopLossOnFill", "trailingStopLossOnFill",
            "tradeClientExtensions", "fillingTransactionID", "filledTime", "tradeOpenedID",
            "tradeReducedID", "tradeClosedIDs", "cancellingTransactionID", "cancelledTime",
            "replacesOrderID", "replacedByOrderID"
        }
    ),
    "MarketIfTouchedOrder": frozenset(
        {
            "id", "createTime", "state", "clientExtensions", "type", "instrument", "units",
            "price", "priceBound", "timeInForce", "gtdTime", "positionFill", "triggerCondition",
            "initialMarketPrice", "takeProfitOnFill", "stopLossOnFill", "trailingStopLossOnFill",
            "tradeClientExtensions", "fillingTransactionID", "filledTime", "tradeOpenedID",
            "tradeReducedID", "tradeClosedIDs", "cancellingTransactionID", "cancelledTime",
            "replacesOrderID", "replacedByOrderID"
        }
    ),
    "TradeSummary": frozenset(
        {
            "id", "instrument", "price", "openTime", "state", "initialUnits",
            "initialMarginRequired", "currentUnits", "realizedPL", "unrealizedPL", "marginUsed",
            "averageClosePrice", "closingTransactionIDs", "financing", "closeTime",
            "clientExtensions", "takeProfitOrderID", "stopLossOrderID", "trailingStopLossOrderID"
        }
    ),
    "HomeConversions": frozenset(
        {
            "currency", "accountGain", "accountLoss", "positionValue"
        }
    ),
    "UnitsAvailable": frozenset(
        {
            "default", "reduceFirst", "reduceOnly", "openOnly"
        }
    ),
    "UnitsAvailableDetails": frozenset(
        {
            "long", "short"
        }
    ),
    "QuoteHomeConversionFactors": frozenset(
        {
            "positiveUnits", "negativeUnits"
        }
    ),
    "ClientExtensions": frozenset(
        {
            "id", "tag", "comment"
        }
    ),
    "MarketOrderPositionCloseout": frozenset(
        {
            "instrument", "units"
        }
    ),
    "TakeProfitDetails": frozenset(
        {
            "price", "timeInForce", "gtdTime", "clientExtensions"
        }
    ),
    "StopLossDetails": frozenset(
        {
            "price", "distance", "timeInForce", "gtdTime", "clientExtensions", "guaranteed"
        }
    ),
    "TrailingStopLossDetails": frozenset(
        {
            "distance", "timeInForce", "gtdTime", "clientExtensions"
        }
    ),
    "Trade": frozenset(
        {
            "id", "instrument", "price", "openTime", "state", "initialUnits",
            "initialMarginRequired", "currentUnits", "realizedPL", "unrealizedPL", "marginUsed",
            "averageClosePrice", "closingTransactionIDs", "financing", "closeTime",
            "clientExtensions", "takeProfitOrder", "stopLossOrder", "trailingStopLossOrder"
        }
    ),
    "MarketOrderTradeClose": frozenset(
        {
            "tradeID", "clientTradeID", "units"
        }
    ),
    "CreateTransaction": frozenset(
        {
            "id", "time", "userID", "accountID", "batchID", "requestID", "type", "divisionID",
            "siteID", "accountUserID", "accountNumber", "homeCurrency"
        }
    ),
    "TransactionHeartbeat": frozenset(
        {
            "type", "lastTransactionID", "time"
        }
    ),
}
TRADE_STATES = frozenset(
    {
        "OPEN", "CLOSED", "CLOSE_WHEN_TRADEABLE"
    }
)
TRANSACTION_REJECT_REASONS = frozenset(
    {
        "INTERNAL_SERVER_ERROR", "INSTRUMENT_PRICE_UNKNOWN", "ACCOUNT_NOT_ACTIVE", "ACCOUNT_LOCKED",
        "ACCOUNT_ORDER_CREATION_LOCKED", "ACCOUNT_CONFIGURATION_LOCKED", "ACCOUNT_DEPOSIT_LOCKED",
        "ACCOUNT_WITHDRAWAL_LOCKED", "ACCOUNT_ORDER_CANCEL_LOCKED", "INSTRUMENT_NOT_TRADEABLE",
        "PENDING_ORDERS_ALLOWED_EXCEEDED", "ORDER_ID_UNSPECIFIED", "ORDER_DOESNT_EXIST",
        "ORDER_IDENTIFIER_INCONSISTENCY", "TRADE_ID_UNSPECIFIED", "TRADE_DOESNT_EXIST",
        "TRADE_IDENTIFIER_INCONSISTENCY", "INSUFFICIENT_MARGIN", "INSTRUMENT_MISSING",
        "INSTRUMENT_UNKNOWN", "UNITS_MISSING", "UNITS_INVALID", "UNITS_PRECISION_EXCEEDED",
        "UNITS_LIMIT_EXCEEDED", "UNITS_MIMIMUM_NOT_MET", "PRICE_MISSING", "PRICE_INVALID",
        "PRICE_PRECISION_EXCEEDED", "PRICE_DISTANCE_MISSING", "PRICE_DISTANCE_INVALID",
        "PRICE_DISTANCE_PRECISION_EXCEEDED", "PRICE_DISTANCE_MAXIMUM_EXCEEDED",
        "PRICE_DISTANCE_MINIMUM_NOT_MET", "TIME_IN_FORCE_MISSING", "TIME_IN_FORCE_INVALID",
        "TIME_IN_FORCE_GTD_TIMESTAMP_MISSING", "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST",
        "PRICE_BOUND_INVALID", "PRICE_BOUND_PRECISION_EXCEEDED",
        "ORDERS_ON_FILL_DUPLICATE_CLIENT_ORDER_IDS", "TRADE_ON_FILL_CLIENT_EXTENSIONS_NOT_SUPPORTED",
        "CLIENT_ORDER_ID_INVALID", "CLIENT_ORDER_ID_ALREADY_EXISTS", "CLIENT_ORDER_TAG_INVALID",
        "CLIENT_ORDER_COMMENT_INVALID", "CLIENT_TRADE_ID_INVALID", "CLIENT_TRADE_ID_ALREADY_EXISTS",
        "CLIENT_TRADE_TAG_INVALID", "CLIENT_TRADE_COMMENT_INVALID",
        "ORDER_FILL_POSITION_ACTION_MISSING", "ORDER_FILL_POSITION_ACTION_INVALID",
        "TRIGGER_CONDITION_MISSING", "TRIGGER_CONDITION_INVALID", "ORDER_PARTIAL_FILL_OPTION_MISSING",
        "ORDER_PARTIAL_FILL_OPTION_INVALID", "INVALID_REISSUE_IMMEDIATE_PARTIAL_FILL",
        "TAKE_PROFIT_ORDER_ALREADY_EXISTS", "TAKE_PROFIT_ON_FILL_PRICE_MISSING",
        "TAKE_PROFIT_ON_FILL_PRICE_INVALID", "TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED",
        "TAKE_PROFIT_ON_FILL_TIME_IN_FORCE_MISSING", "TAKE_PROFIT_ON_FILL_TIME_IN_FORCE_INVALID",
        "TAKE_PROFIT_ON_FILL_GTD_TIMESTAMP_MISSING", "TAKE_PROFIT_ON_FILL_GTD_TIMESTAMP_IN_PAST",
        "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_ID_INVALID", "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_TAG_INVALID",
        "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_COMMENT_INVALID",
        "TAKE_PROFIT_ON_FILL_TRIGGER_CONDITION_MISSING",
        "TAKE_PROFIT_ON_FILL_TRIGGER_CONDITION_INVALID", "STOP_LOSS_ORDER_ALREADY_EXISTS",
        "STOP_LOSS_ORDER_GUARANTEED_REQUIRED", "STOP_LOSS_ORDER_GUARANTEED_PRICE_WITHIN_SPREAD",
        "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED",
        "STOP_LOSS_ORDER_GUARANTEED_HALTED_CREATE_VIOLATION",
        "STOP_LOSS_ORDER_GUARANTEED_HALTED_TIGHTEN_VIOLATION",
        "STOP_LOSS_ORDER_GUARANTEED_HEDGING_NOT_ALLOWED",
        "STOP_LOSS_ORDER_GUARANTEED_MINIMUM_DISTANCE_NOT_MET", "STOP_LOSS_ORDER_NOT_CANCELABLE",
        "STOP_LOSS_ORDER_NOT_REPLACEABLE", "STOP_LOSS_ORDER_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED",
        "STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED",
        "STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING",
        "STOP_LOSS_ON_FILL_REQUIRED_FOR_PENDING_ORDER", "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED",
        "STOP_LOSS_ON_FILL_GUARANTEED_REQUIRED", "STOP_LOSS_ON_FILL_PRICE_MISSING",
        "STOP_LOSS_ON_FILL_PRICE_INVALID", "STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED",
        "STOP_LOSS_ON_FILL_GUARANTEED_MINIMUM_DISTANCE_NOT_MET",
        "STOP_LOSS_ON_FILL_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED",
        "STOP_LOSS_ON_FILL_DISTANCE_INVALID", "STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED",
        "STOP_LOSS_ON_FILL_DISTANCE_PRECISION_EXCEEDED",
        "STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED",
        "STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING",
        "STOP_LOSS_ON_FILL_TIME_IN_FORCE_MISSING", "STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID",
        "STOP_LOSS_ON_FILL_GTD_TIMESTAMP_MISSING", "STOP_LOSS_ON_FILL_GTD_TIMESTAMP_IN_PAST",
        "STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_INVALID", "STOP_LOSS_ON_FILL_CLIENT_ORDER_TAG_INVALID",
        "STOP_LOSS_ON_FILL_CLIENT_ORDER_COMMENT_INVALID",
        "STOP_LOSS_ON_FILL_TRIGGER_CONDITION_MISSING", "STOP_LOSS_ON_FILL_TRIGGER_CONDITION_INVALID",
        "TRAILING_STOP_LOSS_ORDER_ALREADY_EXISTS",
        "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MISSING",
        "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_INVALID",
        "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_PRECISION_EXCEEDED",
        "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED",
        "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MINIMUM_NOT_MET",
        "TRAILING_STOP_LOSS_ON_FILL_TIME_IN_FORCE_MISSING",
        "TRAILING_STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID",
        "TRAILING_STOP_LOSS_ON_FILL_GTD_TIMESTAMP_MISSING",
        "TRAILING_STOP_LOSS_ON_FILL_GTD_TIMESTAMP_IN_PAST",
        "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_INVALID",
        "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_TAG_INVALID",
        "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_COMMENT_INVALID",
        "TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED",
        "TRAILING_STOP_LOSS_ON_FILL_TRIGGER_CONDITION_MISSING",
        "TRAILING_STOP_LOSS_ON_FILL_TRIGGER_CONDITION_INVALID", "CLOSE_TRADE_TYPE_MISSING",
        "CLOSE_TRADE_PARTIAL_UNITS_MISSING", "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE",
        "CLOSEOUT_POSITION_DOESNT_EXIST", "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION",
        "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE", "CLOSEOUT_POSITION_REJECT",
        "CLOSEOUT_POSITION_PARTIAL_UNITS_MISSING", "MARKUP_GROUP_ID_INVALID",
        "POSITION_AGGREGATION_MODE_INVALID", "ADMIN_CONFIGURE_DATA_MISSING", "MARGIN_RATE_INVALID",
        "MARGIN_RATE_WOULD_TRIGGER_CLOSEOUT", "ALIAS_INVALID", "CLIENT_CONFIGURE_DATA_MISSING",
        "MARGIN_RATE_WOULD_TRIGGER_MARGIN_CALL", "AMOUNT_INVALID", "INSUFFICIENT_FUNDS",
        "AMOUNT_MISSING", "FUNDING_REASON_MISSING", "CLIENT_EXTENSIONS_DATA_MISSING",
        "REPLACING_ORDER_INVALID", "REPLACING_TRADE_ID_INVALID"
    }
)
ORDER_CANCEL_REASONS = frozenset(
    {
        "INTERNAL_SERVER_ERROR", "ACCOUNT_LOCKED", "ACCOUNT_NEW_POSITIONS_LOCKED",
        "ACCOUNT_ORDER_CREATION_LOCKED", "ACCOUNT_ORDER_FILL_LOCKED", "CLIENT_REQUEST", "MIGRATION",
        "MARKET_HALTED", "LINKED_TRADE_CLOSED", "TIME_IN_FORCE_EXPIRED", "INSUFFICIENT_MARGIN",
        "FIFO_VIOLATION", "BOUNDS_VIOLATION", "CLIENT_REQUEST_REPLACED", "INSUFFICIENT_LIQUIDITY",
        "TAKE_PROFIT_ON_FILL_GTD_TIMESTAMP_IN_PAST", "TAKE_PROFIT_ON_FILL_LOSS", "LOSING_TAKE_PROFIT",
        "STOP_LOSS_ON_FILL_GTD_TIMESTAMP_IN_PAST", "STOP_LOSS_ON_FILL_LOSS",
        "STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED", "STOP_LOSS_ON_FILL_REQUIRED",
        "STOP_LOSS_ON_FILL_GUARANTEED_REQUIRED", "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED",
        "STOP_LOSS_ON_FILL_GUARANTEED_MINIMUM_DISTANCE_NOT_MET",
        "STOP_LOSS_ON_FILL_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED",
        "STOP_LOSS_ON_FILL_GUARANTEED_HEDGING_NOT_ALLOWED", "STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID",
        "STOP_LOSS_ON_FILL_TRIGGER_CONDITION_INVALID",
        "TAKE_PROFIT_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED",
        "TRAILING_STOP_LOSS_ON_FILL_GTD_TIMESTAMP_IN_PAST", "CLIENT_TRADE_ID_ALREADY_EXISTS",
        "POSITION_CLOSEOUT_FAILED", "OPEN_TRADES_ALLOWED_EXCEEDED", "PENDING_ORDERS_ALLOWED_EXCEEDED",
        "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS",
        "STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS",
        "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS", "POSITION_SIZE_EXCEEDED",
        "HEDGING_GSLO_VIOLATION", "ACCOUNT_POSITION_VALUE_LIMIT_EXCEEDED",
        "INSTRUMENT_BID_REDUCE_ONLY", "INSTRUMENT_ASK_REDUCE_ONLY", "INSTRUMENT_BID_HALTED",
        "INSTRUMENT_ASK_HALTED", "STOP_LOSS_ON_FILL_GUARANTEED_BID_HALTED",
        "STOP_LOSS_ON_FILL_GUARANTEED_ASK_HALTED"
    }
)
TRANSACTION_TYPES = frozenset(
    {
        "CREATE", "CLOSE", "REOPEN", "CLIENT_CONFIGURE", "CLIENT_CONFIGURE_REJECT", "TRANSFER_FUNDS",
        "TRANSFER_FUNDS_REJECT", "MARKET_ORDER", "MARKET_ORDER_REJECT", "FIXED_PRICE_ORDER",
        "LIMIT_ORDER", "LIMIT_ORDER_REJECT", "STOP_ORDER", "STOP_ORDER_REJECT",
        "MARKET_IF_TOUCHED_ORDER", "MARKET_IF_TOUCHED_ORDER_REJECT", "TAKE_PROFIT_ORDER",
        "TAKE_PROFIT_ORDER_REJECT", "STOP_LOSS_ORDER", "STOP_LOSS_ORDER_REJECT",
        "TRAILING_STOP_LOSS_ORDER", "TRAILING_STOP_LOSS_ORDER_REJECT", "ORDER_FILL", "ORDER_CANCEL",
        "ORDER_CANCEL_REJECT", "ORDER_CLIENT_EXTENSIONS_MODIFY",
        "ORDER_CLIENT_EXTENSIONS_MODIFY_REJECT", "TRADE_CLIENT_EXTENSIONS_MODIFY",
        "TRADE_CLIENT_EXTENSIONS_MODIFY_REJECT", "MARGIN_CALL_ENTER", "MARGIN_CALL_EXTEND",
        "MARGIN_CALL_EXIT", "DELAYED_TRADE_CLOSURE", "DAILY_FINANCING", "RESET_RESETTABLE_PL"
    }
)
ORDER_STATES = frozenset(
    {
        "PENDING", "FILLED", "TRIGGERED", "CANCELLED"
    }
)
ORDER_FILL_REASONS = frozenset(
    {
        "LIMIT_ORDER", "STOP_ORDER", "MARKET_IF_TOUCHED_ORDER", "TAKE_PROFIT_ORDER",
        "STOP_LOSS_ORDER", "TRAILING_STOP_LOSS_ORDER", "MARKET_ORDER", "MARKET_ORDER_TRADE_CLOSE",
        "MARKET_ORDER_POSITION_CLOSEOUT", "MARKET_ORDER_MARGIN_CLOSEOUT",
        "MARKET_ORDER_DELAYED_TRADE_CLOSE"
    }
)
MARKET_ORDER_REASONS = frozenset(
    {
        "CLIENT_ORDER", "TRADE_CLOSE", "POSITION_CLOSEOUT", "MARGIN_CLOSEOUT", "DELAYED_TRADE_CLOSE"
    }
)
LIMIT_ORDER_REASONS = frozenset(
    {
        "CLIENT_ORDER", "REPLACEMENT"
    }
)
TIME_IN_FORCE = frozenset(
    {
        "GTC", "GTD", "GFD", "FOK", "IOC"
    }
)
POSITION_FILLS = frozenset(
    {
        "OPEN_ONLY", "REDUCE_FIRST", "REDUCE_ONLY", "DEFAULT"
    }
)
TRIGGER_CONDITIONS = frozenset(
    {
        "DEFAULT", "INVERSE", "BID", "ASK", "MID"
    }
)
INSTRUMENT_TYPES = frozenset(
    {
        "CURRENCY", "CFD", "METAL"
    }
)
PRICE_STATUSES = frozenset(
    {
        "tradeable", "non-tradeable", "invalid"
    }
)
GRANULARITIES = frozenset(
    {
        "S5", "S10", "S15", "S30", "M1", "M2", "M4", "M5", "M10", "M15", "M30", "H1", "H2", "H3",
        "H4", "H6", "H8", "H12", "D", "W", "M"
    }
)
#: (method, path) -> {status: the body's keys}; shared error responses have errorCode/errorMessage.
RESPONSES: dict[tuple[str, str], dict[int, frozenset[str]]] = {
    ("GET", "/v3/accounts"): {
        200: frozenset({"accounts"}),
        401: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}"): {
        200: frozenset({"account", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/summary"): {
        200: frozenset({"account", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/instruments"): {
        200: frozenset({"instruments", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("POST", "/v3/accounts/{accountID}/orders"): {
        201: frozenset({"orderCreateTransaction", "orderFillTransaction", "orderCancelTransaction", "orderReissueTransaction", "orderReissueRejectTransaction", "relatedTransactionIDs", "lastTransactionID"}),
        400: frozenset({"orderRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        403: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"orderRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/orders"): {
        200: frozenset({"orders", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/pendingOrders"): {
        200: frozenset({"orders", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/orders/{orderSpecifier}"): {
        200: frozenset({"order", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("PUT", "/v3/accounts/{accountID}/orders/{orderSpecifier}"): {
        201: frozenset({"orderCancelTransaction", "orderCreateTransaction", "orderFillTransaction", "orderReissueTransaction", "orderReissueRejectTransaction", "replacingOrderCancelTransaction", "relatedTransactionIDs", "lastTransactionID"}),
        400: frozenset({"orderRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"orderCancelRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("PUT", "/v3/accounts/{accountID}/orders/{orderSpecifier}/cancel"): {
        200: frozenset({"orderCancelTransaction", "relatedTransactionIDs", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"orderCancelRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/positions"): {
        200: frozenset({"positions", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/openPositions"): {
        200: frozenset({"positions", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/positions/{instrument}"): {
        200: frozenset({"position", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("PUT", "/v3/accounts/{accountID}/positions/{instrument}/close"): {
        200: frozenset({"longOrderCreateTransaction", "longOrderFillTransaction", "longOrderCancelTransaction", "shortOrderCreateTransaction", "shortOrderFillTransaction", "shortOrderCancelTransaction", "relatedTransactionIDs", "lastTransactionID"}),
        400: frozenset({"longOrderRejectTransaction", "shortOrderRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"longOrderRejectTransaction", "shortOrderRejectTransaction", "relatedTransactionIDs", "lastTransactionID", "errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/pricing"): {
        200: frozenset({"prices", "homeConversions", "time"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/instruments/{instrument}/candles"): {
        200: frozenset({"instrument", "granularity", "candles"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/transactions/{transactionID}"): {
        200: frozenset({"transaction", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/transactions"): {
        200: frozenset({"from", "to", "pageSize", "type", "count", "pages", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        403: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
        416: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/transactions/idrange"): {
        200: frozenset({"transactions", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
        416: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/transactions/sinceid"): {
        200: frozenset({"transactions", "lastTransactionID"}),
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
        416: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/transactions/stream"): {
        400: frozenset({"errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/trades"): {
        200: frozenset({"trades", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/openTrades"): {
        200: frozenset({"trades", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("GET", "/v3/accounts/{accountID}/trades/{tradeSpecifier}"): {
        200: frozenset({"trade", "lastTransactionID"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
    ("PUT", "/v3/accounts/{accountID}/trades/{tradeSpecifier}/close"): {
        200: frozenset({"orderCreateTransaction", "orderFillTransaction", "orderCancelTransaction", "relatedTransactionIDs", "lastTransactionID"}),
        400: frozenset({"orderRejectTransaction", "errorCode", "errorMessage"}),
        401: frozenset({"errorCode", "errorMessage"}),
        404: frozenset({"orderRejectTransaction", "lastTransactionID", "relatedTransactionIDs", "errorCode", "errorMessage"}),
        405: frozenset({"errorCode", "errorMessage"}),
    },
}

# ------------------------------------------------------------------------------------------ value formats

#: Nested objects by field name, and per enclosing object where the name is ambiguous.
NESTED: Mapping[str, str] = {
    "fullPrice": "ClientPrice",
    "tradeOpened": "TradeOpen",
    "tradeReduced": "TradeReduce",
    "clientExtensions": "ClientExtensions",
    "tradeClientExtensions": "ClientExtensions",
    "quoteHomeConversionFactors": "QuoteHomeConversionFactors",
    "unitsAvailable": "UnitsAvailable",
    "longPositionCloseout": "MarketOrderPositionCloseout",
    "shortPositionCloseout": "MarketOrderPositionCloseout",
    "tradeClose": "MarketOrderTradeClose",
    "takeProfitOnFill": "TakeProfitDetails",
    "stopLossOnFill": "StopLossDetails",
    "trailingStopLossOnFill": "TrailingStopLossDetails",
    "bid": "CandlestickData",
    "ask": "CandlestickData",
    "mid": "CandlestickData",
    "default": "UnitsAvailableDetails",
    "reduceFirst": "UnitsAvailableDetails",
    "reduceOnly": "UnitsAvailableDetails",
    "openOnly": "UnitsAvailableDetails",
}
IN_CONTEXT: Mapping[tuple[str, str], str] = {
    ("Position", "long"): "PositionSide",
    ("Position", "short"): "PositionSide",
}
#: Lists of whole objects in a full Account (orders are checked by their own ``type``).
OBJECT_LISTS: Mapping[str, str] = {"orders": "Order", "trades": "TradeSummary", "positions": "Position"}
LISTS: Mapping[str, str] = {"bids": "PriceBucket", "asks": "PriceBucket", "tradesClosed": "TradeReduce"}
#: Spec fields whose format is "A decimal number encoded as a string" (money, units, rates, percentages).
DECIMALS = frozenset(
    {
        "NAV", "accountBalance", "accountGain", "accountLoss", "balance", "commission", "currentUnits",
        "distance", "financing", "gainQuoteHomeConversionFactor", "guaranteedExecutionFee",
        "guaranteedExecutionFees", "halfSpreadCost", "initialMarginRequired", "initialUnits", "long",
        "lossQuoteHomeConversionFactor", "marginAvailable", "marginCallMarginUsed", "marginCallPercent",
        "marginCloseoutMarginUsed", "marginCloseoutNAV", "marginCloseoutPercent",
        "marginCloseoutPositionValue", "marginCloseoutUnrealizedPL", "marginRate", "marginUsed",
        "maximumOrderUnits", "maximumPositionSize", "maximumTrailingStopDistance", "minimumTradeSize",
        "minimumTrailingStopDistance", "negativeUnits", "pl", "positionValue", "positiveUnits",
        "realizedPL", "resettablePL", "short", "units", "unrealizedPL", "withdrawalLimit"
    }
)
#: Spec fields whose format is a price value: at the instrument's display precision.
PRICES = frozenset(
    {
        "averageClosePrice", "averagePrice", "c", "closeoutAsk", "closeoutBid", "fullVWAP", "h",
        "initialMarketPrice", "l", "o", "price", "priceBound"
    }
)
TIMES = frozenset(
    {
        "cancelledTime", "closeTime", "createTime", "createdTime", "filledTime", "gtdTime",
        "lastMarginCallExtensionTime", "lastOrderFillTimestamp", "marginCallEnterTime", "openTime",
        "resettablePLTime", "time"
    }
)
#: Transaction, order and trade ids: numeric strings from the one transaction sequence (reference §1.2).
IDS = frozenset(
    {
        "batchID", "cancellingTransactionID", "fillingTransactionID", "lastTransactionID", "orderID",
        "replacedByOrderID", "replacesOrderID", "tradeID", "tradeOpenedID", "tradeReducedID",
        "intendedReplacesOrderID", "stopLossOrderID", "takeProfitOrderID", "trailingStopLossOrderID"
    }
)
INTEGERS = frozenset(
    {
        "accountUserID", "createdByUserID", "displayPrecision", "liquidity", "marginCallExtensionCount", "mt4AccountID",
        "openPositionCount", "openTradeCount", "pendingOrderCount", "pipLocation",
        "tradeUnitsPrecision", "userID", "volume"
    }
)
BOOLEANS = frozenset({"complete", "guaranteed", "hedgingEnabled", "tradeable"})
ID_LISTS = frozenset({"tradeIDs", "tradeClosedIDs", "closingTransactionIDs", "relatedTransactionIDs"})
# fmt: on

#: Objects whose ``units`` may be ``"ALL"``: the closeouts of a position and of a trade.
_ALL_UNITS = frozenset({"MarketOrderPositionCloseout", "MarketOrderTradeClose"})
#: Objects whose ``id`` is an account id; in ClientExtensions it is the client's own text.
_ACCOUNT_OBJECTS = frozenset({"AccountSummary", "Account", "AccountProperties"})

RFC3339_NANOS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")
UNIX_NANOS = re.compile(r"^\d{9,11}\.\d{9}$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
NUMERIC_ID = re.compile(r"^[1-9]\d*$")
ACCOUNT_ID = re.compile(r"^\d{3}-\d{3}-\d+-\d{3}$")


def _matches(value: Any, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None


def check(
    obj: Any, definition: str, *, digits: int | None = None, unix: bool = False, path: str = ""
) -> None:
    """Assert that ``obj`` is a v20 ``definition``: spec fields only, each in the spec's format.

    ``digits`` is the instrument's display precision, when the object's prices belong to one instrument.
    """
    where = path or definition
    assert isinstance(obj, dict), f"{where}: expected an object, got {type(obj).__name__}"
    unknown = set(obj) - FIELDS[definition]
    assert not unknown, f"{where}: fields the spec does not define for {definition}: {sorted(unknown)}"
    for key, value in obj.items():
        at = f"{where}.{key}"
        nested = IN_CONTEXT.get((definition, key)) or NESTED.get(key)
        if nested is not None and isinstance(value, dict):
            check(value, nested, digits=digits, unix=unix, path=at)
        elif key in LISTS:
            assert isinstance(value, list), f"{at}: expected a list"
            for i, item in enumerate(value):
                check(item, LISTS[key], digits=digits, unix=unix, path=f"{at}[{i}]")
        elif key in OBJECT_LISTS:
            assert isinstance(value, list), f"{at}: expected a list"
            for i, item in enumerate(value):
                kind = ORDER_DEFINITIONS[item["type"]] if key == "orders" else OBJECT_LISTS[key]
                check(item, kind, unix=unix, path=f"{at}[{i}]")
        elif key == "tags":
            assert isinstance(value, list), f"{at}: expected a list"
        elif key in ID_LISTS:
            assert isinstance(value, list), f"{at}: expected a list"
            assert all(isinstance(i, str) and NUMERIC_ID.match(i) for i in value), (
                f"{at}: ids are numeric strings"
            )
        else:
            check_value(key, value, definition, digits=digits, unix=unix, path=at)


def check_value(key: str, value: Any, definition: str, *, digits: int | None, unix: bool, path: str) -> None:
    """One scalar field in its spec format."""
    if key in INTEGERS:
        assert type(value) is int, f"{path}: the spec says integer, got {value!r}"
    elif key in BOOLEANS:
        assert isinstance(value, bool), f"{path}: the spec says boolean, got {value!r}"
    elif key in TIMES:
        pattern = UNIX_NANOS if unix else RFC3339_NANOS
        assert _matches(value, pattern), f"{path}: time {value!r} is not nine-digit"
    elif key in PRICES:
        assert _matches(value, DECIMAL), f"{path}: price {value!r} is not a decimal string"
        if digits is not None and not (key == "price" and definition in _ECHOES_PRICE):
            places = len(value.partition(".")[2])
            assert places == digits, f"{path}: {value!r} has {places} decimals, the instrument {digits}"
    elif key in DECIMALS:
        closeout_units = definition in _ALL_UNITS and value == "ALL"
        assert closeout_units or _matches(value, DECIMAL), f"{path}: {value!r} is not a decimal string"
    elif key in IDS or (
        key == "id" and definition not in _ACCOUNT_OBJECTS and definition != "ClientExtensions"
    ):
        assert _matches(value, NUMERIC_ID), f"{path}: id {value!r} is not a numeric string"
    elif key in ("id", "accountID") and (definition in _ACCOUNT_OBJECTS or key == "accountID"):
        assert _matches(value, ACCOUNT_ID), f"{path}: {value!r} is not an account id"
    else:
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"


#: Reject transactions echo the price as the client sent it (the reject may be about its precision).
_ECHOES_PRICE = frozenset(
    {"LimitOrderRejectTransaction", "StopOrderRejectTransaction", "MarketIfTouchedOrderRejectTransaction"}
)

#: What a transaction's ``type`` says it is.
TRANSACTION_DEFINITIONS: Mapping[str, str] = {
    "MARKET_ORDER": "MarketOrderTransaction",
    "LIMIT_ORDER": "LimitOrderTransaction",
    "STOP_ORDER": "StopOrderTransaction",
    "MARKET_IF_TOUCHED_ORDER": "MarketIfTouchedOrderTransaction",
    "ORDER_FILL": "OrderFillTransaction",
    "ORDER_CANCEL": "OrderCancelTransaction",
    "ORDER_CANCEL_REJECT": "OrderCancelRejectTransaction",
    "MARKET_ORDER_REJECT": "MarketOrderRejectTransaction",
    "LIMIT_ORDER_REJECT": "LimitOrderRejectTransaction",
    "STOP_ORDER_REJECT": "StopOrderRejectTransaction",
    "MARKET_IF_TOUCHED_ORDER_REJECT": "MarketIfTouchedOrderRejectTransaction",
    "CREATE": "CreateTransaction",
}
ORDER_DEFINITIONS: Mapping[str, str] = {
    "MARKET": "MarketOrder",
    "LIMIT": "LimitOrder",
    "STOP": "StopOrder",
    "MARKET_IF_TOUCHED": "MarketIfTouchedOrder",
}


def check_transaction(obj: Any, *, digits: int | None = None, unix: bool = False, path: str = "") -> None:
    """A transaction: its shape for its ``type``, and its reasons from the spec's enums."""
    assert obj["type"] in TRANSACTION_TYPES, f"{path}: {obj['type']!r} is not a v20 transaction type"
    check(obj, TRANSACTION_DEFINITIONS[obj["type"]], digits=digits, unix=unix, path=path)
    kind = obj["type"]
    if "rejectReason" in obj:
        assert obj["rejectReason"] in TRANSACTION_REJECT_REASONS, (
            f"{path}: unknown rejectReason {obj['rejectReason']}"
        )
    if kind == "ORDER_CANCEL":
        assert obj["reason"] in ORDER_CANCEL_REASONS, f"{path}: unknown cancel reason {obj['reason']}"
    if kind == "ORDER_FILL":
        assert obj["reason"] in ORDER_FILL_REASONS, f"{path}: unknown fill reason {obj['reason']}"
    if kind in ("MARKET_ORDER", "MARKET_ORDER_REJECT"):
        assert obj["reason"] in MARKET_ORDER_REASONS
        if obj["reason"] == "TRADE_CLOSE":
            assert "tradeClose" in obj, f"{path}: a trade close names the trade it closes"
    if kind in ("LIMIT_ORDER", "LIMIT_ORDER_REJECT"):
        assert obj["reason"] in LIMIT_ORDER_REASONS
    for key, allowed in (
        ("timeInForce", TIME_IN_FORCE),
        ("positionFill", POSITION_FILLS),
        ("triggerCondition", TRIGGER_CONDITIONS),
    ):
        if key in obj:
            assert obj[key] in allowed, f"{path}: {key} {obj[key]!r} is not in the spec's enum"


def check_trade(obj: Any, *, digits: int | None = None, path: str = "") -> None:
    """A ``Trade``: spec fields, a spec ``state``; an open trade is valued, a closed one says how it closed."""
    check(obj, "Trade", digits=digits, path=path)
    assert obj["state"] in TRADE_STATES
    if obj["state"] == "OPEN":
        assert {"unrealizedPL", "marginUsed"} <= set(obj), f"{path}: an open trade is valued"
    else:
        assert {"closeTime", "averageClosePrice", "closingTransactionIDs"} <= set(obj), path


def check_order(obj: Any, *, digits: int | None = None, path: str = "") -> None:
    """An order object: its shape for its ``type`` and a spec ``state``."""
    check(obj, ORDER_DEFINITIONS[obj["type"]], digits=digits, path=path)
    assert obj["state"] in ORDER_STATES


def check_envelope(method: str, route: str, status: int, body: Mapping[str, Any]) -> None:
    """The body's top-level keys are the spec's for that endpoint and status (403 and 429 as recorded)."""
    answers = RESPONSES[(method, route)]
    if status in (403, 429):  # [rec] 403 for a foreign account, [doc] 429 past the rate: errorMessage only
        assert set(body) <= {"errorCode", "errorMessage"}, body
        return
    assert status in answers, f"{method} {route} answered {status}, which the spec does not list"
    allowed = answers[status]
    if "errorCode" in allowed:  # [rec] OANDA's error bodies also carry lastTransactionID (hootnot#204)
        allowed = allowed | {"lastTransactionID"}
    extra = set(body) - allowed
    assert not extra, f"{method} {route} {status}: keys the spec does not list: {sorted(extra)}"
