"""Hot reload: watch a config file's folder with watchfiles, wait for the files to settle, then reload.

The folder is watched, not the file: editors save by writing a temporary file and renaming it over the
original, which a watch on the file itself stops seeing after the first save. A batch of changes is
followed by a *settle* phase: the files are read, read again after ``settle_ms``, and only bytes that did
not change in between (and no empty file) go on to be parsed, so a half-written file is not mistaken for
the new configuration. Parsing, validation and the store write happen in a worker thread; the snapshot
swap is atomic. A failure keeps the last good configuration (the manager logs it and publishes a
:class:`~broker_integration.config.events.ConfigFailedEvent`); the next change is tried again.

A Kubernetes ConfigMap volume is handled too: it changes by swapping its ``..data`` symlink, which the
watcher treats as a change of every file.

While watching, the watcher also follows the store: a rollback another process recorded (``broker-integration
config rollback``) is applied here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from watchfiles import Change, awatch

from broker_integration.config.errors import ConfigError
from broker_integration.config.loader import config_files
from broker_integration.config.parsing import is_config_file_name
from broker_integration.config.snapshot import ConfigSource
from broker_integration.config.versions import MemoryVersionLog
from broker_integration.log import get_logger

if TYPE_CHECKING:
    from broker_integration.config.manager import ConfigManager

__all__ = ["ConfigWatcher", "ReloadSettings"]

_log = get_logger("broker_integration.config.watcher")

#: A Kubernetes ConfigMap volume updates by re-pointing this symlink; the files' own names never change.
_K8S_DATA_LINK = "..data"


@dataclass(frozen=True, slots=True)
class ReloadSettings:
    """How the watcher batches and settles changes. The defaults keep write-to-applied well under 500 ms.

    ``step_ms``: a batch ends after this long without a new change (watchfiles' ``step``).
    ``debounce_ms``: ... or at the latest this long after its first change (watchfiles' ``debounce``).
    ``settle_ms``: files must read the same twice this far apart before they are parsed.
    ``settle_timeout_s``: stop waiting for files that keep changing (or stay empty) after this long.
    ``force_polling`` / ``poll_delay_ms``: poll instead of OS notifications (network and container mounts).
    ``store_poll_s``: how often to look for rollbacks recorded by another process; ``None`` to not look.
    """

    step_ms: int = 50
    debounce_ms: int = 1600
    settle_ms: int = 100
    settle_timeout_s: float = 5.0
    force_polling: bool | None = None
    poll_delay_ms: int = 300
    store_poll_s: float | None = 2.0

    def __post_init__(self) -> None:
        if (
            self.step_ms <= 0
            or self.debounce_ms < self.step_ms
            or self.settle_ms < 0
            or self.settle_timeout_s <= 0
        ):
            raise ValueError(
                "ReloadSettings needs step_ms > 0, debounce_ms >= step_ms, settle_ms >= 0, settle_timeout_s > 0"
            )


class ConfigWatcher:
    """Reloads one config root (a file or a folder) into a :class:`ConfigManager` when it changes."""

    def __init__(self, manager: ConfigManager, root: Path, settings: ReloadSettings | None = None) -> None:
        self._manager = manager
        self._root = root
        self._settings = settings or ReloadSettings()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.reloads = 0
        self.failures = 0

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

    def _accepts(self, _change: Change, path: str) -> bool:
        name = Path(path).name
        if name == _K8S_DATA_LINK:
            return True
        if self._root.is_dir():
            return is_config_file_name(name)
        return name == self._root.name

    async def _watch(self) -> None:
        folder = self._root if self._root.is_dir() else self._root.parent
        s = self._settings
        while not self._stop.is_set():
            changes = awatch(
                folder,
                watch_filter=self._accepts,
                debounce=s.debounce_ms,
                step=s.step_ms,
                stop_event=self._stop,
                recursive=False,
                force_polling=s.force_polling,
                poll_delay_ms=s.poll_delay_ms,
            )
            # The generator's first step sets up the OS watch before it first waits: run that step, then
            # report ready, so a write made as soon as start() returns is seen.
            pending: asyncio.Future[Any] = asyncio.ensure_future(anext(changes))
            try:
                await asyncio.sleep(0)
                self._ready.set()
                while True:
                    await pending
                    await self._reload()
                    pending = asyncio.ensure_future(anext(changes))
            except StopAsyncIteration:
                return
            except (OSError, RuntimeError) as exc:
                self._ready.set()
                _log.error("watching %s failed (%s: %s); retrying in 1 s", folder, type(exc).__name__, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)
            finally:
                if not pending.done():
                    self._stop.set()
                    with contextlib.suppress(BaseException):
                        await pending
                await changes.aclose()

    async def _reload(self) -> None:
        try:
            sources = await self._settled_sources()
            await self._manager.reload_sources(self._root, sources)
            self.reloads += 1
        except ConfigError:
            self.failures += 1  # the manager logged it and published ConfigFailedEvent
        except Exception as exc:  # the watcher must outlive any surprise
            self.failures += 1
            _log.exception(
                "configuration reload of %s failed unexpectedly: %s", self._root, type(exc).__name__
            )

    async def _settled_sources(self) -> dict[Path, bytes] | None:
        """The files' bytes once two reads ``settle_ms`` apart agree and none is empty.

        ``None`` when the root cannot be read (the reload then reports why); after ``settle_timeout_s``
        the latest read is returned as it is, and parsing reports what is wrong with it.
        """
        s = self._settings
        deadline = time.monotonic() + s.settle_timeout_s
        previous = await asyncio.to_thread(_read_all, self._root)
        while True:
            await asyncio.sleep(s.settle_ms / 1000)
            current = await asyncio.to_thread(_read_all, self._root)
            settled = (
                current == previous and current is not None and all(data.strip() for data in current.values())
            )
            if settled or time.monotonic() >= deadline:
                return current
            previous = current

    async def _follow_store(self) -> None:
        interval = self._settings.store_poll_s or 2.0
        refused: int | None = None
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)
            if self._stop.is_set():
                return
            try:
                latest = await self._manager.version_log.latest()
            except Exception as exc:
                _log.warning("cannot read configuration versions: %s", type(exc).__name__)
                continue
            current = self._manager.current
            if (
                latest is None
                or latest.source is not ConfigSource.ROLLBACK
                or latest.version == refused
                or (current.version is not None and latest.version <= current.version)
                or latest.content_hash == current.content_hash
            ):
                continue
            try:
                await self._manager.adopt(latest)
            except ConfigError:
                refused = latest.version


def _read_all(root: Path) -> dict[Path, bytes] | None:
    try:
        files = config_files(root)
        return {file: file.read_bytes() for file in files} if files else None
    except (OSError, ConfigError):
        return None
