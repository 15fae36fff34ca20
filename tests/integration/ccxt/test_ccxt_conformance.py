"""The adapter conformance suite: the CCXT adapter (exchange ``binance``) against the Binance spot simulator
over loopback, the real ccxt ``binance`` class making every request: streams through ccxt.pro's websockets
(as users get it by default), and again with both streams polled (as for an exchange without websockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from ccxt_fixtures import BINANCE

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerAdapter, BrokerCapability
from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings
from broker_integration.testing.conformance import AdapterConformanceSuite


class TestCcxtBinanceConformance(AdapterConformanceSuite):
    #: Options of the adapter under test (the defaults: websockets where ccxt.pro has them).
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        settings = SimulatorSettings(holdings=(("BTC", Decimal(1)),), stream_interval=0.02)
        async with (
            BinanceSimulator(profile=BINANCE, settings=settings) as sim,
            CcxtAdapter(sim.configuration(**self.options), event_bus=EventBus()) as adapter,
        ):
            yield adapter

    def test_the_profile_says_the_streams_use_websockets(self, adapter: BrokerAdapter) -> None:
        if self.options:
            pytest.skip("streams polled")
        notes = adapter.declaration.notes
        assert notes[BrokerCapability.ORDER_UPDATES] == "websocket: ccxt.pro watchOrders"
        assert notes[BrokerCapability.STREAMING_PRICES] == "websocket: ccxt.pro watchBidsAsks"

    @pytest.fixture
    def instrument(self) -> str:
        return "BTC/USDT"

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal("0.001")


class TestCcxtBinancePolledConformance(TestCcxtBinanceConformance):
    options: ClassVar[dict[str, Any]] = {
        "order_updates": "polling",
        "prices": "polling",
        "poll_interval": 0.05,
    }

    def test_the_profile_says_the_streams_are_polled(self, adapter: BrokerAdapter) -> None:
        notes = adapter.declaration.notes
        assert notes[BrokerCapability.ORDER_UPDATES].startswith("polling")
        assert notes[BrokerCapability.STREAMING_PRICES].startswith("polling")
