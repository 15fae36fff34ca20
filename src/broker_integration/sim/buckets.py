"""The token bucket behind the wire simulators' request limits (OANDA per connection, Alpaca per key).

A bucket holds at most ``capacity`` tokens and refills continuously at ``rate`` tokens per second; a request
takes one token, or finds the bucket empty and is told how many whole seconds to wait before one is back:
the ``Retry-After`` a venue answers its 429 with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TokenBucket"]


@dataclass(slots=True)
class TokenBucket:
    """``tokens`` left (of ``capacity``, refilled at ``rate`` per second) as of the clock reading ``updated``."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        """A bucket holding all its ``capacity`` at the clock reading ``now``."""
        return cls(rate, capacity, capacity, now)

    def take(self, now: float) -> int:
        """Refill up to ``now`` and take one token: 0 when there was one, else the whole seconds (at least
        1) until one is back."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))
