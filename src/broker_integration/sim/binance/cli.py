"""``broker-integration simulate binance``: run the Binance spot simulator until interrupted.

:func:`binance_command` is the command the ``simulate`` group (:mod:`broker_integration.sim.cli`) runs for
``binance``; ``python -m broker_integration.sim.binance`` runs it directly. It prints the REST and stream
base URLs, the API key and secret and the account id (``--json``: one JSON line, for scripts), then serves
on loopback until Ctrl-C. Point ccxt at it with ``urls['api']`` (the printed ``ccxt_urls``) or the CCXT
adapter with ``endpoints.base_url``.
"""

from __future__ import annotations

import asyncio
import json
import signal
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from broker_integration.sim.binance.settings import ApiKey, SimulatorSettings, new_api_key
from broker_integration.sim.profile import PRESETS, VenueProfile

if TYPE_CHECKING:
    from broker_integration.sim.binance.server import BinanceSimulator

__all__ = ["binance_command"]

_console = Console()
#: Binance's daily order limit per account (GET /api/v3/exchangeInfo, rateLimits).
_ORDERS_PER_DAY = 200_000


def _amount(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option) from None
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{text!r} is not a positive amount", param_hint=option)
    return value


def _holdings(entries: list[str]) -> tuple[tuple[str, Decimal], ...]:
    held = []
    for entry in entries:
        asset, sep, amount = entry.partition("=")
        if not sep:
            raise typer.BadParameter(f"{entry!r} is not ASSET=AMOUNT (BTC=0.5)", param_hint="--hold")
        held.append((asset.strip().upper(), _amount(amount.strip(), "--hold")))
    return tuple(held)


def binance_command(
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it on loopback).")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the venue's price process and faults.")] = 0,
    preset: Annotated[str | None, typer.Option(help=f"Venue preset: {', '.join(sorted(PRESETS))}.")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key to accept (default: a new one).")] = None,
    secret: Annotated[str | None, typer.Option(help="Its secret (default: a new one).")] = None,
    balance: Annotated[str, typer.Option(help="Opening USDT balance of the account.")] = "100000",
    hold: Annotated[
        list[str] | None, typer.Option(help="Opening holding ASSET=AMOUNT, bought at start (repeatable).")
    ] = None,
    commission_bps: Annotated[
        float, typer.Option(help="Commission per fill in basis points (Binance's base rate: 10).", min=0.0)
    ] = 10.0,
    weight_limit: Annotated[
        int, typer.Option(help="Request weight per minute per IP before 429 (Binance: 6000); 0: none.", min=0)
    ] = 6000,
    order_limit: Annotated[
        int,
        typer.Option(
            help="New orders per 10 s per account before 429 (Binance: 100); 0: no order limits.", min=0
        ),
    ] = 100,
    latency_ms: Annotated[float, typer.Option(help="Median added response latency in ms.", min=0.0)] = 0.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve Binance's spot REST API over the simulated venue until interrupted."""
    if (api_key is None) != (secret is None):
        raise typer.BadParameter("give both --api-key and --secret, or neither", param_hint="--api-key")
    options: dict[str, Any] = {
        "name": "binance",
        "seed": seed,
        "enforce_trading_hours": False,
        "initial_balance": _amount(balance, "--balance"),
        "commission": {"bps": str(commission_bps)},
    }
    if preset is not None:
        options["preset"] = preset
    if latency_ms:
        options["latency"] = {"median_ms": latency_ms, "sigma": 0.3}
    try:
        profile = VenueProfile.from_options(options)
        key = ApiKey(api_key, secret, "spot-001") if api_key and secret else new_api_key()
        settings = SimulatorSettings(
            host=host,
            port=port,
            keys=(key,),
            holdings=_holdings(hold or []),
            request_weight_per_minute=weight_limit or None,
            orders_per_10s=order_limit or None,
            orders_per_day=_ORDERS_PER_DAY if order_limit else None,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    from broker_integration.sim.binance.server import BinanceSimulator  # aiohttp's server: only when serving

    try:
        simulator = BinanceSimulator(profile=profile, settings=settings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    asyncio.run(_serve(simulator, json_output=json_output))


async def _serve(sim: BinanceSimulator, *, json_output: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await sim.start()
    except ValueError as exc:  # an opening holding the venue cannot buy
        _console.print(f"[red]cannot start the Binance simulator:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        _announce(sim, json_output=json_output)
        await stop.wait()
    finally:
        await sim.stop()


def _announce(sim: BinanceSimulator, *, json_output: bool) -> None:
    details = {
        "base_url": sim.base_url,
        "stream_url": sim.stream_url,
        "api_key": sim.api_key,
        "secret": sim.secret,
        "account_id": sim.account_id,
        "ccxt_urls": sim.ccxt_urls(),
    }
    if json_output:
        print(json.dumps(details), flush=True)
        return
    _console.print(f"[bold]Binance spot simulator[/] listening on {sim.base_url} (Ctrl-C to stop)")
    _console.print(f"  base URL    {sim.base_url}")
    _console.print(f"  stream URL  {sim.stream_url}")
    _console.print(f"  API key     {sim.api_key}")
    _console.print(f"  secret      {sim.secret}")
    _console.print(f"  account     {sim.account_id}")
    _console.print(
        f"  ccxt        ccxt.binance({{'apiKey': ..., 'secret': ..., 'urls': {{'api': {json.dumps(sim.ccxt_urls())}}}, "
        "'options': {'fetchMarkets': {'types': ['spot']}, 'fetchCurrencies': False}})",
        soft_wrap=True,
    )
    _console.print(f"  try: curl {sim.base_url}/api/v3/ticker/bookTicker?symbol=BTCUSDT", soft_wrap=True)
