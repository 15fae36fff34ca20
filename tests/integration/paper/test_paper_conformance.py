"""The shared adapter conformance suite, run against the embedded paper broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerLimits
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerAdapter
from broker_integration.testing.conformance import AdapterConformanceSuite


class TestPaperConformance(AdapterConformanceSuite):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        config = BrokerConfiguration(
            broker_name="paper",
            credentials=BrokerCredentials(account_id="paper-conformance"),
            limits=BrokerLimits(requests_per_second=10_000, max_orders_per_second=10_000),
            options={"seed": 11, "poll_interval": 0.001},
        )
        clock = ManualClock(datetime(2024, 1, 3, 16, 0, tzinfo=UTC))  # a Wednesday, markets open
        async with PaperBrokerAdapter(config, event_bus=EventBus(), clock=clock) as adapter:
            yield adapter

    @pytest.fixture
    def instrument(self) -> str:
        return "eur_usd"  # any spelling the venue understands

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal(1_000)
