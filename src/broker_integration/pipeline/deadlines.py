"""Call time limits with one loop timer per adapter instead of one per call.

``asyncio.timeout`` arms a timer (a heap entry and a handle) for every call and cancels it when the
call ends: a few microseconds on each of the many short calls an adapter makes. Here every call joins a
queue ordered by deadline; since an adapter gives its calls the same limit, a new call's deadline is
(nearly always) the latest, so joining is an append. One timer is armed for the oldest call still
running; when it fires it cancels the calls past their deadline, drops the ones that ended and re-arms
for the next. The cancellation is then turned into :class:`TimeoutError` by the call that was cut off,
with the same bookkeeping of the task's cancel requests as ``asyncio.timeout``, so an outside
cancellation still propagates as a cancellation.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from types import TracebackType

__all__ = ["CallDeadlines", "Deadline"]


class Deadline:
    """One call's time limit, as an async context manager: raises ``TimeoutError`` when it cuts the call."""

    __slots__ = ("_cancelling", "_owner", "_task", "expired", "finished", "when")

    def __init__(self, owner: CallDeadlines, when: float, task: asyncio.Task[object]) -> None:
        self._owner = owner
        self.when = when
        self._task: asyncio.Task[object] | None = task
        self._cancelling = task.cancelling()
        self.expired = False
        self.finished = False

    def _expire(self) -> None:
        if self._task is not None:
            self.expired = True
            self._task.cancel()

    def end(self, cancelled: bool) -> bool:
        """Mark the call ended; true when this deadline is why it was ``cancelled`` (report a timeout).

        For a call that handles its own deadline without ``async with`` (the pipeline's timeout stage).
        """
        task, self._task = self._task, None  # no reference to the task outlives the call
        self.finished = True
        self._owner._finished()
        return self.expired and task is not None and task.uncancel() <= self._cancelling and cancelled

    async def __aenter__(self) -> Deadline:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.end(exc_type is asyncio.CancelledError):
            raise TimeoutError from exc


class CallDeadlines:
    """The running calls of one adapter and the single timer that cuts off those that overrun."""

    def __init__(self) -> None:
        self._queue: deque[Deadline] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = 0.0

    def __len__(self) -> int:
        """Calls still waiting in the queue (ended calls leave it lazily)."""
        return len(self._queue)

    def limit(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now for the current task: ``async with deadlines.limit(30): ...``."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a call deadline needs to run inside an asyncio task")
        if loop is not self._loop:  # first call, or the adapter is now used from another event loop
            self._reset(loop)
        deadline = Deadline(self, loop.time() + seconds, task)
        queue = self._queue
        if not queue or queue[-1].when <= deadline.when:
            queue.append(deadline)
        else:  # the limit was lowered while longer calls run: keep the queue in deadline order
            queue.insert(bisect.bisect_right(queue, deadline.when, key=_when), deadline)
        if self._timer is None or deadline.when < self._armed_for:
            self._arm(deadline.when)
        return deadline

    def _finished(self) -> None:
        queue = self._queue
        while queue and queue[0].finished:
            queue.popleft()

    def _arm(self, when: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = when
        self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        assert self._loop is not None
        self._timer = None
        now = self._loop.time()
        queue = self._queue
        while queue and (queue[0].finished or queue[0].when <= now):
            queue.popleft()._expire()
        if queue:
            self._arm(queue[0].when)

    def _reset(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._queue.clear()
        self._loop = loop


def _when(deadline: Deadline) -> float:
    return deadline.when
