"""Configuration across instances sharing a PostgreSQL store: each instance watches its own files, and a
rollback recorded in the store reaches every running watcher at once — woken by the NOTIFY recording sends,
not by its poll (set here far longer than the test waits)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from config_watch_helpers import CANARY, Events, save_atomically
from typer.testing import CliRunner

from broker_integration.config import ConfigChangedEvent, ConfigManager, ConfigSource, ReloadSettings
from broker_integration.config.cli import config_app
from broker_integration.events import EventBus

BROKER = """\
broker_name: oanda
credentials: {{api_key: "${{OANDA_API_KEY}}", account_id: "101-001-1"}}
endpoints: {{base_url: "https://api-fxpractice.oanda.com"}}
settings: {{timeout_seconds: {timeout}}}
"""
#: The poll is the fallback; far longer than the test waits, so only the notification can be in time.
SLOW_POLL = ReloadSettings(step_ms=10, debounce_ms=400, settle_ms=20, store_poll_s=60.0)


async def test_a_rollback_reaches_every_instance_at_once(pg_database: str, tmp_path: Path) -> None:
    buses, managers, folders = [], [], []
    for name in ("host-a", "host-b"):  # two instances, each with its own copy of the files
        folder = tmp_path / name
        folder.mkdir()
        (folder / "oanda.yaml").write_text(BROKER.format(timeout=30))
        bus = EventBus()
        buses.append(bus)
        folders.append(folder)
        managers.append(ConfigManager(store_url=pg_database, env={"OANDA_API_KEY": CANARY}, event_bus=bus))
    watchers = [m.watch(f, SLOW_POLL) for m, f in zip(managers, folders, strict=True)]
    for watcher in watchers:
        await watcher.start()
    try:
        changed = [Events(bus, ConfigChangedEvent) for bus in buses]
        for folder in folders:  # the deployment puts the new file on every host
            save_atomically(folder / "oanda.yaml", BROKER.format(timeout=90))
        for events in changed:
            await events.next()
        assert {m.version for m in managers} == {2}  # one version, recorded once, adopted by the other
        result = await asyncio.to_thread(
            CliRunner().invoke, config_app, ["rollback", "1", "--store", pg_database]
        )
        assert result.exit_code == 0, result.output
        adopted = [await events.next(timeout=5.0) for events in changed]
    finally:
        for manager in managers:
            await manager.aclose()
    assert [(e.version, e.source, e.rollback_of) for e in adopted] == [(3, ConfigSource.ROLLBACK, 1)] * 2
    for manager in managers:
        config = manager.get_configuration("oanda")
        assert config is not None
        assert config.settings.timeout_seconds == 30
