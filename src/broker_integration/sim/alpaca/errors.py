"""Alpaca's error answers: ``{"code": <8 digits>, "message": …}`` plus extra fields (reference §2.7).

Handlers raise :class:`AlpacaError`; the face answers it with its status and JSON body. The helpers build
the bodies seen in recorded answers (marked *assumed* where the wording was not seen).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = [
    "AlpacaError",
    "already_final",
    "body_invalid",
    "data_error",
    "duplicate_client_order_id",
    "forbidden_data",
    "insufficient_buying_power",
    "insufficient_qty",
    "invalid",
    "no_position",
    "order_not_found",
    "rate_limited",
    "unauthorized",
]


class AlpacaError(Exception):
    """An answer the venue gives instead of success."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body.get('message', '')}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


def unauthorized() -> AlpacaError:
    """401 on the trading API [rec, 2024 capture]."""
    return AlpacaError(401, {"code": 40110000, "message": "request is not authorized"})


def forbidden_data() -> AlpacaError:
    """403 on the data API for missing or wrong keys [rec, forum]."""
    return AlpacaError(403, {"message": "forbidden."})


def body_invalid() -> AlpacaError:
    """400 for a body that is not JSON of the expected types [rec, Alpaca-API#89]."""
    return AlpacaError(400, {"code": 40010000, "message": "request body format is invalid"})


def invalid(message: str) -> AlpacaError:
    """422 ``40010001``: a validation refusal; the HTTP status is 422 though the code starts 400 [rec]."""
    return AlpacaError(422, {"code": 40010001, "message": message})


def duplicate_client_order_id() -> AlpacaError:
    return invalid("client_order_id must be unique")


def insufficient_buying_power(buying_power: Decimal, cost_basis: Decimal) -> AlpacaError:
    """403 ``40310000`` with the account's buying power and the order's cost [rec, alpaca-py#225]."""
    return AlpacaError(
        403,
        {
            "buying_power": str(buying_power),
            "code": 40310000,
            "cost_basis": str(cost_basis),
            "message": "insufficient buying power",
        },
    )


def insufficient_qty(symbol: str, requested: Decimal, available: Decimal, held: Decimal) -> AlpacaError:
    """403 ``40310000`` for selling more than is held (crypto cannot be sold short) [rec]."""
    return AlpacaError(
        403,
        {
            "available": str(available),
            "code": 40310000,
            "existing_qty": str(available + held),
            "held_for_orders": str(held),
            "message": f"insufficient qty available for order (requested: {requested}, available: {available})",
            "symbol": symbol,
        },
    )


def order_not_found() -> AlpacaError:
    """404 ``40410000`` [rec]."""
    return AlpacaError(404, {"code": 40410000, "message": "order not found"})


def no_position() -> AlpacaError:
    """404 ``40410000`` for a position that is not open (wording [obs?])."""
    return AlpacaError(404, {"code": 40410000, "message": "position does not exist"})


def already_final(status: str) -> AlpacaError:
    """422 ``42210000`` on cancelling or replacing an order that is final [rec, 2026]."""
    return AlpacaError(422, {"code": 42210000, "message": f'order is already in "{status}" state'})


def rate_limited(limit: float, reset: int) -> AlpacaError:
    """429 with the rate-limit headers (body and code *assumed*; reference §2.7)."""
    headers = {
        "X-RateLimit-Limit": str(int(limit)),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    return AlpacaError(429, {"code": 42910000, "message": "rate limit exceeded"}, headers)


def data_error(status: int, message: str) -> AlpacaError:
    """The data API's errors: ``{"message": …}`` (reference §2.5)."""
    return AlpacaError(status, {"message": message})
