"""CallDeadlines: one timer per adapter that cuts off calls past their deadline, like ``asyncio.timeout``.

Timings use wide margins: a call limited to 0.05 s sleeps 5 s, so a deadline that fails to fire shows up
as a multi-second test (and a failed "well under 1 s" check), never as a flaky margin.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from broker_integration.broker_config import BrokerConfiguration, BrokerLimits, BrokerSettings
from broker_integration.errors import BrokerTimeoutError, StandardErrorCode
from broker_integration.models import OrderResult, OrderStatus, PriceTick, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter, CircuitBreaker, build_pipeline
from broker_integration.pipeline.deadlines import CallDeadlines

LONG = 5.0  # what an overrunning call would take if nothing cut it
SHORT = 0.05  # the limit that cuts it
QUICK = 1.0  # "well under": a cut call must be done long before this


def _now() -> float:
    return asyncio.get_running_loop().time()


def _cancel_requests() -> int:
    task = asyncio.current_task()
    assert task is not None
    return task.cancelling()


# ------------------------------------------------------------------ one call


async def test_an_overrunning_call_raises_timeout_error_quickly_and_leaves_the_task_usable() -> None:
    deadlines = CallDeadlines()
    start = _now()
    with pytest.raises(TimeoutError):
        async with deadlines.limit(SHORT):
            await asyncio.sleep(LONG)
    elapsed = _now() - start
    assert elapsed + 0.005 >= SHORT  # not cut before its deadline
    assert elapsed < QUICK
    assert _cancel_requests() == 0  # the deadline's cancel request was taken back
    await asyncio.sleep(0)  # and no cancellation is still pending for this task
    await asyncio.sleep(0.01)
    assert len(deadlines) == 0


async def test_a_call_that_finishes_in_time_is_not_cancelled_later() -> None:
    deadlines = CallDeadlines()
    async with deadlines.limit(SHORT) as deadline:
        value = 42
    assert value == 42
    assert deadline.finished
    assert not deadline.expired
    # The timer armed for that call still fires in this window; it must not touch the task.
    await asyncio.sleep(SHORT * 3)
    assert _cancel_requests() == 0
    assert not deadline.expired
    assert len(deadlines) == 0


async def test_timeout_error_chains_the_cancellation() -> None:
    deadlines = CallDeadlines()
    with pytest.raises(TimeoutError) as caught:
        async with deadlines.limit(SHORT):
            await asyncio.sleep(LONG)
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)


async def test_limit_needs_a_task() -> None:
    deadlines = CallDeadlines()
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[BaseException | None] = loop.create_future()

    def outside_any_task() -> None:
        try:
            deadlines.limit(1)
        except RuntimeError as exc:
            outcome.set_result(exc)
        else:
            outcome.set_result(None)

    loop.call_soon(outside_any_task)
    error = await outcome
    assert isinstance(error, RuntimeError)
    assert "task" in str(error)
    assert len(deadlines) == 0


# ------------------------------------------------------------------ the queue stays bounded


async def test_many_sequential_calls_leave_the_queue_empty() -> None:
    deadlines = CallDeadlines()
    for _ in range(2000):
        async with deadlines.limit(1):
            await asyncio.sleep(0)
        assert len(deadlines) == 0
    for _ in range(20):  # some cut off, too
        with pytest.raises(TimeoutError):
            async with deadlines.limit(0.001):
                await asyncio.sleep(LONG)
        assert len(deadlines) == 0


async def test_many_concurrent_calls_are_tracked_and_leave_the_queue_empty() -> None:
    deadlines = CallDeadlines()
    count = 500
    entered = 0
    all_in = asyncio.Event()
    releases = [asyncio.Event() for _ in range(count)]

    async def call(i: int) -> int:
        nonlocal entered
        async with deadlines.limit(LONG):
            entered += 1
            if entered == count:
                all_in.set()
            await releases[i].wait()
        return i

    tasks = [asyncio.create_task(call(i)) for i in range(count)]
    await asyncio.wait_for(all_in.wait(), QUICK)
    assert len(deadlines) == count
    for release in reversed(releases):  # the oldest call ends last: everything must still drain
        release.set()
        await asyncio.sleep(0)
    assert await asyncio.gather(*tasks) == list(range(count))
    assert len(deadlines) == 0
    assert all(not task.cancelled() for task in tasks)


async def test_many_concurrent_quick_and_cut_calls_leave_the_queue_empty() -> None:
    deadlines = CallDeadlines()

    async def call(i: int) -> str:
        try:
            async with deadlines.limit(SHORT):
                await asyncio.sleep(LONG if i % 3 == 0 else 0)
        except TimeoutError:
            return "cut"
        return "done"

    start = _now()
    outcomes = await asyncio.gather(*(call(i) for i in range(300)))
    assert _now() - start < QUICK
    assert outcomes.count("cut") == 100
    assert outcomes.count("done") == 200
    assert len(deadlines) == 0


async def test_a_call_that_ended_behind_a_running_one_is_neither_expired_nor_cancelled() -> None:
    deadlines = CallDeadlines()
    first_inside = asyncio.Event()

    async def overrunning() -> str:
        try:
            async with deadlines.limit(SHORT):
                first_inside.set()
                await asyncio.sleep(LONG)
        except TimeoutError:
            return "cut"
        return "done"

    first = asyncio.create_task(overrunning())
    await asyncio.wait_for(first_inside.wait(), QUICK)
    async with deadlines.limit(SHORT * 2) as quick:  # queued behind the first, ends at once
        pass
    assert len(deadlines) == 2  # it leaves the queue lazily, once the call before it is gone
    assert await first == "cut"
    await asyncio.sleep(SHORT * 3)  # past the quick call's own deadline too
    assert not quick.expired
    assert _cancel_requests() == 0
    assert len(deadlines) == 0


# ------------------------------------------------------------------ cancellation from outside


async def test_an_outside_cancellation_propagates_as_cancelled_error() -> None:
    deadlines = CallDeadlines()
    inside = asyncio.Event()
    seen: list[str] = []

    async def call() -> None:
        try:
            async with deadlines.limit(LONG):
                inside.set()
                await asyncio.sleep(LONG)
        except TimeoutError:
            seen.append("timeout")
            raise

    task = asyncio.create_task(call())
    await asyncio.wait_for(inside.wait(), QUICK)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert seen == []
    assert len(deadlines) == 0


async def test_an_outside_cancellation_of_a_short_limited_call_is_not_a_timeout() -> None:
    deadlines = CallDeadlines()
    inside = asyncio.Event()

    async def call() -> None:
        async with deadlines.limit(SHORT):
            inside.set()
            await asyncio.sleep(LONG)

    task = asyncio.create_task(call())
    await asyncio.wait_for(inside.wait(), QUICK)
    task.cancel()  # well before the 0.05 s deadline
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(SHORT * 2)  # the deadline's timer fires on a queue without that call
    assert len(deadlines) == 0


# ------------------------------------------------------------------ nested limits


async def test_nested_inner_expiry_is_caught_by_the_outer_block_which_continues() -> None:
    deadlines = CallDeadlines()
    steps: list[str] = []
    start = _now()
    async with deadlines.limit(LONG):
        try:
            async with deadlines.limit(SHORT):
                await asyncio.sleep(LONG)
        except TimeoutError:
            steps.append("inner timed out")
        await asyncio.sleep(0.01)
        steps.append("outer continued")
    assert steps == ["inner timed out", "outer continued"]
    assert _now() - start < QUICK
    assert _cancel_requests() == 0
    assert len(deadlines) == 0


async def test_the_outer_limit_still_applies_after_an_inner_timeout() -> None:
    deadlines = CallDeadlines()
    outer_limit = 0.3
    marks: list[float] = []

    async def nested() -> None:
        async with deadlines.limit(outer_limit):
            try:
                async with deadlines.limit(SHORT):
                    await asyncio.sleep(LONG)
            except TimeoutError:
                marks.append(_now() - start)
            await asyncio.sleep(LONG)

    start = _now()
    with pytest.raises(TimeoutError):
        await nested()
    elapsed = _now() - start
    (inner_done,) = marks
    assert inner_done < outer_limit - 0.1  # the inner limit cut first, not the outer
    assert elapsed + 0.005 >= outer_limit
    assert elapsed < QUICK + outer_limit
    assert _cancel_requests() == 0


async def test_outer_expiry_surfaces_at_the_outer_level_through_a_longer_inner_limit() -> None:
    deadlines = CallDeadlines()
    seen: list[str] = []

    async def nested() -> None:
        async with deadlines.limit(SHORT):
            try:
                async with deadlines.limit(LONG):
                    try:
                        await asyncio.sleep(LONG)
                    except asyncio.CancelledError:
                        seen.append("body cancelled")
                        raise
            except asyncio.CancelledError:
                seen.append("inner limit passed the cancellation on")
                raise
            except TimeoutError:
                seen.append("inner limit claimed the timeout")
                raise

    start = _now()
    with pytest.raises(TimeoutError):
        await nested()
    assert seen == ["body cancelled", "inner limit passed the cancellation on"]
    assert _now() - start < QUICK
    assert _cancel_requests() == 0
    assert len(deadlines) == 0


# ------------------------------------------------------------------ deadline order


async def test_a_lower_limit_added_behind_a_longer_call_still_cuts_on_time() -> None:
    deadlines = CallDeadlines()
    long_inside = asyncio.Event()
    release_long = asyncio.Event()

    async def long_call() -> str:
        async with deadlines.limit(LONG):
            long_inside.set()
            await release_long.wait()
        return "long finished"

    long_task = asyncio.create_task(long_call())
    await asyncio.wait_for(long_inside.wait(), QUICK)
    start = _now()
    with pytest.raises(TimeoutError):
        async with deadlines.limit(SHORT):
            await asyncio.sleep(LONG)
    elapsed = _now() - start
    assert elapsed + 0.005 >= SHORT
    assert elapsed < QUICK
    assert not long_task.done()  # cutting the short call did not touch the long one
    assert len(deadlines) == 1
    release_long.set()
    assert await long_task == "long finished"
    assert len(deadlines) == 0


async def test_several_limits_cut_each_call_at_its_own_deadline() -> None:
    deadlines = CallDeadlines()
    cut_at: dict[float, float] = {}
    start = _now()

    async def call(limit: float) -> None:
        try:
            async with deadlines.limit(limit):
                await asyncio.sleep(LONG)
        except TimeoutError:
            cut_at[limit] = _now() - start

    limits = [0.4, 0.05, 0.25, 0.1]  # arrive out of deadline order
    await asyncio.gather(*(call(limit) for limit in limits))
    assert sorted(cut_at) == sorted(limits)
    for limit, elapsed in cut_at.items():
        assert limit <= elapsed + 0.005
        assert elapsed < limit + 0.5
    order = sorted(cut_at, key=cut_at.__getitem__)
    assert order == sorted(limits)
    assert len(deadlines) == 0


# ------------------------------------------------------------------ more than one event loop


def test_the_same_deadlines_work_from_two_event_loops_in_turn() -> None:
    deadlines = CallDeadlines()

    async def first_loop() -> None:
        async with deadlines.limit(0.01):  # its timer is still armed when this loop closes
            pass

    async def next_loop() -> float:
        start = _now()
        with pytest.raises(TimeoutError):
            async with deadlines.limit(SHORT):
                await asyncio.sleep(LONG)
        async with deadlines.limit(SHORT):
            await asyncio.sleep(0)
        await asyncio.sleep(SHORT * 2)  # nothing cancels this task afterwards
        return _now() - start

    asyncio.run(first_loop())
    assert asyncio.run(next_loop()) < QUICK
    assert asyncio.run(next_loop()) < QUICK
    assert len(deadlines) == 0


# ------------------------------------------------------------------ through an adapter's timeout stage

SLOW = "GBP/USD"  # the test venue hangs on this instrument, answers at once on any other
TIME = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)


class Hanging(BrokerAdapter):
    broker_name = "hanging"

    async def authenticate(self, credentials: object = None) -> bool:
        return True

    async def get_current_price(self, instrument: str) -> PriceTick:
        if instrument == SLOW:
            await asyncio.sleep(LONG)
        return PriceTick(instrument=instrument, bid=Decimal("1.1"), ask=Decimal("1.2"), time=TIME)

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        if order.instrument == SLOW:
            await asyncio.sleep(LONG)
        return OrderResult(success=True, broker_order_id="B1", status=OrderStatus.FILLED)


def hanging_venue() -> Hanging:
    config = BrokerConfiguration(
        broker_name="hanging",
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
        settings=BrokerSettings(timeout_seconds=SHORT, retry_attempts=0),
    )
    venue = Hanging(config)
    # A breaker that never opens, so every call reaches the timeout stage.
    build_pipeline(venue, breaker=CircuitBreaker(consecutive_failures=10**6, minimum_calls=10**6))
    return venue


def order(instrument: str) -> UnifiedOrder:
    return UnifiedOrder(instrument=instrument, side="buy", quantity=Decimal(1000))


async def test_a_read_that_overruns_the_adapter_timeout_raises_broker_timeout_error() -> None:
    venue = hanging_venue()
    start = _now()
    with pytest.raises(BrokerTimeoutError) as caught:
        await venue.get_current_price(SLOW)
    assert _now() - start < QUICK
    assert caught.value.error.error_code is StandardErrorCode.TIMEOUT
    assert caught.value.error.broker_name == "hanging"
    assert "get_current_price" in caught.value.error.message
    assert _cancel_requests() == 0  # the stage took its cancel request back
    tick = await venue.get_current_price("EUR/USD")  # the adapter (and this task) still work
    assert tick.instrument == "EUR/USD"


async def test_an_outside_cancellation_of_an_adapter_call_is_not_reported_as_a_timeout() -> None:
    venue = hanging_venue()
    assert venue.resilience is not None
    venue.resilience.timeout_seconds = LONG * 2
    task = asyncio.create_task(venue.get_current_price(SLOW))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(venue.resilience.deadlines) == 0


async def test_the_adapter_deadline_queue_is_empty_after_many_timed_out_and_successful_calls() -> None:
    venue = hanging_venue()
    assert venue.resilience is not None
    deadlines = venue.resilience.deadlines

    async def price(instrument: str) -> str:
        try:
            await venue.get_current_price(instrument)
        except BrokerTimeoutError as exc:
            return exc.error.error_code.value
        return "ok"

    async def place(instrument: str) -> OrderStatus:
        return (await venue.place_order(order(instrument))).status

    start = _now()
    reads = await asyncio.gather(*(price(SLOW if i % 2 else "EUR/USD") for i in range(100)))
    orders = await asyncio.gather(*(place(SLOW if i % 2 else "EUR/USD") for i in range(60)))
    assert _now() - start < QUICK
    assert reads.count(StandardErrorCode.TIMEOUT.value) == 50
    assert reads.count("ok") == 50
    assert orders.count(OrderStatus.UNKNOWN) == 30  # timed out after being sent: outcome unknown
    assert orders.count(OrderStatus.FILLED) == 30
    assert len(deadlines) == 0
    for i in range(200):  # and one at a time
        instrument = SLOW if i % 50 == 0 else "EUR/USD"
        assert await price(instrument) == (StandardErrorCode.TIMEOUT.value if instrument == SLOW else "ok")
        assert len(deadlines) == 0
    assert _cancel_requests() == 0
