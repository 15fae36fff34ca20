"""What happens to every request before its handler runs, in Binance's order, and how answers look.

The shared :func:`~broker_integration.sim.faults.middleware.fault_middleware` does the work, with Binance's
side given by :class:`BinanceFace`:

1. an unknown path or method: an empty 404 or 405 (Binance documents no body for them);
2. admission: the request's parameters are read, its weight counted against the IP's minute (429 with
   ``Retry-After`` over the limit, 418 once banned), and a SIGNED endpoint's key, signature and timestamp
   checked (:mod:`.auth`);
3. the venue's fault plan: latency, a 503 (``-1008`` server busy), a 429, no answer, a connection reset, or
   the request executed and its answer lost.

:func:`binance_middleware`, outside it, turns a :class:`~.errors.BinanceError` into Binance's answer and puts
the IP's used weight on every answer (``X-MBX-USED-WEIGHT-1M``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from aiohttp import web

from broker_integration.sim.binance.auth import API_KEY_HEADER, SignedRequest, api_key_of, authenticate
from broker_integration.sim.binance.errors import BinanceError, too_much_weight
from broker_integration.sim.binance.params import Params, read_params
from broker_integration.sim.binance.settings import ApiKey
from broker_integration.sim.binance.state import STATE, SimulatorState
from broker_integration.sim.faults.middleware import Handler, StateFace

__all__ = [
    "BinanceFace",
    "RouteSpec",
    "Security",
    "binance_middleware",
    "params_of",
    "respond",
    "signed_of",
    "state_of",
]

_PARAMS = web.RequestKey("binance_params", Params)
_SIGNED = web.RequestKey("binance_signed", SignedRequest)
_KEY = web.RequestKey("binance_api_key", ApiKey)
_USED = web.RequestKey("binance_used_weight", int)


class Security(StrEnum):
    """An endpoint's security type (``rest-api.md`` "Request Security")."""

    NONE = "NONE"  # public market data
    SIGNED = "SIGNED"  # TRADE and USER_DATA: key, signature and timestamp
    API_KEY = "API_KEY"  # USER_STREAM: the key alone


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One endpoint: the adapter operation a fault plan knows it by, whether it changes state, its weight
    (a function of its parameters, as Binance weighs some endpoints by what they ask for) and security."""

    operation: str
    mutating: bool
    weight: Callable[[Params], int]
    security: Security = Security.NONE


def fixed(weight: int) -> Callable[[Params], int]:
    """A weight that does not depend on the parameters."""
    return lambda _params: weight


def state_of(request: web.Request) -> SimulatorState:
    return request.app[STATE]


def params_of(request: web.Request) -> Params:
    """The request's parameters, read during admission."""
    return request[_PARAMS]


def signed_of(request: web.Request) -> SignedRequest:
    """The signed request's key and timing, checked during admission."""
    return request[_SIGNED]


def key_of(request: web.Request) -> ApiKey:
    """The API key of a request to a SIGNED or USER_STREAM endpoint."""
    return request[_KEY]


def respond(
    request: web.Request, body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer as Binance sends it."""
    response = web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
    if headers:
        response.headers.update(headers)
    return response


def _used_weight_header(request: web.Request, response: web.StreamResponse) -> None:
    used = request.get(_USED)
    if used is not None and "X-MBX-USED-WEIGHT-1M" not in response.headers and not response.prepared:
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)


@web.middleware
async def binance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a :class:`BinanceError` as Binance does; the used weight on every answer."""
    try:
        response = await handler(request)
    except BinanceError as error:
        response = respond(request, error.body, status=error.status, headers=error.headers)
    _used_weight_header(request, response)
    return response


def _ip(request: web.Request) -> str:
    return request.remote or "?"


class BinanceFace(StateFace):
    """Binance's side of the shared fault middleware: its routes' operations, its admission (weight, then
    key, signature and timing) and its answers."""

    answer_errors: tuple[type[Exception], ...] = (BinanceError,)

    def __init__(self, state: SimulatorState, routes: Mapping[str, RouteSpec]) -> None:
        super().__init__(state)
        self._state = state
        self._routes = routes
        self.route_operations = {name: (spec.operation, spec.mutating) for name, spec in routes.items()}
        self.stream_operations = frozenset({"stream_prices", "stream_order_updates"})

    async def admit(self, request: web.Request) -> None:
        state = self._state
        spec = self._routes[request.match_info.route.name or ""]
        params = await read_params(request)
        request[_PARAMS] = params
        try:
            request[_USED] = state.weights.admit(_ip(request), spec.weight(params))
        except BinanceError:
            state.counts.rate_limited += 1
            raise
        header = request.headers.get(API_KEY_HEADER)
        if spec.security is Security.SIGNED:
            signed = authenticate(params, header, state.keys, state.server_ms())
            request[_SIGNED] = signed
            request[_KEY] = signed.key
        elif spec.security is Security.API_KEY:
            request[_KEY] = api_key_of(header, state.keys)

    def not_found(self, request: web.Request) -> web.Response:
        return web.Response(status=404)

    def method_not_allowed(self, request: web.Request) -> web.Response:
        return web.Response(status=405)

    def unavailable(self, request: web.Request) -> web.Response:
        """``-1008`` SERVER_BUSY with 503: the request was not processed."""
        return respond(
            request,
            {
                "code": -1008,
                "msg": "Server is currently overloaded with other requests. Please try again in a few minutes.",
            },
            status=503,
        )

    def rate_limited(self, request: web.Request, retry_after_s: int) -> web.Response:
        limit = self._state.settings.request_weight_per_minute or 6_000
        error = too_much_weight(limit)
        return respond(
            request, error.body, status=error.status, headers={"Retry-After": str(max(1, retry_after_s))}
        )
