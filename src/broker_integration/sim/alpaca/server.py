"""``AlpacaSimulator``: Alpaca's Trading API v2, Market Data API v2 and both websockets served over a venue
engine on a real socket.

Use it in-process::

    async with AlpacaSimulator(profile=VenueProfile(enforce_trading_hours=False)) as sim:
        config = sim.configuration()          # or sim.base_url, sim.key_id, sim.secret_key
        ...
        sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])

or from the command line (``broker-integration simulate alpaca``, see :mod:`.cli`). Trading, data and
both streams share one port: point alpaca-py's clients at it with ``url_override``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, Environment
from broker_integration.clock import Clock
from broker_integration.sim.alpaca.face import AlpacaFace, alpaca_middleware
from broker_integration.sim.alpaca.listing import ListedAsset, default_listing
from broker_integration.sim.alpaca.routes import add_routes
from broker_integration.sim.alpaca.settings import AlpacaSimSettings
from broker_integration.sim.alpaca.state import STATE, AlpacaState, ServedCounts
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import (
    WireSimulator,
    cut_connection,
    fault_middleware,
    wire_application,
)
from broker_integration.sim.profile import VenueProfile

__all__ = ["AlpacaSimulator", "build_app"]


def build_app(state: AlpacaState) -> web.Application:
    """The aiohttp application serving ``state`` (without a listening socket)."""
    return wire_application(
        state, STATE, [alpaca_middleware, fault_middleware(AlpacaFace(state))], add_routes
    )


class AlpacaSimulator(WireSimulator):
    """An Alpaca server over ``engine`` (default: a new engine with ``profile`` and Alpaca's listing).

    Trading and data REST paths start ``/v2`` or ``/v1beta3`` under ``base_url``; ``stream_url`` serves the
    websockets: ``/stream`` (trade updates), ``/v2/iex`` and ``/v1beta3/crypto/us``.
    """

    state: AlpacaState
    settings: AlpacaSimSettings

    def __init__(
        self,
        engine: VenueEngine | None = None,
        *,
        profile: VenueProfile | None = None,
        settings: AlpacaSimSettings | None = None,
        clock: Clock | None = None,
        listing: Iterable[ListedAsset] | None = None,
    ) -> None:
        assets = tuple(listing) if listing is not None else default_listing()
        if engine is not None and (profile is not None or clock is not None):
            raise ValueError("give either an engine or the profile/clock to build one, not both")
        self.engine = engine or VenueEngine(
            profile or VenueProfile(name="alpaca"), clock=clock, instruments=[a.spec for a in assets]
        )
        self.settings = settings or AlpacaSimSettings()
        self.state = AlpacaState(self.engine, self.settings, assets)
        self.state.open_account()

    def application(self) -> web.Application:
        return build_app(self.state)

    @property
    def key_id(self) -> str:
        return self.state.key_id

    @property
    def secret_key(self) -> str:
        return self.state.secret_key

    @property
    def account_id(self) -> str:
        return self.state.account_id

    def configuration(self, broker_name: str = "alpaca", **options: Any) -> BrokerConfiguration:
        """A configuration for the Alpaca adapter pointing here, with client-side limits far above the
        simulator's (so the simulator's limit is the one a client meets). ``options`` go to the adapter."""
        credentials = BrokerCredentials(
            api_key=SecretStr(self.key_id),
            secret_key=SecretStr(self.secret_key),
            environment=Environment.PAPER,
        )
        return self._configuration(broker_name, credentials, options, adapter="alpaca")

    def silence_streams(self, silent: bool = True) -> None:
        """Make every open websocket stop sending and reading (pings unanswered), or let them talk again."""
        self.state.silenced = silent

    def drop_streams(self) -> int:
        """Cut every open websocket's connection; returns how many were cut."""
        return sum(cut_connection(ws._req) for ws in list(self.state.streams.values()))

    @property
    def counts(self) -> ServedCounts:
        return self.state.counts

    def __repr__(self) -> str:
        return f"AlpacaSimulator({self._where()}, account={self.account_id}, keys=***)"
