"""``BinanceSimulator``: Binance's spot REST API served over a venue engine on a real socket.

Use it in-process::

    async with BinanceSimulator(profile=VenueProfile(name="binance")) as sim:
        exchange = ccxt.async_support.binance(sim.ccxt_config())   # the real ccxt class as the client
        config = sim.configuration()                               # or the CCXT adapter's configuration
        sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])

or from the command line (``broker-integration simulate binance``, see :mod:`.cli`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, Environment
from broker_integration.clock import Clock
from broker_integration.sim.binance.face import BinanceFace, binance_middleware
from broker_integration.sim.binance.markets import Listing, SymbolRules, default_rules
from broker_integration.sim.binance.routes import ROUTES, add_routes
from broker_integration.sim.binance.settings import ApiKey, SimulatorSettings
from broker_integration.sim.binance.state import STATE, SimulatorState
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import (
    WireCounts,
    WireSimulator,
    fault_middleware,
    wire_application,
)
from broker_integration.sim.profile import VenueProfile

__all__ = ["CCXT_OPTIONS", "BinanceSimulator", "build_app"]

#: The ccxt ``binance`` options a client of the simulator needs: spot markets only (by default ccxt also
#: loads the futures markets from ``fapi``/``dapi``, which the simulator does not serve), and no currency list
#: nor margin pairs (``sapi`` endpoints it does not serve either).
CCXT_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}
#: ccxt's Binance class reaches spot under these ``urls['api']`` keys (``ccxt/binance.py``, describe()).
_SPOT_URL_KEYS = {"public": "/api/v3", "private": "/api/v3", "v1": "/api/v1"}


def build_app(state: SimulatorState) -> web.Application:
    """The aiohttp application serving ``state``: Binance's error answers and used-weight header around
    the shared fault middleware, acting out the venue's fault plan in Binance's words."""
    middlewares = [binance_middleware, fault_middleware(BinanceFace(state, ROUTES))]
    return wire_application(state, STATE, middlewares, add_routes)


class BinanceSimulator(WireSimulator):
    """A Binance spot server over ``engine`` (default: a new engine with ``profile``), on loopback.

    ``rules`` are the symbols it lists (default: BTCUSDT and ETHUSDT, see :mod:`.markets`); ``settings``
    where it listens, its API keys, the accounts' opening holdings and its request limits. REST paths
    start with ``/api/v3`` under ``base_url``; ``stream_url`` serves ``/ws`` (market streams) and
    ``/ws-api/v3`` (the WebSocket API).
    """

    state: SimulatorState
    settings: SimulatorSettings

    def __init__(
        self,
        engine: VenueEngine | None = None,
        *,
        profile: VenueProfile | None = None,
        settings: SimulatorSettings | None = None,
        clock: Clock | None = None,
        rules: Iterable[SymbolRules] | None = None,
    ) -> None:
        self.settings = settings or SimulatorSettings()
        listing = Listing(rules or default_rules(self.settings.quote_asset), self.settings.quote_asset)
        if engine is not None and (profile is not None or clock is not None):
            raise ValueError("give either an engine or the profile/clock to build one, not both")
        venue = profile or VenueProfile(name="binance", enforce_trading_hours=False)
        if not venue.reuse_closed_client_order_ids:
            # Binance: "A unique id among open orders" (rest-api.md, New order, newClientOrderId)
            venue = venue.with_changes(reuse_closed_client_order_ids=True)
        self.engine = engine or VenueEngine(venue, clock=clock, instruments=listing.specs())
        self.keys: tuple[ApiKey, ...] = self.settings.resolved_keys()
        self.state = SimulatorState(self.engine, self.settings, listing, self.keys)

    def application(self) -> web.Application:
        return build_app(self.state)

    # ------------------------------------------------------------------ where and who

    @property
    def api_key(self) -> str:
        """The first key."""
        return self.keys[0].key

    @property
    def secret(self) -> str:
        """The first key's secret."""
        return self.keys[0].secret

    @property
    def account_id(self) -> str:
        """The first key's account."""
        return self.keys[0].account_id

    def ccxt_urls(self) -> dict[str, Any]:
        """``urls['api']`` entries that point ccxt's ``binance`` class here (REST and websockets)."""
        urls: dict[str, Any] = {key: f"{self.base_url}{path}" for key, path in _SPOT_URL_KEYS.items()}
        urls["ws"] = {"spot": f"{self.stream_url}/ws", "ws-api": {"spot": f"{self.stream_url}/ws-api/v3"}}
        return urls

    def ccxt_config(self, **options: Any) -> dict[str, Any]:
        """A configuration for ``ccxt.async_support.binance`` pointed here with the first key, ccxt's own
        rate limiter off unless ``enableRateLimit`` is given; ``options`` add to :data:`CCXT_OPTIONS`."""
        return {
            "apiKey": self.api_key,
            "secret": self.secret,
            "enableRateLimit": options.pop("enableRateLimit", False),
            "urls": {"api": self.ccxt_urls()},
            "options": {**CCXT_OPTIONS, **options},
        }

    def configuration(self, broker_name: str = "binance", **options: Any) -> BrokerConfiguration:
        """A configuration for the CCXT adapter (``exchange: binance``) pointing here with the first key.

        The client-side rate limits are set far above the simulator's, so the simulator's limit is the one
        a client meets. ``options`` go to the adapter."""
        credentials = BrokerCredentials(
            api_key=SecretStr(self.api_key),
            secret_key=SecretStr(self.secret),
            account_id=self.account_id,
            environment=Environment.SANDBOX,
        )
        adapter_options = {"exchange": "binance", "exchange_options": dict(CCXT_OPTIONS), **options}
        return self._configuration(broker_name, credentials, adapter_options, adapter="ccxt")

    # ------------------------------------------------------------------ misbehaviour

    def skew_clock(self, seconds: float) -> None:
        """Move the server's clock ``seconds`` ahead (negative: behind) of the engine's."""
        self.state.skew(seconds)

    @property
    def counts(self) -> WireCounts:
        """What was served so far: requests and faults by operation, limits met, streams."""
        return self.state.counts

    def __repr__(self) -> str:
        return f"BinanceSimulator({self._where()}, account={self.account_id}, key={self.api_key[:6]}…, secret=***)"
