"""Clocks: the manual clock drives wall time and the monotonic counter together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from broker_integration.clock import SYSTEM_CLOCK, Clock, ManualClock, SystemClock, utc_now


def test_manual_clock_starts_at_a_fixed_utc_time() -> None:
    clock = ManualClock()
    assert clock.now() == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert clock.monotonic_ns() == 0
    assert clock.now() == clock.now()


def test_start_is_converted_to_utc_and_must_be_aware() -> None:
    clock = ManualClock(datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2024, 6, 1))  # naive on purpose


def test_advance_moves_both_clocks() -> None:
    clock = ManualClock()
    start = clock.now()
    clock.advance(1.5)
    clock.advance(0)
    assert clock.now() - start == timedelta(seconds=1.5)
    assert clock.monotonic_ns() == 1_500_000_000
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-0.001)
    assert clock.monotonic_ns() == 1_500_000_000


def test_set_jumps_forward_only() -> None:
    clock = ManualClock()
    target = datetime(2024, 1, 3, 14, 30, 0, 250_000, tzinfo=UTC)
    clock.set(target)
    assert clock.now() == target
    assert clock.monotonic_ns() == 86_400_250_000_000
    with pytest.raises(ValueError, match="backwards"):
        clock.set(target - timedelta(microseconds=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2025, 1, 1))  # naive on purpose
    assert clock.now() == target


def test_system_clock() -> None:
    before = datetime.now(UTC)
    now = SYSTEM_CLOCK.now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)
    first = SYSTEM_CLOCK.monotonic_ns()
    assert SYSTEM_CLOCK.monotonic_ns() >= first
    assert utc_now().tzinfo is UTC


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(ManualClock(), Clock)
    assert isinstance(SystemClock(), Clock)
    assert not isinstance(object(), Clock)
    assert repr(ManualClock()) == "ManualClock(2024-01-02T14:30:00+00:00)"
