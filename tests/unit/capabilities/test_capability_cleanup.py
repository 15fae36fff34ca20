"""The clean-up's parts: which test orders may still be open, and work that survives cancellation."""

from __future__ import annotations

import asyncio

import pytest

from broker_integration.capabilities.cleanup import OrderTracker, run_to_completion
from broker_integration.errors import StandardErrorCode, make_error
from broker_integration.models import OrderResult, OrderStatus


def test_tracker_closes_on_a_final_status_only() -> None:
    tracker = OrderTracker()
    tracker.register("a", "limit")
    tracker.register("b", "limit IOC")
    tracker.register("c", "stop")
    tracker.note("a", OrderResult(success=True, broker_order_id="1", status=OrderStatus.ACCEPTED))
    error = make_error(StandardErrorCode.INVALID_ORDER, "not marketable")
    tracker.note(
        "b", OrderResult(success=False, broker_order_id="2", status=OrderStatus.REJECTED, error=error)
    )
    timeout = make_error(StandardErrorCode.TIMEOUT, "no answer")
    tracker.note("c", OrderResult(success=False, status=OrderStatus.UNKNOWN, error=timeout))
    assert [o.client_order_id for o in tracker.possibly_open] == ["a", "c"]
    assert tracker.get("a").broker_order_ids == {"1"}


async def test_run_to_completion_finishes_the_work_when_its_caller_is_cancelled() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def clean() -> str:
        started.set()
        await release.wait()
        finished.append("done")
        return "done"

    async def caller() -> str:
        return await run_to_completion(clean())

    task = asyncio.create_task(caller())
    await started.wait()
    task.cancel()  # twice: a second cancellation during the clean-up must not stop it either
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["done"]


async def test_run_to_completion_returns_the_result_when_not_cancelled() -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    assert await run_to_completion(work()) == 7
