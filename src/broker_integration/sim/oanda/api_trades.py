"""The trade endpoints (spec ``json/v20.json`` paths ``/accounts/{accountID}/trades…``, developer site
``rest-live-v20/trade-ep``): list with filters, the open trades, one trade, and the trade close.

A trade is the engine's (:mod:`broker_integration.sim.trades`): the fill that opened units, reduced by
later fills. ``tradeSpecifier`` is the trade id or ``@`` and the client id the opening order gave it in
``tradeClientExtensions``. Unknown trades get 404 NO_SUCH_TRADE [doc troubleshooting-errors, worded as
the recorded NO_SUCH_ORDER]; a close that cannot be done gets the spec's reject: 404 (unknown trade) or
400 (units) with a ``MARKET_ORDER_REJECT`` transaction, ``errorCode`` and ``errorMessage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from broker_integration.sim.oanda.answers import action_body
from broker_integration.sim.oanda.errors import invalid_value, no_such_trade
from broker_integration.sim.oanda.formats import parse_decimal
from broker_integration.sim.oanda.middleware import account_of, renderer_of, respond
from broker_integration.sim.oanda.parse import OrderExtras, TradeClose
from broker_integration.sim.oanda.reading import (
    instrument_filter,
    int_param,
    last_id,
    read_json,
    specifier,
    state_of,
)
from broker_integration.sim.oanda.rejections import with_reject_error
from broker_integration.sim.oanda.state import SimulatorState
from broker_integration.sim.oanda.vocabulary import TRADE_STATE_NAMES
from broker_integration.sim.records import TradeRejectReason, TradeView

__all__ = ["close_trade", "get_trade", "list_trades", "open_trades"]

_STATES = frozenset({"OPEN", "CLOSED", "CLOSE_WHEN_TRADEABLE", "ALL"})  # [spec TradeStateFilter]
_DEFAULT_COUNT, _MAX_COUNT = 50, 500  # [doc] count: default 50, maximum 500


def _newest_first(trades: list[TradeView]) -> list[TradeView]:
    return sorted(trades, key=lambda trade: int(trade.trade_id), reverse=True)


def _client_id(state: SimulatorState, trade: TradeView) -> str | None:
    extensions: Mapping[str, str] = (
        state.extras.get(trade.order_id, OrderExtras()).trade_client_extensions or {}
    )
    return extensions.get("id")


def _resolve(state: SimulatorState, account_id: str, text: str) -> TradeView | None:
    """The trade ``text`` names (an id or ``@`` and a client id; the newest trade holding that client id)."""
    parsed = specifier(text)
    if parsed is None:
        return None
    trade_id, client_id = parsed
    if trade_id is not None:
        return state.engine.find_trade(account_id, trade_id)
    everything = _newest_first(state.engine.trades(account_id, include_closed=True))
    return next((trade for trade in everything if _client_id(state, trade) == client_id), None)


def _trades_answer(request: web.Request, state: SimulatorState, trades: list[TradeView]) -> web.Response:
    renderer = renderer_of(request)
    body = {"trades": [renderer.trade(trade) for trade in trades], "lastTransactionID": last_id(state)}
    return respond(request, 200, body)


async def list_trades(request: web.Request) -> web.Response:
    """``GET …/trades?state=&instrument=&count=&beforeID=&ids=``, newest first; a ``Link`` header names the
    next page when more trades matched than ``count`` [doc]. Asked for by ``ids``, trades of every state
    are listed unless ``state`` says otherwise."""
    state, account_id = state_of(request), account_of(request)
    query = request.query
    ids: set[str] | None = None
    if query.get("ids"):
        parsed = [specifier(text) for text in query["ids"].split(",")]
        if any(item is None or item[0] is None for item in parsed):
            raise invalid_value("ids")
        ids = {item[0] for item in parsed if item is not None and item[0] is not None}
    wanted = query.get("state", "ALL" if ids is not None else "OPEN")
    if wanted not in _STATES:
        raise invalid_value("state")
    count = int_param(query.get("count"), "count", _DEFAULT_COUNT, _MAX_COUNT)
    assert count is not None
    before = None if query.get("beforeID") is None else int_param(query["beforeID"], "beforeID", None, None)
    symbol = instrument_filter(request, state)
    matched = [
        trade
        for trade in _newest_first(state.engine.trades(account_id, instrument=symbol, include_closed=True))
        if (wanted == "ALL" or TRADE_STATE_NAMES[trade.state] == wanted)
        and (before is None or int(trade.trade_id) <= before)
        and (ids is None or trade.trade_id in ids)
    ]
    response = _trades_answer(request, state, matched[:count])
    if len(matched) > count:
        following = dict(query)
        following["beforeID"] = str(int(matched[count - 1].trade_id) - 1)
        response.headers["Link"] = f'<{request.url.with_query(following)}>; rel="next"'
    return response


async def open_trades(request: web.Request) -> web.Response:
    """``GET …/openTrades``: every open trade, newest first."""
    state, account_id = state_of(request), account_of(request)
    return _trades_answer(request, state, _newest_first(state.engine.trades(account_id)))


async def get_trade(request: web.Request) -> web.Response:
    """``GET …/trades/{tradeSpecifier}``: one trade, open or closed."""
    state, account_id = state_of(request), account_of(request)
    trade = _resolve(state, account_id, request.match_info["tradeSpecifier"])
    if trade is None:
        raise no_such_trade(state.engine.last_transaction_id)
    body = {"trade": renderer_of(request).trade(trade), "lastTransactionID": last_id(state)}
    return respond(request, 200, body)


def _close_units(body: Any) -> str:
    """``{"units": "ALL" | "<positive decimal>"}`` (a JSON number accepted, as OANDA did [rec]); no body or
    no ``units`` closes it all [doc default=ALL]."""
    if body is None:
        return "ALL"
    if not isinstance(body, Mapping):
        raise invalid_value("units")
    value = body.get("units", "ALL")
    if value == "ALL":
        return "ALL"
    try:
        amount = parse_decimal(value)
    except ValueError:
        raise invalid_value("units") from None
    if amount <= 0:
        raise invalid_value("units")
    return format(amount, "f")


async def close_trade(request: web.Request) -> web.Response:
    """``PUT …/trades/{tradeSpecifier}/close``: a trade-close market order (200 with its fill, or its
    cancel when the market is shut); 404 or 400 with the reject when the trade cannot be closed."""
    state, account_id = state_of(request), account_of(request)
    text = request.match_info["tradeSpecifier"]
    raw = await request.read()
    units = _close_units(await read_json(request) if raw.strip() else None)
    trade = _resolve(state, account_id, text)
    named = specifier(text)
    if trade is not None:
        close = TradeClose(trade.trade_id, named[1] if named is not None else None, units)
    elif named is not None:
        close = TradeClose(named[0], named[1], units)
    else:
        close = TradeClose(None, text, units)  # neither an id nor @client id: echoed as the client's text
    outcome = state.engine.close_trade(
        account_id, trade.trade_id if trade is not None else text, None if units == "ALL" else Decimal(units)
    )
    extras = OrderExtras(position_fill="REDUCE_ONLY", trade_close=close)
    body = action_body(request, state, outcome.transactions, extras)
    if outcome.order is not None:  # closed, or cancelled at once (a shut market): 200 all the same [rec]
        return respond(request, 200, body)
    assert outcome.reject_reason is not None
    if outcome.reject_reason is TradeRejectReason.TRADE_DOESNT_EXIST:
        return respond(request, 404, with_reject_error(body, outcome.reject_reason, outcome.message))
    del body["relatedTransactionIDs"]  # [spec] the 400 names the reject, not the batch
    return respond(request, 400, with_reject_error(body, outcome.reject_reason, outcome.message))
