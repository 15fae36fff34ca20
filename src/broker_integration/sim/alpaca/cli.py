"""``broker-integration simulate alpaca``: run the Alpaca simulator until interrupted.

It prints the base URL (trading and data), the stream URL, the key id and the secret to configure a client
with (``--json`` prints them as one JSON line, for scripts), then serves on loopback until Ctrl-C.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any

import typer

from broker_integration.sim import commands
from broker_integration.sim.alpaca.settings import AlpacaSimSettings

if TYPE_CHECKING:
    from broker_integration.sim.alpaca.server import AlpacaSimulator

__all__ = ["alpaca_command"]


def alpaca_command(
    port: commands.Port = 0,
    host: commands.Host = "127.0.0.1",
    seed: commands.Seed = 0,
    preset: commands.Preset = None,
    always_open: Annotated[
        bool | None,
        typer.Option(
            "--always-open/--market-hours",
            help="Trade stocks around the clock, or keep US market hours (crypto trades around the clock "
            "either way). Default: the preset's choice, else market hours, as at Alpaca.",
        ),
    ] = None,
    key_id: Annotated[
        str | None, typer.Option(help="APCA-API-KEY-ID to accept (default: a new one).")
    ] = None,
    secret_key: Annotated[
        str | None, typer.Option(help="APCA-API-SECRET-KEY to accept (default: a new one).")
    ] = None,
    balance: Annotated[str, typer.Option(help="Opening equity of the account, in USD.")] = "100000",
    rate_limit: Annotated[
        float,
        typer.Option(help="Requests per minute per key before 429 (Alpaca: 200); 0 turns it off.", min=0.0),
    ] = 200.0,
    quote_interval: Annotated[
        float, typer.Option(help="Seconds between quote frames on the market-data stream.", min=0.0)
    ] = 0.25,
    every_interval: Annotated[
        bool, typer.Option(help="Send every quote every interval, changed or not (throughput tests).")
    ] = False,
    latency_ms: commands.LatencyMs = 0.0,
    json_output: commands.JsonOutput = False,
) -> None:
    """Serve Alpaca's Trading API v2, Market Data API v2 and websockets over the simulated venue."""
    funds = commands.amount(balance, "--balance")
    options: dict[str, Any] = {"name": "alpaca", "seed": seed, "currency": "USD", "initial_balance": funds}
    profile = commands.venue_profile(options, preset=preset, always_open=always_open, latency_ms=latency_ms)
    with commands.usage_errors():
        settings = AlpacaSimSettings(
            host=host,
            port=port,
            key_id=key_id,
            secret_key=secret_key,
            requests_per_minute=rate_limit or None,
            quote_interval=quote_interval,
            send_unchanged_quotes=every_interval,
        )
    from broker_integration.sim.alpaca.server import AlpacaSimulator  # aiohttp's server: only when serving

    sim = AlpacaSimulator(profile=profile, settings=settings)
    commands.serve(sim, functools.partial(_announce, json_output=json_output))


def _announce(sim: AlpacaSimulator, *, json_output: bool) -> None:
    details = {
        "base_url": sim.base_url,
        "stream_url": sim.stream_url,
        "account_id": sim.account_id,
        "key_id": sim.key_id,
        "secret_key": sim.secret_key,
    }
    rows = [
        ("base URL", f"{sim.base_url}   (trading /v2, data /v2/stocks and /v1beta3/crypto)"),
        ("stream URL", f"{sim.stream_url}   (/stream, /v2/iex, /v1beta3/crypto/us)"),
        ("key id", sim.key_id),
        ("secret key", sim.secret_key),
    ]
    curl = (
        f"try: curl -H 'APCA-API-KEY-ID: {sim.key_id}' -H 'APCA-API-SECRET-KEY: {sim.secret_key}' "
        f"{sim.base_url}/v2/account"
    )
    commands.announce(
        details, json_output=json_output, title="Alpaca simulator", url=sim.base_url, rows=rows, hints=[curl]
    )
