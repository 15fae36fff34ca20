"""One set of error codes for every broker, the exceptions that carry them, and the standardized error value.

Every failure that leaves an adapter is a :class:`BrokerError` whose ``error`` is a
:class:`StandardizedError`: a standard code, the broker's own code and message, the HTTP status, what to
do about it, and whether repeating the call can help. Transient errors (network, rate limits, outages)
are separated from permanent ones (a refused order), as CCXT separates network from exchange errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AuthenticationError",
    "BrokerConnectionError",
    "BrokerError",
    "BrokerTimeoutError",
    "DuplicateOrderError",
    "InsufficientFundsError",
    "InvalidInstrumentError",
    "InvalidOrderError",
    "MarketClosedError",
    "OrderNotFoundError",
    "OutcomeUnknownError",
    "PermanentBrokerError",
    "PermissionDeniedError",
    "PositionNotFoundError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "StandardErrorCode",
    "StandardizedError",
    "TransientBrokerError",
    "UnknownBrokerError",
    "UnsupportedOperationError",
    "classify_exception",
    "error_class_for",
    "make_error",
    "mask_secrets",
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

_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|authorization|credential|signature)", re.I
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.I)
MASK = "***"


def mask_secrets(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context`` with every value under a secret-looking key replaced by ``***``."""
    masked: dict[str, Any] = {}
    for key, value in context.items():
        if _SECRET_KEY.search(str(key)):
            masked[key] = MASK
        elif isinstance(value, Mapping):
            masked[key] = mask_secrets(value)
        elif isinstance(value, str):
            masked[key] = _BEARER.sub(r"\1" + MASK, value)
        else:
            masked[key] = value
    return masked


class StandardizedError(BaseModel):
    """A broker error in standard terms; safe to log, store and export (context is secret-masked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_code: StandardErrorCode
    message: str
    broker_name: str = ""
    broker_error_code: str | None = None
    http_status: int | None = None
    suggested_action: str = ""
    retryable: bool = False
    retry_after: float | None = Field(default=None, ge=0)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    context: Mapping[str, Any] = Field(default_factory=dict)

    @field_validator("context", mode="before")
    @classmethod
    def _mask(cls, value: Any) -> Any:
        return mask_secrets(value) if isinstance(value, Mapping) else value

    @property
    def is_transient(self) -> bool:
        return self.error_code in TRANSIENT_CODES

    def __str__(self) -> str:
        where = f"{self.broker_name}: " if self.broker_name else ""
        theirs = f" [{self.broker_error_code}]" if self.broker_error_code else ""
        return f"{where}{self.error_code.value}{theirs}: {self.message}"


def make_error(
    code: StandardErrorCode,
    message: str,
    *,
    broker_name: str = "",
    broker_error_code: str | None = None,
    http_status: int | None = None,
    suggested_action: str | None = None,
    retryable: bool | None = None,
    retry_after: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> StandardizedError:
    """Build a :class:`StandardizedError` with the code's default action and retryability filled in."""
    return StandardizedError(
        error_code=code,
        message=message,
        broker_name=broker_name,
        broker_error_code=broker_error_code,
        http_status=http_status,
        suggested_action=suggested_action or DEFAULT_SUGGESTED_ACTIONS[code],
        retryable=(code in TRANSIENT_CODES and code is not StandardErrorCode.OUTCOME_UNKNOWN)
        if retryable is None
        else retryable,
        retry_after=retry_after,
        context=context or {},
    )


class BrokerError(Exception):
    """Base of every error an adapter raises; ``error`` holds the standardized details."""

    code: ClassVar[StandardErrorCode] = StandardErrorCode.UNKNOWN

    def __init__(self, error: StandardizedError | str, **kwargs: Any) -> None:
        if isinstance(error, str):
            error = make_error(self.code, error, **kwargs)
        super().__init__(str(error))
        self.error = error

    @property
    def error_code(self) -> StandardErrorCode:
        return self.error.error_code

    @property
    def retryable(self) -> bool:
        return self.error.retryable

    @property
    def suggested_action(self) -> str:
        return self.error.suggested_action

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.error,))


class TransientBrokerError(BrokerError):
    """The call failed for a reason that may pass (network, limits, outage)."""


class PermanentBrokerError(BrokerError):
    """The broker refused the request; repeating it unchanged will fail again."""


class AuthenticationError(PermanentBrokerError):
    code = StandardErrorCode.AUTHENTICATION_FAILED


class InsufficientFundsError(PermanentBrokerError):
    code = StandardErrorCode.INSUFFICIENT_FUNDS


class InvalidInstrumentError(PermanentBrokerError):
    code = StandardErrorCode.INVALID_INSTRUMENT


class MarketClosedError(PermanentBrokerError):
    code = StandardErrorCode.MARKET_CLOSED


class InvalidOrderError(PermanentBrokerError):
    code = StandardErrorCode.INVALID_ORDER


class OrderNotFoundError(PermanentBrokerError):
    code = StandardErrorCode.ORDER_NOT_FOUND


class PositionNotFoundError(PermanentBrokerError):
    code = StandardErrorCode.POSITION_NOT_FOUND


class PermissionDeniedError(PermanentBrokerError):
    code = StandardErrorCode.PERMISSION_DENIED


class DuplicateOrderError(PermanentBrokerError):
    code = StandardErrorCode.DUPLICATE_ORDER


class UnsupportedOperationError(PermanentBrokerError):
    code = StandardErrorCode.UNSUPPORTED_OPERATION


class UnknownBrokerError(PermanentBrokerError):
    code = StandardErrorCode.UNKNOWN


class RateLimitedError(TransientBrokerError):
    code = StandardErrorCode.RATE_LIMITED


class BrokerConnectionError(TransientBrokerError):
    code = StandardErrorCode.CONNECTION_ERROR


class ServiceUnavailableError(TransientBrokerError):
    code = StandardErrorCode.SERVICE_UNAVAILABLE


class BrokerTimeoutError(TransientBrokerError):
    code = StandardErrorCode.TIMEOUT


class OutcomeUnknownError(TransientBrokerError):
    """The request may have executed; resolve by lookup, never by resending."""

    code = StandardErrorCode.OUTCOME_UNKNOWN


_CLASS_BY_CODE: dict[StandardErrorCode, type[BrokerError]] = {
    cls.code: cls
    for cls in (
        AuthenticationError,
        InsufficientFundsError,
        InvalidInstrumentError,
        MarketClosedError,
        InvalidOrderError,
        OrderNotFoundError,
        PositionNotFoundError,
        PermissionDeniedError,
        DuplicateOrderError,
        UnsupportedOperationError,
        UnknownBrokerError,
        RateLimitedError,
        BrokerConnectionError,
        ServiceUnavailableError,
        BrokerTimeoutError,
        OutcomeUnknownError,
    )
}


def error_class_for(code: StandardErrorCode) -> type[BrokerError]:
    """The exception class that carries ``code``."""
    return _CLASS_BY_CODE[code]


def classify_exception(
    exc: BaseException, *, broker_name: str = "", operation: str | None = None
) -> StandardizedError:
    """A standardized error for an exception that is not a :class:`BrokerError`.

    Timeouts become TIMEOUT, socket and HTTP-client connection failures CONNECTION_ERROR,
    ``NotImplementedError`` UNSUPPORTED_OPERATION; anything else UNKNOWN, with the exception's type
    in the context so the gap is visible. Works by class hierarchy, so no HTTP library is imported.
    """
    context: dict[str, Any] = {"exception": type(exc).__name__}
    if operation:
        context["operation"] = operation
    text = str(exc) or type(exc).__name__
    if isinstance(exc, BrokerError):
        return exc.error
    if isinstance(exc, TimeoutError):
        code = StandardErrorCode.TIMEOUT
    elif isinstance(exc, NotImplementedError):
        code = StandardErrorCode.UNSUPPORTED_OPERATION
    elif isinstance(exc, OSError) or any(
        "Connection" in klass.__name__ or "Disconnected" in klass.__name__ for klass in type(exc).__mro__
    ):
        code = StandardErrorCode.CONNECTION_ERROR
    else:
        code = StandardErrorCode.UNKNOWN
    return make_error(code, text, broker_name=broker_name, context=context)


def raise_error(error: StandardizedError) -> None:
    """Raise the exception class that matches ``error.error_code``."""
    raise error_class_for(error.error_code)(error)
