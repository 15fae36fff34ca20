"""OANDA v20's errors mapped to the standard codes.

Sources: OANDA's official spec, https://github.com/oanda/v20-openapi v3.0.25, ``json/v20.json`` —
every value of the ``TransactionRejectReason`` enum (143) and of ``OrderCancelReason`` (47) is a row
here, none falls through to UNKNOWN — plus ``NO_SUCH_ORDER``, seen in real 404 bodies
(hootnot/oanda-api-v20#204) but not in the spec. The messages in the patterns are copied from real
responses: 401 (hootnot/oanda-api-v20#129), 403 (hootnot/oanda-api-v20#169) and 400 (oandapyV20's
documentation, ``docs/oanda-api-v20.rst``).

How OANDA reports a failure, and where the code is in the body (``code_fields``):

* HTTP 400/404 with ``errorCode`` (equal to the reject transaction's ``rejectReason``) and
  ``errorMessage``; a schema-level 400 has only ``errorMessage``.
* HTTP 201 with an ``orderCancelTransaction``: the order was accepted and cancelled at once
  (``MARKET_HALTED``, ``INSUFFICIENT_MARGIN`` …); the adapter treats it as a rejection and maps its
  ``reason``. The cancel reasons and the reject reasons share names where they mean the same thing.
* HTTP 401 (bad token, or a practice token on live), 403 (token not for this account), 405, 416, 429
  (body undocumented, maybe not JSON) and 5xx (maintenance may answer an HTML page).

Actions name what to change in OANDA's terms (units, displayPrecision, priceBound, clientExtensions …).
"""

from __future__ import annotations

from broker_integration.errors import ErrorMappingTable, ErrorRule, PatternRule
from broker_integration.errors import StandardErrorCode as C

__all__ = ["OANDA_ERROR_TABLE"]

# -- suggested actions, by family ---------------------------------------------------------------

_MARGIN = (
    "Reduce the order's units or add margin: deposit funds or close positions to raise marginAvailable "
    "(GET /v3/accounts/{id}/summary), then send a new order."
)
_FUNDS = "The account's balance cannot cover this amount; lower the amount or deposit funds first."
_MARGIN_RATE = (
    "This margin rate would put the account into margin call or closeout; pick a lower leverage only "
    "after reducing open positions."
)
_NOT_TRADEABLE = (
    "The instrument cannot be traded by this account now (outside its trading hours, halted, or not "
    "offered to this account's division); check 'tradeable' in its pricing and wait or pick another."
)
_INSTRUMENT = (
    "Use an OANDA instrument name such as EUR_USD (upper case, underscore); list this account's "
    "instruments with GET /v3/accounts/{id}/instruments."
)
_NO_PRICE = (
    "OANDA has no current price for the instrument (market closed or prices not flowing); wait for "
    "prices to resume before trading it."
)
_HALTED = (
    "The market for this instrument is halted or closed (e.g. the weekend FX close); wait for it to "
    "reopen, or rest a GTC limit order that can fill once it does."
)
_SIDE_HALTED = "That side of the instrument's market is halted; wait for trading to resume."
_REDUCE_ONLY = (
    "The instrument accepts only orders that reduce an existing position on that side; close or reduce "
    "the position instead of adding to it."
)
_ACCOUNT_LOCKED = (
    "OANDA has locked the account for this kind of action (compliance, a margin closeout or an account "
    "change); retrying will not help — contact OANDA support."
)
_ACCOUNT_INACTIVE = "The account is not active; check the account id and its status in the OANDA portal."
_UNITS = (
    "Fix units: a non-zero number (its sign is the side) with no more decimals than the instrument's "
    "tradeUnitsPrecision, between minimumTradeSize and maximumOrderUnits."
)
_UNITS_LIMIT = (
    "The order is larger than the instrument's maximumOrderUnits or the account's position limit; split "
    "it or reduce units."
)
_PRICE = "Fix the price: give a positive price with no more decimals than the instrument's displayPrecision."
_DISTANCE = (
    "Fix the distance: a positive price distance, rounded to displayPrecision, between the instrument's "
    "minimum and maximum allowed distances."
)
_TIF = (
    "Use a time in force this order type accepts (market orders FOK or IOC; pending orders GTC, GTD or "
    "GFD) and, for GTD, a gtdTime in the future."
)
_PRICE_BOUND = (
    "Fix priceBound: a positive price with no more decimals than the instrument's displayPrecision."
)
_CLIENT_EXTENSIONS = (
    "Fix clientExtensions (id, tag, comment) as the message says: short plain strings, ids unique per order."
)
_CLIENT_ID_TAKEN = (
    "An order or trade with this client id exists already; look it up (GET /v3/accounts/{id}/orders/@{clientID}) "
    "instead of sending it again."
)
_ON_FILL_IDS = "Give the order's take-profit, stop-loss and trailing-stop on-fill orders distinct client ids."
_ORDER_OPTION = "Use a documented value for positionFill / triggerCondition / partial-fill options (DEFAULT when in doubt)."
_ORDER_SPECIFIER = (
    "Give a valid order or trade specifier: its id, or '@' followed by its client id, consistent with the "
    "other ids in the request."
)
_ORDER_GONE = (
    "The order id is unknown or the order is no longer pending (filled or cancelled); refresh the account's "
    "orders (GET /v3/accounts/{id}/pendingOrders) before acting on it."
)
_NO_SUCH_ORDER = (
    "OANDA can answer this for about half a second after a fill (read-after-write lag); query again "
    "shortly, and only then treat the order id as unknown."
)
_TRADE_GONE = (
    "The trade id is unknown or the trade is closed; refresh open trades (GET /v3/accounts/{id}/openTrades)."
)
_POSITION_GONE = (
    "There is no open position on that side of this instrument to close; refresh positions "
    "(GET /v3/accounts/{id}/openPositions)."
)
_EXISTS = (
    "The trade already has an order of this kind (take profit, stop loss or trailing stop); replace that order "
    "instead of creating a second one."
)
_TP_ON_FILL = (
    "Fix takeProfitOnFill: a price on the profitable side of the entry, rounded to displayPrecision, with a "
    "valid time in force / GTD time and client extensions."
)
_SL_ON_FILL = (
    "Fix stopLossOnFill: a price or a distance (not both) on the losing side of the entry, rounded to "
    "displayPrecision, with a valid time in force / GTD time and client extensions."
)
_TSL_ON_FILL = (
    "Fix trailingStopLossOnFill: a distance rounded to displayPrecision, between the instrument's minimum and "
    "maximum trailing distance, with a valid time in force / GTD time and client extensions."
)
_SL_PRICE_OR_DISTANCE = "Give the stop loss either a price or a distance, exactly one of the two."
_GSLO_NOT_OFFERED = (
    "Guaranteed stop losses are not offered for this account or instrument; use a regular stop loss."
)
_GSLO_RULE = (
    "Guaranteed stop loss rules: the account may require (or forbid) guaranteed stops, they must be outside "
    "the spread and at least the instrument's guaranteed minimum distance away, and hedged positions may not "
    "carry them; adjust the stop accordingly."
)
_GSLO_HALTED = (
    "A guaranteed stop loss cannot be created or tightened while the market is halted; wait for it to reopen."
)
_SL_REQUIRED = "This account requires a stop loss on every trade and pending order; add stopLossOnFill."
_SL_LOCKED = (
    "The account requires its trades to keep a (guaranteed) stop loss; modify the stop loss instead of "
    "cancelling it or replacing it with a non-guaranteed one."
)
_TSL_NOT_OFFERED = (
    "Trailing stop losses are not available for this account or instrument; use a fixed stop loss."
)
_TRADE_EXTENSIONS_UNSUPPORTED = (
    "Omit tradeClientExtensions: this order type cannot set them on the trade it opens."
)
_CLOSE_TRADE = (
    "Fix the trade close: units must be ALL or a positive number no larger than the trade's open units."
)
_CLOSEOUT = (
    "Fix the position closeout: longUnits/shortUnits ALL, NONE or a number no larger than that side's units, "
    "for a side that is open."
)
_CLOSEOUT_REJECT = (
    "OANDA refused to close out the position; see the reject transaction for the side that failed."
)
_ACCOUNT_CONFIG = "Fix the account configuration request (alias, marginRate) as the message says."
_ADMIN = (
    "This is an account-administration request that this API token cannot make as sent; check the request."
)
_FUNDING = "Fix the funding request: an amount greater than zero and a funding reason."
_REPLACING = (
    "The order or trade to replace is no longer valid (already filled, cancelled or closed, or of a kind that "
    "cannot be replaced); refresh it, then send a new order."
)
_PENDING_LIMIT = "The account has as many pending orders as OANDA allows; cancel some before adding more."
_OPEN_TRADES_LIMIT = "The account has as many open trades as OANDA allows; close some before opening more."
_POSITION_LIMIT = (
    "The order would take the position beyond the account's size or value limit; reduce units or close part "
    "of the position first."
)
_INTERNAL = (
    "OANDA had an internal error and did not process the request; retry later. For an order, look it up by "
    "client id before sending it again."
)
_MIGRATION = "OANDA cancelled the order while migrating the account; send it again if it is still wanted."
_CLIENT_CANCELLED = (
    "The order was cancelled at the client's request (by this or another session) and is final; refresh "
    "open orders."
)
_REPLACED = "The order was replaced; act on the new order named in replacedByOrderID."
_LINKED_TRADE_CLOSED = (
    "The trade this order was attached to has closed, so OANDA cancelled the order; nothing to do unless the "
    "trade should be reopened."
)
_TIF_EXPIRED = (
    "The order's time in force ran out before it filled (FOK/IOC could not fill at once, or the GTD time "
    "passed); resend with a different price or time in force."
)
_FIFO = (
    "The account is under the FIFO rule (US accounts): close the oldest trade in this instrument first, or "
    "size the order to close whole trades in order."
)
_BOUNDS = (
    "The fill price would have been worse than the order's priceBound; widen or drop priceBound, or resend "
    "at the current price."
)
_LIQUIDITY = "OANDA did not have enough liquidity to fill the order; reduce units or retry later."
_SL_LOSS = (
    "The stop loss would have triggered immediately at the fill price: put it below the entry for a buy "
    "and above for a sell."
)
_TP_LOSS = (
    "The take profit is on the losing side of the fill price: put it above the entry for a buy and below "
    "for a sell."
)
_CLOSEOUT_FAILED = "OANDA could not complete the position closeout; refresh positions and close what remains."
_HEDGING_GSLO = (
    "Guaranteed stop losses cannot be used while the account holds both long and short positions here."
)

# -- TransactionRejectReason (spec, 143 values) and OrderCancelReason (spec, 47 values) -----------
# Names present in both enums mean the same thing in both and appear once.

_EXACT: dict[str, ErrorRule] = {
    # failures of OANDA itself
    "INTERNAL_SERVER_ERROR": (C.SERVICE_UNAVAILABLE, _INTERNAL),
    "MIGRATION": (C.SERVICE_UNAVAILABLE, _MIGRATION),
    # funds and margin
    "INSUFFICIENT_MARGIN": (C.INSUFFICIENT_FUNDS, _MARGIN),
    "INSUFFICIENT_FUNDS": (C.INSUFFICIENT_FUNDS, _FUNDS),
    "MARGIN_RATE_WOULD_TRIGGER_CLOSEOUT": (C.INSUFFICIENT_FUNDS, _MARGIN_RATE),
    "MARGIN_RATE_WOULD_TRIGGER_MARGIN_CALL": (C.INSUFFICIENT_FUNDS, _MARGIN_RATE),
    # instrument
    "INSTRUMENT_NOT_TRADEABLE": (C.INVALID_INSTRUMENT, _NOT_TRADEABLE),
    "INSTRUMENT_MISSING": (C.INVALID_INSTRUMENT, _INSTRUMENT),
    "INSTRUMENT_UNKNOWN": (C.INVALID_INSTRUMENT, _INSTRUMENT),
    "INSTRUMENT_BID_REDUCE_ONLY": (C.INVALID_INSTRUMENT, _REDUCE_ONLY),
    "INSTRUMENT_ASK_REDUCE_ONLY": (C.INVALID_INSTRUMENT, _REDUCE_ONLY),
    # market closed or halted
    "MARKET_HALTED": (C.MARKET_CLOSED, _HALTED),
    "INSTRUMENT_PRICE_UNKNOWN": (C.MARKET_CLOSED, _NO_PRICE),
    "INSTRUMENT_BID_HALTED": (C.MARKET_CLOSED, _SIDE_HALTED),
    "INSTRUMENT_ASK_HALTED": (C.MARKET_CLOSED, _SIDE_HALTED),
    "STOP_LOSS_ON_FILL_GUARANTEED_BID_HALTED": (C.MARKET_CLOSED, _GSLO_HALTED),
    "STOP_LOSS_ON_FILL_GUARANTEED_ASK_HALTED": (C.MARKET_CLOSED, _GSLO_HALTED),
    "STOP_LOSS_ORDER_GUARANTEED_HALTED_CREATE_VIOLATION": (C.MARKET_CLOSED, _GSLO_HALTED),
    "STOP_LOSS_ORDER_GUARANTEED_HALTED_TIGHTEN_VIOLATION": (C.MARKET_CLOSED, _GSLO_HALTED),
    # account state and locks
    "ACCOUNT_NOT_ACTIVE": (C.PERMISSION_DENIED, _ACCOUNT_INACTIVE),
    "ACCOUNT_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_ORDER_CREATION_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_CONFIGURATION_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_DEPOSIT_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_WITHDRAWAL_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_ORDER_CANCEL_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_NEW_POSITIONS_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    "ACCOUNT_ORDER_FILL_LOCKED": (C.PERMISSION_DENIED, _ACCOUNT_LOCKED),
    # orders, trades and positions that do not exist (or no longer)
    "ORDER_DOESNT_EXIST": (C.ORDER_NOT_FOUND, _ORDER_GONE),
    "NO_SUCH_ORDER": (C.ORDER_NOT_FOUND, _NO_SUCH_ORDER),  # real 404 bodies; not in the spec's enum
    "CLIENT_REQUEST": (C.ORDER_NOT_FOUND, _CLIENT_CANCELLED),
    "CLIENT_REQUEST_REPLACED": (C.ORDER_NOT_FOUND, _REPLACED),
    "TRADE_DOESNT_EXIST": (C.POSITION_NOT_FOUND, _TRADE_GONE),
    "LINKED_TRADE_CLOSED": (C.POSITION_NOT_FOUND, _LINKED_TRADE_CLOSED),
    "CLOSEOUT_POSITION_DOESNT_EXIST": (C.POSITION_NOT_FOUND, _POSITION_GONE),
    # duplicate client ids
    "CLIENT_ORDER_ID_ALREADY_EXISTS": (C.DUPLICATE_ORDER, _CLIENT_ID_TAKEN),
    "CLIENT_TRADE_ID_ALREADY_EXISTS": (C.DUPLICATE_ORDER, _CLIENT_ID_TAKEN),
    "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS": (C.DUPLICATE_ORDER, _CLIENT_ID_TAKEN),
    "STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS": (C.DUPLICATE_ORDER, _CLIENT_ID_TAKEN),
    "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_ALREADY_EXISTS": (C.DUPLICATE_ORDER, _CLIENT_ID_TAKEN),
    # features this account or order type does not offer
    "TRADE_ON_FILL_CLIENT_EXTENSIONS_NOT_SUPPORTED": (C.UNSUPPORTED_OPERATION, _TRADE_EXTENSIONS_UNSUPPORTED),
    "TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED": (C.UNSUPPORTED_OPERATION, _TSL_NOT_OFFERED),
    "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED": (C.UNSUPPORTED_OPERATION, _GSLO_NOT_OFFERED),
    "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED": (C.UNSUPPORTED_OPERATION, _GSLO_NOT_OFFERED),
    # the order as sent is invalid: ids and options
    "ORDER_ID_UNSPECIFIED": (C.INVALID_ORDER, _ORDER_SPECIFIER),
    "ORDER_IDENTIFIER_INCONSISTENCY": (C.INVALID_ORDER, _ORDER_SPECIFIER),
    "TRADE_ID_UNSPECIFIED": (C.INVALID_ORDER, _ORDER_SPECIFIER),
    "TRADE_IDENTIFIER_INCONSISTENCY": (C.INVALID_ORDER, _ORDER_SPECIFIER),
    "REPLACING_ORDER_INVALID": (C.INVALID_ORDER, _REPLACING),
    "REPLACING_TRADE_ID_INVALID": (C.INVALID_ORDER, _REPLACING),
    "ORDER_FILL_POSITION_ACTION_MISSING": (C.INVALID_ORDER, _ORDER_OPTION),
    "ORDER_FILL_POSITION_ACTION_INVALID": (C.INVALID_ORDER, _ORDER_OPTION),
    "TRIGGER_CONDITION_MISSING": (C.INVALID_ORDER, _ORDER_OPTION),
    "TRIGGER_CONDITION_INVALID": (C.INVALID_ORDER, _ORDER_OPTION),
    "ORDER_PARTIAL_FILL_OPTION_MISSING": (C.INVALID_ORDER, _ORDER_OPTION),
    "ORDER_PARTIAL_FILL_OPTION_INVALID": (C.INVALID_ORDER, _ORDER_OPTION),
    "INVALID_REISSUE_IMMEDIATE_PARTIAL_FILL": (C.INVALID_ORDER, _ORDER_OPTION),
    # units
    "UNITS_MISSING": (C.INVALID_ORDER, _UNITS),
    "UNITS_INVALID": (C.INVALID_ORDER, _UNITS),
    "UNITS_PRECISION_EXCEEDED": (C.INVALID_ORDER, _UNITS),
    "UNITS_MIMIMUM_NOT_MET": (C.INVALID_ORDER, _UNITS),  # sic: OANDA's spelling
    "UNITS_LIMIT_EXCEEDED": (C.INVALID_ORDER, _UNITS_LIMIT),
    # price, distance, bounds, time in force
    "PRICE_MISSING": (C.INVALID_ORDER, _PRICE),
    "PRICE_INVALID": (C.INVALID_ORDER, _PRICE),
    "PRICE_PRECISION_EXCEEDED": (C.INVALID_ORDER, _PRICE),
    "PRICE_DISTANCE_MISSING": (C.INVALID_ORDER, _DISTANCE),
    "PRICE_DISTANCE_INVALID": (C.INVALID_ORDER, _DISTANCE),
    "PRICE_DISTANCE_PRECISION_EXCEEDED": (C.INVALID_ORDER, _DISTANCE),
    "PRICE_DISTANCE_MAXIMUM_EXCEEDED": (C.INVALID_ORDER, _DISTANCE),
    "PRICE_DISTANCE_MINIMUM_NOT_MET": (C.INVALID_ORDER, _DISTANCE),
    "PRICE_BOUND_INVALID": (C.INVALID_ORDER, _PRICE_BOUND),
    "PRICE_BOUND_PRECISION_EXCEEDED": (C.INVALID_ORDER, _PRICE_BOUND),
    "TIME_IN_FORCE_MISSING": (C.INVALID_ORDER, _TIF),
    "TIME_IN_FORCE_INVALID": (C.INVALID_ORDER, _TIF),
    "TIME_IN_FORCE_GTD_TIMESTAMP_MISSING": (C.INVALID_ORDER, _TIF),
    "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST": (C.INVALID_ORDER, _TIF),
    # client extensions
    "CLIENT_ORDER_ID_INVALID": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "CLIENT_ORDER_TAG_INVALID": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "CLIENT_ORDER_COMMENT_INVALID": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "CLIENT_TRADE_ID_INVALID": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "CLIENT_TRADE_TAG_INVALID": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "CLIENT_TRADE_COMMENT_INVALID": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "CLIENT_EXTENSIONS_DATA_MISSING": (C.INVALID_ORDER, _CLIENT_EXTENSIONS),
    "ORDERS_ON_FILL_DUPLICATE_CLIENT_ORDER_IDS": (C.INVALID_ORDER, _ON_FILL_IDS),
    # dependent orders that exist already
    "TAKE_PROFIT_ORDER_ALREADY_EXISTS": (C.INVALID_ORDER, _EXISTS),
    "STOP_LOSS_ORDER_ALREADY_EXISTS": (C.INVALID_ORDER, _EXISTS),
    "TRAILING_STOP_LOSS_ORDER_ALREADY_EXISTS": (C.INVALID_ORDER, _EXISTS),
    # take profit on fill
    "TAKE_PROFIT_ON_FILL_PRICE_MISSING": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_PRICE_INVALID": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_TIME_IN_FORCE_MISSING": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_TIME_IN_FORCE_INVALID": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_GTD_TIMESTAMP_MISSING": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_GTD_TIMESTAMP_IN_PAST": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_ID_INVALID": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_TAG_INVALID": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_CLIENT_ORDER_COMMENT_INVALID": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_TRIGGER_CONDITION_MISSING": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_TRIGGER_CONDITION_INVALID": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED": (C.INVALID_ORDER, _TP_ON_FILL),
    "TAKE_PROFIT_ON_FILL_LOSS": (C.INVALID_ORDER, _TP_LOSS),
    "LOSING_TAKE_PROFIT": (C.INVALID_ORDER, _TP_LOSS),
    # stop loss (guaranteed or not)
    "STOP_LOSS_ORDER_GUARANTEED_REQUIRED": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ORDER_GUARANTEED_PRICE_WITHIN_SPREAD": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ORDER_GUARANTEED_HEDGING_NOT_ALLOWED": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ORDER_GUARANTEED_MINIMUM_DISTANCE_NOT_MET": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ORDER_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ORDER_NOT_CANCELABLE": (C.INVALID_ORDER, _SL_LOCKED),
    "STOP_LOSS_ORDER_NOT_REPLACEABLE": (C.INVALID_ORDER, _SL_LOCKED),
    "STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED": (C.INVALID_ORDER, _SL_PRICE_OR_DISTANCE),
    "STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING": (C.INVALID_ORDER, _SL_PRICE_OR_DISTANCE),
    "STOP_LOSS_ON_FILL_REQUIRED_FOR_PENDING_ORDER": (C.INVALID_ORDER, _SL_REQUIRED),
    "STOP_LOSS_ON_FILL_REQUIRED": (C.INVALID_ORDER, _SL_REQUIRED),
    "STOP_LOSS_ON_FILL_GUARANTEED_REQUIRED": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ON_FILL_GUARANTEED_MINIMUM_DISTANCE_NOT_MET": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ON_FILL_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED": (C.INVALID_ORDER, _GSLO_RULE),
    "STOP_LOSS_ON_FILL_GUARANTEED_HEDGING_NOT_ALLOWED": (C.INVALID_ORDER, _GSLO_RULE),
    "HEDGING_GSLO_VIOLATION": (C.INVALID_ORDER, _HEDGING_GSLO),
    "STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED": (C.INVALID_ORDER, _SL_PRICE_OR_DISTANCE),
    "STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING": (C.INVALID_ORDER, _SL_PRICE_OR_DISTANCE),
    "STOP_LOSS_ON_FILL_PRICE_MISSING": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_PRICE_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_DISTANCE_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_DISTANCE_PRECISION_EXCEEDED": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_TIME_IN_FORCE_MISSING": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_GTD_TIMESTAMP_MISSING": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_GTD_TIMESTAMP_IN_PAST": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_CLIENT_ORDER_TAG_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_CLIENT_ORDER_COMMENT_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_TRIGGER_CONDITION_MISSING": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_TRIGGER_CONDITION_INVALID": (C.INVALID_ORDER, _SL_ON_FILL),
    "STOP_LOSS_ON_FILL_LOSS": (C.INVALID_ORDER, _SL_LOSS),
    # trailing stop loss on fill
    "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MISSING": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_INVALID": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_PRECISION_EXCEEDED": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MINIMUM_NOT_MET": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_TIME_IN_FORCE_MISSING": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_GTD_TIMESTAMP_MISSING": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_GTD_TIMESTAMP_IN_PAST": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_ID_INVALID": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_TAG_INVALID": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_CLIENT_ORDER_COMMENT_INVALID": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_TRIGGER_CONDITION_MISSING": (C.INVALID_ORDER, _TSL_ON_FILL),
    "TRAILING_STOP_LOSS_ON_FILL_TRIGGER_CONDITION_INVALID": (C.INVALID_ORDER, _TSL_ON_FILL),
    # closing trades and positions
    "CLOSE_TRADE_TYPE_MISSING": (C.INVALID_ORDER, _CLOSE_TRADE),
    "CLOSE_TRADE_PARTIAL_UNITS_MISSING": (C.INVALID_ORDER, _CLOSE_TRADE),
    "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE": (C.INVALID_ORDER, _CLOSE_TRADE),
    "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION": (C.INVALID_ORDER, _CLOSEOUT),
    "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE": (C.INVALID_ORDER, _CLOSEOUT),
    "CLOSEOUT_POSITION_PARTIAL_UNITS_MISSING": (C.INVALID_ORDER, _CLOSEOUT),
    "CLOSEOUT_POSITION_REJECT": (C.INVALID_ORDER, _CLOSEOUT_REJECT),
    "POSITION_CLOSEOUT_FAILED": (C.INVALID_ORDER, _CLOSEOUT_FAILED),
    # execution outcomes that cancel an accepted order
    "TIME_IN_FORCE_EXPIRED": (C.INVALID_ORDER, _TIF_EXPIRED),
    "FIFO_VIOLATION": (C.INVALID_ORDER, _FIFO),
    "BOUNDS_VIOLATION": (C.INVALID_ORDER, _BOUNDS),
    "INSUFFICIENT_LIQUIDITY": (C.INVALID_ORDER, _LIQUIDITY),
    # account limits
    "PENDING_ORDERS_ALLOWED_EXCEEDED": (C.INVALID_ORDER, _PENDING_LIMIT),
    "OPEN_TRADES_ALLOWED_EXCEEDED": (C.INVALID_ORDER, _OPEN_TRADES_LIMIT),
    "POSITION_SIZE_EXCEEDED": (C.INVALID_ORDER, _POSITION_LIMIT),
    "ACCOUNT_POSITION_VALUE_LIMIT_EXCEEDED": (C.INVALID_ORDER, _POSITION_LIMIT),
    # account configuration, administration and funding requests
    "MARGIN_RATE_INVALID": (C.INVALID_ORDER, _ACCOUNT_CONFIG),
    "ALIAS_INVALID": (C.INVALID_ORDER, _ACCOUNT_CONFIG),
    "CLIENT_CONFIGURE_DATA_MISSING": (C.INVALID_ORDER, _ACCOUNT_CONFIG),
    "MARKUP_GROUP_ID_INVALID": (C.INVALID_ORDER, _ADMIN),
    "POSITION_AGGREGATION_MODE_INVALID": (C.INVALID_ORDER, _ADMIN),
    "ADMIN_CONFIGURE_DATA_MISSING": (C.INVALID_ORDER, _ADMIN),
    "AMOUNT_INVALID": (C.INVALID_ORDER, _FUNDING),
    "AMOUNT_MISSING": (C.INVALID_ORDER, _FUNDING),
    "FUNDING_REASON_MISSING": (C.INVALID_ORDER, _FUNDING),
}

# Messages of real responses without an errorCode (sources in the module docstring); checked in order.
_PATTERNS: list[PatternRule] = [
    (r"insufficient authorization to perform request", C.AUTHENTICATION_FAILED),
    (r"the provided request was forbidden", C.PERMISSION_DENIED),
    # 'instruments' is the pricing endpoints' parameter name (spec: GET …/pricing, …/pricing/stream).
    (r"invalid value specified for '(order\.)?instruments?'", C.INVALID_INSTRUMENT, _INSTRUMENT),
    (r"invalid value specified for", C.INVALID_ORDER),
    (r"the request was missing required data", C.INVALID_ORDER),
    (r"the order (id )?specified does not exist", C.ORDER_NOT_FOUND, _ORDER_GONE),
    (r"insufficient margin", C.INSUFFICIENT_FUNDS, _MARGIN),
    (r"market (is )?halted", C.MARKET_CLOSED, _HALTED),
]

_STATUS: dict[int, ErrorRule] = {
    400: (C.INVALID_ORDER, "OANDA refused the request's data; fix the field the errorMessage names."),
    401: C.AUTHENTICATION_FAILED,
    403: C.PERMISSION_DENIED,
    404: (
        C.ORDER_NOT_FOUND,
        "OANDA does not know this account, order or trade id; check account_id and refresh pending orders.",
    ),
    405: (C.UNSUPPORTED_OPERATION, "Wrong HTTP method for this OANDA endpoint: an adapter bug; report it."),
    416: (C.INVALID_ORDER, "The transaction id range asked for is outside the account's history; narrow it."),
    429: C.RATE_LIMITED,
}

_ACTIONS = {
    C.AUTHENTICATION_FAILED: (
        "OANDA answers 401 for a bad or revoked token and for a practice token used on live (or the reverse): "
        "check the token and that the environment matches it (api-fxpractice vs api-fxtrade)."
    ),
    C.PERMISSION_DENIED: (
        "The token is valid but may not act on this account; use an account id that GET /v3/accounts lists "
        "for this token."
    ),
    C.RATE_LIMITED: (
        "OANDA allows about 100 requests/s on a persistent connection and 2 new connections/s: keep the "
        "connection alive, wait retry_after seconds, and lower requests_per_second."
    ),
    C.SERVICE_UNAVAILABLE: (
        "OANDA is failing or in maintenance (a 503 may be an HTML page); retry reads later, and look an order "
        "up by client id before sending it again."
    ),
}

OANDA_ERROR_TABLE = ErrorMappingTable(
    exact=_EXACT,
    patterns=_PATTERNS,
    http_status=_STATUS,
    suggested_actions=_ACTIONS,
    code_fields=(
        "errorCode",
        "orderRejectTransaction.rejectReason",
        "orderCancelRejectTransaction.rejectReason",
        "longOrderRejectTransaction.rejectReason",
        "shortOrderRejectTransaction.rejectReason",
        "orderReissueRejectTransaction.rejectReason",
        "orderCancelTransaction.reason",
        "longOrderCancelTransaction.reason",
        "shortOrderCancelTransaction.reason",
    ),
    message_fields=("errorMessage",),
    default_retry_after=1.0,
    description="OANDA v20: TransactionRejectReason and OrderCancelReason (spec v3.0.25), HTTP errors.",
)
