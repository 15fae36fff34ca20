"""``OandaSimulator``: the v20 wire protocol served over a venue engine on a real socket.

Use it in-process::

    async with OandaSimulator(profile=VenueProfile(enforce_trading_hours=False)) as sim:
        config = sim.configuration()          # or sim.base_url, sim.stream_url, sim.token, sim.account_id
        ...
        sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])

or from the command line (``broker-integration simulate oanda``, see :mod:`.cli`). REST and stream share
one port; ``stream_url`` names it as the streaming host.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, Environment
from broker_integration.clock import Clock
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import (
    WireSimulator,
    cut_connection,
    fault_middleware,
    wire_application,
)
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.middleware import V20Face, v20_middleware
from broker_integration.sim.oanda.routes import add_routes
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings
from broker_integration.sim.oanda.state import STATE, ServedCounts, SimulatorState
from broker_integration.sim.profile import VenueProfile

__all__ = ["OandaSimulator", "build_app"]


def build_app(state: SimulatorState) -> web.Application:
    """The aiohttp application serving ``state`` (without a listening socket): OANDA's request ids and error
    answers around the shared fault middleware, acting out the venue's fault plan in OANDA's words."""
    return wire_application(state, STATE, [v20_middleware, fault_middleware(V20Face(state))], add_routes)


class OandaSimulator(WireSimulator):
    """An OANDA v20 server over ``engine`` (default: a new engine with ``profile``), on loopback.

    ``settings`` sets the host, port, tokens and accounts, heartbeat and price intervals and the
    per-connection request limit. Accounts the credentials name are opened in the engine when missing.
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
        instruments: Iterable[InstrumentSpec] | None = None,
    ) -> None:
        if engine is not None and (profile is not None or clock is not None or instruments is not None):
            raise ValueError("give either an engine or the profile/clock/instruments to build one, not both")
        self.engine = engine or VenueEngine(
            profile or VenueProfile(name="oanda"), clock=clock, instruments=instruments
        )
        self.settings = settings or SimulatorSettings()
        self.credentials: tuple[Credential, ...] = self.settings.resolved_credentials()
        self.state = SimulatorState(self.engine, self.settings, self.credentials)

    def application(self) -> web.Application:
        return build_app(self.state)

    # ------------------------------------------------------------------ where and who

    @property
    def stream_url(self) -> str:
        """The streaming base: the same server as the REST base (paths start with ``/v3``)."""
        return self.base_url

    @property
    def token(self) -> str:
        """The first credential's bearer token."""
        return self.credentials[0].token

    @property
    def account_id(self) -> str:
        """The first credential's first account."""
        return self.credentials[0].account_ids[0]

    @property
    def account_ids(self) -> tuple[str, ...]:
        """Every account the first credential's token reaches."""
        return self.credentials[0].account_ids

    def configuration(
        self, broker_name: str = "oanda", *, account_id: str | None = None, **options: Any
    ) -> BrokerConfiguration:
        """A configuration for the OANDA adapter pointing here, with the first token and ``account_id``
        (default: its first account).

        The client-side rate limits are set far above the simulator's, so the simulator's limit is
        the one a client meets. ``options`` go to the adapter (``stream_heartbeat_timeout`` …).
        """
        credentials = BrokerCredentials(
            api_key=SecretStr(self.token),
            account_id=account_id or self.account_id,
            environment=Environment.PRACTICE,
        )
        return self._configuration(broker_name, credentials, options)

    # ------------------------------------------------------------------ misbehaviour

    def silence_streams(self, silent: bool = True) -> None:
        """Stop every open stream (prices and transactions) from sending anything, heartbeats included, or
        let them talk again."""
        self.state.silenced = silent

    def drop_streams(self) -> int:
        """Cut every open stream's connection (prices and transactions); returns how many were cut."""
        return sum(cut_connection(request) for request in list(self.state.streams.values()))

    @property
    def counts(self) -> ServedCounts:
        """What was served so far: requests and faults by operation, streams, heartbeats, prices."""
        return self.state.counts

    def __repr__(self) -> str:
        return f"OandaSimulator({self._where()}, account={self.account_id}, token=***)"
