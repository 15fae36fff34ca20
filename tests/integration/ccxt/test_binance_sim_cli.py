"""``simulate binance`` from the command line: it prints where to connect and with which key, serves the
CCXT adapter, refuses bad options as usage errors, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp
from typer.testing import CliRunner

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.cli import app
from broker_integration.events import EventBus
from broker_integration.sim.binance.server import CCXT_OPTIONS


def test_bad_options_are_usage_errors_not_tracebacks() -> None:
    for arguments, said in (
        (["--hold", "BTC"], "is not ASSET=AMOUNT"),
        (["--hold", "DOGE=5"], "no DOGEUSDT pair is listed"),
        (["--api-key", "k" * 64], "give both --api-key and --secret"),
        (["--balance", "lots"], "is not an amount"),
    ):
        refused = CliRunner().invoke(app, ["simulate", "binance", *arguments])
        assert refused.exit_code == 2, refused.output
        assert said in refused.output, refused.output


async def test_the_command_serves_the_adapter_and_stops_on_interrupt() -> None:
    key, secret = "K" * 64, "S" * 64
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "broker_integration.sim.binance", "--port", "0", "--json",
        "--api-key", key, "--secret", secret, "--hold", "BTC=0.5",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        details = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        assert (details["api_key"], details["secret"]) == (key, secret)
        assert details["ccxt_urls"]["public"] == f"{details['base_url']}/api/v3"
        config = BrokerConfiguration.from_dict(
            {
                "broker_name": "binance",
                "adapter": "ccxt",
                "credentials": {"api_key": key, "secret_key": secret, "environment": "sandbox"},
                "endpoints": {"base_url": details["base_url"], "stream_url": details["stream_url"]},
                "options": {"exchange": "binance", "exchange_options": CCXT_OPTIONS},
            }
        )
        async with CcxtAdapter(config, event_bus=EventBus()) as adapter:
            summary = await adapter.get_account_summary()
            assert summary.currency == "USDT"
            assert summary.equity > summary.balance  # the half bitcoin held is valued too
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{details['base_url']}/api/v3/account") as answer,
        ):
            assert answer.status == 401
            assert (await answer.json())["code"] == -2014
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0
