"""Alpaca Trading API v2's errors mapped to the standard codes.

Alpaca answers ``{"code": <8 digits>, "message": "…"}`` plus extra fields (``buying_power``,
``available`` …); the code's first three digits are usually, not always, the HTTP status (``40010001``
comes with 422). Sources: bodies recorded in public threads — alpaca-py#225 (insufficient buying power),
alpaca-py#337 (day-trading margin call protection), alpacahq/Alpaca-API#89 (``40010000``),
bennycode/trading-signals#1079 (``42210000``), alpacahq/Alpaca-API#184 (``could not find us_equity``) — and the 422/``40010001`` bodies in
alpaca-trade-api-python's ``tests/test_rest.py::test_errors``; the rate limit (200 requests a minute
per key) from Alpaca's Trading API documentation.

``40310000`` is overloaded: the same code means insufficient buying power, insufficient quantity, "not
allowed to short" and day-trading protection. It is split by message (``by_message``) and never mapped
to INSUFFICIENT_FUNDS blindly; an unrecognised 40310000 message is PERMISSION_DENIED (HTTP 403).

Rows marked *assumed* follow Alpaca's scheme but were not seen in a recorded response.
"""

from __future__ import annotations

from collections.abc import Sequence

from broker_integration.errors import ErrorMappingTable, ErrorRule, PatternRule
from broker_integration.errors import StandardErrorCode as C

__all__ = ["ALPACA_ERROR_TABLE"]

_BUYING_POWER = (
    "Buying power (buying_power in the error) is below the order's cost; reduce qty or notional, cancel open "
    "orders that hold buying power, or add funds."
)
_QTY = (
    "Sell no more than the quantity available (available in the error): shares held for open orders "
    "(held_for_orders) are not available; cancel those orders first or reduce qty."
)
_NO_SHORT = "The account may not sell short (shorting disabled, or the asset is not shortable); sell only what it holds."
_PDT = (
    "Pattern-day-trader protection: this would be a day trade the account may not make (under $25k equity or "
    "in a day-trading margin call); wait for the next session or raise the account's equity."
)
_NOT_ALLOWED = (
    "The account is not allowed to trade this asset class; check its trading permissions with Alpaca."
)
_BODY = (
    "The request body was not valid JSON of the expected types: an adapter bug (numbers sent as strings or "
    "the reverse); report it."
)
_VALIDATION = (
    "Fix the order as the message says: give exactly one of qty or notional, whole-share qty unless the "
    "asset is fractionable, and a time in force the order type allows."
)
_DUPLICATE = (
    "client_order_id must be unique: an order with this id exists already; look it up "
    "(GET /v2/orders:by_client_order_id) instead of sending it again."
)
_ASSET = "Alpaca does not know this symbol or it is not tradable; check it with GET /v2/assets/{symbol}."
_ORDER_GONE = "Alpaca does not know this order id; refresh open orders (GET /v2/orders) before acting on it."
_ORDER_FINAL = (
    "The order is already final (filled, cancelled or expired) and cannot be changed; refresh its state "
    "instead of cancelling or replacing it."
)
_NO_POSITION = "There is no open position in this symbol; refresh positions (GET /v2/positions)."

# 40310000: the message says which of several refusals it is.
_FORBIDDEN_SPLIT: Sequence[PatternRule] = (
    (r"insufficient buying power", C.INSUFFICIENT_FUNDS, _BUYING_POWER),
    (r"insufficient qty", C.INSUFFICIENT_FUNDS, _QTY),
    (r"not allowed to short", C.PERMISSION_DENIED, _NO_SHORT),
    (r"day trading|pattern day trad", C.PERMISSION_DENIED, _PDT),
)

_VALIDATION_SPLIT: Sequence[PatternRule] = (
    (r"client_order_id must be unique", C.DUPLICATE_ORDER, _DUPLICATE),
    (r"orders not allowed for account", C.PERMISSION_DENIED, _NOT_ALLOWED),
    (
        r"asset\b.*\bnot (found|tradable)|could not find (asset|us_equity|crypto)",
        C.INVALID_INSTRUMENT,
        _ASSET,
    ),  # assumed wording
)

_SUB_PENNY = (
    "The price has more decimals than the asset allows (whole cents at $1 and above); round it to the "
    "asset's price_increment."
)

# 42210000: mostly "order is already in \"filled\" state", but sub-penny prices come with it too.
_UNPROCESSABLE_SPLIT: Sequence[PatternRule] = (
    (r"sub-penny increment", C.INVALID_ORDER, _SUB_PENNY),  # [obs?] wording reported by users
)

_NOT_FOUND_SPLIT: Sequence[PatternRule] = (
    (r"position does not exist", C.POSITION_NOT_FOUND, _NO_POSITION),
    (r"asset\b.*\bnot found", C.INVALID_INSTRUMENT, _ASSET),  # assumed wording
)

_EXACT: dict[str, ErrorRule] = {
    "40010000": (C.INVALID_ORDER, _BODY),
    "40010001": (C.INVALID_ORDER, _VALIDATION),
    "40110000": C.AUTHENTICATION_FAILED,
    "40310000": (
        C.PERMISSION_DENIED,
        "Alpaca refused the order for this account (403, code 40310000); read the message for the reason.",
    ),
    "40310100": (C.PERMISSION_DENIED, _PDT),  # reported as the PDT code, not confirmed
    "40410000": (C.ORDER_NOT_FOUND, _ORDER_GONE),
    "42210000": (C.ORDER_NOT_FOUND, _ORDER_FINAL),
    "42910000": C.RATE_LIMITED,  # assumed: the 429 body is uncertain
}

_PATTERNS: list[PatternRule] = [
    (r"insufficient buying power", C.INSUFFICIENT_FUNDS, _BUYING_POWER),
    (r"insufficient qty available", C.INSUFFICIENT_FUNDS, _QTY),
    (r"not allowed to short", C.PERMISSION_DENIED, _NO_SHORT),
    (r"day trading margin call|pattern day trad", C.PERMISSION_DENIED, _PDT),
    (r"client_order_id must be unique", C.DUPLICATE_ORDER, _DUPLICATE),
    (r"request body format is invalid", C.INVALID_ORDER, _BODY),
    (r"position does not exist", C.POSITION_NOT_FOUND, _NO_POSITION),
    (r"order not found", C.ORDER_NOT_FOUND, _ORDER_GONE),
    (r"order is already in \W?\w+\W? state", C.ORDER_NOT_FOUND, _ORDER_FINAL),
    (r"rate limit exceeded|too many requests", C.RATE_LIMITED),
]

_STATUS: dict[int, ErrorRule] = {
    403: (C.PERMISSION_DENIED, "Alpaca refused this request for this account (403); read the message."),
    404: (C.ORDER_NOT_FOUND, _ORDER_GONE),
    422: (C.INVALID_ORDER, _VALIDATION),
    429: C.RATE_LIMITED,
}

_ACTIONS = {
    C.AUTHENTICATION_FAILED: (
        "Check APCA-API-KEY-ID and APCA-API-SECRET-KEY, and that paper keys go to paper-api.alpaca.markets and "
        "live keys to api.alpaca.markets."
    ),
    C.RATE_LIMITED: (
        "Alpaca allows about 200 requests/min per API key: wait retry_after seconds (X-RateLimit-Reset) and "
        "lower requests_per_second."
    ),
}

ALPACA_ERROR_TABLE = ErrorMappingTable(
    exact=_EXACT,
    by_message={
        "40310000": _FORBIDDEN_SPLIT,
        "40010001": _VALIDATION_SPLIT,
        "40410000": _NOT_FOUND_SPLIT,
        "42210000": _UNPROCESSABLE_SPLIT,
    },
    patterns=_PATTERNS,
    http_status=_STATUS,
    suggested_actions=_ACTIONS,
    code_fields=("code",),
    message_fields=("message",),
    default_retry_after=3.0,  # alpaca-py waits 3 s before retrying a 429
    description="Alpaca Trading API v2: 8-digit codes (40310000 split by message), HTTP errors.",
)
