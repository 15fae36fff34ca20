"""Currency conversion for the fields OANDA reports in the account's home currency.

``quoteHomeConversionFactors``, ``homeConversions``, ``halfSpreadCost``, ``positionValue`` and
``unitsAvailable`` need the value of one currency in another. The rates come from the venue's own quotes
(the pair itself, its inverse, or a cross through USD), so they agree with the P&L the engine books.
Gains convert at the rate a position would realize (bid for a long quote currency), losses at the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from broker_integration.sim.engine import VenueEngine

__all__ = ["RateSource", "Rates"]

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Rates:
    """How much home currency one unit of a currency is worth: on a gain, on a loss, and at mid."""

    gain: Decimal
    loss: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.gain + self.loss) / 2


class RateSource:
    """Converts currencies with the engine's current quotes."""

    def __init__(self, engine: VenueEngine) -> None:
        self._engine = engine
        self._pairs = {spec.symbol for spec in engine.instruments() if "/" in spec.symbol}

    def rates(self, currency: str, home: str) -> Rates:
        """The value of one ``currency`` in ``home``; 1 when they are the same or no path exists."""
        if currency == home:
            return Rates(_ONE, _ONE)
        direct = f"{currency}/{home}"
        if direct in self._pairs:
            quote = self._engine.quote(direct)
            return Rates(quote.bid, quote.ask)
        inverse = f"{home}/{currency}"
        if inverse in self._pairs:
            quote = self._engine.quote(inverse)
            return Rates(_ONE / quote.ask, _ONE / quote.bid)
        if "USD" not in (currency, home):
            to_usd, from_usd = self.rates(currency, "USD"), self.rates("USD", home)
            return Rates(to_usd.gain * from_usd.gain, to_usd.loss * from_usd.loss)
        return Rates(_ONE, _ONE)
