"""Stopping a background task: cancelled and awaited, its cancellation swallowed, its failure not."""

from __future__ import annotations

import asyncio

import pytest

from broker_integration.tasks import cancel_and_wait


async def test_a_running_task_is_cancelled_and_has_ended_on_return() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.get_running_loop().create_task(forever())
    await started.wait()
    await cancel_and_wait(task)
    assert task.done()
    assert task.cancelled()


async def test_a_task_that_had_failed_raises_its_error() -> None:
    async def broken() -> None:
        raise RuntimeError("the loop broke")

    task = asyncio.get_running_loop().create_task(broken())
    await asyncio.sleep(0)
    assert task.done()
    with pytest.raises(RuntimeError, match="the loop broke"):
        await cancel_and_wait(task)


async def test_none_is_nothing_to_stop() -> None:
    await cancel_and_wait(None)
