"""The standard error codes, what a user should do about each, and which leave an order's outcome open."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broker_integration.errors._model import StandardizedError

__all__ = [
    "AMBIGUOUS_CODES",
    "AMBIGUOUS_IF_SENT",
    "DEFAULT_SUGGESTED_ACTIONS",
    "TRANSIENT_CODES",
    "StandardErrorCode",
    "is_ambiguous",
    "is_retryable_code",
]


class StandardErrorCode(StrEnum):
    """The standard error codes every broker's errors map onto."""

    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INVALID_INSTRUMENT = "INVALID_INSTRUMENT"
    MARKET_CLOSED = "MARKET_CLOSED"
    RATE_LIMITED = "RATE_LIMITED"
    CONNECTION_ERROR = "CONNECTION_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INVALID_ORDER = "INVALID_ORDER"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    POSITION_NOT_FOUND = "POSITION_NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    TIMEOUT = "TIMEOUT"
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    UNSUPPORTED_OPERATION = "UNSUPPORTED_OPERATION"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    UNKNOWN = "UNKNOWN"


#: Codes for which repeating the same call later can succeed.
TRANSIENT_CODES: frozenset[StandardErrorCode] = frozenset(
    {
        StandardErrorCode.RATE_LIMITED,
        StandardErrorCode.CONNECTION_ERROR,
        StandardErrorCode.SERVICE_UNAVAILABLE,
        StandardErrorCode.TIMEOUT,
        StandardErrorCode.OUTCOME_UNKNOWN,
    }
)

#: What a user should do about each code, when the broker's table has nothing more specific.
DEFAULT_SUGGESTED_ACTIONS: Mapping[StandardErrorCode, str] = {
    StandardErrorCode.AUTHENTICATION_FAILED: "Check the API key/token and account id for this broker and "
    "environment (practice vs live); rotate the credential if it expired.",
    StandardErrorCode.INSUFFICIENT_FUNDS: "Reduce the order size or add funds/margin to the account; check "
    "margin used by open positions.",
    StandardErrorCode.INVALID_INSTRUMENT: "Check the symbol and that the account may trade it; run capability "
    "discovery to list the broker's instruments.",
    StandardErrorCode.MARKET_CLOSED: "Wait for the market to open or use an instrument that trades now; "
    "queue the order with a GTC limit if the broker allows it.",
    StandardErrorCode.RATE_LIMITED: "Slow down: wait for retry_after seconds, then lower requests_per_second "
    "in this broker's limits.",
    StandardErrorCode.CONNECTION_ERROR: "Check network reachability of the broker's endpoint; the call is "
    "retried automatically when it is safe to repeat.",
    StandardErrorCode.SERVICE_UNAVAILABLE: "The broker is failing or in maintenance; retry later or route "
    "orders to another broker.",
    StandardErrorCode.INVALID_ORDER: "Fix the order's fields (price, size, time in force, stops) as the "
    "message says; check the instrument's tick size and minimum size.",
    StandardErrorCode.ORDER_NOT_FOUND: "The order id is unknown to the broker or already final; refresh "
    "open orders before acting on it.",
    StandardErrorCode.POSITION_NOT_FOUND: "There is no open position in this instrument; refresh positions.",
    StandardErrorCode.PERMISSION_DENIED: "The credential lacks permission for this action or account; check "
    "the account's trading permissions with the broker.",
    StandardErrorCode.TIMEOUT: "The broker did not answer in time; raise timeout_seconds if this repeats.",
    StandardErrorCode.DUPLICATE_ORDER: "An order with this client order id exists already; look it up "
    "instead of sending it again.",
    StandardErrorCode.UNSUPPORTED_OPERATION: "This broker does not offer this operation or order type; check "
    "its capability profile or route to a broker that does.",
    StandardErrorCode.OUTCOME_UNKNOWN: "The order may have executed; it is being resolved by lookup. Do not "
    "resend it: check the order by its client order id.",
    StandardErrorCode.UNKNOWN: "Unrecognised broker error; see broker_error_code and message, and report it "
    "so the mapping table can be extended.",
}


def is_retryable_code(code: StandardErrorCode) -> bool:
    """Whether repeating a call that failed with ``code`` can help and is safe.

    Transient codes are retryable, except OUTCOME_UNKNOWN: the request may have executed, so it is
    resolved by lookup and never blindly repeated.
    """
    return code in TRANSIENT_CODES and code is not StandardErrorCode.OUTCOME_UNKNOWN


#: Failures after which a state-changing request (an order) may or may not have reached the broker.
#: UNKNOWN is among them: an adapter that failed to read the answer to an order cannot say it did not execute.
AMBIGUOUS_CODES: frozenset[StandardErrorCode] = frozenset(
    {
        StandardErrorCode.TIMEOUT,
        StandardErrorCode.CONNECTION_ERROR,
        StandardErrorCode.SERVICE_UNAVAILABLE,
        StandardErrorCode.OUTCOME_UNKNOWN,
        StandardErrorCode.UNKNOWN,
    }
)


def is_ambiguous(error: StandardizedError) -> bool:
    """Whether ``error``, met while sending a state change, leaves its outcome open.

    An error known not to have been sent (``sent`` False: a refused connection, an open breaker) never does.
    """
    return error.error_code in AMBIGUOUS_CODES and error.sent is not False


#: Codes that, for a request that may already have executed (an order sent), mean the outcome is unknown:
#: :func:`~broker_integration.errors.map_broker_error` turns them into OUTCOME_UNKNOWN when told so.
AMBIGUOUS_IF_SENT: frozenset[StandardErrorCode] = frozenset(
    {
        StandardErrorCode.TIMEOUT,
        StandardErrorCode.CONNECTION_ERROR,
        StandardErrorCode.SERVICE_UNAVAILABLE,
    }
)
