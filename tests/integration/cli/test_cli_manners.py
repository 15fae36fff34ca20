"""What a user's mistake looks like on the command line: one line and a non-zero exit, never a traceback.
A port in use, an unknown broker, an unknown environment, a store given as a file path; and output piped to
another program keeps whole headers and cells (plain tables and ``--json``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broker_integration.cli import app, root
from broker_integration.cli.options import store_url
from broker_integration.store import sqlite_url

runner = CliRunner()


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, its output piped (not a terminal). The environment is passed
    explicitly: readline, loaded by pytest, exports COLUMNS=80 to children behind ``os.environ``'s back."""
    return subprocess.run(
        [sys.executable, "-m", "broker_integration", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )


@pytest.mark.parametrize(
    "command", [["simulate", "oanda"], ["metrics", "serve", "--seconds", "5"]], ids=["simulate", "metrics"]
)
def test_a_port_in_use_is_one_line_and_exit_2(command: list[str], taken_port: int) -> None:
    done = cli(*command, "--port", str(taken_port))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot listen: the port is in use")
    assert "--port" in line


def broken_command() -> None:
    """A command with a bug."""
    raise RuntimeError("something inside broke")


def missing_file_command() -> None:
    """A command reading a file the user named wrongly."""
    Path("/nonexistent/input.jsonl").read_text()


@pytest.fixture
def with_broken_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {
        "broken": root.CommandEntry(f"{__name__}:broken_command", "A command with a bug."),
        "missing": root.CommandEntry(f"{__name__}:missing_file_command", "Reads a missing file."),
    }
    monkeypatch.setattr(root, "COMMANDS", {**root.COMMANDS, **extra})


@pytest.mark.usefixtures("with_broken_commands")
def test_a_failure_nobody_handled_is_one_line_and_verbose_shows_the_traceback() -> None:
    broken = runner.invoke(app, ["broken"])
    assert broken.exit_code == 1
    assert isinstance(broken.exception, SystemExit)  # handled: no traceback printed
    assert broken.output.strip() == (
        "error: unexpected RuntimeError: something inside broke (run with -v to see where)"
    )
    verbose = runner.invoke(app, ["-v", "broken"])
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.output
    assert "broken_command" in verbose.output
    missing = runner.invoke(app, ["missing"])
    assert missing.exit_code == 1
    assert missing.output.strip() == (
        "error: [Errno 2] No such file or directory: '/nonexistent/input.jsonl'"
    )  # the user's mistake: named as it is, not called unexpected


def test_unknown_names_exit_non_zero_and_list_the_known_ones(tmp_path: Path) -> None:
    mapped = runner.invoke(app, ["errors", "map", "nosuch", "X"])
    assert mapped.exit_code == 2
    assert "no error table for 'nosuch'" in mapped.output
    assert "alpaca, ccxt, http, oanda" in mapped.output
    compared = runner.invoke(app, ["compare", "a", "b", "--store", str(tmp_path / "empty.sqlite3")])
    assert compared.exit_code == 1
    assert "no metrics stored for a, b" in compared.output
    assert "the brokers with stored metrics are: none" in compared.output
    discovered = runner.invoke(app, ["discover", "nosuch", "--type", "static"])
    assert discovered.exit_code == 2
    assert "paper" in discovered.output  # the registered adapters are named


def test_an_unknown_environment_blames_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_INTEGRATION_ENV", "staging")
    examples = Path(__file__).resolve().parents[3] / "examples" / "config" / "json"
    refused = runner.invoke(app, ["config", "validate", str(examples), "--env", "prod"])
    assert refused.exit_code == 2
    assert "'--env'" in refused.output
    assert "'prod' is not an environment" in refused.output
    assert "BROKER_INTEGRATION_ENV" not in refused.output


def test_the_store_is_a_path_or_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store_url(str(tmp_path / "run.sqlite3")) == sqlite_url(tmp_path / "run.sqlite3")
    url = "postgresql+asyncpg://user@db/trading"
    assert store_url(url) == url
    assert store_url(None) is None
    monkeypatch.chdir(tmp_path)
    split = ["--split", "a=50", "--split", "b=50"]
    created = runner.invoke(app, ["ab", "create", "--name", "by path", *split, "--store", "ab.sqlite3"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["ab", "status", "--store", str(tmp_path / "ab.sqlite3")])
    assert "by path" in listed.output  # the relative path and the absolute one are the same store
    folder = runner.invoke(app, ["ab", "status", "--store", str(tmp_path)])
    assert folder.exit_code == 2
    assert "is a folder" in folder.output
    nowhere = runner.invoke(app, ["ab", "status", "--store", "no/such/folder/x.sqlite3"])
    assert nowhere.exit_code == 2
    assert "does not exist" in nowhere.output


def test_piped_tables_keep_whole_headers_and_cells() -> None:
    tables = cli("errors", "tables", "oanda")
    assert tables.returncode == 0, tables.stderr
    header = next(line for line in tables.stdout.splitlines() if "standard code" in line)
    assert "suggested action" in header  # not wrapped over two lines
    assert "INTERNAL_SERVER_ERROR" in tables.stdout
    assert "…" not in tables.stdout
    brokers = cli("brokers")
    assert "broker_integration.adapters.paper.adapter.PaperBrokerAdapter" in brokers.stdout
    assert "…" not in brokers.stdout


def test_piped_json_is_whole_json() -> None:
    profile = cli("discover", "paper", "--type", "static", "--json")
    assert profile.returncode == 0, profile.stderr
    assert json.loads(profile.stdout)["broker_name"] == "paper"
    schema = cli("config", "show", "--schema")
    assert schema.returncode == 0, schema.stderr
    assert "broker_name" in json.loads(schema.stdout)["properties"]
