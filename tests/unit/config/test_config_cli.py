"""``broker-integration config ...`` commands, run through Typer's test runner."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from config_helpers import CANARY, write
from typer.testing import CliRunner

from broker_integration.config import ConfigManager, KeyRing
from broker_integration.config.cli import config_app
from broker_integration.events import EventBus

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "config"


@pytest.fixture(autouse=True)
def _variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OANDA_API_KEY", CANARY)
    monkeypatch.setenv("OANDA_ACCOUNT_ID", "101-001-1")
    monkeypatch.delenv("BROKER_INTEGRATION_ENV", raising=False)


def test_validate_ok_and_broken(tmp_path: Path) -> None:
    ok = runner.invoke(config_app, ["validate", str(EXAMPLES), "--env", "staging"])
    assert ok.exit_code == 0
    assert "valid (staging): 2 broker(s): oanda, paper" in ok.output
    bad = write(tmp_path / "bad.yaml", "broker_name: oanda\nsettings: {timeout_seconds: -1}\n")
    result = runner.invoke(config_app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "settings.timeout_seconds" in result.output
    assert "greater than 0" in result.output


def test_validate_warns_about_plaintext_secrets(tmp_path: Path) -> None:
    file = write(tmp_path / "x.yaml", f"broker_name: x\ncredentials: {{api_key: {CANARY}}}\n")
    result = runner.invoke(config_app, ["validate", str(file)])
    assert result.exit_code == 0
    assert "plaintext secret" in result.output
    assert CANARY not in result.output


def test_show_file_masks_secrets() -> None:
    result = runner.invoke(config_app, ["show", str(EXAMPLES), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"api_key": "${OANDA_API_KEY:-}"' in result.output
    assert CANARY not in result.output
    assert '"timeout_seconds": 60.0' in result.output  # development overlay


async def _recorded(store_url: str, tmp_path: Path) -> ConfigManager:
    manager = ConfigManager(
        store_url=store_url, env={"OANDA_API_KEY": CANARY, "OANDA_ACCOUNT_ID": "1"}, event_bus=EventBus()
    )
    file = write(tmp_path / "b.yaml", "broker_name: b\nsettings: {retry_attempts: 1}\n")
    await manager.aload(file)
    write(file, "broker_name: b\nsettings: {retry_attempts: 2}\n")
    await manager.reload()
    return manager


def test_history_show_diff_rollback(tmp_path: Path, store_url: str) -> None:
    asyncio.run(_recorded(store_url, tmp_path))
    history = runner.invoke(config_app, ["history", "--store", store_url])
    assert history.exit_code == 0
    assert "reload" in history.output
    assert "file" in history.output
    shown = runner.invoke(config_app, ["show", "--version", "1", "--store", store_url])
    assert shown.exit_code == 0
    assert "retry_attempts: 1" in shown.output
    diff = runner.invoke(config_app, ["diff", "1", "2", "--store", store_url])
    assert diff.exit_code == 0
    assert "b.settings.retry_attempts: 1 -> 2" in diff.output
    rolled = runner.invoke(config_app, ["rollback", "1", "--store", store_url])
    assert rolled.exit_code == 0
    assert "recorded version 3 (rollback of 1)" in rolled.output
    again = runner.invoke(config_app, ["rollback", "1", "--store", store_url])
    assert "nothing recorded" in again.output
    missing = runner.invoke(config_app, ["rollback", "9", "--store", store_url])
    assert missing.exit_code == 1
    assert "no configuration version 9" in missing.output


def test_encrypt_and_rotate_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = KeyRing.generate_key(), KeyRing.generate_key()
    monkeypatch.setenv("BROKER_INTEGRATION_CONFIG_KEYS", old)
    encrypted = runner.invoke(config_app, ["encrypt"], input=CANARY + "\n")
    assert encrypted.exit_code == 0
    assert CANARY not in encrypted.output
    token = encrypted.output.strip()
    file = write(tmp_path / "x.yaml", f"# keep me\nbroker_name: x\ncredentials: {{api_key: '{token}'}}\n")
    os.chmod(file, 0o600)

    monkeypatch.setenv("BROKER_INTEGRATION_CONFIG_KEYS", f"{new},{old}")
    rotated = runner.invoke(config_app, ["rotate-key", str(tmp_path)])
    assert rotated.exit_code == 0
    assert "1 value(s) re-encrypted" in rotated.output
    text = file.read_text()
    assert "# keep me" in text
    assert token not in text
    assert os.stat(file).st_mode & 0o777 == 0o600

    monkeypatch.setenv("BROKER_INTEGRATION_CONFIG_KEYS", new)  # the old key is retired
    assert runner.invoke(config_app, ["validate", str(file)]).exit_code == 0


def test_rotate_key_changes_nothing_when_a_value_will_not_decrypt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = KeyRing.generate_key()
    good = write(
        tmp_path / "a.yaml", f"broker_name: a\noptions: {{token: '{KeyRing([key]).encrypt('v')}'}}\n"
    )
    stranger = KeyRing([KeyRing.generate_key()]).encrypt("v")
    write(tmp_path / "b.yaml", f"broker_name: b\noptions:\n  token: '{stranger}'\n")
    before = good.read_text()
    monkeypatch.setenv("BROKER_INTEGRATION_CONFIG_KEYS", key)
    result = runner.invoke(config_app, ["rotate-key", str(tmp_path)])
    assert result.exit_code == 1
    assert "b.yaml: line 3" in result.output
    assert good.read_text() == before


def test_encrypt_without_a_key_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROKER_INTEGRATION_CONFIG_KEYS", raising=False)
    monkeypatch.delenv("BROKER_INTEGRATION_CONFIG_KEY_FILE", raising=False)
    result = runner.invoke(config_app, ["encrypt"], input="x\n")
    assert result.exit_code == 1
    assert "no key configured" in result.output


def test_show_schema() -> None:
    result = runner.invoke(config_app, ["show", "--schema"])
    schema = json.loads(result.output)
    assert schema["title"] == "BrokerConfiguration"
    assert schema["$defs"]["BrokerCredentials"]["properties"]["account_id"]["reload"] is False


def test_keygen_prints_a_usable_key() -> None:
    result = runner.invoke(config_app, ["keygen"])
    assert KeyRing([result.output.strip()]).key_count == 1
