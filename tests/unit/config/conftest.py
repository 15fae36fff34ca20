"""Fixtures for configuration tests: variables holding a canary secret, a bus, a private store, managers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from config_helpers import CANARY

from broker_integration.config import ConfigManager
from broker_integration.config import manager as manager_module
from broker_integration.events import EventBus
from broker_integration.store import sqlite_url


@pytest.fixture
def env() -> dict[str, str]:
    return {"OANDA_API_KEY": CANARY, "OANDA_ACCOUNT_ID": "101-001-1"}


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "config-store.sqlite3")


@pytest.fixture
def memory_manager(env: dict[str, str], bus: EventBus) -> ConfigManager:
    return ConfigManager(env=env, event_bus=bus, persist=False)


@pytest.fixture
def fresh_global_manager() -> Iterator[None]:
    """Let a test create the process-wide manager anew (it uses the per-test store of tests/conftest.py)."""
    saved = manager_module._global_manager
    manager_module._global_manager = None
    yield
    manager_module._global_manager = saved
