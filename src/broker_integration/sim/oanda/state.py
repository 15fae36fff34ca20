"""The simulator's state, shared by its middleware, routes and streams: one per running server.

It holds the venue engine and the OANDA-only bookkeeping around it (order endings and P&L by side, the
request fields the engine does not keep, who may reach which account), the renderers for both time
formats, the connection limits, the open streams, and counts of what was served (for tests).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import WireCounts
from broker_integration.sim.oanda.conversion import RateSource
from broker_integration.sim.oanda.formats import InstrumentNames, TimeFormat
from broker_integration.sim.oanda.history import VenueHistory
from broker_integration.sim.oanda.parse import OrderExtras
from broker_integration.sim.oanda.ratelimit import ConnectionRateLimiter
from broker_integration.sim.oanda.render import Batch, V20Renderer
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings
from broker_integration.sim.records import Transaction

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["STATE", "ServedCounts", "SimulatorState"]


@dataclass
class ServedCounts(WireCounts):
    """What the simulator has done so far: requests and faults by operation, streams, heartbeats, prices."""

    heartbeats_sent: int = 0
    prices_sent: int = 0


class SimulatorState:
    """Everything a request handler needs, built once when the server starts."""

    def __init__(
        self, engine: VenueEngine, settings: SimulatorSettings, credentials: Iterable[Credential]
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.credentials = tuple(credentials)
        self.access: dict[str, frozenset[str]] = {c.token: frozenset(c.account_ids) for c in self.credentials}
        self.names = InstrumentNames(engine.instruments())
        self.history = VenueHistory(engine)
        self.rates = RateSource(engine)
        self.extras: dict[str, OrderExtras] = {}
        self.batches: dict[int, Batch] = {}  # transaction id -> the request that wrote it
        self.currencies: dict[str, str] = {}
        self.renderers = {
            fmt: V20Renderer(
                engine,
                self.history,
                self.names,
                self.rates,
                self.extras,
                self.currencies,
                user_id=settings.user_id,
                time_format=fmt,
            )
            for fmt in TimeFormat
        }
        rate = settings.max_requests_per_second
        self.limiter = ConnectionRateLimiter(rate) if rate is not None else None
        self.counts = ServedCounts()
        self.streams: dict[int, web.Request] = {}  # open streams (prices, transactions) by id(request)
        self.silenced = False
        self.closing = asyncio.Event()
        self._request_ids = itertools.count(int(engine.clock.now().timestamp()) * 1_000_000)

    def open_accounts(self) -> None:
        """Open every credential's accounts in the engine (those it does not have yet); note currencies."""
        for credential in self.credentials:
            for account_id in credential.account_ids:
                snapshot = (
                    self.engine.account(account_id)
                    if self.engine.has_account(account_id)
                    else self.engine.open_account(account_id)
                )
                self.currencies[account_id] = snapshot.currency
        self.history.catch_up()

    def next_request_id(self) -> str:
        """A numeric request id, as OANDA's ``RequestID`` header and ``requestID`` fields look."""
        return str(next(self._request_ids))

    def renderer(self, fmt: TimeFormat) -> V20Renderer:
        return self.renderers[fmt]

    def batch(self, request_id: str, transactions: Sequence[Transaction], **context: Any) -> Batch:
        """The batch a request's ``transactions`` share, remembered so they render alike when asked for later."""
        batch = Batch(request_id, transactions[0].id, **context)
        for transaction in transactions:
            self.batches[transaction.id] = batch
        return batch


#: Where the application keeps its :class:`SimulatorState`.
STATE = web.AppKey("oanda_simulator_state", SimulatorState)
