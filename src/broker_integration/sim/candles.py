"""Candles from the price process, cheap at any span.

A bar's open, high, low and close come from the mid price sampled inside it at a resolution tied to the
bar's width: every second for bars under ten minutes, every minute for bars under ten hours, every hour
above. The samples are exact values of the same path the venue quotes (see
:mod:`broker_integration.sim.prices`), so 5,000 daily candles cost 120,000 samples, not 432 million;
the price of that is that a long bar's high and low miss excursions between its samples. The current
bar also samples the present second, so its close is the live quote's mid.

Bars are aligned in UTC: sub-daily bars on multiples of their width, daily bars at midnight, weekly
bars on Monday, monthly bars on the first of the month.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from broker_integration.models import Granularity
from broker_integration.sim.errors import CandleRequestError
from broker_integration.sim.prices import PricePath
from broker_integration.sim.records import Bar
from broker_integration.sim.rng import uniform

__all__ = ["DEFAULT_CANDLE_COUNT", "MAX_CANDLES", "build_candles", "candle_resolution"]

#: The most candles one request may return (OANDA's limit).
MAX_CANDLES = 5_000
#: How many candles a request with neither count nor bounds returns (OANDA's default).
DEFAULT_CANDLE_COUNT = 500

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY_OFFSET = 4 * 86_400  # 1970-01-01 was a Thursday; the first Monday is four days later


def candle_resolution(granularity: Granularity) -> int:
    """Seconds between the samples a bar of ``granularity`` is built from."""
    width = granularity.seconds
    if width < 600:
        return 1
    if width < 36_000:
        return 60
    return 3_600


class _Grid(ABC):
    """Bar boundaries: bar ``i`` covers Unix seconds ``[start(i), start(i + 1))``."""

    @abstractmethod
    def index(self, step: int) -> int:
        """The bar that contains ``step``."""

    @abstractmethod
    def start(self, index: int) -> int:
        """The first second of bar ``index``."""

    def first_from(self, step: int) -> int:
        """The first bar starting at or after ``step``."""
        index = self.index(step)
        return index if self.start(index) == step else index + 1


@dataclass(frozen=True, slots=True)
class _FixedGrid(_Grid):
    width: int
    offset: int = 0

    def index(self, step: int) -> int:
        return (step - self.offset) // self.width

    def start(self, index: int) -> int:
        return self.offset + index * self.width


class _MonthGrid(_Grid):
    def index(self, step: int) -> int:
        when = _EPOCH + timedelta(seconds=step)
        return (when.year - 1970) * 12 + when.month - 1

    def start(self, index: int) -> int:
        year, month = divmod(index, 12)
        return int((datetime(1970 + year, month + 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())


def _grid(granularity: Granularity) -> _Grid:
    if granularity is Granularity.MONTH:
        return _MonthGrid()
    if granularity is Granularity.W:
        return _FixedGrid(granularity.seconds, _MONDAY_OFFSET)
    return _FixedGrid(granularity.seconds)


def _bar_range(
    grid: _Grid, now: int, count: int | None, start: int | None, end: int | None
) -> tuple[int, int]:
    """First and last bar index (inclusive) for a query, never past the current bar."""
    if count is not None and start is not None and end is not None:
        raise CandleRequestError("give count with at most one of start and end, not both")
    if count is not None and not 1 <= count <= MAX_CANDLES:
        raise CandleRequestError(f"count must be between 1 and {MAX_CANDLES}, got {count}")
    if start is not None and end is not None and end <= start:
        raise CandleRequestError("end must be after start")
    current = grid.index(now)
    if start is not None:
        first = grid.first_from(start)
        if end is not None:
            last = min(grid.index(end - 1), current)
        else:
            last = min(first + (count or DEFAULT_CANDLE_COUNT) - 1, current)
    else:
        last = current if end is None else min(grid.index(end - 1), current)
        first = last - (count or DEFAULT_CANDLE_COUNT) + 1
    if last - first + 1 > MAX_CANDLES:
        raise CandleRequestError(
            f"the range holds {last - first + 1} candles; at most {MAX_CANDLES} per request"
        )
    return first, last


def build_candles(
    path: PricePath,
    granularity: Granularity,
    *,
    now: int,
    volume_key: int,
    count: int | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[Bar]:
    """Mid-price bars, oldest first, for Unix seconds ``now`` (the present) and the query bounds.

    With only ``count`` the bars end with the current one; ``start``/``end`` select bars starting in
    ``[start, end)``; with neither, the last 500.
    """
    grid = _grid(granularity)
    first, last = _bar_range(grid, now, count, start, end)
    if last < first:
        return []
    bounds = np.asarray([grid.start(i) for i in range(first, last + 2)], dtype=np.int64)
    resolution = candle_resolution(granularity)
    stop = min(int(bounds[-1]), now + 1)
    steps = np.arange(int(bounds[0]), stop, resolution, dtype=np.int64)
    if now < int(bounds[-1]) and (steps.size == 0 or int(steps[-1]) != now):
        # The current bar ends at the present second, so its close is the live mid.
        steps = np.append(steps, np.int64(now))
    bid, ask = path.quote_ticks(steps, path.sampled_log_mids(steps, resolution))
    twice_mid = bid + ask  # mid prices in half ticks: exact integers
    heads = np.searchsorted(steps, bounds[:-1], side="left")
    tails = np.searchsorted(steps, bounds[1:], side="left") - 1
    highs = np.maximum.reduceat(twice_mid, heads)
    lows = np.minimum.reduceat(twice_mid, heads)
    half_tick = path.tick / 2
    bars: list[Bar] = []
    for i in range(last - first + 1):
        bar_start, bar_end = int(bounds[i]), int(bounds[i + 1])
        complete = bar_end <= now
        elapsed = 1.0 if complete else (now - bar_start + 1) / (bar_end - bar_start)
        activity = 0.5 + uniform(volume_key, bar_start)
        bars.append(
            Bar(
                time=_EPOCH + timedelta(seconds=bar_start),
                open=half_tick * int(twice_mid[heads[i]]),
                high=half_tick * int(highs[i]),
                low=half_tick * int(lows[i]),
                close=half_tick * int(twice_mid[tails[i]]),
                volume=max(1, int((bar_end - bar_start) / 5 * activity * elapsed)),
                complete=complete,
            )
        )
    return bars
