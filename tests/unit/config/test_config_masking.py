"""A canary secret goes through every path of the config system; it must not appear anywhere it could leak."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from config_helpers import CANARY, write
from typer.testing import CliRunner

from broker_integration.config import (
    ConfigChangedEvent,
    ConfigError,
    ConfigFailedEvent,
    ConfigManager,
    KeyRing,
)
from broker_integration.config.cli import config_app
from broker_integration.events import Event, EventBus

FILE = """\
default:
  brokers:
    oanda:
      credentials: {{api_key: "${{OANDA_API_KEY}}", secret_key: "{enc}", account_id: "101-001-1"}}
      endpoints: {{base_url: "https://api-fxpractice.oanda.com"}}
      options: {{webhook_token: "${{OANDA_API_KEY}}", seed: 1}}
"""


async def test_canary_never_leaks(tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = KeyRing.generate_key()
    env = {"OANDA_API_KEY": CANARY, "BROKER_INTEGRATION_CONFIG_KEYS": key}
    enc = KeyRing([key]).encrypt(CANARY + "-encrypted")
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    manager = ConfigManager(store_url=store_url, env=env, event_bus=bus)
    file = write(tmp_path / "brokers.yaml", FILE.format(enc=enc))

    await manager.aload(file)
    await manager.aset_configuration("plain", {"credentials": {"api_key": CANARY + "-plain"}})
    await manager.aset_configuration("plain", {"credentials": {"api_key": CANARY + "-plain-2"}})
    with pytest.raises(ConfigError) as bad_set:
        await manager.aset_configuration("plain", {"credentials": {"api_key": CANARY, "oops": 1}})
    write(file, FILE.format(enc=enc).replace("seed: 1", "seed: [unclosed"))
    with pytest.raises(ConfigError) as bad_reload:
        await manager.reload()
    await manager.rollback(1)

    config = manager.get_configuration("oanda")
    assert config is not None
    assert config.credentials.api_key is not None
    assert config.credentials.api_key.get_secret_value() == CANARY  # it did arrive, as a SecretStr

    texts = {
        "logs": caplog.text,
        "repr(config)": repr(config),
        "str(config)": str(config),
        "to_dict": str(config.to_dict()),
        "repr(manager)": repr(manager),
        "snapshot": repr(manager.current),
        "events": repr(events),
        "errors": f"{bad_set.value} {bad_set.value.issues} {bad_reload.value}",
        "history": repr(await manager.history()),
        "diff": repr(await manager.diff(1, 3)),
    }
    runner = CliRunner()
    for args in (
        ["history", "--store", store_url],
        ["show", "--version", "2", "--store", store_url],
        ["diff", "1", "3", "--store", store_url],
    ):
        result = await asyncio.to_thread(runner.invoke, config_app, args)
        assert result.exit_code == 0, result.output
        texts[f"cli {args[0]}"] = result.output
    for where, text in texts.items():
        assert CANARY not in text, f"the canary leaked into {where}"
    assert any(isinstance(e, ConfigChangedEvent) for e in events)
    assert any(isinstance(e, ConfigFailedEvent) for e in events)
    stored = await asyncio.to_thread(_database_bytes, tmp_path)
    assert stored, "the store files were not found"
    for name, data in stored.items():
        assert CANARY.encode() not in data, f"the canary is in {name}"


def _database_bytes(folder: Path) -> dict[str, bytes]:
    """The SQLite file and its WAL/SHM companions (recent writes live in the WAL)."""
    return {path.name: path.read_bytes() for path in folder.glob("config-store.sqlite3*")}
