"""Binance's request limits (``rest-api.md`` "LIMITS"): request weight per IP per minute, new orders per
account per 10 seconds and per day, and the ban of an IP that keeps sending after its 429s.

Each endpoint has a weight; the weight an IP used in the current minute comes back on every answer as
``X-MBX-USED-WEIGHT-1M``. Over the limit, the answer is 429 ``-1003`` with ``Retry-After`` (seconds to the
next minute); an IP refused ``ban_after`` times in one minute is banned: 418 with ``Retry-After`` until the
ban ends. Orders count per account in fixed windows (``X-MBX-ORDER-COUNT-10S`` and ``-1D`` on each accepted
order; 429 ``-1015`` over). The windows are fixed, aligned on the clock, as Binance's interval letters
describe them. Binance lowers the unfilled-order count when orders fill; the simulator counts every new
order (stricter, never kinder).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from broker_integration.sim.binance.errors import banned, too_many_orders, too_much_weight

__all__ = ["OrderCounter", "WeightLimiter"]


@dataclass(slots=True)
class _Window:
    started: int  # window index (clock seconds // width)
    used: int = 0
    refused: int = 0


class WeightLimiter:
    """Request weight per IP in one-minute windows, with the ban for IPs that keep going after 429s."""

    def __init__(
        self, limit: int | None, *, ban_after: int, ban_seconds: float, clock: Callable[[], float]
    ) -> None:
        self.limit = limit
        self.ban_after = ban_after
        self.ban_seconds = ban_seconds
        self._clock = clock
        self._windows: dict[Hashable, _Window] = {}
        self._banned_until: dict[Hashable, float] = {}
        self.refused = 0

    def _window(self, ip: Hashable, now: float) -> _Window:
        index = int(now // 60)
        window = self._windows.get(ip)
        if window is None or window.started != index:
            if len(self._windows) > 10_000:
                self._windows.clear()
            window = self._windows[ip] = _Window(index)
        return window

    def admit(self, ip: Hashable, weight: int) -> int:
        """Count ``weight`` for ``ip``; the weight used this minute, or Binance's 429/418 when over."""
        now = self._clock()
        until = self._banned_until.get(ip)
        if until is not None:
            if now < until:
                self.refused += 1
                error = banned(int(until * 1000))
                error.headers["Retry-After"] = str(max(1, math.ceil(until - now)))
                raise error
            del self._banned_until[ip]
        window = self._window(ip, now)
        if self.limit is not None and window.used + weight > self.limit:
            self.refused += 1
            window.refused += 1
            if window.refused >= self.ban_after:
                self._banned_until[ip] = now + self.ban_seconds
            error = too_much_weight(self.limit)
            error.headers["Retry-After"] = str(max(1, math.ceil((window.started + 1) * 60 - now)))
            error.headers["X-MBX-USED-WEIGHT-1M"] = str(window.used)
            raise error
        window.used += weight
        return window.used


class OrderCounter:
    """New orders per account in 10-second and one-day windows."""

    def __init__(self, per_10s: int | None, per_day: int | None, *, clock: Callable[[], float]) -> None:
        self._limits = (("10S", 10, per_10s, "10 SECOND"), ("1D", 86_400, per_day, "1 DAY"))
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def count(self, account_id: str) -> dict[str, str]:
        """Count one new order; the ``X-MBX-ORDER-COUNT-*`` headers, or 429 ``-1015`` when over a limit."""
        now = self._clock()
        windows = []
        for letter, width, limit, name in self._limits:
            index = int(now // width)
            window = self._windows.get((account_id, letter))
            if window is None or window.started != index:
                window = self._windows[(account_id, letter)] = _Window(index)
            if limit is not None and window.used >= limit:
                error = too_many_orders(limit, name)
                error.headers["Retry-After"] = str(max(1, math.ceil((index + 1) * width - now)))
                raise error
            windows.append((letter, window))
        headers = {}
        for letter, window in windows:
            window.used += 1
            headers[f"X-MBX-ORDER-COUNT-{letter}"] = str(window.used)
        return headers
