"""Fixtures for the paper adapter: a manual clock on a Tuesday, a private event bus, fast limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerLimits, BrokerSettings
from broker_integration.clock import ManualClock
from broker_integration.events import CallEvent, EventBus

#: Tuesday 2 January 2024, 15:00 UTC = 10:00 New York: every market is open.
START = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def _paper_config(broker_name: str = "paper", **options: Any) -> BrokerConfiguration:
    """A paper configuration with limits out of the way and no automatic retries (so faults show)."""
    return BrokerConfiguration(
        broker_name=broker_name,
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
        settings=BrokerSettings(retry_attempts=0),
        options={"seed": 7, "poll_interval": 0.001, **options},
    )


@pytest.fixture
def paper_config() -> Callable[..., BrokerConfiguration]:
    """``paper_config(**options)``: a paper configuration with fast limits and no retries."""
    return _paper_config


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def events(bus: EventBus) -> list[CallEvent]:
    received: list[CallEvent] = []
    bus.subscribe(CallEvent, received.append)
    return received


@pytest.fixture
def make_adapter(clock: ManualClock, bus: EventBus) -> Callable[..., PaperBrokerAdapter]:
    """``make_adapter(**options)``: a paper adapter on the test clock and bus (not yet authenticated)."""

    def make(**options: Any) -> PaperBrokerAdapter:
        return PaperBrokerAdapter(_paper_config(**options), event_bus=bus, clock=clock)

    return make


@pytest.fixture
async def adapter(make_adapter: Callable[..., PaperBrokerAdapter]) -> AsyncIterator[PaperBrokerAdapter]:
    async with make_adapter() as paper:
        yield paper
