"""Binance's error answers: ``{"code": <negative int>, "msg": "…"}`` with the HTTP status Binance sends.

Codes and messages are Binance's own, from its spot API documentation (``errors.md`` of
github.com/binance/binance-spot-api-docs: "Error codes for Binance", the matching engine's messages for
``-2010``/``-2011`` and the filter failures); the statuses from ``rest-api.md`` "HTTP Return Codes" (4XX
for the sender's mistakes, 401 for a key refused, 429 over a limit, 418 for a banned IP). ``-1131`` is no
longer in ``errors.md``; its message is the one ccxt recorded from Binance (``binance.py`` exceptions).
A handler raises :class:`BinanceError`; the face turns it into the answer.
"""

from __future__ import annotations

__all__ = [
    "BANNED",
    "BinanceError",
    "bad_interval",
    "bad_recv_window",
    "bad_signature",
    "bad_symbol",
    "banned",
    "cancel_unknown",
    "duplicate_order",
    "filter_failure",
    "illegal_characters",
    "insufficient_balance",
    "invalid_api_key",
    "key_format",
    "mandatory",
    "no_such_order",
    "not_allowed",
    "order_type_not_supported",
    "timestamp_ahead",
    "timestamp_outside_window",
    "too_many_orders",
    "too_much_weight",
    "unknown_parameter",
    "would_take",
]

#: The 418 message's template (``%s``: when the ban ends, in epoch milliseconds).
BANNED = (
    "Way too much request weight used; IP banned until {until}. Please use WebSocket Streams for live "
    "updates to avoid bans."
)


class BinanceError(Exception):
    """An error answer: HTTP ``status``, Binance ``code`` and ``msg``, and extra headers."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status} {code}: {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}

    @property
    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def _bad(code: int, msg: str) -> BinanceError:
    return BinanceError(400, code, msg)


def mandatory(name: str) -> BinanceError:
    return _bad(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal_characters(name: str, legal: str) -> BinanceError:
    return _bad(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def unknown_parameter(read: int, sent: int) -> BinanceError:
    """Parameters the endpoint does not read were sent (``-1104``)."""
    return _bad(
        -1104, f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
    )


def bad_symbol() -> BinanceError:
    return _bad(-1121, "Invalid symbol.")


def bad_interval() -> BinanceError:
    return _bad(-1120, "Invalid interval.")


def bad_recv_window() -> BinanceError:
    return _bad(-1131, "recvWindow must be less than 60000")


def timestamp_outside_window() -> BinanceError:
    return _bad(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> BinanceError:
    return _bad(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def bad_signature() -> BinanceError:
    return _bad(-1022, "Signature for this request is not valid.")


def key_format() -> BinanceError:
    return BinanceError(401, -2014, "API-key format invalid.")


def invalid_api_key() -> BinanceError:
    return BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")


def no_such_order() -> BinanceError:
    """``GET /api/v3/order`` for an order the account does not have."""
    return _bad(-2013, "Order does not exist.")


def cancel_unknown() -> BinanceError:
    """``DELETE /api/v3/order`` for an order that is unknown or no longer open."""
    return _bad(-2011, "Unknown order sent.")


def insufficient_balance() -> BinanceError:
    return _bad(-2010, "Account has insufficient balance for requested action.")


def duplicate_order() -> BinanceError:
    """A ``newClientOrderId`` an open order of the account holds."""
    return _bad(-2010, "Duplicate order sent.")


def would_take() -> BinanceError:
    """A ``LIMIT_MAKER`` order that would match at once."""
    return _bad(-2010, "Order would immediately match and take.")


def not_allowed() -> BinanceError:
    """A key without trading permission placing or cancelling an order."""
    return _bad(-2010, "This account may not place or cancel orders.")


def order_type_not_supported(description: str) -> BinanceError:
    """An order type the symbol does not list (``description``: "Stop loss orders", say)."""
    return _bad(-2010, f"{description} are not supported for this symbol.")


def filter_failure(name: str) -> BinanceError:
    return _bad(-1013, f"Filter failure: {name}")


def too_much_weight(limit: int) -> BinanceError:
    return BinanceError(
        429,
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use "
        "WebSocket Streams for live updates to avoid polling the API.",
    )


def banned(until_ms: int) -> BinanceError:
    return BinanceError(418, -1003, BANNED.format(until=until_ms))


def too_many_orders(limit: int, interval: str) -> BinanceError:
    return BinanceError(429, -1015, f"Too many new orders; current limit is {limit} orders per {interval}.")
