"""OANDA's error answers, with the status codes and bodies real servers send (reference §1.5, §1.9).

A handler raises :class:`V20Error` with the status and JSON body; the error middleware turns it into the
response. Messages marked [rec] in the reference are copied verbatim; the others follow OANDA's
wording pattern (``Invalid value specified for '<field>'``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FORBIDDEN_MESSAGE",
    "MAINTENANCE_PAGE",
    "UNAUTHORIZED_MESSAGE",
    "V20Error",
    "forbidden",
    "invalid_value",
    "missing_data",
    "no_such_order",
    "no_such_trade",
    "no_such_transaction",
    "not_found",
    "rate_limited",
    "unauthorized",
    "wrong_method",
]

#: [rec] the 401 body for a bad token, and for a practice token used on live (or the reverse).
UNAUTHORIZED_MESSAGE = "Insufficient authorization to perform request."
#: [rec] the 403 body for an account id the token does not reach.
FORBIDDEN_MESSAGE = "The provided request was forbidden."
#: [obs?] what a 5xx during maintenance looks like: an HTML page, not JSON.
MAINTENANCE_PAGE = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)


class V20Error(Exception):
    """An error answer: HTTP ``status``, JSON ``body`` and extra ``headers``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body.get('errorMessage', '')}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def unauthorized() -> V20Error:
    return V20Error(401, {"errorMessage": UNAUTHORIZED_MESSAGE})


def forbidden() -> V20Error:
    return V20Error(403, {"errorMessage": FORBIDDEN_MESSAGE})


def invalid_value(field: str) -> V20Error:
    """[rec] a schema-level 400 without a reject transaction: ``Invalid value specified for 'order.instrument'``."""
    return V20Error(400, {"errorMessage": f"Invalid value specified for '{field}'"})


def missing_data() -> V20Error:
    """[doc] the 400 for a request body without a required field."""
    return V20Error(400, {"errorMessage": "The request was missing required data"})


def no_such_order(last_transaction_id: int) -> V20Error:
    """[rec, hootnot/oanda-api-v20#204] GET of an unknown order."""
    return _no_such("order", last_transaction_id)


def no_such_trade(last_transaction_id: int) -> V20Error:
    """[doc troubleshooting-errors, worded as the recorded NO_SUCH_ORDER] GET of an unknown trade."""
    return _no_such("trade", last_transaction_id)


def no_such_transaction(last_transaction_id: int) -> V20Error:
    """[doc troubleshooting-errors, worded as the recorded NO_SUCH_ORDER] GET of an unknown transaction."""
    return _no_such("transaction", last_transaction_id)


def _no_such(entity: str, last_transaction_id: int) -> V20Error:
    return V20Error(
        404,
        {
            "lastTransactionID": str(last_transaction_id),
            "errorMessage": f"The {entity} ID specified does not exist",
            "errorCode": f"NO_SUCH_{entity.upper()}",
        },
    )


def not_found(path: str) -> V20Error:
    """A path the v20 API does not have."""
    return V20Error(404, {"errorMessage": f"The requested path {path} was not found on this server"})


def wrong_method(method: str, path: str) -> V20Error:
    """[spec 405] the endpoint exists, but not for this HTTP method."""
    return V20Error(405, {"errorMessage": f"The method {method} is not allowed for {path}"})


def rate_limited(limit: float, retry_after: int) -> V20Error:
    """[doc] HTTP 429 when a connection sends more than about 100 requests per second; body [obs?]."""
    return V20Error(
        429,
        {"errorMessage": f"Rate limit exceeded: more than {limit:g} requests per second on this connection"},
        {"Retry-After": str(retry_after)},
    )
