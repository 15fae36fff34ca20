"""Spot balances per asset, from the engine's single-currency account.

The engine keeps one cash balance (in the quote asset every pair is quoted in; realized P&L and
commissions included) and a position per pair. A spot account holds assets instead: the base asset of a
pair is the position's units; the quote asset is the cash less what the open positions cost
(units times average price). An open order holds its balance back from spending (``locked``, as in Binance's
``GET /api/v3/account``): a buy the quote it may spend (quantity times price, the stop price for a stop-loss
market order), a sell the base it offers. Commissions are charged in the quote asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from broker_integration.models import OrderSide
from broker_integration.sim.binance.markets import Listing
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.records import OrderView

__all__ = ["Balance", "balances", "cost_of", "needed"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of a spot account: what may be spent (``free``) and what open orders hold (``locked``)."""

    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


def cost_of(view: OrderView) -> Decimal:
    """What an open buy order holds back of the quote asset: its remaining quantity at its price."""
    level = view.price if view.price is not None else view.stop_price
    return (view.units - view.filled_units) * (level or _ZERO)


def balances(engine: VenueEngine, account_id: str, listing: Listing) -> dict[str, Balance]:
    """Every listed asset's balance in the account, the quote asset first."""
    quote = listing.quote_asset
    totals = dict.fromkeys(listing.assets, _ZERO)
    cash = engine.account(account_id).balance
    for position in engine.positions(account_id):
        rule = listing.of_engine(position.instrument)
        totals[rule.base] = totals.get(rule.base, _ZERO) + position.units
        cash -= position.units * (position.average_price or _ZERO)
    totals[quote] = cash
    locked = dict.fromkeys(totals, _ZERO)
    for view in engine.orders(account_id):
        rule = listing.of_engine(view.instrument)
        if view.side is OrderSide.BUY:
            locked[quote] += cost_of(view)
        else:
            locked[rule.base] += view.units - view.filled_units
    return {
        asset: Balance(asset, max(_ZERO, total - locked[asset]), max(_ZERO, min(total, locked[asset])))
        for asset, total in totals.items()
    }


def needed(side: OrderSide, quantity: Decimal, price: Decimal) -> Decimal:
    """What an order needs free: quote asset for a buy (``quantity`` at ``price``), base for a sell."""
    return quantity if side is OrderSide.SELL else quantity * price
