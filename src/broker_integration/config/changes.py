"""When a watched config root's files are *complete*: the moments the watcher may read and apply them.

Two feeds answer it, each as a stream of file contents read once their writers are done:

* :class:`InotifyFeed` (Linux): a file counts as written only once its writer closed it
  (``IN_CLOSE_WRITE``) or renamed it into place (``IN_MOVED_TO``), or when it was deleted, moved away, or
  appeared as a symlink or a hard link (both are created whole). A file being written (``IN_MODIFY``, or a
  new regular file) holds every read back until its writer closes it, however long it pauses; only a
  file left open for writing longer than ``settle_timeout_s`` is read anyway. Files are read after the
  batch of events has been quiet for ``step_ms``, and the read is thrown away and redone if any event
  arrived while it ran, so a read never mixes a finished file with one that a new writer just truncated.
* :class:`WatchfilesFeed` (elsewhere, or with ``force_polling``): watchfiles says only that something
  changed, so the files must read alike twice ``settle_ms`` apart (and none be empty) before they count as
  complete. A writer pausing longer than that is not detected here; the manager's key-drop guard (see
  :mod:`broker_integration.config.policy`) is the second line.

An empty file, or a root that cannot be read, is waited on (up to ``settle_timeout_s``) rather than taken
for the new configuration. Each feed's first report is the files as they are once its watch is set up, so
a change made before that (while the root was being loaded, or while a lost watch was being set up again)
is not lost; it is a no-op when nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from watchfiles import awatch

from broker_integration.config.errors import ConfigError
from broker_integration.config.inotify import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_IGNORED,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_Q_OVERFLOW,
    IN_UNMOUNT,
    Inotify,
    InotifyEvent,
    inotify_available,
)
from broker_integration.config.loader import config_files
from broker_integration.log import get_logger

if TYPE_CHECKING:
    from broker_integration.config.watcher import ReloadSettings

__all__ = ["ChangeFeed", "InotifyFeed", "Sources", "WatchfilesFeed", "open_feed", "read_root"]

_log = get_logger("broker_integration.config.watcher")

Sources = dict[Path, bytes]

_WATCHED = (
    IN_CLOSE_WRITE
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_MOVED_FROM
    | IN_MODIFY
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
#: How often the watchfiles feed compares the files with their last complete read (see WatchfilesFeed).
_RECHECK_S = 1.0
_FOLDER_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT


class ChangeFeed(Protocol):
    """The complete contents of a root, each time they change."""

    async def start(self) -> None:
        """Set up the watch: changes made once this returns are reported (and the first report is the
        files as they are then)."""
        ...

    async def next(self) -> Sources | None:
        """The files once a change to them is complete (``None``: the root cannot be read).

        Raises ``StopAsyncIteration`` after :meth:`interrupt`, ``OSError`` if the watch is lost.
        """
        ...

    async def current(self) -> Sources | None:
        """The files now, or ``None`` if a change to them is known to be under way (``next`` reports it)."""
        ...

    def interrupt(self) -> None:
        """Make a waiting :meth:`next` end (the watcher is stopping)."""
        ...

    async def aclose(self) -> None: ...


def open_feed(root: Path, accepts: Callable[[str], bool], settings: ReloadSettings) -> ChangeFeed:
    """inotify on Linux unless polling is forced; watchfiles otherwise, or if inotify cannot be set up."""
    folder = root if root.is_dir() else root.parent
    if not settings.force_polling and inotify_available():
        try:
            return InotifyFeed(root, folder, accepts, settings)
        except OSError as exc:
            if not folder.is_dir():
                raise
            _log.warning(
                "cannot watch %s with inotify (%s); falling back to watchfiles with a %d ms settle",
                folder,
                exc.strerror or exc,
                settings.settle_ms,
            )
    return WatchfilesFeed(root, folder, accepts, settings)


def read_root(root: Path) -> Sources | None:
    """The bytes of every config file of ``root``, or ``None`` if it cannot be read or holds none."""
    try:
        files = config_files(root)
        return {file: file.read_bytes() for file in files} if files else None
    except (OSError, ConfigError):
        return None


def _complete(sources: Sources | None) -> bool:
    return sources is not None and all(data.strip() for data in sources.values())


class InotifyFeed:
    """See the module docstring. Events are taken in by a reader callback on the event loop."""

    def __init__(
        self, root: Path, folder: Path, accepts: Callable[[str], bool], settings: ReloadSettings
    ) -> None:
        self._root = root
        self._folder = folder
        self._accepts = accepts
        self._settings = settings
        self._inotify = Inotify(folder, _WATCHED)
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._changed_at: float | None = None  # the first complete change not yet read
        self._last_event = 0.0
        self._writing: dict[str, float] = {}  # name -> when its writer started
        self._reading = False
        self._lost: OSError | None = None
        self._stopped = False
        self._loop.add_reader(self._inotify.fileno(), self._take_events)

    async def start(self) -> None:
        """The watch was added when the feed was made; the first report reads the files as they are."""
        self._changed(time.monotonic())

    async def next(self) -> Sources | None:
        while True:
            await self._until_complete()
            self._reading = True
            try:
                sources = await asyncio.to_thread(read_root, self._root)
            finally:
                self._reading = False
            self._take_events()
            self._raise_if_ended()
            if self._busy():
                continue  # something changed while we read: read again once it is complete
            if _complete(sources) or not await self._wait(self._settings.settle_timeout_s):
                return sources

    async def current(self) -> Sources | None:
        self._take_events()
        if self._busy() or self._reading:
            return None
        sources = await asyncio.to_thread(read_root, self._root)
        self._take_events()
        return None if self._busy() or self._reading else sources

    def interrupt(self) -> None:
        self._stopped = True
        self._wake.set()

    async def aclose(self) -> None:
        self._stopped = True
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._inotify.fileno())
        self._inotify.close()

    # ------------------------------------------------------------------ internals

    def _take_events(self) -> None:
        try:
            events = self._inotify.read()
        except OSError as exc:
            self._lost = exc
            events = []
        now = time.monotonic()
        relevant = [event for event in events if self._take(event, now)]
        if relevant or self._lost is not None:
            self._wake.set()

    def _take(self, event: InotifyEvent, now: float) -> bool:
        """Note what ``event`` means for the root's files; false if it means nothing to them."""
        if event.mask & _FOLDER_GONE and not event.name:
            self._lost = OSError(f"the watched folder {self._folder} was removed, moved or unmounted")
        elif event.mask & IN_Q_OVERFLOW:
            self._changed(now)  # events were dropped: read everything again
        elif not event.name or not self._accepts(event.name):
            return False
        elif event.mask & IN_MODIFY or (event.mask & IN_CREATE and self._new_empty_file(event.name)):
            self._writing.setdefault(event.name, now)
            self._last_event = now
        else:  # closed after writing, renamed in or away, deleted, or created whole
            self._writing.pop(event.name, None)
            self._changed(now)
        return True

    def _new_empty_file(self, name: str) -> bool:
        """A regular file with one link: created by ``open``, so its writer's close is still to come."""
        try:
            info = os.lstat(self._folder / name)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_nlink == 1

    def _changed(self, now: float) -> None:
        if self._changed_at is None:
            self._changed_at = now
        self._last_event = now

    def _busy(self) -> bool:
        return self._changed_at is not None or bool(self._writing)

    async def _until_complete(self) -> None:
        """Until a change is complete: no writer left, and ``step_ms`` without events (``debounce_ms`` at most)."""
        s = self._settings
        while True:
            now = time.monotonic()
            self._give_up_on_stalled_writers(now)
            if self._writing:
                await self._wait(min(self._writing.values()) + s.settle_timeout_s - now)
            elif self._changed_at is None:
                await self._wait(None)
            else:
                due = min(self._last_event + s.step_ms / 1000, self._changed_at + s.debounce_ms / 1000)
                if now >= due:
                    self._changed_at = None
                    return
                await self._wait(due - now)

    def _give_up_on_stalled_writers(self, now: float) -> None:
        for name, since in list(self._writing.items()):
            if now - since >= self._settings.settle_timeout_s:
                del self._writing[name]
                self._changed(now)
                _log.warning(
                    "%s has been open for writing for %.0f s; reading it as it is",
                    self._folder / name,
                    now - since,
                )

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for events (true) or ``timeout`` seconds (false); raise if stopped or the watch is lost."""
        self._raise_if_ended()
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), None if timeout is None else max(timeout, 0.0))
        except TimeoutError:
            return False
        self._raise_if_ended()
        return True

    def _raise_if_ended(self) -> None:
        if self._stopped:
            raise StopAsyncIteration
        if self._lost is not None:
            raise self._lost


class WatchfilesFeed:
    """See the module docstring: watchfiles' notifications, then two equal reads ``settle_ms`` apart.

    The files are also compared with the last complete read every :data:`_RECHECK_S` seconds, because
    watchfiles' poller compares modification times in whole seconds and so misses an edit made within the
    same second as its previous scan (notify's ``PollWatcher``), which a save right after another often is.
    """

    def __init__(
        self, root: Path, folder: Path, accepts: Callable[[str], bool], settings: ReloadSettings
    ) -> None:
        self._root = root
        self._settings = settings
        self._stop = asyncio.Event()
        self._changes = awatch(
            folder,
            watch_filter=lambda _change, path: accepts(Path(path).name),
            debounce=settings.debounce_ms,
            step=settings.step_ms,
            stop_event=self._stop,
            recursive=False,
            force_polling=settings.force_polling,
            poll_delay_ms=settings.poll_delay_ms,
        )
        self._notified: asyncio.Future[set[Any]] | None = None
        self._last: Sources | None = None
        self._first = True

    async def start(self) -> None:
        self._notified = asyncio.ensure_future(anext(self._changes))
        await asyncio.sleep(0)  # awatch's first step sets up the OS watch before it first waits

    async def next(self) -> Sources | None:
        if self._first:
            self._first = False
            self._last = await self._settled()
            return self._last
        while True:
            notified = self._notified or asyncio.ensure_future(anext(self._changes))
            self._notified = notified
            done, _ = await asyncio.wait({notified}, timeout=_RECHECK_S)
            if notified in done:
                self._notified = None
                notified.result()  # StopAsyncIteration once interrupted
            elif self._stop.is_set() or await self.current() == self._last:
                continue
            self._last = await self._settled()
            return self._last

    async def current(self) -> Sources | None:
        return await asyncio.to_thread(read_root, self._root)

    def interrupt(self) -> None:
        self._stop.set()

    async def aclose(self) -> None:
        self._stop.set()
        if self._notified is not None:
            with contextlib.suppress(BaseException):
                await self._notified
        await self._changes.aclose()

    async def _settled(self) -> Sources | None:
        """The files once two reads ``settle_ms`` apart agree and none is empty; after ``settle_timeout_s``
        the latest read as it is (parsing then reports what is wrong with it)."""
        s = self._settings
        deadline = time.monotonic() + s.settle_timeout_s
        previous = await self.current()
        while True:
            await asyncio.sleep(s.settle_ms / 1000)
            current = await self.current()
            if (current == previous and _complete(current)) or time.monotonic() >= deadline:
                return current
            previous = current
