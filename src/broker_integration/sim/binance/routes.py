"""The Binance spot REST endpoints the simulator serves, with the weight, security type and adapter
operation of each (weights from ``rest-api.md``; operations are the names fault plans are keyed by).

The handlers live by area: :mod:`.api_market` (general and market data), :mod:`.api_orders` (trading and
order queries), :mod:`.api_account`; the websockets in :mod:`.streams`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from broker_integration.sim.binance.api_account import account
from broker_integration.sim.binance.api_market import (
    avg_price,
    book_ticker,
    exchange_info,
    klines,
    ping,
    server_time,
    symbols_weight,
    ticker_24hr,
    ticker_price,
)
from broker_integration.sim.binance.api_orders import (
    all_orders,
    cancel_order,
    cancel_replace,
    new_order,
    open_orders,
    query_order,
)
from broker_integration.sim.binance.face import RouteSpec, Security, fixed
from broker_integration.sim.binance.params import Params
from broker_integration.sim.binance.streams import market_stream, websocket_api

__all__ = ["ROUTES", "add_routes"]

_SIGNED = Security.SIGNED


def _open_orders_weight(params: Params) -> int:
    return 6 if "symbol" in params else 80


#: (method, path, handler, name, spec) for every endpoint.
_TABLE: tuple[tuple[str, str, Any, str, RouteSpec], ...] = (
    ("GET", "/api/v3/ping", ping, "ping", RouteSpec("health_check", False, fixed(1))),
    ("GET", "/api/v3/time", server_time, "time", RouteSpec("health_check", False, fixed(1))),
    (
        "GET",
        "/api/v3/exchangeInfo",
        exchange_info,
        "exchange_info",
        RouteSpec("get_instruments", False, fixed(20)),
    ),
    ("GET", "/api/v3/klines", klines, "klines", RouteSpec("get_historical_data", False, fixed(2))),
    (
        "GET",
        "/api/v3/ticker/24hr",
        ticker_24hr,
        "ticker_24hr",
        RouteSpec("get_current_price", False, symbols_weight(2, 80)),
    ),
    (
        "GET",
        "/api/v3/ticker/bookTicker",
        book_ticker,
        "book_ticker",
        RouteSpec("get_current_price", False, symbols_weight(2, 4)),
    ),
    (
        "GET",
        "/api/v3/ticker/price",
        ticker_price,
        "ticker_price",
        RouteSpec("get_current_price", False, symbols_weight(2, 4)),
    ),
    ("GET", "/api/v3/avgPrice", avg_price, "avg_price", RouteSpec("get_current_price", False, fixed(2))),
    ("POST", "/api/v3/order", new_order, "new_order", RouteSpec("place_order", True, fixed(1), _SIGNED)),
    (
        "DELETE",
        "/api/v3/order",
        cancel_order,
        "cancel_order",
        RouteSpec("cancel_order", True, fixed(1), _SIGNED),
    ),
    ("GET", "/api/v3/order", query_order, "query_order", RouteSpec("get_order", False, fixed(4), _SIGNED)),
    (
        "POST",
        "/api/v3/order/cancelReplace",
        cancel_replace,
        "cancel_replace",
        RouteSpec("modify_order", True, fixed(1), _SIGNED),
    ),
    (
        "GET",
        "/api/v3/openOrders",
        open_orders,
        "open_orders",
        RouteSpec("get_orders", False, _open_orders_weight, _SIGNED),
    ),
    (
        "GET",
        "/api/v3/allOrders",
        all_orders,
        "all_orders",
        RouteSpec("get_orders", False, fixed(20), _SIGNED),
    ),
    (
        "GET",
        "/api/v3/account",
        account,
        "account",
        RouteSpec("get_account_summary", False, fixed(20), _SIGNED),
    ),
    ("GET", "/ws", market_stream, "ws_market", RouteSpec("stream_prices", False, fixed(0))),
    ("GET", "/ws/{stream}", market_stream, "ws_raw", RouteSpec("stream_prices", False, fixed(0))),
    ("GET", "/ws-api/v3", websocket_api, "ws_api", RouteSpec("stream_order_updates", False, fixed(2))),
)

#: Route name → its spec, for the face.
ROUTES: Mapping[str, RouteSpec] = {name: spec for _, _, _, name, spec in _TABLE}


def add_routes(app: web.Application) -> None:
    """Register every endpoint the simulator serves, named for the face."""
    for method, path, handler, name, _ in _TABLE:
        app.router.add_route(method, path, handler, name=name)
