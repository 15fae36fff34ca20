"""Versions in the store: history, diff, rollback, and all of it across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import CANARY, write

from broker_integration.config import ConfigError, ConfigManager, ConfigSource
from broker_integration.events import EventBus

BROKER = """\
broker_name: oanda
credentials: {{api_key: "${{OANDA_API_KEY}}", account_id: "101-001-1"}}
endpoints: {{base_url: "https://api-fxpractice.oanda.com"}}
settings: {{timeout_seconds: {timeout}}}
"""


def _restart(store_url: str, env: dict[str, str]) -> ConfigManager:
    return ConfigManager(store_url=store_url, env=env, event_bus=EventBus())


async def test_history_diff_and_rollback_survive_a_restart(
    tmp_path: Path, store_url: str, env: dict[str, str]
) -> None:
    file = write(tmp_path / "oanda.yaml", BROKER.format(timeout=10))
    first = _restart(store_url, env)
    await first.aload(file)
    write(file, BROKER.format(timeout=20))
    await first.reload()
    await first.aset_configuration("paper", {"options": {"seed": 3}})

    second = _restart(store_url, env)  # a new process: empty until it loads
    history = await second.history()
    assert [(v.version, v.source) for v in history] == [
        (3, ConfigSource.CODE),
        (2, ConfigSource.RELOAD),
        (1, ConfigSource.FILE),
    ]
    assert history[1].changed_paths == ("oanda.settings.timeout_seconds",)
    assert history[1].changes[0].old == 10.0
    assert history[1].changes[0].new == 20.0
    assert [c.path for c in await second.diff(1)] == ["oanda.settings.timeout_seconds", "paper"]

    snapshot = await second.rollback(1)  # the ${VAR} secret resolves again in the new process
    assert snapshot.version == 4
    oanda = second.get_configuration("oanda")
    assert oanda is not None
    assert oanda.settings.timeout_seconds == 10
    assert oanda.credentials.api_key is not None
    assert oanda.credentials.api_key.get_secret_value() == CANARY
    assert second.list_configurations() == ["oanda"]
    assert (await second.get_version(4)).rollback_of == 1


async def test_restart_on_unchanged_files_records_nothing(
    tmp_path: Path, store_url: str, env: dict[str, str]
) -> None:
    file = write(tmp_path / "oanda.yaml", BROKER.format(timeout=10))
    await _restart(store_url, env).aload(file)
    again = _restart(store_url, env)
    snapshot = await again.aload(file)
    assert snapshot.version == 1  # adopted, not recorded again
    assert len(await again.history()) == 1


async def test_plaintext_secret_cannot_be_restored_after_a_restart(
    store_url: str, env: dict[str, str]
) -> None:
    first = _restart(store_url, env)
    await first.aset_configuration("x", {"credentials": {"api_key": "old-plaintext-key"}})
    await first.aset_configuration("x", {"credentials": {"api_key": "new-plaintext-key"}})
    second = _restart(store_url, env)
    with pytest.raises(ConfigError, match="plaintext secret this process no longer holds") as info:
        await second.rollback(1)
    assert info.value.path == "x.credentials.api_key"
    assert second.version is None


async def test_stored_document_holds_references_not_values(
    tmp_path: Path, store_url: str, env: dict[str, str]
) -> None:
    manager = _restart(store_url, env)
    await manager.aload(write(tmp_path / "oanda.yaml", BROKER.format(timeout=10)))
    await manager.aset_configuration("x", {"credentials": {"api_key": CANARY + "-plain"}})
    version = await manager.get_version(2)
    assert version.document["brokers"]["oanda"]["credentials"]["api_key"] == "${OANDA_API_KEY}"
    assert version.document["brokers"]["x"]["credentials"]["api_key"] == "**********"
    assert set(version.document["secrets"]) == {"oanda.credentials.api_key", "x.credentials.api_key"}
    assert CANARY not in str(version)


async def test_versions_are_per_scope(store_url: str, env: dict[str, str]) -> None:
    a = ConfigManager(store_url=store_url, env=env, scope="a", event_bus=EventBus())
    b = ConfigManager(store_url=store_url, env=env, scope="b", event_bus=EventBus())
    await a.aset_configuration("x", {})
    await b.aset_configuration("y", {})
    await b.aset_configuration("z", {})
    assert [v.version for v in await a.history()] == [1]
    assert [v.version for v in await b.history()] == [2, 1]


async def test_unreachable_store_refuses_the_change(tmp_path: Path, env: dict[str, str]) -> None:
    blocker = write(tmp_path / "not-a-folder", "")
    manager = ConfigManager(
        store_url=f"sqlite+aiosqlite:///{blocker}/db.sqlite3", env=env, event_bus=EventBus()
    )
    with pytest.raises(ConfigError, match="could not record the version"):
        await manager.aset_configuration("x", {})
    assert manager.version is None
    assert manager.get_configuration("x") is None
