"""Hot reload: watch a config root's folder, apply its files once their writers are done with them.

The folder is watched, not the file: editors save by writing a temporary file and renaming it over the
original, which a watch on the file itself stops seeing after the first save. *When* files are complete is
the :mod:`~broker_integration.config.changes` feed's business: on Linux, once each writer has closed its file
or renamed it into place (inotify), so a writer that pauses mid-file, for however long, never gets its half
applied; elsewhere (or with ``force_polling``) once two reads ``settle_ms`` apart agree. Parsing, validation
and the store write happen in a worker thread; the snapshot swap is atomic. A failure keeps the last good
configuration (the manager logs it and publishes a :class:`~broker_integration.config.events.ConfigFailedEvent`);
the next change is tried again.

A reload that would drop keys the active configuration sets (a broker, or a key of one, that the files no
longer mention) is *held back*: a writer that closed its file half-written and reopens it to append the rest
looks exactly like that for a moment. The manager logs why and publishes a
:class:`~broker_integration.config.events.ConfigReloadHeldEvent`; ``hold_ms`` later the files are read again
and, if they are unchanged, the reload is applied: that is how an intended removal takes effect (save the
file without the key and leave it; or call ``manager.reload()``, which applies at once). If the files
changed meanwhile, the new content is taken instead, held back again only if it too drops keys. (A rollback
applies a configuration that sets every key, so the first edit of a file after one is held once.)

A Kubernetes ConfigMap volume is handled too: it changes by swapping its ``..data`` symlink, which the
watcher treats as a change of every file.

While watching, the watcher also follows the store: a rollback another process recorded (``broker-integration
config rollback``) is applied here too. How configuration reaches every instance of a deployment: each
instance watches its own files (deployments put the same files on every host), and what is recorded only in
the store — a rollback — reaches every running watcher from the store: on PostgreSQL at once, woken by the
NOTIFY that recording sends (then the table is re-read: notifications carry no content and are never
replayed), and by polling every ``store_poll_s`` (SQLite, and the fallback while a connection is re-made).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from broker_integration.config.changes import ChangeFeed, Sources, open_feed
from broker_integration.config.errors import ConfigError
from broker_integration.config.parsing import is_config_file_name
from broker_integration.config.policy import ReloadHeld
from broker_integration.config.snapshot import ConfigSource
from broker_integration.config.versions import MemoryVersionLog, StoreVersionLog
from broker_integration.log import get_logger

if TYPE_CHECKING:
    from broker_integration.config.manager import ConfigManager

__all__ = ["ConfigWatcher", "ReloadSettings"]

_log = get_logger("broker_integration.config.watcher")

#: A Kubernetes ConfigMap volume updates by re-pointing this symlink; the files' own names never change.
_K8S_DATA_LINK = "..data"


@dataclass(frozen=True, slots=True)
class ReloadSettings:
    """How the watcher batches changes and decides files are complete. On Linux the defaults apply a
    normal save well within 500 ms.

    ``step_ms``: a batch ends after this long without a new change.
    ``debounce_ms``: ... or at the latest this long after its first change.
    ``settle_ms``: without inotify (not Linux, or ``force_polling``), files must read the same twice this
    far apart before they are parsed; with inotify a writer's close says it instead.
    ``settle_timeout_s``: stop waiting after this long for a file still open for writing, for files that
    keep changing, or for an empty file or a missing root; what is there is then parsed as it is.
    ``hold_ms``: how long a reload that would drop keys the active configuration sets is held back before
    it is re-checked (and applied if the files did not change); 0 applies such reloads at once.
    ``force_polling`` / ``poll_delay_ms``: poll with watchfiles instead of OS notifications (network and
    container mounts whose writes the kernel does not report).
    ``store_poll_s``: how often to look for rollbacks recorded by another process; ``None`` to not look.
    """

    step_ms: int = 50
    debounce_ms: int = 1600
    settle_ms: int = 1000
    settle_timeout_s: float = 5.0
    hold_ms: int = 2000
    force_polling: bool | None = None
    poll_delay_ms: int = 300
    store_poll_s: float | None = 2.0

    def __post_init__(self) -> None:
        if (
            self.step_ms <= 0
            or self.debounce_ms < self.step_ms
            or self.settle_ms < 0
            or self.settle_timeout_s <= 0
            or self.hold_ms < 0
        ):
            raise ValueError(
                "ReloadSettings needs step_ms > 0, debounce_ms >= step_ms, settle_ms >= 0, "
                "settle_timeout_s > 0, hold_ms >= 0"
            )


@dataclass(frozen=True, slots=True)
class _Held:
    """A reload held back: the files it read, and when to look at them again."""

    sources: Sources | None
    due: float


class ConfigWatcher:
    """Reloads one config root (a file or a folder) into a :class:`ConfigManager` when it changes."""

    def __init__(self, manager: ConfigManager, root: Path, settings: ReloadSettings | None = None) -> None:
        self._manager = manager
        self._root = root
        self._settings = settings or ReloadSettings()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._feed: ChangeFeed | None = None
        self._ready = asyncio.Event()
        self.reloads = 0
        self.failures = 0
        self.held = 0

    @property
    def root(self) -> Path:
        return self._root

    @property
    def settings(self) -> ReloadSettings:
        return self._settings

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Load the root if it is not loaded yet (a failure raises :class:`ConfigError`), then watch it."""
        if self.running:
            return
        if self._root not in self._manager.roots:
            await self._manager.aload(self._root)
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._watch(), name=f"config-watch:{self._root}")
        await self._ready.wait()
        if self._settings.store_poll_s is not None and not isinstance(
            self._manager.version_log, MemoryVersionLog
        ):
            self._follower = asyncio.get_running_loop().create_task(
                self._follow_store(), name="config-follow-store"
            )

    async def stop(self) -> None:
        """Stop watching; waits for a reload in progress to finish."""
        self._stop.set()
        if self._feed is not None:
            self._feed.interrupt()
        for task in (self._follower, self._task):
            if task is not None and not task.done():
                if task is self._follower:
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._follower = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ internals

    def _accepts(self, name: str) -> bool:
        if name == _K8S_DATA_LINK:
            return True
        if self._root.is_dir():
            return is_config_file_name(name)
        return name == self._root.name

    async def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._feed = feed = open_feed(self._root, self._accepts, self._settings)
            except OSError as exc:
                await self._retry_after(exc)
                continue
            try:
                await feed.start()
                await self._follow(feed)
            except StopAsyncIteration:
                return
            except (OSError, RuntimeError) as exc:
                await self._retry_after(exc)
            finally:
                self._feed = None
                await feed.aclose()

    async def _follow(self, feed: ChangeFeed) -> None:
        """Apply each complete change; re-check a held-back reload when it is due (see the module docstring)."""
        loop = asyncio.get_running_loop()
        pending = asyncio.ensure_future(feed.next())
        self._ready.set()
        held: _Held | None = None
        try:
            while True:
                timeout = None if held is None else max(0.0, held.due - loop.time())
                done, _ = await asyncio.wait({pending}, timeout=timeout)
                if pending in done:
                    sources = pending.result()
                    pending = asyncio.ensure_future(feed.next())
                    held = await self._apply(sources, guarded=True)
                elif held is not None:
                    now = await feed.current()
                    if now is None:
                        held = None  # a change is under way: its own reload decides
                    elif now == held.sources:
                        _log.info(
                            "applying the reload of %s held back %.1f s ago: the files did not change since",
                            self._root,
                            self._settings.hold_ms / 1000,
                        )
                        held = await self._apply(now, guarded=False)
                    else:
                        held = await self._apply(now, guarded=True)
        finally:
            if not pending.done():
                feed.interrupt()
                with contextlib.suppress(BaseException):
                    await pending

    async def _apply(self, sources: Mapping[Path, bytes] | None, *, guarded: bool) -> _Held | None:
        """Reload from ``sources``; the hold to keep if ``guarded`` and it would drop keys."""
        hold_s = self._settings.hold_ms / 1000 if guarded and self._settings.hold_ms > 0 else None
        try:
            await self._manager.reload_sources(self._root, sources, hold_drops_s=hold_s)
            self.reloads += 1
        except ReloadHeld:
            self.held += 1  # the manager logged why and published ConfigReloadHeldEvent
            return _Held(
                None if sources is None else dict(sources), asyncio.get_running_loop().time() + (hold_s or 0)
            )
        except ConfigError:
            self.failures += 1  # the manager logged it and published ConfigFailedEvent
        except Exception as exc:  # the watcher must outlive any surprise
            self.failures += 1
            _log.exception(
                "configuration reload of %s failed unexpectedly: %s", self._root, type(exc).__name__
            )
        return None

    async def _retry_after(self, exc: BaseException) -> None:
        self._ready.set()
        _log.error("watching %s failed (%s: %s); retrying in 1 s", self._root, type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), 1.0)

    async def _follow_store(self) -> None:
        interval = self._settings.store_poll_s or 2.0
        refused: int | None = None
        wake = asyncio.Event()
        listener = None
        log = self._manager.version_log
        if isinstance(log, StoreVersionLog):
            try:
                listener = await log.listen(wake.set)
            except Exception as exc:
                _log.warning("cannot listen for configuration versions: %s; polling", type(exc).__name__)
        try:
            while not self._stop.is_set():
                await _first_of(self._stop, wake, timeout=interval)
                wake.clear()
                if self._stop.is_set():
                    return
                if listener is not None:
                    with contextlib.suppress(Exception):  # the poll goes on; the next check tries again
                        await listener.check()
                refused = await self._adopt_latest(refused)
        finally:
            if listener is not None:
                await listener.close()

    async def _adopt_latest(self, refused: int | None) -> int | None:
        """Apply the latest version if another process recorded it as a rollback; returns the version
        refused, to not try it again."""
        try:
            latest = await self._manager.version_log.latest()
        except Exception as exc:
            _log.warning("cannot read configuration versions: %s", type(exc).__name__)
            return refused
        current = self._manager.current
        if (
            latest is None
            or latest.source is not ConfigSource.ROLLBACK
            or latest.version == refused
            or (current.version is not None and latest.version <= current.version)
            or latest.content_hash == current.content_hash
        ):
            return refused
        try:
            await self._manager.adopt(latest)
        except ConfigError:
            return latest.version
        return refused


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of ``events`` is set, or ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
