"""``broker-integration simulate <broker>``: one group lists the registered simulators and runs one, loaded
only when needed; an unknown or broken name is a usage error naming the known ones, never a traceback."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from broker_integration import cli
from broker_integration.sim import cli as sim_cli


def echo_command(word: str = typer.Option("hello", help="What to say.")) -> None:
    """A second simulator, as a venue folder's cli module would declare one."""
    typer.echo(f"echo says {word}")


@pytest.fixture
def with_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_cli, "SIMULATORS", {**sim_cli.SIMULATORS, "echo": f"{__name__}:echo_command"})


def test_the_group_lists_every_registered_simulator() -> None:
    shown = CliRunner().invoke(cli.app, ["simulate", "--help"])
    assert shown.exit_code == 0
    for name in sim_cli.SIMULATORS:
        assert name in shown.output
    assert "Serve OANDA's v20" in shown.output  # each command's own help line


@pytest.mark.usefixtures("with_echo")
def test_a_registered_simulator_runs_with_its_own_options() -> None:
    ran = CliRunner().invoke(cli.app, ["simulate", "echo", "--word", "pong"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.strip() == "echo says pong"
    listed = CliRunner().invoke(cli.app, ["simulate", "--help"])
    assert "echo" in listed.output
    assert "A second simulator" in listed.output


def test_an_unknown_simulator_names_the_known_ones() -> None:
    refused = CliRunner().invoke(cli.app, ["simulate", "nowhere"])
    assert refused.exit_code == 2
    assert isinstance(refused.exception, SystemExit)  # a usage error, not a traceback
    assert "no simulator named 'nowhere'" in refused.output
    assert ", ".join(sorted(sim_cli.SIMULATORS)) in refused.output


def test_a_simulator_that_cannot_be_loaded_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_cli, "SIMULATORS", {"ghost": "broker_integration.sim.ghost.cli:ghost_command"})
    refused = CliRunner().invoke(sim_cli.simulate_app, ["ghost"])
    assert refused.exit_code == 2
    assert isinstance(refused.exception, SystemExit)
    assert "the ghost simulator cannot be loaded" in refused.output


def test_the_old_import_path_still_gives_the_group() -> None:
    from broker_integration.sim.oanda.cli import simulate_app

    assert simulate_app is sim_cli.simulate_app
