"""The exception classes that carry a :class:`StandardizedError`, one per standard code, and raising by code.

Transient errors (network, limits, outages) and permanent ones (a refused request) have separate bases,
as CCXT separates ``NetworkError`` from ``ExchangeError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from broker_integration.errors._codes import StandardErrorCode
from broker_integration.errors._model import StandardizedError, make_error

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
    "TransientBrokerError",
    "UnknownBrokerError",
    "UnsupportedOperationError",
    "error_class_for",
    "raise_error",
]


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


def raise_error(error: StandardizedError) -> None:
    """Raise the exception class that matches ``error.error_code``."""
    raise error_class_for(error.error_code)(error)
