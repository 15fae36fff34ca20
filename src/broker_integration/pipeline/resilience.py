"""Rate limiting, retries with a budget, a circuit breaker and call deadlines: one adapter's resilience.

Each primitive is a small clock-driven object with no I/O, so it can be tested with a manual clock;
:class:`Resilience` bundles one adapter's, and the stages in :mod:`broker_integration.pipeline.stages` read it
at call time (so a breaker or policy swapped in takes effect at once). Defaults follow common practice
(full-jitter backoff, a retry budget, a consecutive-failure and failure-rate breaker; AWS Architecture Blog,
"Exponential Backoff And Jitter"; Polly / resilience4j circuit breakers).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.pipeline.deadlines import CallDeadlines

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "RateLimiter",
    "Resilience",
    "RetryBudget",
    "RetryPolicy",
    "Sleep",
]

Sleep = Callable[[float], Awaitable[None]]


def _seconds(clock: Clock) -> float:
    return clock.monotonic_ns() / 1e9


class RateLimiter:
    """A token bucket (as GCRA): ``rate`` calls per second with bursts of up to ``burst`` calls.

    ``acquire`` reserves a slot at once and sleeps until it is due, so concurrent callers are served in
    call order. ``cool_down`` holds every caller back after a broker's 429, sharing the pause.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._interval = 1.0 / rate
        self._tolerance = (self.burst - 1.0) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0  # theoretical arrival time of the next call, monotonic seconds
        self._cooldown_until = 0.0

    def _slot(self, now: float) -> tuple[float, float]:
        """(when the next call may go, the theoretical arrival time after it). Comparisons rather than
        ``max()``: this runs for every call, twice for an order."""
        tat = self._tat if self._tat > now else now
        allowed_at = tat - self._tolerance
        if allowed_at < self._cooldown_until:
            allowed_at = self._cooldown_until
        return allowed_at, (tat if tat > allowed_at else allowed_at) + self._interval

    async def acquire(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)
        return wait

    def reserve(self) -> float:
        """Take the next slot now and return the seconds until it is due (the caller waits them)."""
        now = _seconds(self._clock)
        allowed_at, self._tat = self._slot(now)
        return allowed_at - now if allowed_at > now else 0.0

    def try_acquire(self) -> bool:
        """Take a slot only if one is free now."""
        now = _seconds(self._clock)
        allowed_at, next_tat = self._slot(now)
        if allowed_at > now:
            return False
        self._tat = next_tat
        return True

    def cool_down(self, seconds: float) -> None:
        """No slot is handed out for ``seconds`` from now (a 429's Retry-After)."""
        self._cooldown_until = max(self._cooldown_until, _seconds(self._clock) + max(0.0, seconds))

    @property
    def utilization(self) -> float:
        """How full the bucket is, 0 (idle) to 1 (every burst slot reserved)."""
        backlog = self._tat - _seconds(self._clock)
        return min(1.0, max(0.0, backlog / (self._tolerance + self._interval)))

    @property
    def cooling_down(self) -> bool:
        return _seconds(self._clock) < self._cooldown_until


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before repeating a failed call that is safe to repeat.

    Delays use full jitter: uniform in ``[0, min(max_delay, base_delay * 2**attempt)]``, and never less
    than the broker's ``retry_after``.
    """

    max_retries: int = 3
    base_delay: float = 0.1
    max_delay: float = 5.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        jittered = rng.uniform(0.0, ceiling)
        return max(jittered, retry_after or 0.0)


class RetryBudget:
    """Caps retries at ``ratio`` of recent calls plus ``min_per_second``, so retries cannot snowball.

    Every call deposits ``ratio`` tokens; a retry withdraws one. Tokens expire after ``ttl`` seconds.
    """

    def __init__(
        self,
        ratio: float = 0.2,
        min_per_second: float = 5.0,
        ttl: float = 10.0,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.ttl = ttl
        self._clock = clock
        self._deposits: deque[float] = deque()
        self._withdrawals: deque[float] = deque()

    def _expire(self, now: float) -> None:
        horizon = now - self.ttl
        while self._deposits and self._deposits[0] < horizon:
            self._deposits.popleft()
        while self._withdrawals and self._withdrawals[0] < horizon:
            self._withdrawals.popleft()

    def record_call(self) -> None:
        now = _seconds(self._clock)
        self._expire(now)
        self._deposits.append(now)

    def try_withdraw(self) -> bool:
        """Take one retry from the budget if there is one left."""
        now = _seconds(self._clock)
        self._expire(now)
        available = self.min_per_second * self.ttl + self.ratio * len(self._deposits) - len(self._withdrawals)
        if available < 1:
            return False
        self._withdrawals.append(now)
        return True


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls flow
    OPEN = "open"  # calls are refused without reaching the broker
    HALF_OPEN = "half_open"  # one probe call at a time decides


StateListener = Callable[["CircuitBreaker", BreakerState, BreakerState], None]


class CircuitBreaker:
    """Stops calling a broker that keeps failing, and lets one probe through after ``recovery_timeout``.

    It opens after ``consecutive_failures`` failures in a row, or when at least ``minimum_calls`` of the
    last ``window`` calls were made and ``failure_rate`` of them failed. Only failures the caller counts
    (transient ones: connection, timeout, outage) should be recorded; a refused order is not the
    broker's failure.
    """

    def __init__(
        self,
        *,
        consecutive_failures: int = 5,
        failure_rate: float = 0.5,
        window: int = 20,
        minimum_calls: int = 10,
        recovery_timeout: float = 5.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.consecutive_threshold = consecutive_failures
        self.failure_rate = failure_rate
        self.minimum_calls = minimum_calls
        self.recovery_timeout = recovery_timeout
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._consecutive = 0
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._listeners: list[StateListener] = []
        self.open_count = 0

    def add_listener(self, listener: StateListener) -> None:
        """Call ``listener(breaker, old, new)`` on every state change."""
        self._listeners.append(listener)

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and _seconds(self._clock) - self._opened_at >= self.recovery_timeout
        ):
            self._move(BreakerState.HALF_OPEN)
        return self._state

    @property
    def seconds_until_probe(self) -> float:
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.recovery_timeout - (_seconds(self._clock) - self._opened_at))

    def try_acquire(self) -> bool:
        """Whether a call may go to the broker now; a half-open breaker lets one probe through."""
        if self._state is BreakerState.CLOSED:  # nothing to move: the common case, asked on every call
            return True
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._consecutive = 0
        self._outcomes.append(True)
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False
            self._outcomes.clear()
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._consecutive += 1
        self._outcomes.append(False)
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False
            self._open()
        elif self._state is BreakerState.CLOSED and self._should_open():
            self._open()

    def release(self) -> None:
        """A call that was let through ended without a verdict (cancelled, or a non-broker failure)."""
        self._probe_in_flight = False

    def _should_open(self) -> bool:
        if self._consecutive >= self.consecutive_threshold:
            return True
        calls = len(self._outcomes)
        if calls < self.minimum_calls:
            return False
        failures = calls - sum(self._outcomes)
        return failures / calls >= self.failure_rate

    def _open(self) -> None:
        self._opened_at = _seconds(self._clock)
        self.open_count += 1
        self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is not new:
            for listener in self._listeners:
                listener(self, old, new)

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state.value}, opened={self.open_count})"


@dataclass
class Resilience:
    """One adapter's limiters, breaker, retry policy and budget, and call deadlines."""

    requests: RateLimiter | None
    orders: RateLimiter | None
    breaker: CircuitBreaker
    retry: RetryPolicy
    budget: RetryBudget
    timeout_seconds: float
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    deadlines: CallDeadlines = field(default_factory=CallDeadlines)

    @property
    def breaker_open(self) -> bool:
        return self.breaker.state is BreakerState.OPEN
