"""Clocks: wall time in UTC for facts, a monotonic counter for durations.

Everything that reads the time takes a :class:`Clock`, so tests can drive time by hand
with :class:`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """The two kinds of time the library reads."""

    def now(self) -> datetime:
        """Current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic_ns(self) -> int:
        """A monotonic counter in nanoseconds, for measuring durations only."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; for deterministic tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock start must be timezone-aware")
        self._wall = start.astimezone(UTC)
        self._mono = 0

    def now(self) -> datetime:
        return self._wall

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._wall += timedelta(seconds=seconds)
        self._mono += int(seconds * 1_000_000_000)

    def set(self, when: datetime) -> None:
        """Jump the wall clock to ``when`` (forward only); the monotonic clock follows."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware datetime")
        delta = (when.astimezone(UTC) - self._wall).total_seconds()
        self.advance(delta)

    def __repr__(self) -> str:
        return f"ManualClock({self._wall.isoformat()})"


SYSTEM_CLOCK = SystemClock()


def utc_now() -> datetime:
    """Wall-clock time in UTC from the system clock."""
    return datetime.now(UTC)
