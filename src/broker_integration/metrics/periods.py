"""Time windows over the minute buckets: the last hour, day, week, month, everything, or a custom range.

A window covers whole buckets: every bucket whose start lies in ``[floor(start), end)``, so "the last
hour" at 14:30:20 spans the buckets from 13:30 up to the one now filling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from broker_integration.metrics.buckets import bucket_start

__all__ = ["ComparisonPeriod", "CustomPeriod", "Period", "TimeWindow", "parse_period", "resolve_period"]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A resolved window in Unix seconds: buckets with ``start <= bucket.start < end``."""

    start: int
    end: int

    def contains(self, bucket: int) -> bool:
        return self.start <= bucket < self.end


@dataclass(frozen=True, slots=True)
class CustomPeriod:
    """An explicit UTC range ``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a custom period needs timezone-aware datetimes")
        if self.end <= self.start:
            raise ValueError("a custom period must end after it starts")

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


class ComparisonPeriod(StrEnum):
    """The usual windows, measured back from now; :meth:`custom` makes an explicit range."""

    LAST_HOUR = "last_hour"
    LAST_DAY = "last_day"
    LAST_WEEK = "last_week"
    LAST_MONTH = "last_month"
    ALL = "all"

    @property
    def length(self) -> timedelta | None:
        """How far back the window reaches (``None`` for ALL)."""
        return _LENGTHS.get(self)

    @property
    def label(self) -> str:
        return self.value

    @staticmethod
    def custom(start: datetime, end: datetime) -> CustomPeriod:
        return CustomPeriod(start, end)


_LENGTHS = {
    ComparisonPeriod.LAST_HOUR: timedelta(hours=1),
    ComparisonPeriod.LAST_DAY: timedelta(days=1),
    ComparisonPeriod.LAST_WEEK: timedelta(days=7),
    ComparisonPeriod.LAST_MONTH: timedelta(days=30),
}

Period = ComparisonPeriod | CustomPeriod


def resolve_period(period: Period, now: datetime) -> TimeWindow:
    """The buckets ``period`` covers at ``now``."""
    if isinstance(period, CustomPeriod):
        return TimeWindow(bucket_start(period.start.timestamp()), math.ceil(period.end.timestamp()))
    length = period.length
    now_s = now.timestamp()
    start = 0.0 if length is None else now_s - length.total_seconds()
    # up to and including the bucket now filling, which started at or before now
    return TimeWindow(bucket_start(start), math.floor(now_s) + 1)


def parse_period(text: str) -> ComparisonPeriod:
    """``last-day``, ``last_day`` or ``LAST_DAY`` → :attr:`ComparisonPeriod.LAST_DAY`."""
    key = text.strip().lower().replace("-", "_")
    try:
        return ComparisonPeriod(key)
    except ValueError:
        names = ", ".join(p.value.replace("_", "-") for p in ComparisonPeriod)
        raise ValueError(f"unknown period {text!r}; use one of {names}") from None
