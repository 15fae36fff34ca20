"""The price stream (reference §1.7, §4.5): newline JSON, snapshot first, heartbeats at the configured
interval with every number a string, and a silent or dropped stream detected and reopened by the adapter."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import aiohttp
import orjson
import pytest
from oanda_fixtures import ALWAYS_OPEN, account_path, raw

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.errors import InvalidInstrumentError
from broker_integration.events import EventBus
from broker_integration.models import PriceTick
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings

NINE_DIGITS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")
PRICE = re.compile(r"^\d+\.\d+$")


async def stream_lines(
    sim: OandaSimulator, instruments: str, wanted: int, **params: str
) -> list[dict[str, Any]]:
    """The first ``wanted`` lines of a raw stream, decoded."""
    headers = {"Authorization": f"Bearer {sim.token}"}
    query = {"instruments": instruments, **params}
    lines: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{sim.stream_url}{account_path(sim, '/pricing/stream')}", params=query) as response,
    ):
        assert response.status == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert response.headers.get("RequestID")
        while len(lines) < wanted:
            line = await response.content.readline()
            assert line.endswith(b"\n"), "every message is one JSON object on its own line"
            lines.append(orjson.loads(line))
    return lines


def ticks(adapter: OandaAdapter, instrument: str = "EUR/USD") -> AsyncGenerator[PriceTick, None]:
    return cast(AsyncGenerator[PriceTick, None], adapter.stream_prices([instrument]))


async def test_snapshot_first_then_heartbeats_with_numbers_as_strings(sim: OandaSimulator) -> None:
    lines = await stream_lines(sim, "EUR_USD,USD_JPY", 6)
    assert [line["instrument"] for line in lines[:2]] == ["EUR_USD", "USD_JPY"]
    heartbeats = [line for line in lines if line["type"] == "HEARTBEAT"]
    assert heartbeats, "heartbeats every 0.2 s must show within a handful of lines"
    for beat in heartbeats:
        assert set(beat) == {"type", "time"}
        assert NINE_DIGITS.match(beat["time"])
    for line in lines:
        assert line["type"] in ("PRICE", "HEARTBEAT")
        if line["type"] == "PRICE":
            assert line["tradeable"] is True
            assert line["status"] == "tradeable"
            for side in ("bids", "asks"):
                assert isinstance(line[side][0]["price"], str)
                assert PRICE.match(line[side][0]["price"])
                assert isinstance(line[side][0]["liquidity"], int)
            digits = 3 if line["instrument"] == "USD_JPY" else 5
            assert len(line["closeoutBid"].split(".")[1]) == digits
    assert sim.counts.heartbeats_sent >= len(heartbeats)


async def test_no_snapshot_starts_with_a_heartbeat_or_a_change() -> None:
    settings = SimulatorSettings(heartbeat_interval=0.05, price_interval=10.0)
    async with OandaSimulator(profile=ALWAYS_OPEN, settings=settings) as sim:
        lines = await stream_lines(sim, "EUR_USD", 2, snapshot="false")
        assert [line["type"] for line in lines] == ["HEARTBEAT", "HEARTBEAT"]


async def test_stream_argument_and_auth_errors_are_plain_json(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    bad = await raw(sim, "GET", account_path(sim, "/pricing/stream"), params={"instruments": "EUR/USD"})
    assert (bad.status, bad.body) == (400, {"errorMessage": "Invalid value specified for 'instruments'"})
    anonymous = await raw(
        sim, "GET", account_path(sim, "/pricing/stream"), params={"instruments": "EUR_USD"}, token=None
    )
    assert (anonymous.status, anonymous.body) == (
        401,
        {"errorMessage": "Insufficient authorization to perform request."},
    )
    with pytest.raises(InvalidInstrumentError):
        async with contextlib.aclosing(ticks(adapter, "QQZ/ZZQ")) as stream:
            await anext(stream)


@pytest.fixture
async def quick_adapter(sim: OandaSimulator) -> AsyncIterator[OandaAdapter]:
    """An adapter that calls a stream dead after 0.3 s without a line."""
    config = sim.configuration(stream_heartbeat_timeout=0.3, stream_max_reconnects=5)
    async with OandaAdapter(config, event_bus=EventBus()) as adapter:
        yield adapter


async def test_a_stream_that_goes_silent_is_detected_and_reopened(
    sim: OandaSimulator, quick_adapter: OandaAdapter
) -> None:
    sim.inject(Fault(FaultKind.TIMEOUT), operations=["stream_prices"])
    async with contextlib.aclosing(ticks(quick_adapter)) as stream:
        first = await anext(stream)  # the silent stream's snapshot
        assert sim.counts.streams_opened == 1
        second = await anext(stream)  # only a new stream can deliver this
    assert sim.counts.streams_opened == 2
    assert first.instrument == second.instrument == "EUR/USD"


async def test_silenced_and_dropped_streams_are_reopened(
    sim: OandaSimulator, quick_adapter: OandaAdapter
) -> None:
    async with contextlib.aclosing(ticks(quick_adapter)) as stream:
        await anext(stream)
        sim.silence_streams()
        await anext(stream)  # a reopened stream's snapshot
        assert sim.counts.streams_opened >= 2
        sim.silence_streams(False)
        opened = sim.counts.streams_opened
        assert sim.drop_streams() == 1
        await anext(stream)
        assert sim.counts.streams_opened == opened + 1
