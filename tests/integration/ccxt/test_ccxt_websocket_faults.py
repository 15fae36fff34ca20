"""The CCXT adapter's streams when the Binance simulator refuses a websocket handshake with a 503: the
WebSocket API's (``/ws-api/v3``, where ccxt.pro's ``watchOrders`` subscribes to the user data stream) and
the market streams' (``/ws``). The refusal is the stream's to handle (a standard error, a reconnection),
and nothing of it is left for asyncio to report as "Future exception was never retrieved"."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from ccxt_fixtures import BINANCE

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.events import EventBus
from broker_integration.models import OrderSide, OrderUpdate, UnifiedOrder
from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings
from broker_integration.sim.faults import Fault, FaultKind


@pytest.fixture
async def loop_reports() -> AsyncIterator[list[dict[str, Any]]]:
    """What the running loop's exception handler is given (unretrieved future and task exceptions among
    it), collected instead of logged."""
    loop = asyncio.get_running_loop()
    reports: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    yield reports
    loop.set_exception_handler(previous)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[BinanceSimulator, CcxtAdapter]]:
    """The simulator and an authenticated adapter whose streams use websockets (the default)."""
    settings = SimulatorSettings(holdings=(("BTC", Decimal(1)),))
    async with BinanceSimulator(profile=BINANCE, settings=settings) as sim:
        adapter = CcxtAdapter(sim.configuration(), event_bus=EventBus())
        await adapter.authenticate()
        yield sim, adapter
        await adapter.disconnect()


async def _unretrieved(reports: list[dict[str, Any]]) -> list[str]:
    """The exceptions asyncio reported as never retrieved, once dropped futures are collected."""
    gc.collect()  # a future dropped with its exception unretrieved is reported when it is collected
    await asyncio.sleep(0)
    return [str(r.get("exception")) for r in reports if "never retrieved" in str(r.get("message"))]


async def _update_of(updates: AsyncIterator[OrderUpdate], client_order_id: str) -> OrderUpdate:
    async for update in updates:
        if update.client_order_id == client_order_id:
            return update
    raise AssertionError("the order-update stream ended")


async def _told_after_the_faults(sim: BinanceSimulator, adapter: CcxtAdapter, *, within: float) -> None:
    """Stream order updates, place an order once every scripted fault of the venue was dealt, and see its
    update told within ``within`` seconds."""
    updates = adapter.stream_order_updates()
    order = UnifiedOrder(instrument="BTC/USDT", side=OrderSide.BUY, quantity=Decimal("0.001"))
    waiting = asyncio.ensure_future(_update_of(updates, order.order_id))
    async with asyncio.timeout(10):
        while sim.engine.faults.pending:  # noqa: ASYNC110 - the fault plan has no event of its own
            await asyncio.sleep(0.01)
    assert (await adapter.place_order(order)).success
    update = await asyncio.wait_for(waiting, timeout=within)
    assert update.client_order_id == order.order_id
    await updates.aclose()


async def test_an_order_that_changes_while_the_subscription_comes_back_is_told(
    venue: tuple[BinanceSimulator, CcxtAdapter],
) -> None:
    """After a refused handshake, the next one is held for a second: the order is placed and filled while
    the new subscription is not yet live, so its update never comes over the websocket. The catch-up over
    REST runs while the subscription comes up, not once before it, and tells it."""
    sim, adapter = venue
    sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["stream_order_updates"])
    sim.inject(Fault(FaultKind.LATENCY_SPIKE, delay_s=1.0), operations=["stream_order_updates"])
    await _told_after_the_faults(sim, adapter, within=5)  # placed while the second handshake is held


@pytest.mark.parametrize("refusals", [1, 3])
async def test_a_refused_ws_api_handshake_is_reconnected_and_leaves_no_unretrieved_exception(
    loop_reports: list[dict[str, Any]], venue: tuple[BinanceSimulator, CcxtAdapter], refusals: int
) -> None:
    sim, adapter = venue
    sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["stream_order_updates"], count=refusals)
    # every refusal dealt before the order is placed, so the update comes once the stream got past them
    await _told_after_the_faults(sim, adapter, within=10)
    assert sim.engine.faults.dealt[("stream_order_updates", FaultKind.SERVICE_UNAVAILABLE)] == refusals
    assert await _unretrieved(loop_reports) == []


async def test_a_refused_market_stream_handshake_is_reconnected_and_leaves_no_unretrieved_exception(
    loop_reports: list[dict[str, Any]], venue: tuple[BinanceSimulator, CcxtAdapter]
) -> None:
    sim, adapter = venue
    sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["stream_prices"], count=2)
    ticks = adapter.stream_prices(["BTC/USDT"])
    tick = await asyncio.wait_for(anext(ticks), timeout=10)
    assert tick.instrument == "BTC/USDT"
    await ticks.aclose()
    assert sim.engine.faults.dealt[("stream_prices", FaultKind.SERVICE_UNAVAILABLE)] == 2
    assert await _unretrieved(loop_reports) == []
