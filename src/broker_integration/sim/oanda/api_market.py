"""The market-data endpoints: current prices (reference §1.7) and candles (§1.8). The price stream is in
:mod:`broker_integration.sim.oanda.stream`."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from broker_integration.models import Granularity
from broker_integration.sim.errors import CandleRequestError
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.errors import V20Error, invalid_value
from broker_integration.sim.oanda.middleware import (
    account_of,
    renderer_of,
    respond,
)
from broker_integration.sim.oanda.reading import (
    flag,
    instrument_list,
    int_param,
    path_instrument,
    state_of,
    time_param,
)
from broker_integration.sim.oanda.state import SimulatorState
from broker_integration.sim.records import Bar

__all__ = ["candles", "pricing"]

_DEFAULT_CANDLES, _MAX_CANDLES = 500, 5_000  # [spec + doc] count: default 500, at most 5000


async def pricing(request: web.Request) -> web.Response:
    """``GET …/pricing?instruments=A,B[&since=][&includeUnitsAvailable=][&includeHomeConversions=]``."""
    state, account_id, renderer = state_of(request), account_of(request), renderer_of(request)
    query = request.query
    if not query.get("instruments"):
        raise invalid_value("instruments")
    specs = instrument_list(state, query["instruments"], "instruments")
    since = time_param(query.get("since"), "since")
    with_units = flag(query.get("includeUnitsAvailable"), "includeUnitsAvailable", default=True)
    with_homes = flag(query.get("includeHomeConversions"), "includeHomeConversions", default=False)
    snapshot = state.engine.account(account_id)
    held = {p.instrument: p.units for p in state.engine.positions(account_id)} if with_units else {}
    prices = []
    for spec in specs:
        quote = state.engine.quote(spec.symbol)
        if since is not None and quote.time <= since:
            continue
        available = (
            renderer.units_available(snapshot, spec, held.get(spec.symbol, Decimal(0)), quote)
            if with_units
            else None
        )
        prices.append(renderer.price(quote, home=snapshot.currency, units_available=available))
    body: dict[str, Any] = {"prices": prices}
    if with_homes:
        currencies = sorted({c for spec in specs for c in spec.symbol.split("/")})
        body["homeConversions"] = renderer.home_conversions(currencies, snapshot.currency)
    body["time"] = renderer.time(state.engine.clock.now())
    return respond(request, 200, body)


async def candles(request: web.Request) -> web.Response:
    """``GET /v3/instruments/{instrument}/candles`` (and the account variant), reference §1.8.

    Bars are aligned in UTC (the engine's grid): ``dailyAlignment``, ``alignmentTimezone``,
    ``weeklyAlignment`` and ``smooth`` are accepted and not applied.
    """
    state = state_of(request)
    spec = path_instrument(request, state)
    query = request.query
    components = query.get("price", "M")
    if not components or any(letter not in "MBA" for letter in components):
        raise invalid_value("price")
    try:
        granularity = Granularity(query.get("granularity", "S5"))
    except ValueError:
        raise invalid_value("granularity") from None
    count = int_param(query.get("count"), "count", None, _MAX_CANDLES)
    start, end = time_param(query.get("from"), "from"), time_param(query.get("to"), "to")
    if count is not None and start is not None and end is not None:
        raise invalid_value("count")  # [spec] count must not be given with both from and to
    include_first = flag(query.get("includeFirst"), "includeFirst", default=True)
    try:
        bars = _bars(state, spec, granularity, count, start, end, include_first=include_first)
    except CandleRequestError as exc:
        raise V20Error(400, {"errorMessage": str(exc)}) from None
    renderer = renderer_of(request)
    half_spread = spec.spread * Decimal(str(state.engine.profile.spread_multiplier)) / 2
    body = {
        "instrument": state.names.name(spec.symbol),
        "granularity": granularity.value,
        "candles": [renderer.candle(bar, spec, components, half_spread) for bar in bars],
    }
    return respond(request, 200, body)


def _bars(
    state: SimulatorState,
    spec: InstrumentSpec,
    granularity: Granularity,
    count: int | None,
    start: datetime | None,
    end: datetime | None,
    *,
    include_first: bool,
) -> list[Bar]:
    """Candles as OANDA selects them. Without ``from`` the engine's selection is OANDA's (the last
    ``count``, default 500, ending before ``to``); with ``from``, ``includeFirst`` keeps or drops the
    candle that covers ``from``, and the rest follow it."""
    engine, symbol = state.engine, spec.symbol
    if start is None:
        return engine.candles(symbol, granularity, count=count, end=end)
    covering = engine.candles(symbol, granularity, count=1, end=start + timedelta(seconds=1))
    head = covering[:1] if include_first and (end is None or (covering and covering[0].time < end)) else []
    after = covering[0].time + timedelta(seconds=1) if covering else start
    wanted = count if count is not None else (None if end is not None else _DEFAULT_CANDLES)
    if wanted is not None:
        wanted -= len(head)
        if wanted <= 0:
            return head
    return head + engine.candles(symbol, granularity, count=wanted, start=after, end=end)
