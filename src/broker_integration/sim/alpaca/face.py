"""What happens to every request before its handler runs, in Alpaca's order of refusals.

The shared :func:`~broker_integration.sim.faults.middleware.fault_middleware` does the work, with Alpaca's
answers from :class:`AlpacaFace`:

1. an unknown path or method: Alpaca's gateway answers ``404 page not found`` / ``405 method not allowed``
   as plain text;
2. the key pair (``APCA-API-KEY-ID``/``APCA-API-SECRET-KEY``): missing or wrong is 401 ``40110000`` on the
   trading API and 403 ``{"message":"forbidden."}`` on the data API (reference §2.1); the websockets
   authenticate in their own protocol instead;
3. the key's request bucket (200 a minute): 429 with ``X-RateLimit-*`` headers (reference §2.7);
4. the venue's fault plan: latency, a 503, a 429, no answer, a reset, or an order executed whose answer
   is lost.

:func:`alpaca_middleware`, outside it, answers an :class:`AlpacaError` with its status, headers and body.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from aiohttp import web

from broker_integration.sim.alpaca import errors
from broker_integration.sim.alpaca.errors import AlpacaError
from broker_integration.sim.alpaca.state import AlpacaState
from broker_integration.sim.faults.middleware import Handler, StateFace

__all__ = ["ROUTE_OPERATIONS", "STREAMS", "AlpacaFace", "alpaca_middleware", "error_response"]

#: Route name → (the adapter operation it serves, whether it changes state). Fault plans are keyed by
#: operation, the names the paper adapter and the other simulators use.
ROUTE_OPERATIONS: Mapping[str, tuple[str, bool]] = {
    "account": ("get_account_summary", False),
    "clock": ("get_clock", False),
    "assets": ("get_instruments", False),
    "asset": ("get_instruments", False),
    "place_order": ("place_order", True),
    "list_orders": ("get_orders", False),
    "cancel_all_orders": ("cancel_order", True),
    "order_by_client_id": ("get_order", False),
    "get_order": ("get_order", False),
    "replace_order": ("modify_order", True),
    "cancel_order": ("cancel_order", True),
    "positions": ("get_positions", False),
    "close_all_positions": ("close_position", True),
    "position": ("get_positions", False),
    "close_position": ("close_position", True),
    "stock_quotes": ("get_current_prices", False),
    "stock_quote": ("get_current_prices", False),
    "stock_trades": ("get_current_prices", False),
    "stock_trade": ("get_current_prices", False),
    "stock_bars": ("get_historical_data", False),
    "stock_symbol_bars": ("get_historical_data", False),
    "crypto_quotes": ("get_current_prices", False),
    "crypto_trades": ("get_current_prices", False),
    "crypto_bars": ("get_historical_data", False),
    "trade_updates": ("stream_order_updates", False),
    "stock_stream": ("stream_prices", False),
    "crypto_stream": ("stream_prices", False),
}

#: Operations answered with a websocket: a TIMEOUT makes them silent, a lost answer drops them.
STREAMS = frozenset({"stream_order_updates", "stream_prices"})
_IN_BAND = frozenset({"trade_updates", "stock_stream", "crypto_stream"})


def error_response(error: AlpacaError) -> web.Response:
    response = web.Response(
        body=orjson.dumps(error.body), status=error.status, content_type="application/json", charset="utf-8"
    )
    response.headers.update(error.headers)
    return response


@web.middleware
async def alpaca_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer an :class:`AlpacaError` raised anywhere inside (admission, handlers) as Alpaca would."""
    try:
        return await handler(request)
    except AlpacaError as error:
        return error_response(error)


class AlpacaFace(StateFace):
    """Alpaca's side of the shared fault middleware."""

    route_operations = ROUTE_OPERATIONS
    stream_operations = STREAMS
    answer_errors: tuple[type[Exception], ...] = (AlpacaError,)

    def __init__(self, state: AlpacaState) -> None:
        super().__init__(state)
        self._state = state

    async def admit(self, request: web.Request) -> None:
        state = self._state
        name = request.match_info.route.name or ""
        if name in _IN_BAND:
            return  # the websockets authenticate in their own protocol
        data = request.path.startswith(("/v2/stocks", "/v1beta3/"))
        headers = request.headers
        if (
            headers.get("APCA-API-KEY-ID") != state.key_id
            or headers.get("APCA-API-SECRET-KEY") != state.secret_key
        ):
            raise errors.forbidden_data() if data else errors.unauthorized()
        if state.bucket is not None and not data:
            wait = state.bucket.admit()
            if wait:
                state.counts.rate_limited += 1
                now = int(state.engine.clock.now().timestamp())
                raise errors.rate_limited(state.bucket.per_minute, now + wait)

    def not_found(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found")

    def method_not_allowed(self, request: web.Request) -> web.Response:
        return web.Response(status=405, text="405 method not allowed")

    def unavailable(self, request: web.Request) -> web.Response:
        """[obs?] Alpaca's answer during an outage is not documented: a plain 503."""
        return web.Response(status=503, text="503 Service Unavailable")

    def rate_limited(self, request: web.Request, retry_after_s: int) -> web.Response:
        now = int(self._state.engine.clock.now().timestamp())
        limit = self._state.settings.requests_per_minute or 200.0
        return error_response(errors.rate_limited(limit, now + retry_after_s))
