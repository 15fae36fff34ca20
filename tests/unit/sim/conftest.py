"""Fixtures for the venue engine tests: a manual clock on a Tuesday when every market is open."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker_integration.clock import ManualClock
from broker_integration.sim import Quote, VenueEngine, VenueProfile

#: Tuesday 2 January 2024, 15:00 UTC = 10:00 New York: FX, US equities and crypto all trade.
START = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def make_engine(clock: ManualClock) -> Callable[..., VenueEngine]:
    """Build an engine on the shared clock with profile fields overridden (seed 7 by default)."""

    def make(**profile: Any) -> VenueEngine:
        return VenueEngine(VenueProfile(**{"seed": 7, **profile}), clock=clock)

    return make


@pytest.fixture
def engine(make_engine: Callable[..., VenueEngine]) -> VenueEngine:
    return make_engine()


@pytest.fixture
def account(engine: VenueEngine) -> str:
    return engine.open_account().account_id


FirstSecond = Callable[..., datetime]


def _first_second(
    engine: VenueEngine, symbol: str, start: datetime, hit: Callable[[Quote], bool], horizon: int = 86_400
) -> datetime:
    """The first whole second after ``start`` whose quote satisfies ``hit`` (prices are known ahead)."""
    for offset in range(1, horizon + 1):
        when = start + timedelta(seconds=offset)
        if hit(engine.quote_at(symbol, when)):
            return when
    raise AssertionError(f"no second within {horizon} s satisfies the condition")


@pytest.fixture
def first_second() -> FirstSecond:
    """``first_second(engine, symbol, start, hit, horizon=86400)``: the first second after ``start``
    whose quote satisfies ``hit``. Prices are a pure function of time, so tests can look ahead."""
    return _first_second
