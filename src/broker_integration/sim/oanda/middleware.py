"""What happens to every request before its handler runs, in OANDA's order of refusals.

1. an unknown path or method gets a JSON 404/405 (reference §1.9: 405 wrong method);
2. a connection over its request rate gets 429 with ``Retry-After`` (§1.9);
3. a missing or unknown bearer token gets 401 with OANDA's body, an account the token does not reach
   403 with OANDA's body (§1.9 [rec]);
4. the venue's fault plan decides whether the call misbehaves: latency, a 503 maintenance page, a 429,
   no answer (held, then the connection dropped), a connection reset before the request is read, or
   the request executed and its connection dropped before the answer (a lost response).

A request whose body was fully received runs to the end even when its client has gone: the body is read
before any wait, and the server does not cancel handlers when a client disconnects (aiohttp's
``handler_cancellation`` is off, set so in :class:`OandaSimulator`), as a broker executes an order whose
client timed out after sending it.

Every response carries a ``RequestID`` header (§1.1); an error body with an ``errorCode`` also carries
``lastTransactionID``, as OANDA's do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from broker_integration.sim.faults import Fault, FaultKind
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
    "account_of",
    "drop_connection",
    "reachable_accounts",
    "renderer_of",
    "request_id_of",
    "respond",
    "silent_stream_requested",
    "v20_middleware",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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
    silent_stream: bool = False


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


def silent_stream_requested(request: web.Request) -> bool:
    """Whether this stream request drew a TIMEOUT fault: it answers, then goes silent."""
    return _admission().silent_stream


def respond(
    request: web.Request, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer with OANDA's ``RequestID`` header."""
    response = web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)
    response.headers["RequestID"] = request_id_of(request)
    if headers:
        response.headers.update(headers)
    return response


def drop_connection(request: web.Request) -> web.Response:
    """Close the client's connection without an answer (what the client sees as a dropped connection)."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=204)  # never reaches the client: its transport is gone


@web.middleware
async def v20_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    _ADMISSION.set(_Admission(request_id=state.next_request_id()))
    try:
        return await _admit(request, handler, state)
    except V20Error as error:
        body = dict(error.body)
        if "errorCode" in body and "lastTransactionID" not in body:
            body["lastTransactionID"] = str(state.engine.last_transaction_id)
        return respond(request, error.status, body, error.headers)


async def _admit(request: web.Request, handler: Handler, state: SimulatorState) -> web.StreamResponse:
    match = request.match_info
    refusal = match.http_exception
    if refusal is not None:
        if isinstance(refusal, web.HTTPMethodNotAllowed):
            raise wrong_method(request.method, request.path)
        raise not_found(request.path)
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
    account_id = match.get("accountID")
    if account_id is not None and account_id not in reachable:
        raise forbidden()
    operation, mutating = ROUTE_OPERATIONS.get(match.route.name or "", ("unknown", False))
    state.counts.requests[operation] += 1
    if request.can_read_body:
        # Take the whole body now: a request fully received executes even if its client goes away
        # during a latency wait (aiohttp keeps it; handlers read it from there).
        try:
            await request.read()
        except (ConnectionError, aiohttp.ClientPayloadError):
            return drop_connection(request)  # the body never arrived whole: nothing to execute
    fault = state.engine.faults.next_fault(operation, mutating=mutating)
    delay = state.engine.faults.latency_seconds() + (fault.delay_s if fault is not None else 0.0)
    if delay > 0:
        await asyncio.sleep(delay)
    if fault is None:
        return await handler(request)
    state.counts.faults[(operation, fault.kind)] += 1
    return await _misbehave(request, handler, state, fault, operation)


async def _misbehave(
    request: web.Request, handler: Handler, state: SimulatorState, fault: Fault, operation: str
) -> web.StreamResponse:
    kind = fault.kind
    if kind is FaultKind.LATENCY_SPIKE:
        return await handler(request)
    if kind is FaultKind.SERVICE_UNAVAILABLE:
        return web.Response(status=503, text=MAINTENANCE_PAGE, content_type="text/html")
    if kind is FaultKind.RATE_LIMITED:
        retry_after = max(0, round(fault.retry_after_s or 0.0))
        raise rate_limited(state.settings.max_requests_per_second or 100.0, retry_after)
    if kind is FaultKind.TIMEOUT:
        if operation in _STREAMS:
            _note(silent_stream=True)
            return await handler(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.closing.wait(), state.settings.hang_seconds)
        return drop_connection(request)
    if kind is FaultKind.CONNECTION_RESET:
        return drop_connection(request)
    # RESPONSE_LOST: the request runs to the end, then the connection drops before the answer.
    if operation in _STREAMS:
        return drop_connection(request)
    with contextlib.suppress(V20Error):  # a refusal is an answer too, and it is lost all the same
        await handler(request)
    return drop_connection(request)


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
