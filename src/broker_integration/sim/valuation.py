"""Valuing accounts at the venue's own prices: currency conversion, unrealized P&L and margin.

Amounts in an instrument's quote currency are converted into the account's currency with the venue's
own mid prices (a JPY profit through USD/JPY, say), directly, inverted, or across USD.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from broker_integration.sim.accounts import AccountBook, PositionBook
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.prices import PricePath

__all__ = ["MONEY_QUANTUM", "Valuer"]

#: Account money is kept to four decimals, as OANDA reports it.
MONEY_QUANTUM = Decimal("0.0001")
_ZERO = Decimal(0)


class Valuer:
    """Prices positions and accounts at a given second from the venue's quotes."""

    def __init__(self, specs: Mapping[str, InstrumentSpec], paths: Mapping[str, PricePath]) -> None:
        self._specs = specs
        self._paths = paths

    def mid(self, symbol: str, step: int) -> Decimal:
        path = self._paths[symbol]
        bid, ask = path.quote_at(step)
        return path.price(bid + ask) / 2

    def rate(self, source: str, target: str, step: int) -> Decimal:
        """How many ``target`` one ``source`` buys at ``step``; ValueError when no instrument links them."""
        if source == target:
            return Decimal(1)
        if f"{source}/{target}" in self._paths:
            return self.mid(f"{source}/{target}", step)
        if f"{target}/{source}" in self._paths:
            return 1 / self.mid(f"{target}/{source}", step)
        if "USD" not in (source, target):
            return self.rate(source, "USD", step) * self.rate("USD", target, step)
        raise ValueError(f"this venue lists no instrument to convert {source} into {target}")

    def to_account(self, spec: InstrumentSpec, book: AccountBook, step: int) -> Decimal:
        """The rate from ``spec``'s quote currency into ``book``'s currency."""
        return self.rate(spec.quote_currency, book.currency, step)

    def margin(self, spec: InstrumentSpec, units: Decimal, step: int, rate: Decimal) -> Decimal:
        """Margin for ``units`` of ``spec``: margin rate times notional at the mid, in account currency."""
        return (spec.margin_rate * abs(units) * self.mid(spec.symbol, step) * rate).quantize(MONEY_QUANTUM)

    def position(self, book: AccountBook, position: PositionBook, step: int) -> tuple[Decimal, Decimal]:
        """Unrealized P&L and margin used of one position, in the account's currency."""
        spec = self._specs[position.instrument]
        path = self._paths[spec.symbol]
        bid, ask = path.quote_at(step)
        rate = self.to_account(spec, book, step)
        unrealized = position.unrealized(path.price(bid), path.price(ask)) * rate
        return unrealized.quantize(MONEY_QUANTUM), self.margin(spec, position.units, step, rate)

    def account(self, book: AccountBook, step: int) -> tuple[Decimal, Decimal]:
        """Unrealized P&L and margin used over all the account's open positions."""
        unrealized = margin = _ZERO
        for position in book.open_positions():
            pl, used = self.position(book, position, step)
            unrealized += pl
            margin += used
        return unrealized, margin

    def margin_shortfall(
        self, book: AccountBook, spec: InstrumentSpec, signed_units: Decimal, step: int
    ) -> Decimal:
        """How far a fill of ``signed_units`` would push margin used above NAV; zero or less when it fits,
        and zero for a fill that only reduces the position."""
        held = book.position(spec.symbol).units
        after = held + signed_units
        if abs(after) <= abs(held) and (not after or (after > 0) == (held > 0)):
            return _ZERO
        unrealized, used = self.account(book, step)
        rate = self.to_account(spec, book, step)
        extra = self.margin(spec, after, step, rate) - self.margin(spec, held, step, rate)
        return (used + extra - (book.balance + unrealized)).quantize(MONEY_QUANTUM)
