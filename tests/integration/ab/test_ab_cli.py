"""``broker-integration ab``: create, start, status, results and stop against a store file."""

from __future__ import annotations

import asyncio
import json

from ab_venues import TimedVenue, order
from typer.testing import CliRunner

from broker_integration.ab_testing.cli import ab_app
from broker_integration.ab_testing_framework import BrokerABTestingFramework
from broker_integration.clock import ManualClock
from broker_integration.store import Store


def test_cli_life_of_a_test(store_url: str) -> None:
    url = store_url
    runner = CliRunner()
    created = runner.invoke(
        ab_app, ["create", "--name", "cli test", "--split", "a=60", "--split", "b=40", "--store", url]
    )
    assert created.exit_code == 0, created.output
    test_id = created.output.strip()
    assert test_id.startswith("ab-")

    bad = runner.invoke(
        ab_app, ["create", "--name", "x", "--split", "a=60", "--split", "b=30", "--store", url]
    )
    assert bad.exit_code == 1
    assert "add up to 100" in bad.output

    started = runner.invoke(ab_app, ["start", test_id, "--store", url])
    assert started.output.strip() == f"{test_id}: running"

    async def trade() -> None:  # the trading process: registers brokers and routes orders
        clock = ManualClock()
        async with BrokerABTestingFramework(Store(url), clock=clock) as ab:
            for name, latency in (("a", 30.0), ("b", 20.0)):
                venue = TimedVenue(clock, lambda latency=latency: latency)
                await venue.authenticate()
                ab.register_broker_adapter(name, venue)
            for i in range(30):
                await ab.execute_order_with_test(order(i), test_id)

    asyncio.run(trade())

    status = runner.invoke(ab_app, ["status", "--store", url])
    assert status.exit_code == 0, status.output
    assert test_id in status.output
    assert "running" in status.output

    shown = runner.invoke(ab_app, ["results", test_id, "--store", url])
    assert shown.exit_code == 0, shown.output
    assert "mean latency" in shown.output
    assert "Sample ratio check" in shown.output
    assert "more" in shown.output  # below the minimum sample: says how many orders are missing

    as_json = runner.invoke(ab_app, ["results", test_id, "--json", "--store", url])
    data = json.loads(as_json.output)
    assert data["total_orders"] == 30
    assert {a["arm"] for a in data["arms"]} == {"a", "b"}

    stopped = runner.invoke(ab_app, ["stop", test_id, "--store", url])
    assert stopped.output.strip() == f"{test_id}: stopped"
    missing = runner.invoke(ab_app, ["results", "ab-nope", "--store", url])
    assert missing.exit_code == 1
    assert "no A/B test" in missing.output
