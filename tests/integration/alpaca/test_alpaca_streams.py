"""The websockets through the adapter: order updates that survive a dropped connection (what changed meanwhile
is read back), and a market-data stream that goes silent is noticed by its unanswered pings and reopened."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.models import OrderSide, OrderType, OrderUpdate, OrderUpdateKind, UnifiedOrder
from broker_integration.sim.alpaca import AlpacaSimulator


async def test_order_updates_survive_a_dropped_stream(adapter: AlpacaAdapter, sim: AlpacaSimulator) -> None:
    received: asyncio.Queue[OrderUpdate] = asyncio.Queue()

    async def listen() -> None:
        async for update in adapter.stream_order_updates():
            received.put_nowait(update)

    listener = asyncio.create_task(listen())
    try:
        await asyncio.sleep(0.3)
        bid = (await adapter.get_current_price("AAPL")).bid
        resting = UnifiedOrder(
            instrument="AAPL", side=OrderSide.BUY, order_type=OrderType.LIMIT, price=(bid / 2).quantize(Decimal("0.01")),
            quantity=Decimal(1),
        )  # fmt: skip
        placed = await adapter.place_order(resting)
        assert (await asyncio.wait_for(received.get(), 5)).kind is OrderUpdateKind.ACCEPTED
        assert sim.drop_streams() >= 1
        assert placed.broker_order_id is not None
        sim.engine.cancel_order(sim.account_id, sim.state.records[placed.broker_order_id].engine_id)
        update = await asyncio.wait_for(received.get(), 10)  # read back after the reconnection
        assert (update.kind, update.broker_order_id) == (OrderUpdateKind.CANCELLED, placed.broker_order_id)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def test_a_silent_price_stream_is_reopened(adapter: AlpacaAdapter, sim: AlpacaSimulator) -> None:
    stream = adapter.stream_prices(["AAPL", "BTC/USD"])
    try:
        first = await asyncio.wait_for(anext(stream), 5)
        assert first.instrument in {"AAPL", "BTC/USD"}
        opened = sim.counts.streams_opened
        sim.silence_streams()
        await asyncio.sleep(2.0)  # pings every second, unanswered for half a second: dead
        sim.silence_streams(False)
        await asyncio.wait_for(anext(stream), 10)
        assert sim.counts.streams_opened > opened, "the silent stream was not reopened"
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
