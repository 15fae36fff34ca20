"""``broker-integration simulate oanda``: run the OANDA v20 simulator until interrupted.

:func:`oanda_command` is the command the ``simulate`` group (:mod:`broker_integration.sim.cli`) runs
for ``oanda``; ``python -m broker_integration.sim.oanda`` runs it directly. It prints the base URL, stream
URL, account id and token to configure a client with (``--json`` prints them as one JSON line, for
scripts), then serves on loopback until Ctrl-C.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any

import typer

from broker_integration.lazy_exports import lazy_exports
from broker_integration.sim import commands
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings, new_account_id, new_token

if TYPE_CHECKING:
    from broker_integration.sim.cli import simulate_app
    from broker_integration.sim.oanda.server import OandaSimulator

__all__ = ["oanda_command", "simulate_app"]

#: ``simulate_app`` moved to :mod:`broker_integration.sim.cli` (the group of every simulator).
__getattr__ = lazy_exports(__name__, {"simulate_app": "broker_integration.sim.cli"})


def oanda_command(
    port: commands.Port = 0,
    host: commands.Host = "127.0.0.1",
    seed: commands.Seed = 0,
    preset: commands.Preset = None,
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
    latency_ms: commands.LatencyMs = 0.0,
    json_output: commands.JsonOutput = False,
) -> None:
    """Serve OANDA's v20 REST and streaming API over the simulated venue until interrupted."""
    funds = commands.amount(balance, "--balance")
    options: dict[str, Any] = {"name": "oanda", "seed": seed, "currency": currency, "initial_balance": funds}
    profile = commands.venue_profile(options, preset=preset, always_open=always_open, latency_ms=latency_ms)
    with commands.usage_errors():
        settings = SimulatorSettings(
            host=host,
            port=port,
            credentials=(Credential(token or new_token(), (account_id or new_account_id(1435156, 1),)),),
            heartbeat_interval=heartbeat,
            price_interval=price_interval,
            send_unchanged_prices=every_window,
            max_requests_per_second=rate_limit or None,
        )
    from broker_integration.sim.oanda.server import OandaSimulator  # aiohttp's server: only when serving

    sim = OandaSimulator(profile=profile, settings=settings)
    commands.serve(sim, functools.partial(_announce, json_output=json_output))


def _announce(sim: OandaSimulator, *, json_output: bool) -> None:
    details = {
        "base_url": sim.base_url,
        "stream_url": sim.stream_url,
        "account_id": sim.account_id,
        "token": sim.token,
    }
    rows = [
        ("base URL", sim.base_url),
        ("stream URL", sim.stream_url),
        ("account id", sim.account_id),
        ("token", sim.token),
    ]
    curl = f"try: curl -H 'Authorization: Bearer {sim.token}' {sim.base_url}/v3/accounts/{sim.account_id}/summary"
    commands.announce(
        details,
        json_output=json_output,
        title="OANDA v20 simulator",
        url=sim.base_url,
        rows=rows,
        hints=[curl],
    )
