"""``broker-integration simulate alpaca``: run the Alpaca simulator until interrupted.

It prints the base URL (trading and data), the stream URL, the key id and the secret to configure a client
with (``--json`` prints them as one JSON line, for scripts), then serves on loopback until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import signal
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from broker_integration.sim.alpaca.settings import AlpacaSimSettings
from broker_integration.sim.profile import PRESETS, VenueProfile

if TYPE_CHECKING:
    from broker_integration.sim.alpaca.server import AlpacaSimulator

__all__ = ["alpaca_command"]

_console = Console()


def alpaca_command(
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it on loopback).")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the venue's price process and faults.")] = 0,
    preset: Annotated[str | None, typer.Option(help=f"Venue preset: {', '.join(sorted(PRESETS))}.")] = None,
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
    latency_ms: Annotated[float, typer.Option(help="Median added response latency in ms.", min=0.0)] = 0.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve Alpaca's Trading API v2, Market Data API v2 and websockets over the simulated venue."""
    try:
        funds = Decimal(balance)
    except InvalidOperation:
        raise typer.BadParameter(f"{balance!r} is not an amount", param_hint="--balance") from None
    options: dict[str, Any] = {"name": "alpaca", "seed": seed, "currency": "USD", "initial_balance": funds}
    if preset is not None:
        options["preset"] = preset
    if always_open is not None:
        options["enforce_trading_hours"] = not always_open
    if latency_ms:
        options["latency"] = {"median_ms": latency_ms, "sigma": 0.3}
    try:
        profile = VenueProfile.from_options(options)
        settings = AlpacaSimSettings(
            host=host,
            port=port,
            key_id=key_id,
            secret_key=secret_key,
            requests_per_minute=rate_limit or None,
            quote_interval=quote_interval,
            send_unchanged_quotes=every_interval,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    from broker_integration.sim.alpaca.server import AlpacaSimulator  # aiohttp's server: only when serving

    asyncio.run(_serve(AlpacaSimulator(profile=profile, settings=settings), json_output=json_output))


async def _serve(sim: AlpacaSimulator, *, json_output: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with sim:
        _announce(sim, json_output=json_output)
        await stop.wait()


def _announce(sim: AlpacaSimulator, *, json_output: bool) -> None:
    details = {
        "base_url": sim.base_url,
        "stream_url": sim.stream_url,
        "account_id": sim.account_id,
        "key_id": sim.key_id,
        "secret_key": sim.secret_key,
    }
    if json_output:
        print(json.dumps(details), flush=True)
        return
    _console.print(f"[bold]Alpaca simulator[/] listening on {sim.base_url} (Ctrl-C to stop)")
    _console.print(f"  base URL    {sim.base_url}   (trading /v2, data /v2/stocks and /v1beta3/crypto)")
    _console.print(f"  stream URL  {sim.stream_url}   (/stream, /v2/iex, /v1beta3/crypto/us)")
    _console.print(f"  key id      {sim.key_id}")
    _console.print(f"  secret key  {sim.secret_key}")
    _console.print(
        f"  try: curl -H 'APCA-API-KEY-ID: {sim.key_id}' -H 'APCA-API-SECRET-KEY: {sim.secret_key}' "
        f"{sim.base_url}/v2/account",
        soft_wrap=True,
    )
