"""A request fully received executes even if its client has gone, as at a broker: an order whose client
disconnected or timed out after sending it is found at the venue afterwards, executed once.

The order is held by a latency fault long enough for the client to leave first. Found "afterwards" means
polled through OANDA's own client until it shows up (a bound on the wait keeps a broken simulator from
hanging the run; it asserts nothing about speed).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from oanda_fixtures import ALWAYS_OPEN

from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings

v20 = pytest.importorskip("v20")

_HELD = 0.5  # seconds the latency fault holds the order before it executes
_GIVE_UP = 30.0  # seconds to wait for the order to appear before calling the test failed


@pytest.fixture
async def sim() -> AsyncIterator[OandaSimulator]:
    async with OandaSimulator(
        profile=ALWAYS_OPEN, settings=SimulatorSettings(max_requests_per_second=None)
    ) as s:
        yield s


def _order(client_id: str) -> bytes:
    return orjson.dumps(
        {
            "order": {
                "type": "MARKET",
                "instrument": "EUR_USD",
                "units": "7",
                "clientExtensions": {"id": client_id},
            }
        }
    )


async def _executed_once(sim: OandaSimulator, client_id: str) -> None:
    """Poll with the v20 client until the order is found; then it was created and filled exactly once."""
    ctx = v20.Context("127.0.0.1", sim.port, ssl=False, token=sim.token)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _GIVE_UP
    while True:
        found = await asyncio.to_thread(ctx.order.get, sim.account_id, f"@{client_id}")
        if found.status == 200:
            break
        assert loop.time() < deadline, f"order {client_id} never reached the venue"
        await asyncio.sleep(0.05)
    order = found.get("order", 200)
    assert order.state == "FILLED"
    history = (await asyncio.to_thread(ctx.transaction.since, sim.account_id, id=0)).get("transactions", 200)
    mine = [t for t in history if getattr(t, "clientOrderID", None) == client_id or t.id == order.id]
    assert [t.type for t in mine] == ["MARKET_ORDER", "ORDER_FILL"], "created and filled once"


async def test_an_order_whose_client_disconnected_after_sending_executes(sim: OandaSimulator) -> None:
    sim.inject(Fault(FaultKind.LATENCY_SPIKE, delay_s=_HELD), operations=["place_order"])
    body = _order("gone-1")
    request = (
        f"POST /v3/accounts/{sim.account_id}/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {sim.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    _, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(request)
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.close()  # with SO_LINGER 0: a reset, the rudest way to leave
    await _executed_once(sim, "gone-1")


async def test_an_order_whose_client_timed_out_executes(sim: OandaSimulator) -> None:
    sim.inject(Fault(FaultKind.LATENCY_SPIKE, delay_s=_HELD), operations=["place_order"])
    headers = {"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(
        headers=headers, timeout=aiohttp.ClientTimeout(total=_HELD / 5)
    ) as session:
        with pytest.raises(TimeoutError):
            await session.post(
                f"{sim.base_url}/v3/accounts/{sim.account_id}/orders", data=_order("timed-out-1")
            )
    await _executed_once(sim, "timed-out-1")


async def test_a_lost_answer_is_lost_after_the_order_executed(sim: OandaSimulator) -> None:
    sim.inject(Fault(FaultKind.RESPONSE_LOST, delay_s=_HELD), operations=["place_order"])
    headers = {"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:
        with pytest.raises(aiohttp.ClientError):
            await session.post(f"{sim.base_url}/v3/accounts/{sim.account_id}/orders", data=_order("lost-2"))
    await _executed_once(sim, "lost-2")
