"""``simulate oanda`` from the command line: it prints where to connect and with what, serves real
clients, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp
from typer.testing import CliRunner

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerEndpoints
from broker_integration.events import EventBus
from broker_integration.sim.oanda.cli import simulate_app


def test_the_sub_application_offers_oanda() -> None:
    result = CliRunner().invoke(simulate_app, ["oanda", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--token", "--account-id", "--heartbeat", "--rate-limit", "--json"):
        assert option in result.output
    refused = CliRunner().invoke(simulate_app, ["oanda", "--preset", "nowhere"])
    assert refused.exit_code != 0


async def test_the_command_serves_the_adapter_and_stops_on_interrupt() -> None:
    token = "0123456789abcdef0123456789abcdef-fedcba9876543210fedcba9876543210"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "broker_integration.sim.oanda", "--port", "0", "--json", "--always-open",
        "--token", token, "--account-id", "101-004-42-007",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        details = json.loads(line)
        assert details["token"] == token
        assert details["account_id"] == "101-004-42-007"
        assert details["base_url"].startswith("http://127.0.0.1:")
        config = BrokerConfiguration(
            broker_name="oanda",
            credentials=BrokerCredentials(api_key=details["token"], account_id=details["account_id"]),
            endpoints=BrokerEndpoints(base_url=details["base_url"], stream_url=details["stream_url"]),
        )
        async with OandaAdapter(config, event_bus=EventBus()) as adapter:
            summary = await adapter.get_account_summary()
            assert summary.account_id == "101-004-42-007"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{details['base_url']}/v3/accounts") as answer,
        ):
            assert answer.status == 401
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0
