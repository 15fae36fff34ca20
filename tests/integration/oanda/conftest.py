"""Shared set-up for the OANDA adapter against the OANDA simulator, over real loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from oanda_fixtures import ALWAYS_OPEN

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.events import EventBus
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings


@pytest.fixture
async def sim() -> AsyncIterator[OandaSimulator]:
    """A simulator open around the clock, with heartbeats every 0.2 s."""
    async with OandaSimulator(
        profile=ALWAYS_OPEN, settings=SimulatorSettings(heartbeat_interval=0.2)
    ) as simulator:
        yield simulator


@pytest.fixture
async def adapter(sim: OandaSimulator) -> AsyncIterator[OandaAdapter]:
    """The OANDA adapter, authenticated against ``sim``."""
    async with OandaAdapter(
        sim.configuration(stream_heartbeat_timeout=1.0), event_bus=EventBus()
    ) as connected:
        yield connected
