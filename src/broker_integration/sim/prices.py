"""The price process: one instrument's quotes as a pure function of (seed, Unix second).

The log mid price is built in levels, each a Brownian bridge pinned to the level above, so any second
can be evaluated without generating the path before it, and coarse samples (for long candle spans or
long clock jumps) are exactly the fine path's values at those seconds:

* day: ``log(base) + D(d)`` at each UTC midnight, where ``D`` is a mean-reverting AR(1) (rho 0.995, about
  ten daily standard deviations wide) written as a truncated moving sum of daily shocks, so it stays
  near the reference price over decades;
* hour, minute, second: 24, 60 and 60 Gaussian steps per parent interval, pinned at both ends to the
  parent's values. A pinned Gaussian walk is exactly a Brownian bridge, so the whole path has the
  instrument's volatility at every scale.

Bid and ask are whole ticks around the mid, with a spread that varies +/-20 % per second around the
instrument's typical spread times the venue's multiplier. All random numbers come from
:mod:`broker_integration.sim.rng`, so two venues with the same seed quote the same prices.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.rng import derive_key, normals, uniforms

__all__ = ["RESOLUTIONS", "PricePath"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: The sampling resolutions (seconds) at which :meth:`PricePath.log_mids` evaluates the path.
RESOLUTIONS = (1, 60, 3_600, 86_400)

_RHO = 0.995  # daily mean reversion of the log price
_MEMORY = 1024  # daily shocks that make up one day's level (0.995**1024 < 0.6 %)
_BLOCK = 256  # days computed together, always in the same fixed blocks so results never vary
_SMALL_REQUEST = 8  # rows requested at once up to this many go through the row caches
_CACHE_ROWS = 512  # rows kept per level
_SPREAD_JITTER = 0.4  # the spread varies uniformly within +/-20 % of its typical value

Values = Callable[[IntArray], FloatArray]


class _Level:
    """One bridge level: ``width`` steps per parent interval, each with standard deviation ``sigma``."""

    __slots__ = ("cache", "key", "parent", "sigma", "width")

    def __init__(self, width: int, sigma: float, key: int, parent: Values) -> None:
        self.width = width
        self.sigma = sigma
        self.key = key
        self.parent = parent
        self.cache: OrderedDict[int, FloatArray] = OrderedDict()


class PricePath:
    """Deterministic quotes for one instrument; evaluates single seconds cheaply and ranges vectorized."""

    def __init__(self, spec: InstrumentSpec, seed: int, *, spread_multiplier: float = 1.0) -> None:
        if spread_multiplier <= 0:
            raise ValueError("spread_multiplier must be positive")
        self.spec = spec
        self.tick = spec.tick_size
        self._tick = float(spec.tick_size)
        self._log_base = math.log(spec.base_price)
        sigma_day = spec.annual_volatility / math.sqrt(365.0)
        self._sigma_day = sigma_day
        self._day_key = derive_key(seed, "price", spec.symbol, "day")
        self._spread_key = derive_key(seed, "price", spec.symbol, "spread")
        self._spread_ticks = float(spec.spread / spec.tick_size) * spread_multiplier
        self._kernel: FloatArray = _RHO ** np.arange(_MEMORY, dtype=np.float64)
        self._day_blocks: dict[int, FloatArray] = {}
        self._hours = _Level(
            24, sigma_day / math.sqrt(24), derive_key(seed, "price", spec.symbol, "hour"), self._day_values
        )
        self._minutes = _Level(
            60,
            sigma_day / math.sqrt(1_440),
            derive_key(seed, "price", spec.symbol, "minute"),
            self._hour_values,
        )
        self._seconds = _Level(
            60,
            sigma_day / math.sqrt(86_400),
            derive_key(seed, "price", spec.symbol, "second"),
            self._minute_values,
        )
        self._quote_rows: OrderedDict[int, tuple[list[int], list[int]]] = OrderedDict()

    # ------------------------------------------------------------------ public

    def log_mids(self, steps: IntArray, resolution: int = 1) -> FloatArray:
        """The log mid price at each Unix second in ``steps``; each must be a multiple of ``resolution``."""
        if resolution == 1:
            return self._second_values(steps)
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution}")
        if steps.size and bool((steps % resolution).any()):
            raise ValueError(f"steps must be multiples of the resolution {resolution}")
        if resolution == 60:
            return self._minute_values(steps // 60)
        if resolution == 3_600:
            return self._hour_values(steps // 3_600)
        return self._day_values(steps // 86_400)

    def quotes(self, steps: IntArray, resolution: int = 1) -> tuple[IntArray, IntArray]:
        """Bid and ask in whole ticks at each second of ``steps`` (see :meth:`log_mids`)."""
        return self.quote_ticks(steps, self.log_mids(steps, resolution))

    def sampled_log_mids(self, steps: IntArray, resolution: int) -> FloatArray:
        """Like :meth:`log_mids`, but seconds off the ``resolution`` grid (the present) are allowed."""
        if resolution == 1:
            return self._second_values(steps)
        aligned = steps % resolution == 0
        if bool(aligned.all()):
            return self.log_mids(steps, resolution)
        values = np.empty(steps.shape, dtype=np.float64)
        values[aligned] = self.log_mids(steps[aligned], resolution)
        values[~aligned] = self._second_values(steps[~aligned])
        return values

    def quote_ticks(self, steps: IntArray, log_mids: FloatArray) -> tuple[IntArray, IntArray]:
        """Bid and ask in ticks for given log mids: the spread is whole ticks, at least one."""
        mid = np.exp(log_mids) / self._tick
        jitter = (1.0 - _SPREAD_JITTER / 2) + _SPREAD_JITTER * uniforms(self._spread_key, steps)
        spread = np.maximum(1.0, np.rint(self._spread_ticks * jitter)).astype(np.int64)
        bid = np.maximum(1, np.rint(mid - spread / 2.0).astype(np.int64))
        return bid, bid + spread

    def quote_at(self, step: int) -> tuple[int, int]:
        """Bid and ask in ticks at one second; a minute of quotes is computed and cached at a time."""
        minute, offset = divmod(step, 60)
        row = self._quote_rows.get(minute)
        if row is None:
            seconds = np.arange(minute * 60, minute * 60 + 60, dtype=np.int64)
            bid, ask = self.quotes(seconds)
            row = (bid.tolist(), ask.tolist())
            self._quote_rows[minute] = row
            if len(self._quote_rows) > _CACHE_ROWS:
                self._quote_rows.popitem(last=False)
        return row[0][offset], row[1][offset]

    def price(self, ticks: int) -> Decimal:
        """A price in ticks as a Decimal with the instrument's precision."""
        return self.tick * ticks

    def ticks(self, price: Decimal) -> int | None:
        """``price`` in whole ticks, or ``None`` when it is not on the tick grid."""
        count = price / self.tick
        integral = count.to_integral_value()
        return int(integral) if count == integral else None

    # ------------------------------------------------------------------ levels

    def _day_values(self, days: IntArray) -> FloatArray:
        blocks = days // _BLOCK
        unique, inverse = np.unique(blocks, return_inverse=True)
        table = np.stack([self._day_block(int(block)) for block in unique])
        values: FloatArray = self._log_base + table[inverse.reshape(days.shape), days - blocks * _BLOCK]
        return values

    def _day_block(self, block: int) -> FloatArray:
        cached = self._day_blocks.get(block)
        if cached is None:
            days = np.arange(block * _BLOCK - (_MEMORY - 1), (block + 1) * _BLOCK, dtype=np.int64)
            shocks = normals(self._day_key, days) * self._sigma_day
            cached = np.convolve(shocks, self._kernel, mode="valid")
            if len(self._day_blocks) >= _CACHE_ROWS:
                self._day_blocks.clear()
            self._day_blocks[block] = cached
        return cached

    def _hour_values(self, hours: IntArray) -> FloatArray:
        return self._values(self._hours, hours)

    def _minute_values(self, minutes: IntArray) -> FloatArray:
        return self._values(self._minutes, minutes)

    def _second_values(self, seconds: IntArray) -> FloatArray:
        return self._values(self._seconds, seconds)

    def _values(self, level: _Level, points: IntArray) -> FloatArray:
        row_ids = points // level.width
        unique, inverse = np.unique(row_ids, return_inverse=True)
        rows = self._rows(level, unique)
        values: FloatArray = rows[inverse.reshape(points.shape), points - row_ids * level.width]
        return values

    def _rows(self, level: _Level, ids: IntArray) -> npt.NDArray[np.float64]:
        if ids.size > _SMALL_REQUEST:
            return self._bridge(level, ids)
        cache = level.cache
        wanted = [int(i) for i in ids]
        missing = [row_id for row_id in wanted if row_id not in cache]
        if missing:
            fresh = self._bridge(level, np.asarray(missing, dtype=np.int64))
            for row_id, row in zip(missing, fresh, strict=True):
                cache[row_id] = row
        result = np.stack([cache[row_id] for row_id in wanted])
        while len(cache) > _CACHE_ROWS:
            cache.popitem(last=False)
        return result

    @staticmethod
    def _bridge(level: _Level, ids: IntArray) -> npt.NDArray[np.float64]:
        """Rows of ``level.width`` values per parent interval, pinned to the parent's values at both ends.

        Each row is computed by the same element-wise and row-wise operations whatever the batch, so a
        value never depends on which other rows were computed with it.
        """
        width = level.width
        start = level.parent(ids)
        end = level.parent(ids + 1)
        counters = ids[:, None] * width + np.arange(width, dtype=np.int64)[None, :]
        walk = np.cumsum(normals(level.key, counters) * level.sigma, axis=1)
        before = np.zeros_like(walk)
        before[:, 1:] = walk[:, :-1]
        fraction = np.arange(width, dtype=np.float64) / width
        bridge = before - fraction[None, :] * walk[:, -1:]
        rows: npt.NDArray[np.float64] = start[:, None] + (end - start)[:, None] * fraction[None, :] + bridge
        return rows
