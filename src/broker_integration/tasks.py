"""Background tasks: stopping one the way every owner of a background loop does."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (``None``: nothing to stop) and wait until it has ended, so nothing it does outlives
    the call. Its cancellation is the expected end, not an error; a task that had already failed raises its
    exception here, as awaiting it would."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
