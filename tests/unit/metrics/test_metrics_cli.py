"""The commands: ``compare`` prints a ranked table and recommendations; ``metrics export`` writes JSON."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import typer
from metrics_helpers import TimedBroker, lognormal_ms, place_many
from typer.testing import CliRunner

from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.metrics.cli import compare_command, metrics_app, parse_weights
from broker_integration.performance_metrics import PerformanceMetricsCollector
from broker_integration.store import Store

WINDOW = ["--start", "2024-01-02T14:00:00+00:00", "--end", "2024-01-02T15:00:00+00:00"]


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("compare")(compare_command)
    app.add_typer(metrics_app, name="metrics")
    return app


def _populate() -> None:
    async def run() -> None:
        clock, bus = ManualClock(), EventBus()
        async with Store() as store:
            collector = PerformanceMetricsCollector(store=store, clock=clock)
            fast = TimedBroker(clock, bus, latency_ms=lognormal_ms(4.0, seed=1))
            slow = TimedBroker(clock, bus, latency_ms=lognormal_ms(16.0, seed=2))
            for name, broker in (("oanda", fast), ("alpaca", slow)):
                await broker.authenticate()
                collector.register_broker(name, broker)
            await place_many(fast, 120)
            await place_many(slow, 120)
            await collector.close()

    asyncio.run(run())


def test_compare_prints_the_ranking_winner_and_recommendations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _populate()
    result = CliRunner().invoke(_app(), ["compare", "oanda", "alpaca", *WINDOW])
    assert result.exit_code == 0, result.output
    assert "Broker comparison" in result.output
    assert "oanda *" in result.output  # the winner is starred
    assert "Winner: oanda" in result.output
    assert "Latency of place_order" in result.output
    assert "oanda is best" in result.output


def test_compare_json_and_weights() -> None:
    _populate()
    result = CliRunner().invoke(
        _app(), ["compare", "oanda", "alpaca", *WINDOW, "--json", "--weights", "reliability=1"]
    )
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.output)
    assert document["weights"] == {"latency": 0.0, "reliability": 1.0, "cost": 0.0, "fill_quality": 0.0}
    assert document["winner"] is None  # they are equally reliable


def test_compare_rejects_bad_input() -> None:
    runner = CliRunner()
    assert runner.invoke(_app(), ["compare", "oanda"]).exit_code != 0
    bad = runner.invoke(_app(), ["compare", "a", "b", "--weights", "speed=1"])
    assert bad.exit_code != 0
    assert "dimension=weight" in bad.output


def test_metrics_export_writes_json(tmp_path: Path) -> None:
    _populate()
    target = tmp_path / "metrics.json"
    result = CliRunner().invoke(_app(), ["metrics", "export", *WINDOW, "--output", str(target)])
    assert result.exit_code == 0, result.output
    document = orjson.loads(target.read_text())
    assert set(document["brokers"]) == {"oanda", "alpaca"}
    assert document["brokers"]["alpaca"]["operations"]["place_order"]["calls"] == 120


def test_parse_weights() -> None:
    weights = parse_weights("latency=0.5, cost=0.5")
    assert (weights.latency, weights.reliability, weights.cost) == (0.5, 0.0, 0.5)
