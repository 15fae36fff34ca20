"""Linux inotify through libc (ctypes): which files of one folder were *finished*, not merely touched.

Portable watchers (watchfiles included) report a file as modified while its writer is still writing it.
inotify also reports when a writer *closed* a file it had open for writing (``IN_CLOSE_WRITE``) and when a
file was renamed into the folder (``IN_MOVED_TO``): the two moments a save is complete. Flag values and the
``struct inotify_event`` layout are those of the inotify(7) manual page (Linux man-pages project) and
``<sys/inotify.h>``; ``IN_NONBLOCK`` and ``IN_CLOEXEC`` are defined there as ``O_NONBLOCK`` and
``O_CLOEXEC``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_DELETE",
    "IN_DELETE_SELF",
    "IN_IGNORED",
    "IN_MODIFY",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_MOVE_SELF",
    "IN_Q_OVERFLOW",
    "IN_UNMOUNT",
    "Inotify",
    "InotifyEvent",
    "inotify_available",
]

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name
_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class InotifyEvent:
    """One event: what happened (``mask``) to which entry of the folder (``name``; empty for the folder)."""

    mask: int
    name: str


class Inotify:
    """One non-blocking inotify instance watching one folder for ``mask``; read it when its fd is readable."""

    def __init__(self, folder: Path, mask: int) -> None:
        libc = _libc()
        if libc is None:
            raise OSError("inotify is not available on this system")
        fd: int = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise _last_error("inotify_init1", folder)
        if libc.inotify_add_watch(fd, os.fsencode(folder), mask | IN_ONLYDIR) < 0:
            error = _last_error("inotify_add_watch", folder)
            os.close(fd)
            raise error
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def read(self) -> list[InotifyEvent]:
        """Every event queued so far (none if nothing is queued); never blocks."""
        events: list[InotifyEvent] = []
        while self._fd >= 0:
            try:
                data = os.read(self._fd, _READ_SIZE)
            except BlockingIOError:
                break
            offset = 0
            while offset + _HEADER.size <= len(data):
                _wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                name = data[offset : offset + length].split(b"\0", 1)[0]
                offset += length
                events.append(InotifyEvent(mask, os.fsdecode(name)))
        return events

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)


def inotify_available() -> bool:
    """Whether this is Linux with a libc that offers inotify."""
    return _libc() is not None


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_init1.restype = ctypes.c_int
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_add_watch.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def _last_error(call: str, folder: Path) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{call}: {os.strerror(code)}", str(folder))
