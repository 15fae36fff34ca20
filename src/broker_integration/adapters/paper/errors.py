"""How the paper broker's refusals, lookups and faults become standard errors: tables, not branches.

``REJECT_REASON_CODES`` maps every engine :class:`~broker_integration.sim.records.RejectReason` to a
:class:`~broker_integration.errors.StandardErrorCode`; a test checks that none is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_integration.errors import (
    BrokerConnectionError,
    BrokerError,
    BrokerTimeoutError,
    OutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
    StandardErrorCode,
    StandardizedError,
    make_error,
)
from broker_integration.sim.errors import (
    CandleRequestError,
    SimulatorError,
    UnknownAccountError,
    UnknownInstrumentError,
)
from broker_integration.sim.faults import FaultKind
from broker_integration.sim.records import RejectReason

__all__ = [
    "ANSWERED_FAULTS",
    "FAULT_ERRORS",
    "FAULT_HTTP_STATUS",
    "REJECT_REASON_CODES",
    "SIMULATOR_ERROR_ACTIONS",
    "SIMULATOR_ERROR_CODES",
    "SUGGESTED_ACTIONS",
    "reason_error",
]

_R = RejectReason
_C = StandardErrorCode

#: The standard code for each reason the venue refuses or kills an order.
REJECT_REASON_CODES: Mapping[RejectReason, StandardErrorCode] = {
    _R.INSUFFICIENT_MARGIN: _C.INSUFFICIENT_FUNDS,
    _R.INSUFFICIENT_LIQUIDITY: _C.INVALID_ORDER,
    _R.MARKET_HALTED: _C.MARKET_CLOSED,
    _R.INSTRUMENT_UNKNOWN: _C.INVALID_INSTRUMENT,
    _R.INSTRUMENT_NOT_TRADEABLE: _C.INVALID_INSTRUMENT,
    _R.UNITS_INVALID: _C.INVALID_ORDER,
    _R.UNITS_PRECISION_EXCEEDED: _C.INVALID_ORDER,
    _R.UNITS_MINIMUM_NOT_MET: _C.INVALID_ORDER,
    _R.UNITS_LIMIT_EXCEEDED: _C.INVALID_ORDER,
    _R.PRICE_MISSING: _C.INVALID_ORDER,
    _R.PRICE_INVALID: _C.INVALID_ORDER,
    _R.PRICE_PRECISION_EXCEEDED: _C.INVALID_ORDER,
    _R.PRICE_DISTANCE_MISSING: _C.INVALID_ORDER,
    _R.PRICE_DISTANCE_INVALID: _C.INVALID_ORDER,
    _R.PRICE_DISTANCE_PRECISION_EXCEEDED: _C.INVALID_ORDER,
    _R.TIME_IN_FORCE_INVALID: _C.INVALID_ORDER,
    _R.TIME_IN_FORCE_GTD_TIMESTAMP_MISSING: _C.INVALID_ORDER,
    _R.TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST: _C.INVALID_ORDER,
    _R.CLIENT_ORDER_ID_ALREADY_EXISTS: _C.DUPLICATE_ORDER,
    _R.ORDER_DOESNT_EXIST: _C.ORDER_NOT_FOUND,
    _R.REPLACING_ORDER_INVALID: _C.INVALID_ORDER,
    _R.CLOSEOUT_POSITION_DOESNT_EXIST: _C.POSITION_NOT_FOUND,
    _R.CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE: _C.INVALID_ORDER,
    _R.FOK_NOT_FILLED: _C.INVALID_ORDER,
    _R.IOC_NOT_FILLED: _C.INVALID_ORDER,
}

#: Advice for reasons where the standard code's default suggestion would mislead.
SUGGESTED_ACTIONS: Mapping[RejectReason, str] = {
    _R.INSUFFICIENT_LIQUIDITY: "The venue declined the order for lack of liquidity; it may be sent again as a "
    "new order (new client order id) or routed to another broker.",
    _R.FOK_NOT_FILLED: "The whole quantity was not available at once at an acceptable price; use IOC to take "
    "what is there, a resting time in force, or a smaller size.",
    _R.IOC_NOT_FILLED: "Nothing could be filled immediately at the limit price; move the price or let the "
    "order rest (GTC/DAY/GTD).",
}

#: The standard code for each engine exception raised by a lookup or query.
SIMULATOR_ERROR_CODES: Mapping[type[SimulatorError], StandardErrorCode] = {
    UnknownInstrumentError: _C.INVALID_INSTRUMENT,
    UnknownAccountError: _C.PERMISSION_DENIED,
    CandleRequestError: _C.INVALID_ORDER,
}

#: Advice for engine exceptions whose code's default suggestion would mislead.
SIMULATOR_ERROR_ACTIONS: Mapping[type[SimulatorError], str] = {
    CandleRequestError: "Ask for 1 to 5,000 candles: give count, or start and end, or count with one of them.",
}

#: The exception a face raises for each injected fault (latency spikes raise nothing).
FAULT_ERRORS: Mapping[FaultKind, type[BrokerError]] = {
    FaultKind.SERVICE_UNAVAILABLE: ServiceUnavailableError,
    FaultKind.RATE_LIMITED: RateLimitedError,
    FaultKind.TIMEOUT: BrokerTimeoutError,
    FaultKind.CONNECTION_RESET: BrokerConnectionError,
    FaultKind.RESPONSE_LOST: OutcomeUnknownError,
}

#: Faults the venue answers itself (503, 429): the client knows for sure that nothing was executed.
ANSWERED_FAULTS: frozenset[FaultKind] = frozenset({FaultKind.SERVICE_UNAVAILABLE, FaultKind.RATE_LIMITED})

#: The HTTP status a wire face would answer with for each fault, recorded on the error for realism.
FAULT_HTTP_STATUS: Mapping[FaultKind, int] = {
    FaultKind.SERVICE_UNAVAILABLE: 503,
    FaultKind.RATE_LIMITED: 429,
}


def reason_error(
    reason: RejectReason, message: str, *, broker_name: str, context: Mapping[str, Any] | None = None
) -> StandardizedError:
    """The standardized error for an engine refusal, keeping the venue's reason as the broker's code."""
    return make_error(
        REJECT_REASON_CODES[reason],
        message,
        broker_name=broker_name,
        broker_error_code=reason.value,
        suggested_action=SUGGESTED_ACTIONS.get(reason),
        context=context,
    )
