"""The adapter conformance suite: the OANDA adapter against the OANDA simulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from oanda_fixtures import ALWAYS_OPEN

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerAdapter
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.testing.conformance import AdapterConformanceSuite


class TestOandaAdapterConformance(AdapterConformanceSuite):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        settings = SimulatorSettings(heartbeat_interval=0.5)
        async with OandaSimulator(profile=ALWAYS_OPEN, settings=settings) as sim:
            config = sim.configuration(stream_heartbeat_timeout=2.0)
            async with OandaAdapter(config, event_bus=EventBus()) as adapter:
                yield adapter

    @pytest.fixture
    def instrument(self) -> str:
        return "EUR/USD"
