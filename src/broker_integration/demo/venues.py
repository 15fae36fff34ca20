"""The demo's venues: the OANDA, Alpaca and Binance simulators on free loopback ports and the adapters of the
example config.

The demo's configuration (``demo/config`` in the package) names its secrets and the simulators' addresses as
``${VAR}`` references, as a deployment would. The demo starts the simulators first, then loads the folder
with those variables set to the simulators' keys, accounts and addresses (:func:`demo_variables`), in an
environment mapping of its own: the process environment is neither read for them nor changed, so real
OANDA credentials a user has exported are never used or overwritten. Every adapter is then created
through :class:`BrokerFactory` from its loaded configuration, as an application would. A CCXT venue needs
the ``ccxt`` extra: without it the venue is left out (``DemoVenues.left_out`` says why) and the demo goes on.

The Binance simulator lists the crypto pair in its quote currency (BTC/USD: the listing of Binance.US, which
serves the same spot API), so all crypto venues trade one pair in one account currency; the Alpaca and
Binance accounts hold :data:`INVENTORY` bitcoin from the start.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.broker_factory import BrokerFactory, FactoryError
from broker_integration.config import ConfigError, LoadedConfig, load_path
from broker_integration.demo.options import DemoError, DemoOptions
from broker_integration.errors import BrokerError
from broker_integration.events import EventBus
from broker_integration.models import OrderSide, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter
from broker_integration.sim.alpaca import AlpacaSimSettings, AlpacaSimulator
from broker_integration.sim.binance import BinanceSimulator
from broker_integration.sim.binance import SimulatorSettings as BinanceSimSettings
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import LatencyModel, VenueProfile
from broker_integration.symbols import split_pair

__all__ = [
    "CCXT_MISSING",
    "DemoVenues",
    "VenueInfo",
    "alpaca_profile",
    "binance_profile",
    "ccxt_installed",
    "demo_variables",
    "describe_profile",
    "open_venues",
    "simulator_profile",
]


def simulator_profile(seed: int) -> VenueProfile:
    """How the simulated OANDA executes: the demo's common prices, about 10 ms per request, no faults.

    It is the server's behaviour, not the client's configuration, so it lives here rather than in the
    example configuration (which configures the OANDA adapter exactly as for the real broker).
    """
    return _demo_profile("oanda-sim", seed, median_ms=10.0)


def alpaca_profile(seed: int) -> VenueProfile:
    """How the simulated Alpaca executes: the demo's seed, about 15 ms per request, no faults (its crypto
    pairs trade around the clock anyway)."""
    return _demo_profile("alpaca-sim", seed, median_ms=15.0)


def binance_profile(seed: int) -> VenueProfile:
    """How the simulated Binance spot executes: the demo's seed, about 12 ms per request, no faults, and
    Binance's base spot fee of 10 bps (binance.com/en/fee/schedule, regular user)."""
    return _demo_profile("binance-sim", seed, median_ms=12.0, commission={"bps": "10"})


def _demo_profile(name: str, seed: int, *, median_ms: float, **more: Any) -> VenueProfile:
    """What every demo venue shares: the demo's seed, stocks around the clock, and a request latency around
    ``median_ms`` with the same spread; ``more`` sets the venue's own profile fields."""
    return VenueProfile(
        name=name,
        seed=seed,
        enforce_trading_hours=False,
        latency=LatencyModel(median_ms=median_ms, sigma=0.4),
        **more,
    )


#: What the demo says when it leaves the CCXT venues out.
CCXT_MISSING = "ccxt is not installed (pip install 'broker-integration[ccxt]')"
#: Bitcoin each crypto simulator's account holds from the start, so the demo's sells can fill: crypto cannot
#: be sold short at Alpaca nor on Binance spot.
INVENTORY = Decimal(1)


def ccxt_installed() -> bool:
    """Whether ccxt can be imported (found, and not blocked in ``sys.modules``), without importing it."""
    try:
        return importlib.util.find_spec("ccxt") is not None
    except (ImportError, ValueError):  # a blocked or half-imported ccxt
        return False


def demo_variables(
    simulator: OandaSimulator,
    seed: int,
    alpaca: AlpacaSimulator | None = None,
    binance: BinanceSimulator | None = None,
) -> dict[str, str]:
    """The variables the example configuration references, with this run's values."""
    variables = {
        "OANDA_API_KEY": simulator.token,
        "OANDA_ACCOUNT_ID": simulator.account_id,
        "OANDA_BASE_URL": simulator.base_url,
        "OANDA_STREAM_URL": simulator.stream_url,
        "DEMO_SEED": str(seed),
    }
    if alpaca is not None:
        variables |= {
            "ALPACA_KEY_ID": alpaca.key_id,
            "ALPACA_SECRET_KEY": alpaca.secret_key,
            "ALPACA_BASE_URL": alpaca.base_url,
            "ALPACA_STREAM_URL": alpaca.stream_url,
        }
    if binance is not None:
        variables |= {
            "BINANCE_KEY": binance.api_key,
            "BINANCE_SECRET": binance.secret,
            "BINANCE_ACCOUNT_ID": binance.account_id,
            "BINANCE_BASE_URL": binance.base_url,
            "BINANCE_STREAM_URL": binance.stream_url,
        }
    return variables


def describe_profile(profile: VenueProfile) -> str:
    """A venue's execution profile in a line: latency, spread, slippage, commission, faults."""
    parts = [f"latency median {profile.latency.median_ms:g} ms (sigma {profile.latency.sigma:g})"]
    parts.append(f"spread x{profile.spread_multiplier:g}")
    if profile.slippage_bps:
        parts.append(f"slippage {profile.slippage_bps:g} bps")
    commission = profile.commission
    if commission.is_free:
        parts.append("no commission")
    else:
        fee = [f"{commission.bps} bps"] if commission.bps else []
        fee += [f"{commission.per_unit}/unit"] if commission.per_unit else []
        fee += [f"min {commission.minimum}"] if commission.minimum else []
        parts.append("commission " + ", ".join(fee))
    faults = {
        "errors": profile.error_rate,
        "429s": profile.rate_limit_rate,
        "timeouts": profile.timeout_rate,
        "lost answers": profile.response_lost_rate,
        f"{profile.latency_spike_ms:g} ms spikes": profile.latency_spike_rate,
        "rejections": profile.rejection_rate,
        "partial fills": profile.partial_fill_probability,
    }
    listed = [f"{name} {rate:.1%}" for name, rate in faults.items() if rate]
    parts.append("faults: " + ", ".join(listed) if listed else "no faults")
    return "; ".join(parts)


@dataclass(frozen=True)
class VenueInfo:
    """One venue as the demo set it up: its configuration, how it executes and where it is."""

    name: str
    display_name: str
    adapter_type: str
    profile: VenueProfile | None
    endpoint: str | None

    @property
    def description(self) -> str:
        if self.profile is None:
            return "not one of the demo's simulated venues: its behaviour is whatever the broker does"
        return describe_profile(self.profile)


@dataclass
class DemoVenues:
    """The running simulators, the factory and the authenticated adapters, by broker name. ``left_out``:
    enabled venues the demo could not create, with the reason (a CCXT venue without ccxt installed)."""

    simulator: OandaSimulator
    alpaca_simulator: AlpacaSimulator
    binance_simulator: BinanceSimulator
    factory: BrokerFactory
    loaded: LoadedConfig
    environment: str
    adapters: dict[str, BrokerAdapter]
    info: dict[str, VenueInfo]
    left_out: dict[str, str]


def _load(path: Path, environment: str, variables: Mapping[str, str]) -> LoadedConfig:
    if not path.exists():
        raise DemoError(
            f"the example configuration {path} is missing; run the demo from a source checkout "
            "or pass --config FOLDER"
        )
    try:
        return load_path(path, environment=environment, env={**os.environ, **variables})
    except ConfigError as exc:
        raise DemoError(f"the example configuration {path} is invalid:\n{exc}") from exc


def _venue_info(
    name: str,
    config: BrokerConfiguration,
    adapter: BrokerAdapter,
    sims: tuple[OandaSimulator | AlpacaSimulator | BinanceSimulator, ...],
) -> VenueInfo:
    endpoint = config.endpoints.base_url
    profile: VenueProfile | None = None
    if isinstance(adapter, PaperBrokerAdapter):
        profile = adapter.profile
    else:
        profile = next((sim.engine.profile for sim in sims if endpoint == sim.base_url), None)
    return VenueInfo(name, config.display_name, config.adapter_type, profile, endpoint)


async def _create(factory: BrokerFactory, name: str, config: BrokerConfiguration) -> BrokerAdapter:
    try:
        return await factory.create_from_config(config)
    except (BrokerError, FactoryError, ValueError) as exc:
        raise DemoError(f"venue {name} ({config.adapter_type}) could not be created: {exc}") from exc


async def _stock_up(adapter: BrokerAdapter, instrument: str) -> None:
    """Buy :data:`INVENTORY` of ``instrument`` at an Alpaca venue before the run, so its sells can fill."""
    try:
        await adapter.place_order(UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=INVENTORY))
    except BrokerError as exc:
        raise DemoError(
            f"the Alpaca simulator refused the demo's opening {instrument} purchase: {exc}"
        ) from exc


@asynccontextmanager
async def open_venues(options: DemoOptions, bus: EventBus) -> AsyncIterator[DemoVenues]:
    """Start the simulators, load the example configuration, create every enabled venue (CCXT venues only
    where ccxt is installed); close all after."""
    simulator = OandaSimulator(profile=simulator_profile(options.seed), settings=SimulatorSettings())
    alpaca = AlpacaSimulator(
        profile=alpaca_profile(options.seed), settings=AlpacaSimSettings(requests_per_minute=None)
    )
    pair = split_pair(options.crypto_instrument)
    assert pair is not None  # DemoOptions checks it
    base, quote = pair
    binance = BinanceSimulator(
        profile=binance_profile(options.seed),
        settings=BinanceSimSettings(
            quote_asset=quote,
            holdings=((base, INVENTORY),),
            request_weight_per_minute=None,  # the demo measures execution, not Binance's limits
            orders_per_10s=None,
        ),
    )
    sims = (simulator, alpaca, binance)
    try:
        for sim in sims:
            await sim.start()
    except OSError as exc:
        for sim in sims:
            await sim.stop()
        raise DemoError(f"a simulator could not listen on 127.0.0.1: {exc}") from exc
    factory = BrokerFactory(event_bus=bus, discover_plugins=False)
    try:
        variables = demo_variables(simulator, options.seed, alpaca, binance)
        loaded = await asyncio.to_thread(_load, options.config_path, options.environment, variables)
        configs = {name: c for name, c in loaded.configs.items() if c.enabled}
        without_ccxt = () if ccxt_installed() else configs
        left_out = {name: CCXT_MISSING for name in without_ccxt if configs[name].adapter_type == "ccxt"}
        configs = {name: c for name, c in configs.items() if name not in left_out}
        if len(configs) < 2:
            raise DemoError(
                f"the example configuration enables {len(configs)} broker(s) in {options.environment}; "
                "an A/B test needs at least two"
            )
        adapters: dict[str, BrokerAdapter] = {}
        for name, config in configs.items():
            adapters[name] = await _create(factory, name, config)
            if config.adapter_type == "alpaca" and name in options.crypto_venues:
                await _stock_up(adapters[name], options.crypto_instrument)
        info = {name: _venue_info(name, configs[name], a, sims) for name, a in adapters.items()}
        yield DemoVenues(
            simulator, alpaca, binance, factory, loaded, options.environment, adapters, info, left_out
        )
    finally:
        await factory.close_all()
        for sim in reversed(sims):
            await sim.stop()
