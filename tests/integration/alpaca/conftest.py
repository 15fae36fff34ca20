"""Shared set-up for the Alpaca adapter against the Alpaca simulator, over real loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alpaca_fixtures import ALWAYS_OPEN, QUICK

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.events import EventBus
from broker_integration.sim.alpaca import AlpacaSimulator


@pytest.fixture
async def sim() -> AsyncIterator[AlpacaSimulator]:
    async with AlpacaSimulator(profile=ALWAYS_OPEN, settings=QUICK) as simulator:
        yield simulator


@pytest.fixture
async def adapter(sim: AlpacaSimulator) -> AsyncIterator[AlpacaAdapter]:
    async with AlpacaAdapter(
        sim.configuration(stream_silence_seconds=2.0), event_bus=EventBus()
    ) as connected:
        yield connected
