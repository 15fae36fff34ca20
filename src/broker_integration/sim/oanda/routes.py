"""The v20 REST endpoints the simulator serves (reference §1.3), named for the middleware's fault plan.

The handlers live by area: :mod:`.api_accounts`, :mod:`.api_orders`, :mod:`.api_positions`,
:mod:`.api_trades`, :mod:`.api_transactions`, :mod:`.api_market`, the price stream in :mod:`.stream` and
the transaction stream in :mod:`.stream_transactions`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker_integration.sim.oanda.api_accounts import (
    account_instruments,
    account_summary,
    get_account,
    list_accounts,
)
from broker_integration.sim.oanda.api_market import candles, pricing
from broker_integration.sim.oanda.api_orders import (
    cancel_order,
    get_order,
    list_orders,
    pending_orders,
    place_order,
    replace_order,
)
from broker_integration.sim.oanda.api_positions import (
    all_positions,
    close_position,
    one_position,
    open_positions,
)
from broker_integration.sim.oanda.api_trades import close_trade, get_trade, list_trades, open_trades
from broker_integration.sim.oanda.api_transactions import (
    get_transaction,
    id_range,
    list_transactions,
    since_id,
)
from broker_integration.sim.oanda.stream import pricing_stream
from broker_integration.sim.oanda.stream_transactions import transaction_stream

__all__ = ["add_routes"]


def add_routes(app: web.Application) -> None:
    """Register every v20 endpoint the simulator serves, named for the middleware's fault plan."""
    base = "/v3/accounts/{accountID}"
    table: list[tuple[str, str, Any, str]] = [
        ("GET", "/v3/accounts", list_accounts, "accounts"),
        ("GET", base, get_account, "account"),
        ("GET", f"{base}/summary", account_summary, "account_summary"),
        ("GET", f"{base}/instruments", account_instruments, "account_instruments"),
        ("POST", f"{base}/orders", place_order, "place_order"),
        ("GET", f"{base}/orders", list_orders, "list_orders"),
        ("GET", f"{base}/pendingOrders", pending_orders, "pending_orders"),
        ("GET", f"{base}/orders/{{orderSpecifier}}", get_order, "get_order"),
        ("PUT", f"{base}/orders/{{orderSpecifier}}", replace_order, "replace_order"),
        ("PUT", f"{base}/orders/{{orderSpecifier}}/cancel", cancel_order, "cancel_order"),
        ("GET", f"{base}/positions", all_positions, "positions"),
        ("GET", f"{base}/openPositions", open_positions, "open_positions"),
        ("GET", f"{base}/positions/{{instrument}}", one_position, "position"),
        ("PUT", f"{base}/positions/{{instrument}}/close", close_position, "close_position"),
        ("GET", f"{base}/trades", list_trades, "trades"),
        ("GET", f"{base}/openTrades", open_trades, "open_trades"),
        ("GET", f"{base}/trades/{{tradeSpecifier}}", get_trade, "trade"),
        ("PUT", f"{base}/trades/{{tradeSpecifier}}/close", close_trade, "close_trade"),
        ("GET", f"{base}/transactions", list_transactions, "transactions"),
        ("GET", f"{base}/transactions/idrange", id_range, "transactions_idrange"),
        ("GET", f"{base}/transactions/sinceid", since_id, "transactions_since"),
        ("GET", f"{base}/transactions/stream", transaction_stream, "transaction_stream"),
        ("GET", f"{base}/transactions/{{transactionID}}", get_transaction, "transaction"),
        ("GET", f"{base}/pricing", pricing, "pricing"),
        ("GET", f"{base}/pricing/stream", pricing_stream, "pricing_stream"),
        ("GET", "/v3/instruments/{instrument}/candles", candles, "candles"),
        ("GET", f"{base}/instruments/{{instrument}}/candles", candles, "account_candles"),
    ]
    for method, path, handler, name in table:
        app.router.add_route(method, path, handler, name=name)
