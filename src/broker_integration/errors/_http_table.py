"""The generic HTTP table: the fallback for every broker, and the whole table for a broker without one.

Statuses follow RFC 9110 and CCXT's ``httpExceptions`` (``ccxt/base/exchange.py``), except that 400, 403
and 404 are *not* mapped to "exchange not available" (ccxt/ccxt#550): a 4xx means the broker refused
this request, a 5xx that it failed. Any 5xx not listed is SERVICE_UNAVAILABLE; an unlisted 4xx stays
UNKNOWN, so it is counted and the gap shows.

The exact codes are the standard codes themselves, so an adapter (the paper broker, a user's) that
already speaks them needs no table. The message patterns are deliberately few and unambiguous.
"""

from __future__ import annotations

from broker_integration.errors._codes import StandardErrorCode as C
from broker_integration.errors._table import ErrorMappingTable, ErrorRule, PatternRule

__all__ = ["HTTP_ERROR_TABLE"]

_EXACT: dict[str, ErrorRule] = {code.value: code for code in C if code is not C.UNKNOWN}

_PATTERNS: list[PatternRule] = [
    (r"\brate[ -]?limit(ed)?\b|too many requests", C.RATE_LIMITED),
    (r"insufficient (funds|balance|margin|buying power)", C.INSUFFICIENT_FUNDS),
    (r"\bmarket (is )?(closed|halted)\b", C.MARKET_CLOSED),
    (r"\b(invalid|unknown) (symbol|instrument)\b", C.INVALID_INSTRUMENT),
    (r"\b(timed out|timeout)\b", C.TIMEOUT),
    (r"\b(service unavailable|under maintenance|bad gateway)\b", C.SERVICE_UNAVAILABLE),
]

_STATUS: dict[int, ErrorRule] = {
    400: C.INVALID_ORDER,
    401: C.AUTHENTICATION_FAILED,
    403: C.PERMISSION_DENIED,
    404: (
        C.ORDER_NOT_FOUND,
        "The broker does not know the requested order, position or account (or the endpoint URL is wrong); "
        "refresh open orders and check the account id and base URL.",
    ),
    405: (
        C.UNSUPPORTED_OPERATION,
        "The endpoint does not accept this HTTP method: an adapter bug or an API version mismatch; report it.",
    ),
    407: (
        C.AUTHENTICATION_FAILED,
        "The proxy between you and the broker wants credentials; configure the proxy.",
    ),
    408: C.TIMEOUT,
    409: (
        C.INVALID_ORDER,
        "The request conflicts with the current state of the order or account; refresh it first.",
    ),
    410: C.ORDER_NOT_FOUND,
    413: (C.INVALID_ORDER, "The request is too large; send fewer items per request."),
    416: (C.INVALID_ORDER, "The requested range (ids, dates) is outside what the broker holds; narrow it."),
    418: (
        C.RATE_LIMITED,
        "The broker has banned this client for ignoring rate limits (Binance answers 418 after 429s); stop all "
        "calls to it until the ban ends, then lower requests_per_second.",
    ),
    422: C.INVALID_ORDER,
    429: C.RATE_LIMITED,
    451: (C.PERMISSION_DENIED, "The broker refuses service from this location for legal reasons."),
    500: C.SERVICE_UNAVAILABLE,
    501: C.UNSUPPORTED_OPERATION,
    502: C.SERVICE_UNAVAILABLE,
    503: C.SERVICE_UNAVAILABLE,
    504: (
        C.TIMEOUT,
        "A gateway timed out waiting for the broker; an order sent may still have executed, so look it up "
        "by client order id before sending it again.",
    ),
    511: (
        C.AUTHENTICATION_FAILED,
        "The network requires sign-in (a captive portal); sign in to the network.",
    ),
}

HTTP_ERROR_TABLE = ErrorMappingTable(
    exact=_EXACT,
    patterns=_PATTERNS,
    http_status=_STATUS,
    http_status_class={5: C.SERVICE_UNAVAILABLE},
    code_fields=("errorCode", "code", "error.code", "error_code"),
    message_fields=("errorMessage", "message", "error.message", "error", "msg", "detail"),
    default_retry_after=1.0,
    description="Generic HTTP statuses and the standard codes themselves; the fallback for every broker.",
)
