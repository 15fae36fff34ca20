"""``broker-integration demo`` options and exit codes, through the command line as users run it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from broker_integration.cli import app
from broker_integration.demo import read_figures
from broker_integration.store import sqlite_url

runner = CliRunner()


def test_options_reach_the_run_and_quiet_prints_only_the_outcome(tmp_path: Path) -> None:
    report = tmp_path / "out" / "r.html"
    done = runner.invoke(
        app,
        [
            "demo",
            "--orders",
            "150",
            "--seed",
            "3",
            "--routing",
            "hash",
            "--report",
            str(report),
            "--store",
            sqlite_url(tmp_path / "s.sqlite3"),
            "--quiet",
        ],
    )
    assert done.exit_code == 0, done.output
    lines = done.output.strip().splitlines()
    assert lines[0].startswith("A/B test winner: ")
    assert lines[1].startswith("Broker comparison winner: ")
    assert lines[-2] == f"Report: {report.resolve()}"
    errors = report.resolve().with_name("r-errors.jsonl")
    assert lines[-1] == f"Errors of the run: {errors} (broker-integration errors analyze {errors})"
    assert errors.exists()
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert figures["routing"] == "hash_based"
    assert figures["seed"] == 3
    assert figures["ab"]["total_orders"] == 150


def test_a_failure_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    done = runner.invoke(
        app, ["demo", "--config", str(tmp_path / "missing"), "--report", str(tmp_path / "r.html")]
    )
    assert done.exit_code == 1
    assert "demo failed:" in done.output
    assert "missing" in done.output
    assert not (tmp_path / "r.html").exists()


def test_too_few_orders_exit_non_zero() -> None:
    done = runner.invoke(app, ["demo", "--orders", "5"])
    assert done.exit_code == 1
    assert "--orders must be at least 100" in done.output
