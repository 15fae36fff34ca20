"""Re-discovery on a schedule: one background task that refreshes a set of adapters round after round.

Rounds never overlap: the adapters are refreshed one after another, then the task sleeps ``interval``
seconds. A failed refresh is logged and the round goes on. Stopping cancels the task and waits for it, so
a synthetic clean-up under way finishes first (it is shielded from the cancellation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from broker_integration.log import get_logger
from broker_integration.pipeline import BrokerAdapter
from broker_integration.tasks import cancel_and_wait

__all__ = ["DiscoveryScheduler"]

_log = get_logger("broker_integration.capabilities")

Refresh = Callable[[BrokerAdapter], Awaitable[object]]


class DiscoveryScheduler:
    """Runs ``refresh(adapter)`` for every adapter, every ``interval`` seconds, in one task."""

    def __init__(
        self, refresh: Refresh, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self._refresh = refresh
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, adapters: Sequence[BrokerAdapter], interval: float) -> None:
        if interval <= 0:
            raise ValueError("the re-discovery interval must be positive")
        if not adapters:
            raise ValueError("scheduled discovery needs at least one adapter")
        if self.running:
            raise RuntimeError("scheduled discovery is already running; stop it before starting it again")
        self._task = asyncio.get_running_loop().create_task(
            self._loop(tuple(adapters), interval), name="capability-discovery"
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self, adapters: tuple[BrokerAdapter, ...], interval: float) -> None:
        while True:
            for adapter in adapters:
                try:
                    await self._refresh(adapter)
                except Exception:
                    _log.exception("scheduled capability discovery of %s failed", adapter.name)
            self.rounds += 1
            await self._sleep(interval)
