"""What happens to every request before its handler runs, in OANDA's order of refusals.

The shared :func:`~broker_integration.sim.faults.middleware.fault_middleware` does the work, with OANDA's
answers from :class:`V20Face`:

1. an unknown path or method gets a JSON 404/405 (reference §1.9: 405 wrong method);
2. a connection over its request rate gets 429 with ``Retry-After`` (§1.9);
3. a missing or unknown bearer token gets 401 with OANDA's body, an account the token does not reach
   403 with OANDA's body (§1.9 [rec]);
4. the venue's fault plan decides whether the call misbehaves: latency, a 503 maintenance page, a 429,
   no answer (held, then the connection dropped), a connection reset before the request is read, or
   the request executed and its connection dropped before the answer (a lost response).

A request whose body was fully received runs to the end even when its client has gone (the shared
middleware reads the body before any wait, and :class:`OandaSimulator` serves with handler cancellation
off), as a broker executes an order whose client timed out after sending it.

:func:`v20_middleware`, outside it, gives every response a ``RequestID`` header (§1.1) and answers a
:class:`V20Error`; an error body with an ``errorCode`` also carries ``lastTransactionID``, as OANDA's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import orjson
from aiohttp import web

from broker_integration.sim.faults.middleware import (
    Handler,
    StateFace,
    drop_connection,
    silent_stream_requested,
)
from broker_integration.sim.oanda.errors import (
    MAINTENANCE_PAGE,
    V20Error,
    forbidden,
    not_found,
    rate_limited,
    unauthorized,
    wrong_method,
)
from broker_integration.sim.oanda.formats import TimeFormat
from broker_integration.sim.oanda.render import V20Renderer
from broker_integration.sim.oanda.state import STATE, SimulatorState

__all__ = [
    "ROUTE_OPERATIONS",
    "V20Face",
    "account_of",
    "drop_connection",
    "error_response",
    "reachable_accounts",
    "renderer_of",
    "request_id_of",
    "respond",
    "silent_stream_requested",
    "v20_middleware",
]

#: Route name → (the adapter operation it serves, whether it changes state). Fault plans are keyed by
#: operation, the same names the paper adapter uses, so one plan scripts either face.
ROUTE_OPERATIONS: Mapping[str, tuple[str, bool]] = {
    "accounts": ("get_accounts", False),
    "account": ("get_account_summary", False),
    "account_summary": ("get_account_summary", False),
    "account_instruments": ("get_instruments", False),
    "place_order": ("place_order", True),
    "list_orders": ("get_orders", False),
    "pending_orders": ("get_orders", False),
    "get_order": ("get_order", False),
    "replace_order": ("modify_order", True),
    "cancel_order": ("cancel_order", True),
    "positions": ("get_positions", False),
    "open_positions": ("get_positions", False),
    "position": ("get_positions", False),
    "close_position": ("close_position", True),
    "trades": ("get_trades", False),
    "open_trades": ("get_trades", False),
    "trade": ("get_trade", False),
    "close_trade": ("close_trade", True),
    "transactions": ("get_transactions", False),
    "transactions_idrange": ("get_transactions", False),
    "transactions_since": ("get_transactions", False),
    "transaction_stream": ("stream_transactions", False),
    "transaction": ("get_transaction", False),
    "pricing": ("get_current_prices", False),
    "pricing_stream": ("stream_prices", False),
    "candles": ("get_historical_data", False),
    "account_candles": ("get_historical_data", False),
}


#: Operations answered with a stream: a TIMEOUT makes them silent, a lost answer drops them unexecuted.
_STREAMS = frozenset({"stream_prices", "stream_transactions"})


@dataclass(frozen=True, slots=True)
class _Admission:
    """What the middleware learned about the request it admitted; kept in a context variable, since the
    handler runs in the middleware's own task."""

    request_id: str = ""
    accounts: frozenset[str] = frozenset()


_NOT_ADMITTED = _Admission()
_ADMISSION: ContextVar[_Admission] = ContextVar("oanda_simulator_admission")


def _admission() -> _Admission:
    return _ADMISSION.get(_NOT_ADMITTED)


def _note(**learned: Any) -> None:
    _ADMISSION.set(replace(_admission(), **learned))


_JSON = "application/json"


def request_id_of(request: web.Request) -> str:
    return _admission().request_id


def renderer_of(request: web.Request) -> V20Renderer:
    """The renderer for the time format the client asked for (``Accept-Datetime-Format``)."""
    fmt = TimeFormat.from_header(request.headers.get("Accept-Datetime-Format"))
    return request.app[STATE].renderer(fmt)


def account_of(request: web.Request) -> str:
    """The account in the path; the middleware has checked the token reaches it."""
    return request.match_info["accountID"]


def reachable_accounts(request: web.Request) -> frozenset[str]:
    """The accounts the request's token reaches (set by the middleware once the token is checked)."""
    return _admission().accounts


def respond(
    request: web.Request, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer with OANDA's ``RequestID`` header."""
    response = web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)
    response.headers["RequestID"] = request_id_of(request)
    if headers:
        response.headers.update(headers)
    return response


@web.middleware
async def v20_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request OANDA's ``RequestID`` and answer a :class:`V20Error` with its status and body;
    the shared :func:`~broker_integration.sim.faults.middleware.fault_middleware` runs inside it."""
    state = request.app[STATE]
    _ADMISSION.set(_Admission(request_id=state.next_request_id()))
    try:
        return await handler(request)
    except V20Error as error:
        return error_response(request, state, error)


def error_response(request: web.Request, state: SimulatorState, error: V20Error) -> web.Response:
    """``error`` as OANDA answers it: its status, headers and JSON body, with ``lastTransactionID`` when the
    body carries an ``errorCode``."""
    body = dict(error.body)
    if "errorCode" in body and "lastTransactionID" not in body:
        body["lastTransactionID"] = str(state.engine.last_transaction_id)
    return respond(request, error.status, body, error.headers)


class V20Face(StateFace):
    """OANDA's side of the shared fault middleware: its routes' operations, its admission (per-connection
    rate limit, then bearer token and account) and its error answers."""

    route_operations = ROUTE_OPERATIONS
    stream_operations = _STREAMS
    answer_errors: tuple[type[Exception], ...] = (V20Error,)

    def __init__(self, state: SimulatorState) -> None:
        super().__init__(state)
        self._state = state

    async def admit(self, request: web.Request) -> None:
        """429 over the connection's request rate, then 401 for a missing or unknown token and 403 for an
        account the token does not reach (reference §1.9)."""
        state = self._state
        if state.limiter is not None:
            wait = state.limiter.admit(_connection_key(request))
            if wait:
                state.counts.rate_limited += 1
                raise rate_limited(state.limiter.rate, wait)
        token = _bearer_token(request)
        reachable = state.access.get(token) if token is not None else None
        if reachable is None:
            raise unauthorized()
        _note(accounts=reachable)
        account_id = request.match_info.get("accountID")
        if account_id is not None and account_id not in reachable:
            raise forbidden()

    def not_found(self, request: web.Request) -> web.Response:
        return error_response(request, self._state, not_found(request.path))

    def method_not_allowed(self, request: web.Request) -> web.Response:
        return error_response(request, self._state, wrong_method(request.method, request.path))

    def unavailable(self, request: web.Request) -> web.Response:
        """[obs?] OANDA's maintenance page is HTML, not JSON (reference §1.9)."""
        return web.Response(status=503, text=MAINTENANCE_PAGE, content_type="text/html")

    def rate_limited(self, request: web.Request, retry_after_s: int) -> web.Response:
        limit = self._state.settings.max_requests_per_second or 100.0
        return error_response(request, self._state, rate_limited(limit, retry_after_s))


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token.strip():
        return None
    return token.strip()


def _connection_key(request: web.Request) -> object:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return peer if peer is not None else id(request.protocol)
