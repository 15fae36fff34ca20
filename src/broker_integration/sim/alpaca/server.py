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
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from pydantic import SecretStr

from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerEndpoints,
    BrokerLimits,
    Environment,
)
from broker_integration.clock import Clock
from broker_integration.sim.alpaca.face import AlpacaFace, alpaca_middleware
from broker_integration.sim.alpaca.listing import ListedAsset, default_listing
from broker_integration.sim.alpaca.routes import add_routes
from broker_integration.sim.alpaca.settings import AlpacaSimSettings
from broker_integration.sim.alpaca.state import STATE, AlpacaState, ServedCounts
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import fault_middleware, serve
from broker_integration.sim.faults.plan import Fault
from broker_integration.sim.profile import VenueProfile

__all__ = ["AlpacaSimulator", "build_app"]

_SHUTDOWN_TIMEOUT = 1.0


def build_app(state: AlpacaState) -> web.Application:
    """The aiohttp application serving ``state`` (without a listening socket)."""
    app = web.Application(middlewares=[alpaca_middleware, fault_middleware(AlpacaFace(state))])
    app[STATE] = state
    add_routes(app)

    async def stop_streams(_: web.Application) -> None:
        state.closing.set()

    app.on_shutdown.append(stop_streams)
    return app


class AlpacaSimulator:
    """An Alpaca server over ``engine`` (default: a new engine with ``profile`` and Alpaca's listing)."""

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
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        self.state.closing.clear()
        # handler cancellation off: a request fully received executes even if its client has gone
        self._runner, self._port = await serve(
            build_app(self.state), self.settings.host, self.settings.port, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            self.state.closing.set()
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """Trading and data REST, e.g. ``http://127.0.0.1:54321`` (paths start ``/v2`` or ``/v1beta3``)."""
        return f"http://{self.settings.host}:{self.port}"

    @property
    def stream_url(self) -> str:
        """The websockets' base: ``/stream`` (trade updates), ``/v2/iex`` and ``/v1beta3/crypto/us``."""
        return f"ws://{self.settings.host}:{self.port}"

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
        return BrokerConfiguration(
            broker_name=broker_name,
            adapter="alpaca",
            credentials=BrokerCredentials(
                api_key=SecretStr(self.key_id),
                secret_key=SecretStr(self.secret_key),
                environment=Environment.PAPER,
            ),
            endpoints=BrokerEndpoints(base_url=self.base_url, stream_url=self.stream_url),
            limits=BrokerLimits(requests_per_second=10_000, max_orders_per_second=10_000),
            options=options,
        )

    def inject(self, fault: Fault, *, operations: Iterable[str] | None = None, count: int = 1) -> None:
        """Make the next ``count`` requests of ``operations`` (adapter operation names) suffer ``fault``."""
        self.engine.faults.inject(fault, operations=operations, count=count)

    def silence_streams(self, silent: bool = True) -> None:
        """Make every open websocket stop sending and reading (pings unanswered), or let them talk again."""
        self.state.silenced = silent

    def drop_streams(self) -> int:
        """Cut every open websocket's connection; returns how many were cut."""
        dropped = 0
        for ws in list(self.state.streams.values()):
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    @property
    def counts(self) -> ServedCounts:
        return self.state.counts

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"AlpacaSimulator({where}, account={self.account_id}, keys=***)"
