"""Accounts and netted positions: the bookkeeping half of the venue, free of prices and time.

A position nets every fill in one instrument into signed units and an average price; reducing or
flipping it realizes P&L at the fill price. Amounts here are in the instrument's quote currency; the
engine converts them into the account's currency with its own prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

__all__ = ["AccountBook", "PositionBook"]

_ZERO = Decimal(0)
_PRICE_DIGITS = Decimal("1e-12")  # average prices are kept to 12 decimals


def _trimmed(value: Decimal) -> Decimal:
    """``value`` without trailing zeros after the point (1.065180000000 -> 1.06518), never in E notation."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal if isinstance(exponent, int) and exponent <= 0 else value.quantize(Decimal(1))


@dataclass(slots=True)
class PositionBook:
    """A netted position in one instrument. ``realized_pl`` and ``commission`` are in account currency."""

    instrument: str
    units: Decimal = _ZERO
    average_price: Decimal | None = None
    realized_pl: Decimal = _ZERO
    commission: Decimal = _ZERO

    def apply_fill(self, signed_units: Decimal, price: Decimal) -> Decimal:
        """Net a fill into the position; return the P&L it realizes, in quote currency (unrounded)."""
        if not signed_units:
            return _ZERO
        current = self.units
        if not current or (current > 0) == (signed_units > 0):
            held = abs(current) * (self.average_price or _ZERO)
            self.units = current + signed_units
            self.average_price = _trimmed(
                ((held + abs(signed_units) * price) / abs(self.units)).quantize(_PRICE_DIGITS)
            )
            return _ZERO
        closed = min(abs(signed_units), abs(current))
        direction = 1 if current > 0 else -1
        assert self.average_price is not None
        realized = closed * (price - self.average_price) * direction
        self.units = current + signed_units
        if not self.units:
            self.average_price = None
        elif (self.units > 0) != (current > 0):
            self.average_price = price  # flipped: the remainder opened at this fill's price
        return realized

    def unrealized(self, bid: Decimal, ask: Decimal) -> Decimal:
        """Open P&L in quote currency, valuing longs at the bid and shorts at the ask (what closing gets)."""
        if not self.units or self.average_price is None:
            return _ZERO
        exit_price = bid if self.units > 0 else ask
        return (exit_price - self.average_price) * self.units


@dataclass(slots=True)
class AccountBook:
    """One account's money and positions. ``balance`` moves with realized P&L and commission only."""

    account_id: str
    currency: str
    initial_balance: Decimal
    created_at: datetime
    alias: str = ""
    balance: Decimal = _ZERO
    realized_pl: Decimal = _ZERO
    commission: Decimal = _ZERO
    positions: dict[str, PositionBook] = field(default_factory=dict)

    def position(self, instrument: str) -> PositionBook:
        """The position in ``instrument``, created flat on first use."""
        book = self.positions.get(instrument)
        if book is None:
            book = self.positions[instrument] = PositionBook(instrument)
        return book

    def open_positions(self) -> list[PositionBook]:
        return [book for book in self.positions.values() if book.units]

    def book_fill(self, instrument: str, pl: Decimal, commission: Decimal) -> None:
        """Credit realized P&L and debit commission (both in account currency, already rounded)."""
        book = self.position(instrument)
        book.realized_pl += pl
        book.commission += commission
        self.realized_pl += pl
        self.commission += commission
        self.balance += pl - commission
