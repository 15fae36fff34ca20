"""Shared test set-up: keep every test's store in a temporary folder, never in the user's data dir; the
fixtures many test modules use: a manual clock, a private event bus, an open store. A package's own
``conftest.py`` may override one (a clock at a chosen start, say)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from broker_integration import log
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.store import Store, sqlite_url


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_INTEGRATION_STORE_URL", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")


@pytest.fixture(autouse=True)
def _isolated_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered by one test (fuzzed configs register arbitrary values) must not redact another's text."""
    monkeypatch.setattr(log, "_secrets", set(log._secrets))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open store in a real SQLite file of the test's own."""
    async with Store(sqlite_url(tmp_path / "journal.sqlite3")) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test advances it."""
    return ManualClock()


@pytest.fixture
def bus() -> EventBus:
    """An event bus of the test's own (the global one is shared by the whole process)."""
    return EventBus()
