"""The account endpoints: the token's accounts, an account's summary and full state, and its instruments
(reference §1.3)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker_integration.sim.oanda.api_orders import newest_first
from broker_integration.sim.oanda.api_positions import positions_of
from broker_integration.sim.oanda.middleware import (
    account_of,
    reachable_accounts,
    renderer_of,
    respond,
)
from broker_integration.sim.oanda.reading import (
    instrument_list,
    last_id,
    state_of,
)
from broker_integration.sim.oanda.render import V20Renderer
from broker_integration.sim.oanda.state import SimulatorState

__all__ = ["account_instruments", "account_summary", "get_account", "list_accounts"]


async def list_accounts(request: web.Request) -> web.Response:
    """``GET /v3/accounts``: the token's accounts, ``{"id", "tags"}`` each."""
    accounts = sorted(reachable_accounts(request))
    return respond(request, 200, {"accounts": [{"id": account_id, "tags": []} for account_id in accounts]})


async def account_summary(request: web.Request) -> web.Response:
    state, account_id = state_of(request), account_of(request)
    return respond(request, 200, _summary(state, renderer_of(request), account_id))


def _summary(state: SimulatorState, renderer: V20Renderer, account_id: str) -> dict[str, Any]:
    snapshot = state.engine.account(account_id)
    state.history.catch_up()
    summary = renderer.account_summary(snapshot, state.engine.positions(account_id))
    return {"account": summary, "lastTransactionID": summary["lastTransactionID"]}


async def get_account(request: web.Request) -> web.Response:
    """``GET /v3/accounts/{id}``: the summary plus pending orders, open trades and every traded position."""
    state, account_id, renderer = state_of(request), account_of(request), renderer_of(request)
    body = _summary(state, renderer, account_id)
    account = body["account"]
    account["orders"] = [renderer.order(view) for view in newest_first(state.engine.orders(account_id))]
    account["trades"] = [renderer.trade(trade) for trade in state.engine.trades(account_id)]
    account["positions"] = positions_of(state, renderer, account_id, only_open=False)
    return respond(request, 200, body)


async def account_instruments(request: web.Request) -> web.Response:
    """``GET …/instruments[?instruments=A,B]``: what the account can trade."""
    state, renderer = state_of(request), renderer_of(request)
    wanted = request.query.get("instruments")
    specs = (
        list(state.names.by_name.values())
        if wanted is None
        else instrument_list(state, wanted, "instruments")
    )
    body = {
        "instruments": [renderer.instrument(spec) for spec in specs],
        "lastTransactionID": last_id(state),
    }
    return respond(request, 200, body)
