"""The demo's market: the order flow it sends and the reference quote each order is measured against.

Every venue of the demo quotes the same seeded price process (one seed, one mid price); they differ in
spread and execution only. :class:`ReferenceFeed` reads that common market from a venue engine of its
own, the way a trading system reads a reference data feed, so each order's slippage is measured against
one benchmark whichever venue fills it, and the A/B framework (``arrival_quote``) and the metrics
collector (``metadata["arrival_mid"]``) measure against the same mid. It is not a broker: reading it adds
no call to any venue's figures.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from broker_integration.models import InstrumentType, OrderSide, PriceTick, UnifiedOrder
from broker_integration.performance_metrics import ARRIVAL_MID_KEY
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.instruments import DEFAULT_INSTRUMENTS
from broker_integration.sim.profile import VenueProfile

__all__ = ["CRYPTO_SIZES", "ORDER_SIZES", "OrderIntent", "ReferenceFeed", "order_intents", "order_sizes"]

#: Order sizes in units, drawn uniformly: small retail-sized FX tickets.
ORDER_SIZES = (Decimal(1_000), Decimal(2_000), Decimal(5_000), Decimal(10_000))
#: Crypto order sizes in coins: tickets of a few hundred dollars of bitcoin, above every venue's minimum
#: (Binance's 5-dollar notional filter, Alpaca's minimum order size).
CRYPTO_SIZES = (Decimal("0.002"), Decimal("0.005"), Decimal("0.01"), Decimal("0.02"))


class ReferenceFeed:
    """Top of book of the demo's common market (seed ``seed``, open around the clock)."""

    def __init__(self, seed: int) -> None:
        self._engine = VenueEngine(VenueProfile(name="reference", seed=seed, enforce_trading_hours=False))

    def quote(self, instrument: str) -> PriceTick:
        return self._engine.quote(instrument).price_tick()


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the demo wants to trade next; it becomes a market order when it is sent."""

    instrument: str
    side: OrderSide
    quantity: Decimal

    def order(self, arrival: PriceTick) -> UnifiedOrder:
        """The market order for this intent, carrying the arrival mid for the metrics collector."""
        return UnifiedOrder(
            instrument=self.instrument,
            side=self.side,
            quantity=self.quantity,
            metadata={ARRIVAL_MID_KEY: str(arrival.mid)},
        )


_CRYPTO = frozenset(s.symbol for s in DEFAULT_INSTRUMENTS if s.instrument.type is InstrumentType.CRYPTO)


def order_sizes(instrument: str) -> tuple[Decimal, ...]:
    """The sizes orders on ``instrument`` are drawn from: coins for a crypto pair, else FX units."""
    return CRYPTO_SIZES if instrument in _CRYPTO else ORDER_SIZES


def order_intents(seed: int, count: int, instruments: Sequence[str]) -> Iterator[OrderIntent]:
    """``count`` intents drawn from ``seed``: the same instruments, sides and sizes for the same seed."""
    rng = random.Random(seed)
    sides = (OrderSide.BUY, OrderSide.SELL)
    for _ in range(count):
        instrument = rng.choice(instruments)
        yield OrderIntent(instrument, rng.choice(sides), rng.choice(order_sizes(instrument)))
