"""CCXT's exception classes mapped to the standard codes, as data.

CCXT turns every exchange's errors into one hierarchy of exception classes (``ccxt/base/errors.py``; the
tree is in CCXT's manual, "Error Handling"): ``ExchangeError`` and its subclasses for refusals, which
repeating will not cure, and ``OperationFailed`` (``NetworkError`` …) for failures that may pass. The
adapter looks up the most specific class of an exception that this table names (walking the class's
ancestry), so a class CCXT adds later still maps through its parent. A venue's own code is kept in the
error's context (``exchange_code``).

Judgements that differ from CCXT's own grouping, and why:

* ``InvalidNonce`` (Binance ``-1021``: the timestamp outside ``recvWindow``) is a ``NetworkError`` in CCXT,
  but the venue refused the request unexecuted for its signature's timing: AUTHENTICATION_FAILED, with the
  clock as the remedy.
* ``ExchangeNotAvailable`` covers 5xx answers and, in CCXT's own mapping of HTTP statuses, 400, 403 and 404
  too (ccxt/ccxt#550); it stays SERVICE_UNAVAILABLE, which for an order already sent means its outcome is
  unknown, the cautious reading.
* ``BadResponse``/``NullResponse`` (an answer CCXT could not read) are UNKNOWN: the request reached the
  venue and what it did is not known.
* ``InvalidOrder`` carrying Binance's "Duplicate order sent." is a duplicate client order id.
"""

from __future__ import annotations

from broker_integration.errors import ErrorMappingTable
from broker_integration.errors import StandardErrorCode as C

__all__ = ["CCXT_ERROR_TABLE", "TURNED_AWAY"]

_CLOCK = (
    "The exchange refused the request's timestamp (outside its receive window): sync this machine's clock "
    "(NTP), or set exchange_options adjustForTimeDifference: true so ccxt signs with the exchange's time."
)
_DUPLICATE = (
    "An open order holds this client order id already; look the order up instead of sending it again."
)
_ARGUMENTS = "ccxt needs an argument the adapter did not give for this exchange (a symbol, say): report it."
_PROXY = "ccxt's proxy settings conflict (more than one proxy set); fix exchange_options."
_NOT_SUPPORTED = (
    "ccxt or the exchange does not offer this call here; check the capability profile (ccxt's has flags are "
    "verified by discovery)."
)

#: ccxt exception class name → standard code.
CCXT_ERROR_TABLE = ErrorMappingTable(
    exact={
        "BaseError": C.UNKNOWN,
        "ExchangeError": C.UNKNOWN,
        "AuthenticationError": C.AUTHENTICATION_FAILED,
        "PermissionDenied": C.PERMISSION_DENIED,
        "AccountNotEnabled": C.PERMISSION_DENIED,
        "AccountSuspended": C.PERMISSION_DENIED,
        "ArgumentsRequired": (C.INVALID_ORDER, _ARGUMENTS),
        "BadRequest": C.INVALID_ORDER,
        "BadSymbol": C.INVALID_INSTRUMENT,
        "OperationRejected": C.INVALID_ORDER,
        "NoChange": C.INVALID_ORDER,
        "MarginModeAlreadySet": C.INVALID_ORDER,
        "MarketClosed": C.MARKET_CLOSED,
        "ManualInteractionNeeded": C.PERMISSION_DENIED,
        "RestrictedLocation": C.PERMISSION_DENIED,
        "InsufficientFunds": C.INSUFFICIENT_FUNDS,
        "InvalidAddress": C.INVALID_ORDER,
        "AddressPending": C.INVALID_ORDER,
        "InvalidOrder": C.INVALID_ORDER,
        "OrderNotFound": C.ORDER_NOT_FOUND,
        "OrderNotCached": C.ORDER_NOT_FOUND,
        "OrderImmediatelyFillable": C.INVALID_ORDER,
        "OrderNotFillable": C.INVALID_ORDER,
        "DuplicateOrderId": (C.DUPLICATE_ORDER, _DUPLICATE),
        "ContractUnavailable": C.INVALID_INSTRUMENT,
        "NotSupported": (C.UNSUPPORTED_OPERATION, _NOT_SUPPORTED),
        "InvalidProxySettings": (C.UNKNOWN, _PROXY),
        "ExchangeClosedByUser": C.CONNECTION_ERROR,
        "OperationFailed": C.SERVICE_UNAVAILABLE,
        "NetworkError": C.CONNECTION_ERROR,
        "DDoSProtection": C.RATE_LIMITED,
        "RateLimitExceeded": C.RATE_LIMITED,
        "RequestTimeout": C.TIMEOUT,
        "ExchangeNotAvailable": C.SERVICE_UNAVAILABLE,
        "OnMaintenance": C.SERVICE_UNAVAILABLE,
        "InvalidNonce": (C.AUTHENTICATION_FAILED, _CLOCK),
        "ChecksumError": C.CONNECTION_ERROR,
        "BadResponse": C.UNKNOWN,
        "NullResponse": C.UNKNOWN,
        "CancelPending": C.INVALID_ORDER,
        "UnsubscribeError": C.UNKNOWN,
    },
    by_message={
        "InvalidOrder": ((r"Duplicate order sent", C.DUPLICATE_ORDER, _DUPLICATE),),
    },
    code_fields=(),
    message_fields=(),
    description="ccxt's exception classes (ccxt/base/errors.py); a venue's own code is in the error's context",
)

#: Classes whose exception proves the venue turned the request away unexecuted (or it never left): a rate
#: limit answered 429/418 before processing, a refused key or timestamp.
TURNED_AWAY: frozenset[str] = frozenset(
    {"DDoSProtection", "RateLimitExceeded", "AuthenticationError", "InvalidNonce"}
)
