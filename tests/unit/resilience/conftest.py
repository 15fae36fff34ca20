from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from broker_integration.store import Store, sqlite_url


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open store in a real SQLite file of the test's own."""
    async with Store(sqlite_url(tmp_path / "journal.sqlite3")) as opened:
        yield opened
