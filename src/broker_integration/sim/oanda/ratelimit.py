"""OANDA's request limit: about 100 requests per second on one persistent connection, then HTTP 429.

Each TCP connection gets a token bucket of ``rate`` tokens per second holding at most ``rate`` tokens
(so a one-second burst of ``rate`` requests passes, then the steady rate). A request that finds the
bucket empty is refused with 429 and a ``Retry-After`` in whole seconds (reference §1.9 [doc]).
Buckets of connections idle for a while are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from broker_integration.sim.buckets import TokenBucket

__all__ = ["ConnectionRateLimiter"]

_IDLE_SECONDS = 60.0
_SWEEP_EVERY = 1_000


class ConnectionRateLimiter:
    """Token buckets keyed by connection; :meth:`admit` returns 0 to let a request through, else the
    whole seconds to wait."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._capacity = max(1.0, rate)
        self._clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._calls = 0

    def admit(self, connection: Hashable) -> int:
        """Take one token for ``connection``; 0 when admitted, else the Retry-After in seconds (>= 1)."""
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        bucket = self._buckets.get(connection)
        if bucket is None:
            bucket = self._buckets[connection] = TokenBucket.full(self.rate, self._capacity, now)
        return bucket.take(now)

    def _sweep(self, now: float) -> None:
        stale = [key for key, bucket in self._buckets.items() if now - bucket.updated > _IDLE_SECONDS]
        for key in stale:
            del self._buckets[key]

    @property
    def connections(self) -> int:
        """Connections with a live bucket."""
        return len(self._buckets)
