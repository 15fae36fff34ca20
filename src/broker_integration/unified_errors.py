"""One set of error codes for every broker, the exceptions that carry them, and the standardized error value.

Every failure that leaves an adapter is a :class:`BrokerError` whose ``error`` is a
:class:`StandardizedError`: a standard code, the broker's own code and message, the HTTP status, what to
do about it, and whether repeating the call can help. Transient errors (network, rate limits, outages)
are separated from permanent ones (a refused order), as CCXT separates network from exchange errors.

Each broker's own codes reach the standard ones through :func:`map_broker_error`, driven by per-broker
:class:`ErrorMappingTable` data (exact codes, then message patterns, then HTTP status), registered with
:func:`register_error_table`. The built-in tables live in :mod:`broker_integration.error_tables`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import re
import socket
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from broker_integration.log import get_logger, redact

if TYPE_CHECKING:
    from broker_integration.clock import Clock

__all__ = [
    "AMBIGUOUS_CODES",
    "DEFAULT_SUGGESTED_ACTIONS",
    "GENERIC_TABLE_NAME",
    "TRANSIENT_CODES",
    "AuthenticationError",
    "BrokerConnectionError",
    "BrokerError",
    "BrokerTimeoutError",
    "DuplicateOrderError",
    "ErrorMappingTable",
    "ErrorMatch",
    "ErrorRule",
    "InsufficientFundsError",
    "InvalidInstrumentError",
    "InvalidOrderError",
    "MappingRow",
    "MarketClosedError",
    "MatchSource",
    "OrderNotFoundError",
    "OutcomeUnknownError",
    "PatternRule",
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
    "describe_validation_error",
    "error_class_for",
    "get_error_table",
    "is_ambiguous",
    "is_retryable_code",
    "is_secret_key",
    "make_error",
    "map_broker_error",
    "map_http_error",
    "mask_secrets",
    "parse_retry_after",
    "raise_error",
    "register_error_table",
    "registered_error_tables",
    "reset_unmapped_error_counts",
    "resolve_error_mapping",
    "unmapped_error_counts",
    "unregister_error_table",
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


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error as ``"field: problem; field: problem"``, never with the input (it may be a secret)."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        text = err["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in err["loc"])
        problems.append(f"{where}: {text}" if where else text)
    return "; ".join(problems)


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret (``token``, ``password``, ``api_key`` ...)."""
    return _SECRET_KEY.search(str(key)) is not None


def mask_secrets(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context`` with every value under a secret-looking key replaced by ``***``.

    Nested mappings, and mappings and strings inside lists and tuples, are masked too; Bearer tokens
    in string values are masked wherever they appear.
    """
    masked: dict[str, Any] = {}
    for key, value in context.items():
        if is_secret_key(key):
            masked[key] = MASK
        else:
            masked[key] = _mask_value(value)
    return masked


def _mask_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_secrets(value)
    if isinstance(value, str):
        return _BEARER.sub(r"\1" + MASK, value)
    if isinstance(value, list):
        return [_mask_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_mask_value(item) for item in value)
    return value


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

    @field_validator("message", mode="after")
    @classmethod
    def _redact_message(cls, value: str) -> str:
        # Broker messages and exception texts can echo a request's headers or query; never keep a secret.
        return redact(value)

    @property
    def is_transient(self) -> bool:
        return self.error_code in TRANSIENT_CODES

    def __str__(self) -> str:
        where = f"{self.broker_name}: " if self.broker_name else ""
        theirs = f" [{self.broker_error_code}]" if self.broker_error_code else ""
        return f"{where}{self.error_code.value}{theirs}: {self.message}"


def is_retryable_code(code: StandardErrorCode) -> bool:
    """Whether repeating a call that failed with ``code`` can help and is safe.

    Transient codes are retryable, except OUTCOME_UNKNOWN: the request may have executed, so it is
    resolved by lookup and never blindly repeated.
    """
    return code in TRANSIENT_CODES and code is not StandardErrorCode.OUTCOME_UNKNOWN


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
        retryable=is_retryable_code(code) if retryable is None else retryable,
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
    elif _is_network_os_error(exc) or any(
        "Connection" in klass.__name__ or "Disconnected" in klass.__name__ for klass in type(exc).__mro__
    ):
        code = StandardErrorCode.CONNECTION_ERROR
    else:
        code = StandardErrorCode.UNKNOWN
    return make_error(code, text, broker_name=broker_name, context=context)


_NETWORK_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENETUNREACH",
        "EHOSTUNREACH",
        "ENETDOWN",
        "EHOSTDOWN",
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "ETIMEDOUT",
        "EPIPE",
        "ENOTCONN",
        "ESHUTDOWN",
    )
    if hasattr(errno, name)
)


def _is_network_os_error(exc: BaseException) -> bool:
    """Socket failures, not every OSError: a missing file is not a connection problem."""
    if isinstance(exc, ConnectionError | socket.gaierror | socket.herror):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


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

    An error whose context says ``sent: False`` (a refused connection, an open breaker) never does.
    """
    return error.error_code in AMBIGUOUS_CODES and error.context.get("sent") is not False


def raise_error(error: StandardizedError) -> None:
    """Raise the exception class that matches ``error.error_code``."""
    raise error_class_for(error.error_code)(error)


# --------------------------------------------------------------------------------------------------
# Mapping a broker's own errors onto the standard codes
# --------------------------------------------------------------------------------------------------

ErrorRule: TypeAlias = StandardErrorCode | tuple[StandardErrorCode, str]
"""A table entry: a standard code, or a code with a suggested action specific to this entry."""

PatternRule: TypeAlias = tuple[str, StandardErrorCode] | tuple[str, StandardErrorCode, str]
"""A message rule: a regular expression (searched case-insensitively), its code, optionally an action."""

#: The registered name of the generic HTTP table every lookup falls back to.
GENERIC_TABLE_NAME = "http"

_log = get_logger("broker_integration.errors")

_MAX_MESSAGE = 1000  # characters kept in a StandardizedError's message (an HTML 503 page is long)
_MAX_SEARCH = 4000  # characters of a message searched by patterns
_MAX_CODE = 200  # characters kept of a broker's error code
_MAX_RETRY_AFTER = 86_400.0  # a day: anything longer in a header is nonsense or a ban
_MAX_UNMAPPED_KEYS = 10_000

#: Codes that, for a request that may already have executed (an order sent), mean the outcome is unknown.
_AMBIGUOUS_IF_SENT = frozenset(
    {
        StandardErrorCode.TIMEOUT,
        StandardErrorCode.CONNECTION_ERROR,
        StandardErrorCode.SERVICE_UNAVAILABLE,
    }
)


class MatchSource(StrEnum):
    """Which kind of table row decided a mapping; ``UNMAPPED`` means none did (the code is UNKNOWN)."""

    EXACT = "exact"
    BY_MESSAGE = "by_message"
    PATTERN = "pattern"
    HTTP_STATUS = "http_status"
    HTTP_STATUS_CLASS = "http_status_class"
    UNMAPPED = "unmapped"


@dataclass(frozen=True, slots=True)
class _Rule:
    code: StandardErrorCode
    action: str | None


@dataclass(frozen=True, slots=True)
class _Pattern:
    source: str
    regex: re.Pattern[str]
    rule: _Rule


def _parse_rule(value: object, where: str) -> _Rule:
    if isinstance(value, StandardErrorCode):
        return _Rule(value, None)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], StandardErrorCode)
        and isinstance(value[1], str)
        and value[1].strip()
    ):
        return _Rule(value[0], value[1])
    raise TypeError(f"{where}: expected a StandardErrorCode or (StandardErrorCode, action), got {value!r}")


def _parse_pattern(value: object, where: str) -> _Pattern:
    if not (isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[0], str) and value[0]):
        raise TypeError(f"{where}: expected (regex, code) or (regex, code, action), got {value!r}")
    try:
        regex = re.compile(value[0], re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{where}: invalid pattern {value[0]!r}: {exc}") from exc
    rule = _parse_rule(value[1] if len(value) == 2 else (value[1], value[2]), where)
    return _Pattern(value[0], regex, rule)


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One row of a table, for listing and testing: ``key`` is a code, a pattern or an HTTP status.

    For ``BY_MESSAGE`` rows ``key`` is the broker code and ``pattern`` the message pattern that refines it;
    for ``HTTP_STATUS_CLASS`` rows ``key`` reads like ``5xx``.
    """

    kind: MatchSource
    key: str
    code: StandardErrorCode
    suggested_action: str
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorMatch:
    """The outcome of a table lookup: the code, the action, and which row of which table decided it."""

    code: StandardErrorCode
    suggested_action: str
    source: MatchSource
    table: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class ErrorMappingTable:
    """One broker's errors as data, in the spirit of CCXT's ``exceptions = {'exact': …, 'broad': …}``.

    Lookup order, first hit wins: ``by_message`` (for codes a broker overloads, the code's own message
    patterns), ``exact`` (the broker's error code), ``patterns`` (regexes searched in the message,
    case-insensitively, in order), ``http_status``, then ``http_status_class`` (``4`` for any 4xx, ``5``
    for any 5xx). :func:`resolve_error_mapping` runs each level over this table and then over the generic
    HTTP table before going to the next level.

    A rule is a code, or ``(code, suggested_action)``; ``suggested_actions`` overrides the default
    action per code for this broker. ``code_fields``/``message_fields`` are dotted paths into a JSON
    error body, tried in order by :func:`map_http_error`. ``default_retry_after`` is the wait, in
    seconds, put on a rate-limit error that came without a Retry-After header.

    The table validates itself at construction, so a bad row fails when its module is imported.
    """

    exact: Mapping[str, ErrorRule] = field(default_factory=dict)
    patterns: Sequence[PatternRule] = ()
    http_status: Mapping[int, ErrorRule] = field(default_factory=dict)
    by_message: Mapping[str, Sequence[PatternRule]] = field(default_factory=dict)
    http_status_class: Mapping[int, ErrorRule] = field(default_factory=dict)
    suggested_actions: Mapping[StandardErrorCode, str] = field(default_factory=dict)
    code_fields: Sequence[str] = ("errorCode", "code")
    message_fields: Sequence[str] = ("errorMessage", "message")
    default_retry_after: float = 1.0
    description: str = ""
    _exact: Mapping[str, _Rule] = field(init=False, repr=False, compare=False)
    _by_message: Mapping[str, tuple[_Pattern, ...]] = field(init=False, repr=False, compare=False)
    _patterns: tuple[_Pattern, ...] = field(init=False, repr=False, compare=False)
    _status: Mapping[int, _Rule] = field(init=False, repr=False, compare=False)
    _status_class: Mapping[int, _Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact: dict[str, _Rule] = {}
        for key, value in self.exact.items():
            name = str(key).strip()
            if not name or name in exact:
                raise ValueError(f"exact: empty or duplicate code {key!r}")
            exact[name] = _parse_rule(value, f"exact[{key!r}]")
        by_message = {
            str(key).strip(): tuple(_parse_pattern(p, f"by_message[{key!r}]") for p in rules)
            for key, rules in self.by_message.items()
        }
        patterns = tuple(_parse_pattern(p, "patterns") for p in self.patterns)
        status: dict[int, _Rule] = {}
        for status_key, value in self.http_status.items():
            if (
                isinstance(status_key, bool)
                or not isinstance(status_key, int)
                or not 100 <= status_key <= 599
            ):
                raise ValueError(f"http_status: {status_key!r} is not an HTTP status")
            status[status_key] = _parse_rule(value, f"http_status[{status_key}]")
        status_class: dict[int, _Rule] = {}
        for class_key, value in self.http_status_class.items():
            if isinstance(class_key, bool) or not isinstance(class_key, int) or not 1 <= class_key <= 5:
                raise ValueError(f"http_status_class: {class_key!r} is not a status class (1-5)")
            status_class[class_key] = _parse_rule(value, f"http_status_class[{class_key}]")
        for code, action in self.suggested_actions.items():
            if not isinstance(code, StandardErrorCode) or not isinstance(action, str) or not action.strip():
                raise TypeError(f"suggested_actions: bad entry {code!r}: {action!r}")
        if not math.isfinite(self.default_retry_after) or self.default_retry_after < 0:
            raise ValueError("default_retry_after must be a finite number of seconds >= 0")
        freeze = object.__setattr__
        freeze(self, "exact", MappingProxyType(dict(self.exact)))
        freeze(self, "patterns", tuple(self.patterns))
        freeze(self, "http_status", MappingProxyType(dict(self.http_status)))
        freeze(self, "by_message", MappingProxyType({k: tuple(v) for k, v in self.by_message.items()}))
        freeze(self, "http_status_class", MappingProxyType(dict(self.http_status_class)))
        freeze(self, "suggested_actions", MappingProxyType(dict(self.suggested_actions)))
        freeze(self, "code_fields", tuple(self.code_fields))
        freeze(self, "message_fields", tuple(self.message_fields))
        freeze(self, "_exact", MappingProxyType(exact))
        freeze(self, "_by_message", MappingProxyType(by_message))
        freeze(self, "_patterns", patterns)
        freeze(self, "_status", MappingProxyType(status))
        freeze(self, "_status_class", MappingProxyType(status_class))

    # -- lookups, one per level ------------------------------------------------------------------

    def _match_code(self, code: str, message: str = "") -> tuple[_Rule, MatchSource, str] | None:
        """The rule for the broker code ``code`` (its message patterns first), or ``None``."""
        for key in (code, code.upper()):
            for pattern in self._by_message.get(key, ()):
                if pattern.regex.search(message):
                    return pattern.rule, MatchSource.BY_MESSAGE, f"{key} ~ {pattern.source}"
            rule = self._exact.get(key)
            if rule is not None:
                return rule, MatchSource.EXACT, key
        return None

    def _match_message(self, message: str) -> tuple[_Rule, MatchSource, str] | None:
        """The first pattern rule found in ``message``, or ``None``."""
        if message:
            for pattern in self._patterns:
                if pattern.regex.search(message):
                    return pattern.rule, MatchSource.PATTERN, pattern.source
        return None

    def _match_status(self, status: int) -> tuple[_Rule, MatchSource, str] | None:
        """The rule for HTTP ``status`` (exact status, then its class), or ``None``."""
        rule = self._status.get(status)
        if rule is not None:
            return rule, MatchSource.HTTP_STATUS, str(status)
        rule = self._status_class.get(status // 100)
        if rule is not None:
            return rule, MatchSource.HTTP_STATUS_CLASS, f"{status // 100}xx"
        return None

    def action_for(self, code: StandardErrorCode) -> str:
        """This broker's suggested action for ``code``, or the library default."""
        return self.suggested_actions.get(code) or DEFAULT_SUGGESTED_ACTIONS[code]

    def rows(self) -> tuple[MappingRow, ...]:
        """Every row of the table, in lookup order, with its effective suggested action."""
        rows: list[MappingRow] = []

        def add(kind: MatchSource, key: str, rule: _Rule, pattern: str | None = None) -> None:
            rows.append(MappingRow(kind, key, rule.code, rule.action or self.action_for(rule.code), pattern))

        for key, patterns in self._by_message.items():
            for p in patterns:
                add(MatchSource.BY_MESSAGE, key, p.rule, p.source)
        for key, rule in self._exact.items():
            add(MatchSource.EXACT, key, rule)
        for p in self._patterns:
            add(MatchSource.PATTERN, p.source, p.rule)
        for status, rule in sorted(self._status.items()):
            add(MatchSource.HTTP_STATUS, str(status), rule)
        for klass, rule in sorted(self._status_class.items()):
            add(MatchSource.HTTP_STATUS_CLASS, f"{klass}xx", rule)
        return tuple(rows)


# -- the registry --------------------------------------------------------------------------------

_tables: dict[str, ErrorMappingTable] = {}
_registry_lock = threading.RLock()
_builtins_loaded = False


def _table_key(broker_name: object) -> str:
    return str(broker_name).strip().lower()


def _load_builtin_tables() -> None:
    """Register the shipped tables on first use (a lazy import: the tables import this module)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _registry_lock:
        if _builtins_loaded:
            return
        from broker_integration.error_tables import BUILTIN_ERROR_TABLES

        for name, table in BUILTIN_ERROR_TABLES.items():
            _tables.setdefault(name, table)  # a table registered before first use wins
        _builtins_loaded = True


def register_error_table(broker_name: str, table: ErrorMappingTable, *, replace: bool = False) -> None:
    """Use ``table`` to map ``broker_name``'s errors (names are case-insensitive).

    Registering the same table again is a no-op; a different table for a registered name needs
    ``replace=True``. Registering under :data:`GENERIC_TABLE_NAME` replaces the generic fallback.
    """
    if not isinstance(table, ErrorMappingTable):
        raise TypeError(f"expected an ErrorMappingTable, got {type(table).__name__}")
    key = _table_key(broker_name)
    if not key:
        raise ValueError("broker_name must not be empty")
    _load_builtin_tables()
    with _registry_lock:
        existing = _tables.get(key)
        if existing is not None and not replace and existing is not table and existing != table:
            raise ValueError(f"an error table for {key!r} is registered already; pass replace=True")
        _tables[key] = table


def unregister_error_table(broker_name: str) -> ErrorMappingTable | None:
    """Remove and return ``broker_name``'s table (``None`` if it had none)."""
    _load_builtin_tables()
    with _registry_lock:
        return _tables.pop(_table_key(broker_name), None)


def get_error_table(broker_name: str) -> ErrorMappingTable | None:
    """The table registered for ``broker_name``, or ``None``."""
    _load_builtin_tables()
    with _registry_lock:
        return _tables.get(_table_key(broker_name))


def registered_error_tables() -> dict[str, ErrorMappingTable]:
    """A snapshot of every registered table by broker name, sorted by name."""
    _load_builtin_tables()
    with _registry_lock:
        return dict(sorted(_tables.items()))


# -- unmapped errors: counted so that gaps in the tables show up ---------------------------------

_unmapped: Counter[tuple[str, str]] = Counter()
_unmapped_lock = threading.Lock()


def _note_unmapped(broker: str, code: str | None, status: int | None, message: str) -> None:
    key = (_table_key(broker) or "-", code or (f"HTTP {status}" if status is not None else "-"))
    with _unmapped_lock:
        if key not in _unmapped and len(_unmapped) >= _MAX_UNMAPPED_KEYS:
            key = (key[0], "<other>")
        first = key not in _unmapped
        _unmapped[key] += 1
    if first:
        _log.warning(
            "unmapped error from %s: code %s, HTTP %s, message %r -> UNKNOWN; add it to the %s error table",
            key[0],
            code or "-",
            status if status is not None else "-",
            message[:200],
            key[0],
        )


def unmapped_error_counts() -> dict[tuple[str, str], int]:
    """How often each ``(broker, broker code)`` mapped to UNKNOWN in this process (``HTTP 418``, ``-`` if none)."""
    with _unmapped_lock:
        return dict(_unmapped)


def reset_unmapped_error_counts() -> None:
    """Forget the unmapped-error counts (each key will be logged again on its next occurrence)."""
    with _unmapped_lock:
        _unmapped.clear()


# -- the mapping itself ---------------------------------------------------------------------------


def _clean_code(code: object) -> str | None:
    if code is None or isinstance(code, bool):
        return None
    text = str(code).strip()[:_MAX_CODE]
    return text or None


def _clean_status(status: object) -> int | None:
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        return status
    return None


def _clean_seconds(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def resolve_error_mapping(
    broker_name: str,
    broker_error_code: str | int | None = None,
    message: str = "",
    http_status: int | None = None,
) -> ErrorMatch:
    """Which standard code and action the tables give, and which row decided; no logging, no counting.

    Levels, each tried on the broker's table and then on the generic HTTP table: the broker code
    (message-refined first), message patterns, the HTTP status (exact, then class). No hit: UNKNOWN.
    The action is the row's own, else the broker's override for the code, else the library default.
    """
    _load_builtin_tables()
    key = _table_key(broker_name)
    code = _clean_code(broker_error_code)
    text = message[:_MAX_SEARCH] if isinstance(message, str) else ""
    status = _clean_status(http_status)
    with _registry_lock:
        own = _tables.get(key)
        generic = _tables.get(GENERIC_TABLE_NAME)
    chain = [(name, t) for name, t in ((key, own), (GENERIC_TABLE_NAME, generic)) if t is not None]
    if own is not None and own is generic:
        chain = chain[:1]
    advisor = own or generic

    def action(rule: _Rule) -> str:
        if rule.action:
            return rule.action
        return advisor.action_for(rule.code) if advisor else DEFAULT_SUGGESTED_ACTIONS[rule.code]

    for level in ("code", "message", "status"):
        for name, table in chain:
            if level == "code":
                hit = table._match_code(code, text) if code is not None else None
            elif level == "message":
                hit = table._match_message(text)
            else:
                hit = table._match_status(status) if status is not None else None
            if hit is not None:
                rule, source, matched = hit
                return ErrorMatch(rule.code, action(rule), source, name, matched)
    unknown = StandardErrorCode.UNKNOWN
    return ErrorMatch(
        unknown,
        advisor.action_for(unknown) if advisor else DEFAULT_SUGGESTED_ACTIONS[unknown],
        MatchSource.UNMAPPED,
    )


def map_broker_error(
    broker_name: str,
    broker_error_code: str | int | None = None,
    message: str = "",
    *,
    http_status: int | None = None,
    context: Mapping[str, Any] | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
    may_have_executed: bool = False,
    clock: Clock | None = None,
) -> StandardizedError:
    """The :class:`StandardizedError` for a broker's own error code, message and HTTP status.

    >>> map_broker_error("oanda", "INSUFFICIENT_MARGIN", "Insufficient margin for order").error_code
    <StandardErrorCode.INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS'>

    The lookup is :func:`resolve_error_mapping`; an error no table knows becomes UNKNOWN, is logged once
    per ``(broker, code)`` and counted in :func:`unmapped_error_counts`. ``retryable`` follows the code
    (:func:`is_retryable_code`). ``retry_after`` is the argument if given, else read from ``headers``
    (``Retry-After``, ``X-RateLimit-Reset``) for rate limits and outages, else the table's default for a
    rate limit. ``may_have_executed`` (an order request that may have reached the broker) turns a
    timeout, connection error or outage into OUTCOME_UNKNOWN, which is never blindly retried. The
    message is redacted and the context secret-masked. Never raises on odd input.
    """
    name = "" if broker_name is None else str(broker_name).strip()
    code = _clean_code(broker_error_code)
    text = message if isinstance(message, str) else ("" if message is None else str(message))
    status = _clean_status(http_status)
    match = resolve_error_mapping(name, code, text, status)
    if match.source is MatchSource.UNMAPPED:
        _note_unmapped(name, code, status, text)
    extra: dict[str, Any] = {str(k): v for k, v in context.items()} if isinstance(context, Mapping) else {}
    std, action = match.code, match.suggested_action
    table = get_error_table(name) or get_error_table(GENERIC_TABLE_NAME)
    if may_have_executed and std in _AMBIGUOUS_IF_SENT:
        extra.setdefault("mapped_code", std.value)
        std = StandardErrorCode.OUTCOME_UNKNOWN
        action = table.action_for(std) if table else DEFAULT_SUGGESTED_ACTIONS[std]
    now = clock.now() if clock is not None else datetime.now(UTC)
    wait = _clean_seconds(retry_after)
    if (
        wait is None
        and headers
        and std in (StandardErrorCode.RATE_LIMITED, StandardErrorCode.SERVICE_UNAVAILABLE)
    ):
        wait = parse_retry_after(headers, now=now)
    if wait is None and std is StandardErrorCode.RATE_LIMITED:
        wait = table.default_retry_after if table else 1.0
    shown = " ".join(text.split())
    if len(shown) > _MAX_MESSAGE:
        shown = shown[: _MAX_MESSAGE - 1] + "…"
    if not shown:
        shown = code or (f"HTTP {status}" if status is not None else "unspecified broker error")
    return StandardizedError(
        error_code=std,
        message=shown,
        broker_name=name,
        broker_error_code=code,
        http_status=status,
        suggested_action=action,
        retryable=is_retryable_code(std),
        retry_after=wait,
        timestamp=now,
        context=extra,
    )


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` (and ``RateLimit-Reset``) is read as a Unix time when it is larger than 10⁹,
    else as seconds. Returns ``None`` when no header gives a usable value; never raises.
    """
    try:
        lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    except Exception:
        return None
    now = now or datetime.now(UTC)
    value = lowered.get("retry-after")
    if value:
        seconds = _clean_seconds(value)
        if seconds is None:
            try:
                when = parsedate_to_datetime(value)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                seconds = _clean_seconds((when - now).total_seconds())
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = None
        if seconds is not None:
            return seconds
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        try:
            reset = float(lowered.get(name, "nan"))
        except (TypeError, ValueError, OverflowError):
            continue
        if not math.isnan(reset):
            return _clean_seconds(reset - now.timestamp() if reset > 1e9 else reset)
    return None


def _dig(body: Mapping[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def map_http_error(
    broker_name: str,
    http_status: int | None,
    body: bytes | str | Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    may_have_executed: bool = False,
    clock: Clock | None = None,
) -> StandardizedError:
    """Map an HTTP error response: pull the code and message out of ``body`` and call :func:`map_broker_error`.

    The body's code and message are read from the broker table's ``code_fields``/``message_fields``
    (OANDA: ``errorCode``, the reject transaction's ``rejectReason`` …; Alpaca: ``code``/``message``).
    A body that is not JSON (an HTML maintenance page) becomes the message, whitespace collapsed.
    A JSON body is kept, secret-masked, in the error's context under ``body``.
    """
    table = get_error_table(broker_name) or get_error_table(GENERIC_TABLE_NAME)
    parsed: Any = body
    if isinstance(body, bytes | bytearray):
        parsed = bytes(body).decode("utf-8", errors="replace")
    if isinstance(parsed, str) and parsed.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            parsed = json.loads(parsed)
    extra: dict[str, Any] = {str(k): v for k, v in context.items()} if isinstance(context, Mapping) else {}
    code: str | None = None
    message = ""
    if isinstance(parsed, Mapping):
        fields = table or ErrorMappingTable()
        for path in fields.code_fields:
            value = _dig(parsed, path)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                code = str(value)
                break
        for path in fields.message_fields:
            value = _dig(parsed, path)
            if isinstance(value, str) and value.strip():
                message = value
                break
        extra.setdefault("body", dict(parsed))
    elif isinstance(parsed, str):
        message = " ".join(parsed.split())[:300]
    return map_broker_error(
        broker_name,
        code,
        message,
        http_status=http_status,
        headers=headers,
        context=extra,
        may_have_executed=may_have_executed,
        clock=clock,
    )
