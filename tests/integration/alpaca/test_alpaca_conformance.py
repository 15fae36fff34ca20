"""The adapter conformance suite: the Alpaca adapter against the Alpaca simulator over loopback, once with a
stock and once with a crypto pair."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from alpaca_fixtures import ALWAYS_OPEN, QUICK

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerAdapter
from broker_integration.sim.alpaca import AlpacaSimulator
from broker_integration.testing.conformance import AdapterConformanceSuite


class TestAlpacaStockConformance(AdapterConformanceSuite):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        async with AlpacaSimulator(profile=ALWAYS_OPEN, settings=QUICK) as sim:
            config = sim.configuration(stream_silence_seconds=2.0)
            async with AlpacaAdapter(config, event_bus=EventBus()) as adapter:
                yield adapter

    @pytest.fixture
    def instrument(self) -> str:
        return "AAPL"


class TestAlpacaCryptoConformance(TestAlpacaStockConformance):
    @pytest.fixture
    def instrument(self) -> str:
        return "BTC/USD"

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal("0.01")
