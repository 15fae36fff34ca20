"""The adapter conformance suite: the CCXT adapter (exchange ``binance``) against the Binance spot simulator
over loopback, the real ccxt ``binance`` class making every request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from ccxt_fixtures import BINANCE

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerAdapter
from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings
from broker_integration.testing.conformance import AdapterConformanceSuite


class TestCcxtBinanceConformance(AdapterConformanceSuite):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        settings = SimulatorSettings(holdings=(("BTC", Decimal(1)),))
        async with BinanceSimulator(profile=BINANCE, settings=settings) as sim:
            config = sim.configuration(order_updates="polling", prices="polling", poll_interval=0.05)
            async with CcxtAdapter(config, event_bus=EventBus()) as adapter:
                yield adapter

    @pytest.fixture
    def instrument(self) -> str:
        return "BTC/USDT"

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal("0.001")
