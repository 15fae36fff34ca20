"""Trading hours in the markets' own time zones, daylight saving included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from broker_integration.sim import ALWAYS_OPEN, FX_HOURS, US_EQUITY_HOURS, step_of


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (utc(2024, 1, 2, 14, 29, 59), False),  # Tuesday 09:29:59 New York (EST, UTC-5)
        (utc(2024, 1, 2, 14, 30), True),  # the open
        (utc(2024, 1, 2, 20, 59, 59), True),
        (utc(2024, 1, 2, 21, 0), False),  # 16:00: the close
        (utc(2024, 7, 2, 13, 30), True),  # summer (EDT, UTC-4): 09:30 New York is 13:30 UTC
        (utc(2024, 7, 2, 20, 30), False),  # 16:30 New York in summer
        (utc(2024, 1, 6, 15, 0), False),  # Saturday
        (utc(2024, 1, 7, 15, 0), False),  # Sunday
    ],
)
def test_us_equity_session(when: datetime, is_open: bool) -> None:
    assert US_EQUITY_HOURS.is_open(when) is is_open


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (utc(2024, 1, 5, 21, 59), True),  # Friday 16:59 New York
        (utc(2024, 1, 5, 22, 0), False),  # Friday 17:00: the weekly close
        (utc(2024, 1, 6, 12, 0), False),  # Saturday
        (utc(2024, 1, 7, 21, 59), False),  # Sunday 16:59
        (utc(2024, 1, 7, 22, 0), True),  # Sunday 17:00: the weekly open
        (utc(2024, 1, 3, 3, 0), True),  # a weeknight
        (utc(2024, 7, 5, 21, 0), False),  # Friday 17:00 New York in summer is 21:00 UTC
    ],
)
def test_fx_week(when: datetime, is_open: bool) -> None:
    assert FX_HOURS.is_open(when) is is_open


def test_crypto_never_closes() -> None:
    assert ALWAYS_OPEN.always_open
    assert all(ALWAYS_OPEN.is_open(utc(2024, 1, 7) + timedelta(hours=h)) for h in range(0, 24 * 7, 5))


def test_day_end_is_the_next_cutoff_in_local_time() -> None:
    assert FX_HOURS.day_end(utc(2024, 1, 2, 15, 0)) == utc(2024, 1, 2, 22, 0)
    assert FX_HOURS.day_end(utc(2024, 1, 2, 22, 0)) == utc(2024, 1, 3, 22, 0)  # strictly after
    assert US_EQUITY_HOURS.day_end(utc(2024, 7, 2, 15, 0)) == utc(2024, 7, 2, 20, 0)
    assert ALWAYS_OPEN.day_end(utc(2024, 1, 2, 15, 0)) == utc(2024, 1, 3)


@pytest.mark.parametrize("hours", [FX_HOURS, US_EQUITY_HOURS, ALWAYS_OPEN])
def test_vectorized_mask_agrees_with_is_open(hours: object) -> None:
    from broker_integration.sim import MarketHours

    assert isinstance(hours, MarketHours)
    start = step_of(utc(2024, 3, 1))  # spans the March daylight-saving change in New York
    steps = np.arange(start, start + 30 * 86_400, 900, dtype=np.int64)
    steps = np.concatenate(
        [steps, np.asarray([step_of(utc(2024, 3, 11, 13, 30)) - 1, step_of(utc(2024, 3, 11, 13, 30))])]
    )
    mask = hours.open_mask(steps)
    expected = [hours.is_open(datetime.fromtimestamp(int(s), UTC)) for s in steps]
    assert mask.tolist() == expected


def test_open_intervals_are_merged_and_clipped() -> None:
    start, stop = step_of(utc(2024, 1, 3)), step_of(utc(2024, 1, 10))
    intervals = FX_HOURS.open_intervals(start, stop)
    assert intervals == [(start, step_of(utc(2024, 1, 5, 22))), (step_of(utc(2024, 1, 7, 22)), stop)]
    assert US_EQUITY_HOURS.open_intervals(stop, start) == []
