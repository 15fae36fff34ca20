"""One shared order-update feed per adapter: a single stream of the broker's order changes, published on
the adapter's event bus as :class:`~broker_integration.events.OrderUpdateEvent` for every consumer.

The journal (a resting order filled minutes later is recorded, an unknown outcome settled by the broker's
own word) and the metrics collector (a fill measured when it happens) both need the updates; opening one
stream each would double every event. Each :meth:`OrderUpdateFeed.acquire` keeps the feed running; it stops
when the last holder releases it or the adapter disconnects. A stream that fails is reopened after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING

from broker_integration.errors import BrokerError
from broker_integration.events import OrderUpdateEvent
from broker_integration.log import get_logger
from broker_integration.pipeline import BrokerAdapter, BrokerCapability

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["OrderUpdateFeed"]

_log = get_logger("broker_integration.feeds")
_FEEDS: weakref.WeakKeyDictionary[BrokerAdapter, OrderUpdateFeed] = weakref.WeakKeyDictionary()


class OrderUpdateFeed:
    """The order-update feed of one adapter. Get it with :meth:`of`; hold it with :meth:`acquire`."""

    def __init__(self, adapter: BrokerAdapter, *, retry_after: float = 1.0) -> None:
        self.adapter = adapter
        self.retry_after = retry_after
        self._holders = 0
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    @classmethod
    def of(cls, adapter: BrokerAdapter) -> OrderUpdateFeed:
        """The adapter's feed (one per adapter)."""
        feed = _FEEDS.get(adapter)
        if feed is None:
            feed = _FEEDS[adapter] = cls(adapter)
        return feed

    @staticmethod
    def available(adapter: BrokerAdapter) -> bool:
        """Whether ``adapter`` declares order updates."""
        declared = adapter.declaration.capabilities
        capabilities = declared if declared is not None else type(adapter).declared_capabilities()
        return BrokerCapability.ORDER_UPDATES in capabilities

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def acquire(self) -> Callable[[], Awaitable[None]]:
        """Keep the feed running; returns the coroutine function that releases this hold."""
        self._holders += 1
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"order-updates {self.adapter.name}"
            )
        released = False

        async def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._holders -= 1
            if self._holders == 0:
                await self.stop()

        return release

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        adapter = self.adapter
        while adapter.is_authenticated:
            try:
                async for update in adapter.stream_order_updates():
                    self.published += 1
                    adapter.event_bus.publish(
                        OrderUpdateEvent(
                            time=update.time,
                            broker_name=adapter.name,
                            adapter_id=adapter.adapter_id,
                            update=update,
                        )
                    )
            except BrokerError as exc:
                _log.warning(
                    "order updates of %s stopped (%s); reopening in %.1f s",
                    adapter.name,
                    exc.error,
                    self.retry_after,
                )
            await asyncio.sleep(self.retry_after)
