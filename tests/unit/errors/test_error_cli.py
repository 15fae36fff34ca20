"""The ``errors`` sub-command: map, tables, analyze, mounted as the lead mounts it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from broker_integration.clock import ManualClock
from broker_integration.errors import ErrorAnalyzer, map_broker_error
from broker_integration.errors.cli import errors_app, parse_duration
from broker_integration.events import CallEvent

app = typer.Typer()
app.add_typer(errors_app, name="errors")
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["errors", *args])
    return result.exit_code, result.output


def test_map_the_seed_example() -> None:
    code, out = run("map", "oanda", "INSUFFICIENT_MARGIN", "Insufficient margin for order")
    assert code == 0
    assert "INSUFFICIENT_FUNDS" in out
    assert "exact INSUFFICIENT_MARGIN" in out


def test_map_json_with_status_and_no_code() -> None:
    code, out = run("map", "alpaca", "-", "--http-status", "429", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["error_code"] == "RATE_LIMITED"
    assert data["retry_after"] == 3.0
    assert data["matched"] == {"source": "http_status", "table": "alpaca", "key": "429"}


def test_map_unknown_says_so() -> None:
    code, out = run("map", "oanda", "NEW_THING")
    assert code == 0
    assert "UNKNOWN" in out
    assert "no table row" in out


def test_tables_json_filters() -> None:
    code, out = run("tables", "oanda", "--code", "market_closed", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows
    assert {r["code"] for r in rows} == {"MARKET_CLOSED"}
    assert "MARKET_HALTED" in {r["key"] for r in rows}


def test_tables_lists_every_table() -> None:
    code, out = run("tables", "--json")
    assert code == 0
    assert {r["broker"] for r in json.loads(out)} >= {"http", "oanda", "alpaca"}
    code, out = run("tables")
    assert code == 0
    assert "Error mapping rows" in out


@pytest.mark.parametrize("args", [("tables", "nobroker"), ("tables", "--code", "NOPE")])
def test_tables_bad_arguments(args: tuple[str, ...]) -> None:
    code, _ = run(*args)
    assert code == 2  # a usage mistake


def _export(tmp_path: Path) -> Path:
    clock = ManualClock(datetime(2024, 1, 2, 14, 0, tzinfo=UTC))
    analyzer = ErrorAnalyzer(clock=clock)
    for minute in range(20):
        for i in range(5):
            error = (
                map_broker_error("oanda", None, "slow down", http_status=429)
                if minute >= 17 and i < 3
                else None
            )
            analyzer.record(
                CallEvent(
                    time=clock.now(),
                    broker_name="oanda",
                    adapter_id="o1",
                    operation="get_prices",
                    duration_ns=1,
                    success=error is None,
                    error=error,
                )
            )
        clock.advance(60)
    path = tmp_path / "run.jsonl"
    analyzer.export_jsonl(path)
    return path


def test_analyze_an_export(tmp_path: Path) -> None:
    path = _export(tmp_path)
    code, out = run("analyze", str(path), "--window", "10m", "--min-errors", "3")
    assert code == 0, out
    assert "records read, 0 lines skipped" in out
    assert "oanda" in out
    assert "RATE_LIMITED" in out
    assert "Spikes" in out
    assert "new (baseline 0)" in out


def test_analyze_json(tmp_path: Path) -> None:
    code, out = run("analyze", str(_export(tmp_path)), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["calls"] == 100
    assert data["errors"] == 9
    assert data["source"]["skipped"] == 0


def test_analyze_a_file_without_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("junk\n")
    code, _ = run("analyze", str(path))
    assert code == 1


def test_analyze_bad_duration(tmp_path: Path) -> None:
    code, _ = run("analyze", str(_export(tmp_path)), "--window", "soon")
    assert code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(minutes=90)),
        ("2", timedelta(minutes=2)),
        ("1d", timedelta(days=1)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "5x", "0m", "1h junk"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_duration(text)
