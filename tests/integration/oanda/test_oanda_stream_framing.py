"""The adapter reads the price stream a chunk at a time and splits it into lines itself, so how the bytes
are cut on the wire must not matter: a message split across chunks, several in one chunk, CRLF line ends
and blank lines all give the same ticks. A tiny v20 stream endpoint on loopback sends crafted chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import orjson
import pytest
from aiohttp import web

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerEndpoints
from broker_integration.errors import BrokerConnectionError
from broker_integration.events import EventBus
from broker_integration.models import PriceTick
from loopback import serving_app

ACCOUNT = "101-001-1234567-001"
TOKEN = "framing-token-123456"


def price(instrument: str, bid: str, ask: str, second: int) -> bytes:
    return orjson.dumps(
        {
            "type": "PRICE",
            "time": f"2026-11-24T10:00:{second:02d}.123456789Z",
            "bids": [{"price": bid, "liquidity": 1000000}],
            "asks": [{"price": ask, "liquidity": 2000000}],
            "closeoutBid": bid,
            "closeoutAsk": ask,
            "status": "tradeable",
            "tradeable": True,
            "instrument": instrument,
        }
    )


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


HEARTBEAT = b'{"type":"HEARTBEAT","time":"2026-11-24T10:00:00.000000000Z"}'
FIRST, SECOND, THIRD = (
    price("EUR_USD", "1.10010", "1.10020", 1),
    price("USD_JPY", "150.010", "150.030", 2),
    price("EUR_USD", "1.10011", "1.10021", 3),
)


async def serve(chunks: Sequence[bytes]) -> AsyncIterator[str]:
    """A stream endpoint that writes ``chunks`` one by one (each flushed on its own), then ends."""

    async def stream(request: web.Request) -> web.StreamResponse:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
            await asyncio.sleep(0.002)  # so the client sees each chunk on its own
        return response

    app = web.Application()
    app.router.add_get(f"/v3/accounts/{ACCOUNT}/pricing/stream", stream)
    async with serving_app(app) as base:
        yield base


async def first_ticks(chunks: Sequence[bytes], wanted: int) -> list[PriceTick]:
    async for url in serve(chunks):
        config = BrokerConfiguration(
            broker_name="oanda",
            credentials=BrokerCredentials(api_key=TOKEN, account_id=ACCOUNT),
            endpoints=BrokerEndpoints(base_url=url, stream_url=url),
            options={"stream_max_reconnects": 0},
        )
        adapter = OandaAdapter(config, event_bus=EventBus())
        got: list[PriceTick] = []
        try:
            async for tick in adapter.stream_prices(["EUR/USD", "USD/JPY"]):
                got.append(tick)
                if len(got) == wanted:
                    break
        finally:
            await adapter.disconnect()
        return got
    raise AssertionError("the endpoint did not start")


def expected() -> list[tuple[str, Decimal, Decimal]]:
    return [
        ("EUR/USD", Decimal("1.10010"), Decimal("1.10020")),
        ("USD/JPY", Decimal("150.010"), Decimal("150.030")),
        ("EUR/USD", Decimal("1.10011"), Decimal("1.10021")),
    ]


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([FIRST + b"\n" + SECOND + b"\n" + THIRD + b"\n"], id="all-in-one-chunk"),
        pytest.param(
            [FIRST[:17], FIRST[17:] + b"\n" + SECOND[:5], SECOND[5:] + b"\n", THIRD + b"\n"], id="split"
        ),
        pytest.param(_pieces(FIRST + b"\n" + SECOND + b"\n" + THIRD + b"\n", 7), id="seven-bytes-at-a-time"),
        pytest.param(
            [
                b"\n" + HEARTBEAT + b"\r\n",
                FIRST + b"\r\n\r\n",
                SECOND + b"\n  \n" + HEARTBEAT,
                b"\n" + THIRD + b"\n",
            ],
            id="crlf-blank-lines-and-heartbeats",
        ),
    ],
)
async def test_the_same_ticks_however_the_stream_is_cut(chunks: list[bytes]) -> None:
    ticks = await first_ticks(chunks, 3)
    assert [(t.instrument, t.bid, t.ask) for t in ticks] == expected()
    assert ticks[0].bid_size == Decimal(1000000)
    assert ticks[0].ask_size == Decimal(2000000)
    assert [t.time.second for t in ticks] == [1, 2, 3]


async def test_a_stream_that_ends_mid_line_is_a_connection_error_not_a_half_tick() -> None:
    with pytest.raises(BrokerConnectionError):
        await first_ticks([FIRST + b"\n", SECOND[:20]], 2)
