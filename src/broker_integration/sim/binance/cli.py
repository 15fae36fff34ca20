"""``broker-integration simulate binance``: run the Binance spot simulator until interrupted.

:func:`binance_command` is the command the ``simulate`` group (:mod:`broker_integration.sim.cli`) runs for
``binance``; ``python -m broker_integration.sim.binance`` runs it directly. It prints the REST and stream
base URLs, the API key and secret and the account id (``--json``: one JSON line, for scripts), then serves
on loopback until Ctrl-C. Point ccxt at it with ``urls['api']`` (the printed ``ccxt_urls``) or the CCXT
adapter with ``endpoints.base_url``.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from broker_integration.sim import commands
from broker_integration.sim.binance.settings import ApiKey, SimulatorSettings, new_api_key

if TYPE_CHECKING:
    from broker_integration.sim.binance.server import BinanceSimulator

__all__ = ["binance_command"]

#: Binance's daily order limit per account (GET /api/v3/exchangeInfo, rateLimits).
_ORDERS_PER_DAY = 200_000


def _amount(text: str, option: str) -> Decimal:
    value = commands.amount(text, option)
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
    port: commands.Port = 0,
    host: commands.Host = "127.0.0.1",
    seed: commands.Seed = 0,
    preset: commands.Preset = None,
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
    latency_ms: commands.LatencyMs = 0.0,
    json_output: commands.JsonOutput = False,
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
    profile = commands.venue_profile(options, preset=preset, always_open=None, latency_ms=latency_ms)
    with commands.usage_errors():
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
    from broker_integration.sim.binance.server import BinanceSimulator  # aiohttp's server: only when serving

    with commands.usage_errors():
        simulator = BinanceSimulator(profile=profile, settings=settings)
    commands.serve(simulator, functools.partial(_announce, json_output=json_output), name="Binance simulator")


def _announce(sim: BinanceSimulator, *, json_output: bool) -> None:
    details = {
        "base_url": sim.base_url,
        "stream_url": sim.stream_url,
        "api_key": sim.api_key,
        "secret": sim.secret,
        "account_id": sim.account_id,
        "ccxt_urls": sim.ccxt_urls(),
    }
    rows = [
        ("base URL", sim.base_url),
        ("stream URL", sim.stream_url),
        ("API key", sim.api_key),
        ("secret", sim.secret),
        ("account", sim.account_id),
    ]
    ccxt = (
        f"ccxt        ccxt.binance({{'apiKey': ..., 'secret': ..., 'urls': {{'api': {json.dumps(sim.ccxt_urls())}}}, "
        "'options': {'fetchMarkets': {'types': ['spot']}, 'fetchCurrencies': False}})"
    )
    curl = f"try: curl {sim.base_url}/api/v3/ticker/bookTicker?symbol=BTCUSDT"
    title = "Binance spot simulator"
    commands.announce(
        details, json_output=json_output, title=title, url=sim.base_url, rows=rows, hints=[ccxt, curl]
    )
