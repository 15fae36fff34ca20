"""The configuration snippets of the README and of ``examples/config/README.md`` run as written, on a machine
with no OANDA variables set; a hint naming a variable is printed as the user must write it, not mangled by
the secret masker (which masks values, never syntax)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from broker_integration.config import ConfigError, load_path
from broker_integration.log import MASK, redact

ROOT = Path(__file__).resolve().parents[2]
UNSET = ("OANDA_API_KEY", "OANDA_ACCOUNT_ID", "OANDA_LIVE_API_KEY", "OANDA_LIVE_ACCOUNT_ID")
PYTHON_BLOCK = re.compile(r"```python\n(?P<code>.*?)```", re.S)


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {*UNSET, "BROKER_INTEGRATION_ENV"}}
    env["BROKER_INTEGRATION_STORE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    return env


def config_snippet(document: Path) -> str:
    blocks = [m["code"] for m in PYTHON_BLOCK.finditer(document.read_text(encoding="utf-8"))]
    found = [code for code in blocks if 'manager.load("examples/config")' in code]
    assert found, f"{document.name} has no snippet loading examples/config"
    return found[0]


@pytest.mark.parametrize("document", ["README.md", "examples/config/README.md"])
def test_the_config_snippet_runs_as_written_without_variables(document: str, tmp_path: Path) -> None:
    code = (
        config_snippet(ROOT / document) + "\nprint(oanda.broker_name, oanda.credentials.environment.value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "oanda practice"


@pytest.mark.parametrize("folder", ["examples/config", "examples/config/json"])
def test_config_validate_of_the_examples_passes_without_variables(folder: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broker_integration", "config", "validate", folder],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid (development): 2 broker(s): oanda, paper" in done.stdout


def test_production_still_needs_the_live_variables() -> None:
    with pytest.raises(ConfigError, match="set OANDA_LIVE_API_KEY to the live API token"):
        load_path(ROOT / "examples" / "config", environment="production", env={})


def test_the_hint_for_a_missing_variable_is_printed_as_written(tmp_path: Path) -> None:
    file = tmp_path / "broker.yaml"
    file.write_text("broker_name: x\ncredentials:\n  api_key: ${X_API_KEY}\n  secret_key: ${X_SECRET_KEY}\n")
    with pytest.raises(ConfigError) as info:
        load_path(file, env={})
    message = str(info.value)
    assert "write ${X_API_KEY:-default} to allow a default" in message
    assert "write ${X_SECRET_KEY:-default} to allow a default" in message
    done = subprocess.run(
        [sys.executable, "-m", "broker_integration", "config", "validate", str(file)],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "${X_API_KEY:-default}" in done.stderr


def test_the_masker_masks_values_and_keeps_references() -> None:
    assert redact("api_key=abcd1234 token: 'zyxw9876'") == f"api_key={MASK} token: '{MASK}'"
    assert redact("OANDA_API_KEY=abcd1234") == f"OANDA_API_KEY={MASK}"
    assert redact("api_key: ${OANDA_API_KEY}") == "api_key: ${OANDA_API_KEY}"
    assert redact("use ${OANDA_API_KEY:-default} or ${PASSWORD:?set it}") == (
        "use ${OANDA_API_KEY:-default} or ${PASSWORD:?set it}"
    )
    assert redact("${A_TOKEN:-x} then token=abcd1234") == f"${{A_TOKEN:-x}} then token={MASK}"


def test_an_empty_default_is_kept_as_a_reference_but_a_literal_default_is_not() -> None:
    from broker_integration.config.interpolation import is_pure_reference

    assert is_pure_reference("${OANDA_API_KEY:-}")  # holds no secret: stored and shown as written
    assert not is_pure_reference("${OANDA_API_KEY:-sk-live-1234}")  # the default may be a secret: masked
