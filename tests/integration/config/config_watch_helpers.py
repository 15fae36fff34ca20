"""Helpers for the hot-reload integration tests: saving like editors do, and waiting for events."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Generic, TypeVar

from broker_integration.config import ReloadSettings
from broker_integration.events import Event, EventBus

E = TypeVar("E", bound=Event)

CANARY = "CANARY-7f3a9c1e-do-not-leak"

#: Small batching and settling delays keep the tests fast; defaults are measured by the benchmark.
FAST = ReloadSettings(
    step_ms=10, debounce_ms=400, settle_ms=20, settle_timeout_s=5.0, hold_ms=200, store_poll_s=None
)


def save_atomically(path: Path, text: str) -> None:
    """Save like vim or an IDE: write a temporary file beside ``path`` and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".swp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class Events(Generic[E]):
    """Collects events of one type from a bus, and lets a test wait for the next one."""

    def __init__(self, bus: EventBus, event_type: type[E]) -> None:
        self.seen: list[E] = []
        self._queue: asyncio.Queue[E] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def on_event(event: E) -> None:
            self.seen.append(event)
            loop.call_soon_threadsafe(self._queue.put_nowait, event)

        bus.subscribe(event_type, on_event)

    async def next(self, timeout: float = 10.0) -> E:
        """The next event; the timeout only keeps a broken test from hanging."""
        return await asyncio.wait_for(self._queue.get(), timeout)
