"""``broker-integration discover``: the broker is created by name, the profile printed as tables or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from broker_integration.capabilities.cli import discover_command

app = typer.Typer()
app.command("discover")(discover_command)


@app.callback()
def _root() -> None:
    """Mounted as the top-level command mounts it."""


def paper_file(tmp_path: Path) -> Path:
    path = tmp_path / "brokers.yaml"
    path.write_text(
        "brokers:\n"
        "  paper:\n"
        "    broker_name: paper\n"
        "    options:\n"
        "      enforce_trading_hours: false\n"
        "      seed: 3\n"
    )
    return path


def test_static_json_makes_a_profile_without_configuration() -> None:
    result = CliRunner().invoke(app, ["discover", "paper", "--type", "static", "--json"])
    assert result.exit_code == 0, result.output
    profile = json.loads(result.stdout)
    assert profile["broker_name"] == "paper"
    assert profile["test_type"] == "static"
    assert profile["capabilities"]["limit_orders"]["status"] == "declared"
    assert profile["latencies"] == {}


def test_synthetic_table_from_a_configuration_file(tmp_path: Path) -> None:
    args = [
        "discover",
        "paper",
        "-t",
        "synthetic",
        "--config",
        str(paper_file(tmp_path)),
        "--max-orders",
        "3",
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in ("Capabilities", "Time in force", "Instruments (10, complete listing)", "Probe latencies"):
        assert heading in out
    assert "limit_orders" in out
    assert "verified" in out
    assert "budget of 3 test orders" in out


def test_json_of_a_dynamic_discovery_parses_back(tmp_path: Path) -> None:
    args = ["discover", "paper", "--config", str(paper_file(tmp_path)), "--json", "-i", "GBP/USD"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    profile = json.loads(result.stdout)
    assert profile["test_type"] == "dynamic"
    assert profile["probe_instrument"] == "GBP/USD"
    assert profile["capabilities"]["streaming_prices"]["status"] == "verified"


def test_a_broker_that_needs_credentials_says_so() -> None:
    result = CliRunner().invoke(app, ["discover", "oanda"])
    assert result.exit_code == 1
    assert "AUTHENTICATION_FAILED" in result.output
    assert "--config FILE" in result.output


def test_unknown_brokers_are_usage_errors(tmp_path: Path) -> None:
    unknown = CliRunner().invoke(app, ["discover", "nosuchbroker"])
    assert unknown.exit_code == 2
    assert "no adapter is registered as 'nosuchbroker'" in unknown.output
    missing = CliRunner().invoke(app, ["discover", "oanda", "--config", str(paper_file(tmp_path))])
    assert missing.exit_code == 2
    assert "configures no broker named 'oanda'" in missing.output
