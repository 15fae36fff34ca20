"""The paths the simulator serves (reference §2.3, §2.5, §2.6), named for the middleware's fault plan."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker_integration.sim.alpaca import market, trading
from broker_integration.sim.alpaca.streams import market_data_stream, trade_updates_stream

__all__ = ["add_routes"]


def add_routes(app: web.Application) -> None:
    table: list[tuple[str, str, Any, str]] = [
        ("GET", "/v2/account", trading.account, "account"),
        ("GET", "/v2/clock", trading.clock, "clock"),
        ("GET", "/v2/assets", trading.list_assets, "assets"),
        ("GET", "/v2/assets/{symbol:.+}", trading.get_asset, "asset"),
        ("POST", "/v2/orders", trading.place_order, "place_order"),
        ("GET", "/v2/orders", trading.list_orders, "list_orders"),
        ("DELETE", "/v2/orders", trading.cancel_all_orders, "cancel_all_orders"),
        ("GET", "/v2/orders:by_client_order_id", trading.get_order_by_client_id, "order_by_client_id"),
        ("GET", "/v2/orders/{order_id}", trading.get_order, "get_order"),
        ("PATCH", "/v2/orders/{order_id}", trading.replace_order, "replace_order"),
        ("DELETE", "/v2/orders/{order_id}", trading.cancel_order, "cancel_order"),
        ("GET", "/v2/positions", trading.list_positions, "positions"),
        ("DELETE", "/v2/positions", trading.close_all_positions, "close_all_positions"),
        ("GET", "/v2/positions/{symbol:.+}", trading.get_position, "position"),
        ("DELETE", "/v2/positions/{symbol:.+}", trading.close_position, "close_position"),
        ("GET", "/v2/stocks/quotes/latest", market.latest_quotes, "stock_quotes"),
        ("GET", "/v2/stocks/trades/latest", market.latest_trades, "stock_trades"),
        ("GET", "/v2/stocks/bars", market.bars, "stock_bars"),
        ("GET", "/v2/stocks/{symbol}/quotes/latest", market.one_symbol_quote, "stock_quote"),
        ("GET", "/v2/stocks/{symbol}/trades/latest", market.one_symbol_trade, "stock_trade"),
        ("GET", "/v2/stocks/{symbol}/bars", market.one_symbol_bars, "stock_symbol_bars"),
        ("GET", "/v1beta3/crypto/{loc}/latest/quotes", market.latest_quotes, "crypto_quotes"),
        ("GET", "/v1beta3/crypto/{loc}/latest/trades", market.latest_trades, "crypto_trades"),
        ("GET", "/v1beta3/crypto/{loc}/bars", market.bars, "crypto_bars"),
        ("GET", "/stream", trade_updates_stream, "trade_updates"),
        ("GET", "/v2/{feed:iex|sip|delayed_sip|test}", market_data_stream, "stock_stream"),
        ("GET", "/v1beta3/crypto/{loc}", market_data_stream, "crypto_stream"),
    ]
    for method, path, handler, name in table:
        app.router.add_route(method, path, handler, name=name)
