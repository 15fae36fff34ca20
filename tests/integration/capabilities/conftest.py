"""Fixtures for capability discovery: a paper venue on a manual clock (a Tuesday, every market open)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from capability_venues import paper_config

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus

#: Tuesday 2 January 2024, 15:00 UTC = 10:00 New York: every market is open.
START = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def paper(clock: ManualClock) -> AsyncIterator[PaperBrokerAdapter]:
    """An authenticated paper adapter with its own event bus."""
    async with PaperBrokerAdapter(paper_config(), event_bus=EventBus(), clock=clock) as adapter:
        yield adapter
