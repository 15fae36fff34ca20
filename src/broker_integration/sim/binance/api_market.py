"""The general and market-data endpoints (``rest-api.md`` "General endpoints", "Market Data endpoints"):
ping, server time, exchange information, klines, the 24-hour ticker, the book ticker, the price ticker and
the average price, from the venue engine's prices.

Klines come in Binance's intervals that the engine's candle widths cover; ``1s``, ``3m`` and ``3d`` are
answered ``-1120`` (a gap of the simulator, stricter than Binance, never kinder). The average price (the
reference of ``PERCENT_PRICE_BY_SIDE`` and ``NOTIONAL`` for market orders) is the current mid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from broker_integration.models import Granularity
from broker_integration.sim.binance.errors import BinanceError, bad_interval, bad_symbol
from broker_integration.sim.binance.face import params_of, respond, state_of
from broker_integration.sim.binance.markets import SymbolRules, decimal_text
from broker_integration.sim.binance.orders import symbol_rules
from broker_integration.sim.binance.params import Params
from broker_integration.sim.binance.render import kline_row, millis
from broker_integration.sim.binance.state import SimulatorState
from broker_integration.sim.errors import CandleRequestError
from broker_integration.sim.records import Bar

__all__ = [
    "INTERVALS",
    "avg_price",
    "book_ticker",
    "exchange_info",
    "klines",
    "ping",
    "server_time",
    "symbols_weight",
    "ticker_24hr",
    "ticker_price",
]

#: Binance's kline intervals the engine's candle widths cover.
INTERVALS: dict[str, Granularity] = {
    "1m": Granularity.M1,
    "5m": Granularity.M5,
    "15m": Granularity.M15,
    "30m": Granularity.M30,
    "1h": Granularity.H1,
    "2h": Granularity.H2,
    "4h": Granularity.H4,
    "6h": Granularity.H6,
    "8h": Granularity.H8,
    "12h": Granularity.H12,
    "1d": Granularity.D,
    "1w": Granularity.W,
    "1M": Granularity.MONTH,
}
_BINANCE_INTERVALS = frozenset({*INTERVALS, "1s", "3m", "3d"})
_DEFAULT_KLINES, _MAX_KLINES = 500, 1000


async def ping(request: web.Request) -> web.Response:
    """``GET /api/v3/ping``."""
    params_of(request).finish()
    return respond(request, {})


async def server_time(request: web.Request) -> web.Response:
    """``GET /api/v3/time``: the server's clock."""
    params_of(request).finish()
    return respond(request, {"serverTime": state_of(request).server_ms()})


def _rate_limits(state: SimulatorState) -> list[dict[str, Any]]:
    settings = state.settings
    limits: list[dict[str, Any]] = []
    if settings.request_weight_per_minute is not None:
        limits.append(
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": settings.request_weight_per_minute,
            }
        )
    if settings.orders_per_10s is not None:
        limits.append(
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": settings.orders_per_10s,
            }
        )
    if settings.orders_per_day is not None:
        limits.append(
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": settings.orders_per_day}
        )
    return limits


def _symbol_list(params: Params, state: SimulatorState) -> list[SymbolRules]:
    """The symbols ``symbol`` or ``symbols`` (a JSON array) name, or every listed one."""
    one = params.text("symbol")
    many = params.text("symbols")
    if one is not None and many is not None:
        raise BinanceError(400, -1128, "Combination of optional parameters invalid.")
    if one is not None:
        rule = state.listing.get(one)
        if rule is None:
            raise bad_symbol()
        return [rule]
    if many is None:
        return list(state.listing.rules)
    try:
        names = orjson.loads(many)
    except orjson.JSONDecodeError:
        raise BinanceError(
            400,
            -1100,
            "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.",
        ) from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BinanceError(400, -1100, "Illegal characters found in parameter 'symbols'.")
    if len(set(names)) != len(names):
        raise BinanceError(400, -1151, "Symbol is present multiple times in the list.")
    rules = []
    for name in names:
        rule = state.listing.get(name)
        if rule is None:
            raise bad_symbol()
        rules.append(rule)
    return rules


def symbols_weight(single: int, every: int) -> Any:
    """The weight of a ticker endpoint: ``single`` for one symbol or a short list, ``every`` for all."""

    def weight(params: Params) -> int:
        if "symbol" in params:
            return single
        if "symbols" in params:
            return single if params.raw_query.count("%2C") + params.raw_query.count(",") < 20 else every
        return every

    return weight


async def exchange_info(request: web.Request) -> web.Response:
    """``GET /api/v3/exchangeInfo``: the rate limits and every symbol's rules and filters."""
    state, params = state_of(request), params_of(request)
    rules = _symbol_list(params, state)
    params.accept("permissions", "showPermissionSets", "symbolStatus")
    params.finish()
    body = {
        "timezone": "UTC",
        "serverTime": state.server_ms(),
        "rateLimits": _rate_limits(state),
        "exchangeFilters": [],
        "symbols": [rule.exchange_info() for rule in rules],
    }
    return respond(request, body)


def _close_ms(bar: Bar, granularity: Granularity) -> int:
    """The last millisecond of ``bar`` (a month's length varies)."""
    if granularity is Granularity.MONTH:
        start = bar.time
        following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
        return millis(following) - 1
    return millis(bar.time) + granularity.seconds * 1000 - 1


async def klines(request: web.Request) -> web.Response:
    """``GET /api/v3/klines``: up to ``limit`` bars from ``startTime``, to ``endTime``, or the latest."""
    state, params = state_of(request), params_of(request)
    rule = symbol_rules(params, state.listing)
    assert rule is not None
    interval = params.required("interval")
    start = params.long("startTime")
    end = params.long("endTime")
    limit = params.long("limit")
    zone = params.text("timeZone")
    params.finish()
    if interval not in _BINANCE_INTERVALS:
        raise bad_interval()
    granularity = INTERVALS.get(interval)
    if granularity is None:
        raise bad_interval()
    if zone not in (None, "0", "00:00", "+0", "+00:00"):
        raise BinanceError(400, -1130, "Data sent for parameter 'timeZone' is not valid.")
    count = limit or _DEFAULT_KLINES
    if count > _MAX_KLINES:
        raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    if start is not None and end is not None and end < start:
        raise BinanceError(400, -1130, "Data sent for parameter 'endTime' is not valid.")
    bars = _bars(state, rule, granularity, count, start, end)
    return respond(request, [kline_row(bar, _close_ms(bar, granularity)) for bar in bars])


def _bars(
    state: SimulatorState,
    rule: SymbolRules,
    granularity: Granularity,
    count: int,
    start: int | None,
    end: int | None,
) -> list[Bar]:
    """Bars opening at or after ``start`` (ms), at or before ``end``: the first ``count`` from ``start``,
    else the last ``count``."""
    engine = state.engine
    symbol = rule.spec.symbol
    try:
        if start is not None:
            bars = engine.candles(symbol, granularity, count=count, start=_time(start))
            return [b for b in bars if end is None or millis(b.time) <= end]
        if end is not None:
            return engine.candles(symbol, granularity, count=count, end=_time(end + 1))
        return engine.candles(symbol, granularity, count=count)
    except CandleRequestError:
        return []


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ticker(state: SimulatorState, rule: SymbolRules) -> dict[str, Any]:
    """24-hour statistics from the hourly bars of the last day and the live quote."""
    engine = state.engine
    quote = engine.quote(rule.spec.symbol)
    bars = engine.candles(rule.spec.symbol, Granularity.H1, count=25)[-25:]
    opening = bars[0].open
    last = (quote.bid + quote.ask) / 2
    high = max(b.high for b in bars)
    low = min(b.low for b in bars)
    volume = Decimal(sum(b.volume for b in bars))
    now = millis(quote.time)
    change = last - opening
    return {
        "symbol": rule.symbol,
        "priceChange": decimal_text(change),
        "priceChangePercent": f"{(change / opening * 100).quantize(Decimal('0.001'))}",
        "weightedAvgPrice": decimal_text((high + low) / 2),
        "prevClosePrice": decimal_text(opening),
        "lastPrice": decimal_text(last),
        "lastQty": decimal_text(rule.step_size),
        "bidPrice": decimal_text(quote.bid),
        "bidQty": decimal_text(rule.max_market_quantity / 10),
        "askPrice": decimal_text(quote.ask),
        "askQty": decimal_text(rule.max_market_quantity / 10),
        "openPrice": decimal_text(opening),
        "highPrice": decimal_text(max(high, last)),
        "lowPrice": decimal_text(min(low, last)),
        "volume": decimal_text(volume),
        "quoteVolume": decimal_text(volume * last),
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": 1,
        "lastId": int(volume),
        "count": int(volume),
    }


async def ticker_24hr(request: web.Request) -> web.Response:
    """``GET /api/v3/ticker/24hr``: one symbol's statistics, or a list for ``symbols`` or all."""
    state, params = state_of(request), params_of(request)
    rules = _symbol_list(params, state)
    params.accept("type", "symbolStatus")
    params.finish()
    tickers = [_ticker(state, rule) for rule in rules]
    return respond(request, tickers[0] if "symbol" in params else tickers)


def _book(state: SimulatorState, rule: SymbolRules) -> dict[str, str]:
    quote = state.engine.quote(rule.spec.symbol)
    size = decimal_text(rule.max_market_quantity / 10)
    return {
        "symbol": rule.symbol,
        "bidPrice": decimal_text(quote.bid),
        "bidQty": size,
        "askPrice": decimal_text(quote.ask),
        "askQty": size,
    }


async def book_ticker(request: web.Request) -> web.Response:
    """``GET /api/v3/ticker/bookTicker``: the best bid and ask."""
    state, params = state_of(request), params_of(request)
    rules = _symbol_list(params, state)
    params.accept("symbolStatus")
    params.finish()
    books = [_book(state, rule) for rule in rules]
    return respond(request, books[0] if "symbol" in params else books)


async def ticker_price(request: web.Request) -> web.Response:
    """``GET /api/v3/ticker/price``: the last price (the mid)."""
    state, params = state_of(request), params_of(request)
    rules = _symbol_list(params, state)
    params.accept("symbolStatus")
    params.finish()
    prices = []
    for rule in rules:
        quote = state.engine.quote(rule.spec.symbol)
        prices.append({"symbol": rule.symbol, "price": decimal_text((quote.bid + quote.ask) / 2)})
    return respond(request, prices[0] if "symbol" in params else prices)


async def avg_price(request: web.Request) -> web.Response:
    """``GET /api/v3/avgPrice``."""
    state, params = state_of(request), params_of(request)
    rule = symbol_rules(params, state.listing)
    assert rule is not None
    params.finish()
    quote = state.engine.quote(rule.spec.symbol)
    return respond(
        request,
        {"mins": 5, "price": decimal_text((quote.bid + quote.ask) / 2), "closeTime": millis(quote.time)},
    )
