"""Shared test set-up: keep every test's store in a temporary folder, never in the user's data dir."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_INTEGRATION_STORE_URL", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
