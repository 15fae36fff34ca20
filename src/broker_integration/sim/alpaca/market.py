"""The Market Data API v2 endpoints the simulator serves (reference §2.5): latest quotes and trades, and bars
with ``next_page_token`` paging, for stocks (``/v2/stocks/…``, one symbol or many) and crypto
(``/v1beta3/crypto/us/…``). Numbers are JSON numbers; an unknown symbol is left out of a multi-symbol
answer (``{"quotes":{}}``); a bad parameter is 400 ``{"message": …}``.
"""

from __future__ import annotations

import base64
import functools
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from broker_integration.models import Granularity
from broker_integration.sim.alpaca import errors
from broker_integration.sim.alpaca.listing import ListedAsset
from broker_integration.sim.alpaca.render import bar_json, query_time, quote_json, trade_json
from broker_integration.sim.alpaca.state import AlpacaState
from broker_integration.sim.alpaca.trading import respond, state_of
from broker_integration.sim.candles import MAX_CANDLES
from broker_integration.sim.engine import step_of
from broker_integration.sim.records import Bar

__all__ = [
    "bars",
    "latest_quotes",
    "latest_trades",
    "one_symbol_bars",
    "one_symbol_quote",
    "one_symbol_trade",
]

_TIMEFRAMES = {
    "1Min": Granularity.M1,
    "2Min": Granularity.M2,
    "4Min": Granularity.M4,
    "5Min": Granularity.M5,
    "10Min": Granularity.M10,
    "15Min": Granularity.M15,
    "30Min": Granularity.M30,
    "1Hour": Granularity.H1,
    "2Hour": Granularity.H2,
    "3Hour": Granularity.H3,
    "4Hour": Granularity.H4,
    "6Hour": Granularity.H6,
    "8Hour": Granularity.H8,
    "12Hour": Granularity.H12,
    "1Day": Granularity.D,
    "1Week": Granularity.W,
    "1Month": Granularity.MONTH,
}
_DEFAULT_BARS, _MAX_BARS = 1000, 10_000


def _crypto_path(request: web.Request) -> bool:
    return request.path.startswith("/v1beta3/crypto/")


def _symbols(request: web.Request, state: AlpacaState) -> list[tuple[str, ListedAsset | None]]:
    """The ``symbols`` asked for, each with its asset (``None`` for one this venue does not list, or of
    the other asset class than the path's)."""
    text = request.query.get("symbols", "")
    crypto = _crypto_path(request)
    found = []
    for name in (s.strip() for s in text.split(",")):
        if not name:
            continue
        asset = state.asset(name)
        found.append((name, asset if asset is not None and asset.is_crypto == crypto else None))
    if not found:
        raise errors.data_error(400, "invalid symbols")
    return found


def _check_feed(request: web.Request) -> None:
    if not _crypto_path(request) and request.query.get("feed", "iex") not in (
        "iex",
        "sip",
        "otc",
        "delayed_sip",
    ):
        raise errors.data_error(400, "invalid feed")


async def latest_quotes(request: web.Request) -> web.Response:
    state = state_of(request)
    _check_feed(request)
    quotes = {
        name: quote_json(asset, state.engine.quote(asset.symbol))
        for name, asset in _symbols(request, state)
        if asset is not None
    }
    return respond({"quotes": quotes})


async def latest_trades(request: web.Request) -> web.Response:
    state = state_of(request)
    _check_feed(request)
    trades = {
        name: trade_json(asset, state.engine.quote(asset.symbol), next(state.trade_ids))
        for name, asset in _symbols(request, state)
        if asset is not None
    }
    return respond({"trades": trades})


def _one(request: web.Request, state: AlpacaState) -> ListedAsset:
    asset = state.asset(request.match_info["symbol"])
    if asset is None or asset.is_crypto:
        raise errors.data_error(404, "not found")
    return asset


async def one_symbol_quote(request: web.Request) -> web.Response:
    state = state_of(request)
    asset = _one(request, state)
    return respond({"symbol": asset.symbol, "quote": quote_json(asset, state.engine.quote(asset.symbol))})


async def one_symbol_trade(request: web.Request) -> web.Response:
    state = state_of(request)
    asset = _one(request, state)
    trade = trade_json(asset, state.engine.quote(asset.symbol), next(state.trade_ids))
    return respond({"symbol": asset.symbol, "trade": trade})


def _bar_query(request: web.Request) -> tuple[Granularity, datetime, datetime, int, bool, int]:
    query = request.query
    frame = query.get("timeframe")
    if frame not in _TIMEFRAMES:
        raise errors.data_error(400, "invalid timeframe")
    try:
        limit = int(query.get("limit") or _DEFAULT_BARS)
    except ValueError:
        raise errors.data_error(400, "invalid limit") from None
    if not 1 <= limit <= _MAX_BARS:
        raise errors.data_error(400, "invalid limit")
    sort = query.get("sort", "asc")
    if sort not in ("asc", "desc"):
        raise errors.data_error(400, "invalid sort")
    now = state_of(request).engine.clock.now()
    refuse = functools.partial(errors.data_error, 400)
    start = query_time(query, "start", refuse) or now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = query_time(query, "end", refuse) or now
    offset = 0
    token = query.get("page_token")
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise errors.data_error(400, "invalid page_token") from None
    return _TIMEFRAMES[frame], start, min(end, now), limit, sort == "desc", offset


def _candles(
    state: AlpacaState, symbol: str, granularity: Granularity, start: datetime, end: datetime
) -> list[Bar]:
    """Every bar starting in ``[start, end)``, read in spans of at most ``MAX_CANDLES`` bars (the engine's
    limit per read): Alpaca pages a long range with ``next_page_token`` rather than refusing it."""
    span = timedelta(seconds=granularity.seconds * MAX_CANDLES)
    found: list[Bar] = []
    while start < end:
        stop = min(end, start + span)
        found += state.engine.candles(symbol, granularity, start=start, end=stop)
        start = stop
    return found


def _bars_of(
    state: AlpacaState, asset: ListedAsset, request: web.Request
) -> tuple[list[dict[str, Any]], str | None]:
    granularity, start, end, limit, newest_first, offset = _bar_query(request)
    if end <= start:
        return [], None
    found = _candles(state, asset.symbol, granularity, start, end)
    found = [bar for bar in found if bar.complete or step_of(bar.time) < step_of(end)]
    if newest_first:
        found.reverse()
    page = found[offset : offset + limit]
    following = offset + limit
    token = base64.urlsafe_b64encode(str(following).encode()).decode() if following < len(found) else None
    return [bar_json(bar, crypto=asset.is_crypto) for bar in page], token


async def bars(request: web.Request) -> web.Response:
    """``GET /v2/stocks/bars`` or ``/v1beta3/crypto/us/bars``: ``{"bars": {symbol: […]}, "next_page_token"}``.
    One page holds ``limit`` bars; paging is per symbol set, as the token continues where the page ended."""
    state = state_of(request)
    _check_feed(request)
    result: dict[str, list[dict[str, Any]]] = {}
    token: str | None = None
    for name, asset in _symbols(request, state):
        if asset is None:
            continue
        page, following = _bars_of(state, asset, request)
        if page:
            result[name] = page
        token = token or following
    return respond({"bars": result, "next_page_token": token})


async def one_symbol_bars(request: web.Request) -> web.Response:
    state = state_of(request)
    asset = _one(request, state)
    page, token = _bars_of(state, asset, request)
    return respond({"bars": page, "symbol": asset.symbol, "next_page_token": token})
