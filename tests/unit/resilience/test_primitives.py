from __future__ import annotations

import random

import pytest

from broker_integration.clock import ManualClock
from broker_integration.pipeline import BreakerState, CircuitBreaker, RateLimiter, RetryBudget, RetryPolicy


class SleepRecorder:
    """An injected sleep that advances the manual clock instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)


async def test_rate_limiter_allows_burst_then_spaces_calls() -> None:
    clock = ManualClock()
    sleep = SleepRecorder(clock)
    limiter = RateLimiter(10, burst=3, clock=clock, sleep=sleep)
    waits = [await limiter.acquire() for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.1, 0.1, 0.1])
    # Over any one-second window no more than burst + rate calls pass.
    assert sum(sleep.slept) == pytest.approx(0.3)


async def test_rate_limiter_concurrent_reservations_are_ordered() -> None:
    clock = ManualClock()
    limiter = RateLimiter(4, burst=1, clock=clock, sleep=SleepRecorder(clock))
    reserved = [limiter.reserve() for _ in range(4)]
    assert reserved == pytest.approx([0.0, 0.25, 0.5, 0.75])


async def test_rate_limiter_cool_down_holds_everyone_back() -> None:
    clock = ManualClock()
    sleep = SleepRecorder(clock)
    limiter = RateLimiter(100, burst=10, clock=clock, sleep=sleep)
    limiter.cool_down(2.0)
    assert limiter.cooling_down
    assert not limiter.try_acquire()
    waited = await limiter.acquire()
    assert waited == pytest.approx(2.0)
    assert not limiter.cooling_down
    assert limiter.try_acquire()


def test_rate_limiter_utilization_and_validation() -> None:
    clock = ManualClock()
    limiter = RateLimiter(10, burst=5, clock=clock)
    assert limiter.utilization == 0.0
    for _ in range(5):
        assert limiter.try_acquire()
    assert not limiter.try_acquire()
    assert limiter.utilization == pytest.approx(1.0)
    clock.advance(1.0)
    assert limiter.utilization == 0.0
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_retry_policy_full_jitter_bounds_and_retry_after() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=0.1, max_delay=1.0)
    rng = random.Random(1)
    for attempt in range(8):
        ceiling = min(1.0, 0.1 * 2**attempt)
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # the whole range is used, not a fixed step
    assert policy.delay(0, rng, retry_after=3.0) == 3.0


def test_retry_budget_caps_retries_and_refills() -> None:
    clock = ManualClock()
    budget = RetryBudget(ratio=0.1, min_per_second=0.0, ttl=10.0, clock=clock)
    for _ in range(50):
        budget.record_call()
    granted = sum(budget.try_withdraw() for _ in range(20))
    assert granted == 5
    clock.advance(11)
    assert not budget.try_withdraw()
    budget.record_call()
    assert not budget.try_withdraw()


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(consecutive_failures=3, recovery_timeout=5.0, clock=clock)
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker.add_listener(lambda _b, old, new: changes.append((old, new)))
    for _ in range(3):
        assert breaker.try_acquire()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.try_acquire()
    assert breaker.seconds_until_probe == pytest.approx(5.0)
    clock.advance(5.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.try_acquire()
    assert not breaker.try_acquire()  # only one probe at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(5.0)
    assert breaker.try_acquire()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.open_count == 2
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_breaker_opens_on_failure_rate_in_window() -> None:
    breaker = CircuitBreaker(
        consecutive_failures=100, failure_rate=0.5, window=10, minimum_calls=10, clock=ManualClock()
    )
    for i in range(9):
        (breaker.record_failure if i % 2 else breaker.record_success)()
    assert breaker.state is BreakerState.CLOSED  # 9 calls: below the minimum
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN  # 5 of 10 failed


def test_breaker_released_probe_can_be_retaken() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(consecutive_failures=1, recovery_timeout=1.0, clock=clock)
    breaker.record_failure()
    clock.advance(1.0)
    assert breaker.try_acquire()
    breaker.release()
    assert breaker.try_acquire()
