"""The CCXT adapter's two streams, each over ccxt.pro's websockets where the exchange has them, else by
polling ccxt's REST calls (the capability profile says which, :mod:`.capabilities`).

Order updates by websocket: ``watchOrders`` gives the orders that changed; a dropped websocket is reopened
(ccxt.pro's next ``watch`` reconnects) while the orders are read again over REST, until the new
subscription delivers or for a couple of seconds, so a change made while it was down, or while it came
back, is told. By polling: every interval, each watched symbol's open orders, the orders
created since the last poll (the exchange's order history, which holds an order filled between two polls)
and, for an order seen open before and open no more, the order itself. Orders that were there before the
stream began are noted, not told.

Prices by websocket: ``watchTicker``; by polling: ``fetchTicker``, a tick told when the quote changed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from broker_integration.adapters.ccxt.client import CcxtClient
from broker_integration.adapters.ccxt.parsing import parse_ticker
from broker_integration.adapters.ccxt.tracking import OrderDirectory, UpdateTracker
from broker_integration.errors import BrokerError, StandardErrorCode
from broker_integration.models import OrderUpdate, PriceTick

__all__ = [
    "OrderSource",
    "polled_order_updates",
    "polled_prices",
    "websocket_order_updates",
    "websocket_prices",
]

#: Reconnections of a websocket in a row before its stream fails.
MAX_RECONNECTS = 5
_RECONNECT = frozenset(
    {StandardErrorCode.CONNECTION_ERROR, StandardErrorCode.TIMEOUT, StandardErrorCode.SERVICE_UNAVAILABLE}
)
#: After a reconnection, how long and how often the orders are read over REST while the new subscription
#: comes up (until its first delivery).
CATCH_UP_SECONDS = 2.0
CATCH_UP_INTERVAL = 0.25


class OrderSource(Protocol):
    """What the streams read orders through (the adapter)."""

    client: CcxtClient
    directory: OrderDirectory
    account_id: str

    def now_ms(self) -> int: ...

    async def open_orders(self, symbol: str) -> list[Mapping[str, Any]]: ...

    async def recent_orders(self, symbol: str, since_ms: int) -> list[Mapping[str, Any]] | None: ...

    async def fetch_raw_order(self, order_id: str, symbol: str) -> Mapping[str, Any] | None: ...


def _client_id(source: OrderSource, order: Mapping[str, Any]) -> str | None:
    known = source.directory.find(str(order["id"]))
    return (
        known.client_order_id if known is not None and known.client_order_id else order.get("clientOrderId")
    )


async def _poll_symbol(
    source: OrderSource, tracker: UpdateTracker, symbol: str, since_ms: int, started_ms: int
) -> list[OrderUpdate]:
    """One poll of ``symbol``'s orders: what changed since the last."""
    views: dict[str, Mapping[str, Any]] = {}
    for order in (await source.recent_orders(symbol, since_ms)) or []:
        views[str(order["id"])] = order
    for order in await source.open_orders(symbol):
        views[str(order["id"])] = order
    for order_id in tracker.open_ids():
        known = source.directory.find(order_id)
        if order_id not in views and known is not None and known.symbol == symbol:
            found = await source.fetch_raw_order(order_id, symbol)
            if found is not None:
                views[order_id] = found
    told: list[OrderUpdate] = []
    for order_id, order in views.items():
        client_id = _client_id(source, order)
        source.directory.remember(symbol, order_id, client_id)
        if not tracker.knows(order_id) and (order.get("timestamp") or started_ms) < started_ms:
            tracker.baseline(order)  # there before the stream began: not a change
            continue
        told.extend(tracker.updates(order, client_order_id=client_id))
    return told


async def _poll_watched(
    source: OrderSource, tracker: UpdateTracker, since_ms: int, started_ms: int
) -> list[OrderUpdate]:
    """One poll of every symbol the adapter has met orders in."""
    told: list[OrderUpdate] = []
    for symbol in list(source.directory.symbols):
        told.extend(await _poll_symbol(source, tracker, symbol, since_ms, started_ms))
    return told


async def polled_order_updates(
    source: OrderSource, interval: float, margin_ms: int
) -> AsyncIterator[OrderUpdate]:
    """Order updates by polling every ``interval`` seconds (see the module's docstring)."""
    tracker = UpdateTracker(source.account_id)
    started = source.now_ms() - margin_ms
    since = started
    while True:
        poll_started = source.now_ms()
        for update in await _poll_watched(source, tracker, since, started):
            yield update
        since = max(started, poll_started - margin_ms)
        await asyncio.sleep(interval)


async def websocket_order_updates(source: OrderSource, margin_ms: int) -> AsyncIterator[OrderUpdate]:
    """Order updates from ccxt.pro's ``watchOrders``, caught up over REST after a reconnection.

    The catch-up runs while the new subscription comes up, not before it: an order that changed between a
    last poll and the subscription going live would otherwise never be told. So after a reconnection the
    watched symbols are polled every :data:`CATCH_UP_INTERVAL` seconds until the websocket delivers, or
    for :data:`CATCH_UP_SECONDS` (the tracker tells each change once, whichever way it came)."""
    tracker = UpdateTracker(source.account_id)
    started = source.now_ms() - margin_ms
    exchange = source.client.exchange
    loop = asyncio.get_running_loop()
    failures = 0
    catching_up = False
    while True:
        call = source.client.call(exchange.watch_orders)
        # A task only while catching up (the polls run beside it); otherwise the watch is awaited directly.
        watch = asyncio.ensure_future(call) if catching_up else None
        try:
            if watch is not None:
                until = loop.time() + CATCH_UP_SECONDS
                while True:
                    for update in await _poll_watched(source, tracker, started, started):
                        yield update
                    if watch.done() or loop.time() >= until:
                        break
                    await asyncio.wait([watch], timeout=CATCH_UP_INTERVAL)
                catching_up = False
            orders = await (call if watch is None else watch)
        except BrokerError as exc:
            failures += 1
            if exc.error_code not in _RECONNECT or failures > MAX_RECONNECTS:
                raise
            await asyncio.sleep(random.uniform(0, min(5.0, 0.1 * 2**failures)))
            catching_up = True
            continue
        finally:
            if watch is not None and not watch.done():
                watch.cancel()  # the consumer stopped, or a catch-up poll failed: this watch is not wanted
        failures = 0
        for order in orders:
            client_id = _client_id(source, order)
            source.directory.remember(str(order.get("symbol")), str(order["id"]), client_id)
            for update in tracker.updates(order, client_order_id=client_id):
                yield update


async def polled_prices(
    fetch: Callable[[str], Awaitable[Mapping[str, Any]]], symbols: Sequence[str], interval: float
) -> AsyncIterator[PriceTick]:
    """Ticks by polling ``fetchTicker`` every ``interval`` seconds; a tick when the quote changed."""
    last: dict[str, tuple[Any, Any]] = {}
    while True:
        for symbol in symbols:
            tick = parse_ticker(await fetch(symbol), symbol)
            if tick is not None and last.get(symbol) != (tick.bid, tick.ask):
                last[symbol] = (tick.bid, tick.ask)
                yield tick
        await asyncio.sleep(interval)


async def websocket_prices(client: CcxtClient, symbols: Sequence[str]) -> AsyncIterator[PriceTick]:
    """Ticks from ccxt.pro's ``watchBidsAsks`` (the best bid and ask) where the exchange has it, else
    ``watchTicker``/``watchTickers``."""
    exchange = client.exchange
    book = exchange.has.get("watchBidsAsks") in (True, "emulated")
    failures = 0
    while True:
        try:
            if book:
                tickers = await client.call(exchange.watch_bids_asks, list(symbols))
            elif len(symbols) == 1:
                tickers = {symbols[0]: await client.call(exchange.watch_ticker, symbols[0])}
            else:
                tickers = await client.call(exchange.watch_tickers, list(symbols))
        except BrokerError as exc:
            failures += 1
            if exc.error_code not in _RECONNECT or failures > MAX_RECONNECTS:
                raise
            await asyncio.sleep(random.uniform(0, min(5.0, 0.1 * 2**failures)))
            continue
        failures = 0
        for symbol, ticker in tickers.items():
            tick = parse_ticker(ticker, symbol)
            if tick is not None:
                yield tick
