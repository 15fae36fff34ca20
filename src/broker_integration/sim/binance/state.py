"""The Binance simulator's state, shared by its middleware, routes and streams: one per running server.

It holds the venue engine and what Binance keeps that the engine does not: each order's Binance type and
quote quantity, the orders a refusal left in the engine's log that Binance never stores, the API keys, the
request and order limits, the open websockets and the cancels' client ids, and counts of what was served (for tests).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from aiohttp import web

from broker_integration.models import OrderSide, OrderType
from broker_integration.sim.binance.limits import OrderCounter, WeightLimiter
from broker_integration.sim.binance.markets import Listing
from broker_integration.sim.binance.settings import ApiKey, SimulatorSettings
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import WireCounts
from broker_integration.sim.records import OrderRequest, OrderView

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["STATE", "OrderExtras", "SimulatorState"]


@dataclass(frozen=True, slots=True)
class OrderExtras:
    """What Binance says of an order that the engine does not keep."""

    binance_type: str
    time_in_force: str
    quote_order_qty: Decimal = Decimal(0)


class SimulatorState:
    """Everything a request handler needs, built once when the server starts."""

    def __init__(
        self,
        engine: VenueEngine,
        settings: SimulatorSettings,
        listing: Listing,
        keys: Iterable[ApiKey],
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.listing = listing
        self.keys: dict[str, ApiKey] = {key.key: key for key in keys}
        self.extras: dict[str, OrderExtras] = {}
        #: Engine orders created and killed at once for a refusal Binance answers with an error and never
        #: stores (insufficient balance, a closed market): hidden from every query.
        self.unstored: set[str] = set()
        self.weights = WeightLimiter(
            settings.request_weight_per_minute,
            ban_after=settings.ban_after,
            ban_seconds=settings.ban_seconds,
            clock=self.server_seconds,
        )
        self.order_counts = OrderCounter(
            settings.orders_per_10s, settings.orders_per_day, clock=self.server_seconds
        )
        self.counts = WireCounts()
        #: The client id of the cancel that ended an order (Binance's ``newClientOrderId`` of a cancel).
        self.cancel_ids: dict[str, str] = {}
        self.streams: dict[int, web.WebSocketResponse] = {}  # open websockets by id()
        self.closing = asyncio.Event()
        self._time_offset = 0.0

    # ------------------------------------------------------------------ time

    def server_ms(self) -> int:
        """The server's clock in epoch milliseconds: the engine's clock (what ``/api/v3/time`` answers)."""
        return int(self.server_seconds() * 1000)

    def server_seconds(self) -> float:
        return self.engine.clock.now().timestamp() + self._time_offset

    def skew(self, seconds: float) -> None:
        """Move the server's clock ``seconds`` away from the engine's (a client with a drifting clock is the
        same thing seen from the other side): ``-1021`` answers follow."""
        self._time_offset = seconds

    # ------------------------------------------------------------------ accounts

    def open_accounts(self) -> None:
        """Open every key's account in the engine (those it does not have yet), holding the quote asset as
        cash and buying the configured opening holdings at the venue's price."""
        quote = self.listing.quote_asset
        for account_id in dict.fromkeys(key.account_id for key in self.keys.values()):
            if self.engine.has_account(account_id):
                continue
            self.engine.open_account(account_id, currency=quote)
            for asset, amount in self.settings.opening_holdings.items():
                rule = self.listing.get(f"{asset}{quote}")
                if rule is None:
                    raise ValueError(f"holdings: no {asset}{quote} pair is listed to buy {asset} with")
                outcome = self.engine.submit_order(
                    account_id,
                    OrderRequest(rule.spec.symbol, OrderSide.BUY, amount, OrderType.MARKET),
                )
                if outcome.reject_reason is not None:
                    raise ValueError(f"holdings: buying {amount} {asset} failed: {outcome.message}")

    # ------------------------------------------------------------------ orders

    def visible(self, view: OrderView | None) -> OrderView | None:
        """``view`` unless it is an order Binance never stored."""
        return None if view is None or view.order_id in self.unstored else view


#: Where the application keeps its :class:`SimulatorState`.
STATE = web.AppKey("binance_simulator_state", SimulatorState)
