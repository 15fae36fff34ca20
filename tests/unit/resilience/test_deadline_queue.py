"""``CallDeadlines``: one timer per adapter cuts off calls that overrun, and nothing else."""

from __future__ import annotations

import asyncio
import time

import pytest

from broker_integration.call_deadlines import CallDeadlines


async def test_an_overrunning_call_times_out_and_leaves_the_task_usable() -> None:
    deadlines = CallDeadlines()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with deadlines.limit(0.05):
            await asyncio.sleep(5)
    assert time.monotonic() - started < 1.0
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0.01)  # no cancellation left pending
    assert len(deadlines) == 0


async def test_a_call_that_ended_in_time_is_never_cancelled_later() -> None:
    deadlines = CallDeadlines()
    async with deadlines.limit(0.05):
        await asyncio.sleep(0)
    await asyncio.sleep(0.15)  # well past the deadline, in the same task
    assert len(deadlines) == 0


async def test_the_queue_empties_after_many_sequential_and_concurrent_calls() -> None:
    deadlines = CallDeadlines()
    for _ in range(500):
        async with deadlines.limit(30):
            await asyncio.sleep(0)

    async def one() -> None:
        async with deadlines.limit(30):
            await asyncio.sleep(0.001)

    await asyncio.gather(*(one() for _ in range(200)))
    assert len(deadlines) == 0


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    deadlines = CallDeadlines()

    async def call() -> None:
        async with deadlines.limit(5):
            await asyncio.sleep(5)

    task = asyncio.create_task(call())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_nested_limits_cut_at_the_right_level() -> None:
    deadlines = CallDeadlines()
    inner_cut = False
    async with deadlines.limit(1.0):
        try:
            async with deadlines.limit(0.05):
                await asyncio.sleep(5)
        except TimeoutError:
            inner_cut = True
        await asyncio.sleep(0)  # the outer call goes on
    assert inner_cut

    async def outer_cut_while_inner_runs() -> None:
        async with deadlines.limit(0.05):
            try:
                async with deadlines.limit(5):
                    await asyncio.sleep(5)
            except TimeoutError:  # pragma: no cover - the inner limit must not claim the outer's cut
                pytest.fail("the inner limit reported the outer limit's timeout")

    with pytest.raises(TimeoutError):
        await outer_cut_while_inner_runs()


async def test_a_lowered_limit_still_cuts_its_call_on_time() -> None:
    deadlines = CallDeadlines()

    async def long_call() -> None:
        async with deadlines.limit(5):
            await asyncio.sleep(0.5)

    long = asyncio.create_task(long_call())
    await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with deadlines.limit(0.05):
            await asyncio.sleep(5)
    assert time.monotonic() - started < 0.4  # not held back to the longer call's deadline
    await long  # the long call was not cut
    assert len(deadlines) == 0


def test_one_queue_serves_successive_event_loops() -> None:
    deadlines = CallDeadlines()

    async def overrun() -> bool:
        try:
            async with deadlines.limit(0.02):
                await asyncio.sleep(1)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(overrun())
    assert asyncio.run(overrun())
