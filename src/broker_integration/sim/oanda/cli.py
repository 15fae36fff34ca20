"""``broker-integration simulate oanda``: run the OANDA v20 simulator until interrupted.

:func:`oanda_command` is the command the ``simulate`` group (:mod:`broker_integration.sim.cli`) runs
for ``oanda``; ``python -m broker_integration.sim.oanda`` runs it directly. It prints the base URL, stream
URL, account id and token to configure a client with (``--json`` prints them as one JSON line, for
scripts), then serves on loopback until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import signal
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from broker_integration.lazy_exports import lazy_exports
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings, new_account_id, new_token
from broker_integration.sim.profile import PRESETS, VenueProfile

if TYPE_CHECKING:
    from broker_integration.sim.cli import simulate_app
    from broker_integration.sim.oanda.server import OandaSimulator

__all__ = ["oanda_command", "simulate_app"]

#: ``simulate_app`` moved to :mod:`broker_integration.sim.cli` (the group of every simulator).
__getattr__ = lazy_exports(__name__, {"simulate_app": "broker_integration.sim.cli"})

_console = Console()


def oanda_command(
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it on loopback).")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the venue's price process and faults.")] = 0,
    preset: Annotated[str | None, typer.Option(help=f"Venue preset: {', '.join(sorted(PRESETS))}.")] = None,
    always_open: Annotated[
        bool | None,
        typer.Option(
            "--always-open/--market-hours",
            help="Trade around the clock, or keep FX hours (orders at the weekend are cancelled MARKET_HALTED). "
            "Default: the preset's choice, else market hours, as at OANDA.",
        ),
    ] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token to accept (default: a new one).")] = None,
    account_id: Annotated[
        str | None, typer.Option(help="Account id to serve, like 101-004-1435156-001 (default: a new one).")
    ] = None,
    balance: Annotated[str, typer.Option(help="Opening balance of the account.")] = "100000",
    currency: Annotated[str, typer.Option(help="Home currency of the account.")] = "USD",
    heartbeat: Annotated[
        float, typer.Option(help="Seconds between stream heartbeats (OANDA: 5).", min=0.01)
    ] = 5.0,
    price_interval: Annotated[
        float,
        typer.Option(help="The stream's price window in seconds (OANDA: 0.25); 0 for no pause.", min=0.0),
    ] = 0.25,
    every_window: Annotated[
        bool, typer.Option(help="Stream every price every window, changed or not (throughput tests).")
    ] = False,
    rate_limit: Annotated[
        float,
        typer.Option(
            help="Requests per second per connection before 429 (OANDA: ~100); 0 turns it off.", min=0.0
        ),
    ] = 100.0,
    latency_ms: Annotated[float, typer.Option(help="Median added response latency in ms.", min=0.0)] = 0.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve OANDA's v20 REST and streaming API over the simulated venue until interrupted."""
    try:
        funds = Decimal(balance)
    except InvalidOperation:
        raise typer.BadParameter(f"{balance!r} is not an amount", param_hint="--balance") from None
    options: dict[str, Any] = {"name": "oanda", "seed": seed, "currency": currency, "initial_balance": funds}
    if preset is not None:
        options["preset"] = preset
    if always_open is not None:
        options["enforce_trading_hours"] = not always_open
    if latency_ms:
        options["latency"] = {"median_ms": latency_ms, "sigma": 0.3}
    try:
        profile = VenueProfile.from_options(options)
        settings = SimulatorSettings(
            host=host,
            port=port,
            credentials=(Credential(token or new_token(), (account_id or new_account_id(1435156, 1),)),),
            heartbeat_interval=heartbeat,
            price_interval=price_interval,
            send_unchanged_prices=every_window,
            max_requests_per_second=rate_limit or None,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    from broker_integration.sim.oanda.server import OandaSimulator  # aiohttp's server: only when serving

    asyncio.run(_serve(OandaSimulator(profile=profile, settings=settings), json_output=json_output))


async def _serve(sim: OandaSimulator, *, json_output: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with sim:
        _announce(sim, json_output=json_output)
        await stop.wait()


def _announce(sim: OandaSimulator, *, json_output: bool) -> None:
    details = {
        "base_url": sim.base_url,
        "stream_url": sim.stream_url,
        "account_id": sim.account_id,
        "token": sim.token,
    }
    if json_output:
        print(json.dumps(details), flush=True)
        return
    _console.print(f"[bold]OANDA v20 simulator[/] listening on {sim.base_url} (Ctrl-C to stop)")
    _console.print(f"  base URL    {sim.base_url}")
    _console.print(f"  stream URL  {sim.stream_url}")
    _console.print(f"  account id  {sim.account_id}")
    _console.print(f"  token       {sim.token}")
    _console.print(
        f"  try: curl -H 'Authorization: Bearer {sim.token}' {sim.base_url}/v3/accounts/{sim.account_id}/summary",
        soft_wrap=True,
    )
