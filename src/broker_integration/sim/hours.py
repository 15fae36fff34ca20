"""Trading hours: when an instrument can trade, and when a DAY order expires.

Sessions are written in the market's own wall-clock time (``America/New_York`` for US equities and FX)
and converted with ``zoneinfo``, so daylight-saving changes move them correctly in UTC. Exchange holidays
are not modelled: a simulated venue only needs the weekly rhythm (equities closed overnight and at the
weekend, FX closed from Friday 17:00 to Sunday 17:00 New York time, crypto always open).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALWAYS_OPEN",
    "FX_HOURS",
    "US_EQUITY_HOURS",
    "MarketHours",
    "WeeklySession",
]


@dataclass(frozen=True, slots=True)
class WeeklySession:
    """One weekly open period; days are 0 = Monday ... 6 = Sunday. May wrap over the week's end."""

    open_day: int
    open_time: time
    close_day: int
    close_time: time

    def second_bounds(self) -> tuple[int, int]:
        """(open, close) as seconds since Monday 00:00 local; close < open when the session wraps."""
        return (
            _second_of_week(self.open_day, self.open_time),
            _second_of_week(self.close_day, self.close_time),
        )


def _second_of_week(day: int, at: time) -> int:
    return day * 86_400 + at.hour * 3_600 + at.minute * 60 + at.second


@dataclass(frozen=True, slots=True)
class MarketHours:
    """A market's weekly schedule in its time zone; no sessions means always open.

    ``day_cutoff`` is the local time at which the trading day ends: DAY orders expire then.
    """

    name: str
    timezone: str = "UTC"
    sessions: tuple[WeeklySession, ...] = ()
    day_cutoff: time = time(0, 0)

    @property
    def always_open(self) -> bool:
        return not self.sessions

    def is_open(self, when: datetime) -> bool:
        """Whether the market trades at ``when`` (an aware datetime)."""
        if self.always_open:
            return True
        local = when.astimezone(ZoneInfo(self.timezone))
        now = _second_of_week(local.weekday(), local.time())
        for session in self.sessions:
            start, stop = session.second_bounds()
            inside = start <= now < stop if start < stop else (now >= start or now < stop)
            if inside:
                return True
        return False

    def day_end(self, when: datetime) -> datetime:
        """The first day cutoff strictly after ``when``, in UTC: when a DAY order placed then expires."""
        zone = ZoneInfo(self.timezone)
        local = when.astimezone(zone)
        cutoff = datetime.combine(local.date(), self.day_cutoff, tzinfo=zone)
        if cutoff <= local:
            cutoff = datetime.combine(local.date() + timedelta(days=1), self.day_cutoff, tzinfo=zone)
        return cutoff.astimezone(UTC)

    def open_intervals(self, start: int, stop: int) -> list[tuple[int, int]]:
        """Open periods as ``[open, close)`` Unix seconds, merged and clipped to ``[start, stop)``."""
        if stop <= start:
            return []
        if self.always_open:
            return [(start, stop)]
        zone = ZoneInfo(self.timezone)
        first = _monday(datetime.fromtimestamp(start, zone).date()) - timedelta(days=7)
        last = _monday(datetime.fromtimestamp(stop, zone).date())
        raw: list[tuple[int, int]] = []
        week = first
        while week <= last:
            for session in self.sessions:
                begin, end = session.second_bounds()
                close_day = session.close_day + (7 if end <= begin else 0)
                opened = datetime.combine(
                    week + timedelta(days=session.open_day), session.open_time, tzinfo=zone
                )
                closed = datetime.combine(week + timedelta(days=close_day), session.close_time, tzinfo=zone)
                raw.append((int(opened.timestamp()), int(closed.timestamp())))
            week += timedelta(days=7)
        merged: list[tuple[int, int]] = []
        for begin, end in sorted(raw):
            begin, end = max(begin, start), min(end, stop)
            if end <= begin:
                continue
            if merged and begin <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((begin, end))
        return merged

    def open_mask(self, steps: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """For each Unix second in ``steps``, whether the market is open then (vectorized)."""
        if self.always_open or steps.size == 0:
            return np.ones(steps.shape, dtype=np.bool_)
        intervals = self.open_intervals(int(steps.min()), int(steps.max()) + 1)
        if not intervals:
            return np.zeros(steps.shape, dtype=np.bool_)
        bounds = np.asarray([edge for interval in intervals for edge in interval], dtype=np.int64)
        # Inside [open, close) iff an odd number of bounds lie at or before the step.
        mask: npt.NDArray[np.bool_] = np.searchsorted(bounds, steps, side="right") % 2 == 1
        return mask


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


_NEW_YORK = "America/New_York"

#: Always tradeable; the trading day ends at midnight UTC (crypto).
ALWAYS_OPEN = MarketHours(name="24/7", timezone="UTC", sessions=(), day_cutoff=time(0, 0))

#: FX: open Sunday 17:00 to Friday 17:00 New York time; the trading day rolls over at 17:00 New York.
FX_HOURS = MarketHours(
    name="fx",
    timezone=_NEW_YORK,
    sessions=(WeeklySession(6, time(17, 0), 4, time(17, 0)),),
    day_cutoff=time(17, 0),
)

#: US equities: regular session 09:30-16:00 New York time, Monday to Friday (holidays not modelled).
US_EQUITY_HOURS = MarketHours(
    name="us-equity",
    timezone=_NEW_YORK,
    sessions=tuple(WeeklySession(day, time(9, 30), day, time(16, 0)) for day in range(5)),
    day_cutoff=time(16, 0),
)
