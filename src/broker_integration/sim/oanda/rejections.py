"""The error code and message of a refused order action: the reject reason, in OANDA's words.

A 400/404 answer that carries a reject transaction also carries ``errorCode`` (the same as the
transaction's ``rejectReason``) and ``errorMessage`` (reference §1.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_integration.sim.oanda.render import reason_name
from broker_integration.sim.records import RejectReason, TradeRejectReason

__all__ = ["REJECT_MESSAGES", "with_reject_error"]

#: OANDA's wording for the reject reasons a client meets most ([rec] where a real body was captured).
REJECT_MESSAGES: Mapping[str, str] = {
    "PRICE_PRECISION_EXCEEDED": "The price specified contains more precision than is allowed for the instrument",
    "ORDER_DOESNT_EXIST": "The Order specified does not exist",
    "UNITS_MIMIMUM_NOT_MET": "The Order units specified do not meet the minimum units requirement for the instrument",
    "UNITS_PRECISION_EXCEEDED": "The units specified contain more precision than is allowed for the instrument",
    "UNITS_INVALID": "The units specified are invalid",
    "UNITS_LIMIT_EXCEEDED": "The units specified exceed the maximum number of units allowed",
    "PRICE_MISSING": "The Order requires a price but none was specified",
    "PRICE_INVALID": "The price specified is invalid",
    "TIME_IN_FORCE_INVALID": "The time-in-force specified is invalid for this type of Order",
    "CLIENT_ORDER_ID_ALREADY_EXISTS": "The client Order ID specified is already assigned to another pending Order",
    "CLOSEOUT_POSITION_DOESNT_EXIST": "The Position requested to be closed out does not exist",
    "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE": "The Position closeout units exceed the size of the Position",
    "TRADE_DOESNT_EXIST": "The Trade specified does not exist",
    "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE": "The units specified for closing the Trade exceed the Trade's size",
}


def with_reject_error(
    body: dict[str, Any], reason: RejectReason | TradeRejectReason, message: str
) -> dict[str, Any]:
    """``body`` with the reject reason as ``errorCode`` and OANDA's wording (or the engine's) as ``errorMessage``."""
    code = reason_name(reason)
    body["errorCode"] = code
    body["errorMessage"] = REJECT_MESSAGES.get(code) or (message[:1].upper() + message[1:])
    return body
