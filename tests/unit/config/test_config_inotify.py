"""The inotify wrapper on a real folder: a file counts as finished when its writer closes it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from broker_integration.config.inotify import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_MODIFY,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    Inotify,
    inotify_available,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
WATCHED = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MODIFY


def names(watch: Inotify, flag: int) -> list[str]:
    return [event.name for event in watch.read() if event.mask & flag]


def test_close_after_write_is_reported_only_at_the_close(tmp_path: Path) -> None:
    assert inotify_available()
    watch = Inotify(tmp_path, WATCHED)
    try:
        assert watch.read() == []  # nothing queued: returns at once
        with (tmp_path / "a.yaml").open("w") as handle:
            handle.write("half")
            handle.flush()
            pending = watch.read()
            assert [e.name for e in pending if e.mask & IN_CREATE] == ["a.yaml"]
            assert not [e for e in pending if e.mask & IN_CLOSE_WRITE]
            handle.write(" and the rest")
        assert names(watch, IN_CLOSE_WRITE) == ["a.yaml"]
        os.replace(tmp_path / "a.yaml", tmp_path / "b.yaml")
        events = watch.read()
        assert [e.name for e in events if e.mask & IN_MOVED_FROM] == ["a.yaml"]
        assert [e.name for e in events if e.mask & IN_MOVED_TO] == ["b.yaml"]
        (tmp_path / "b.yaml").unlink()
        assert names(watch, IN_DELETE) == ["b.yaml"]
    finally:
        watch.close()
    assert watch.read() == []  # closed: nothing more, no error


def test_a_missing_folder_is_a_clear_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="inotify_add_watch"):
        Inotify(tmp_path / "missing", WATCHED)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(NotADirectoryError):
        Inotify(not_a_folder, WATCHED)
