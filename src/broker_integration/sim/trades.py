"""Trades: each fill that opened units is a trade, reduced by later opposite fills, oldest first.

This is the venue-neutral bookkeeping behind OANDA's trades (``tradeOpened``, ``tradeReduced``,
``tradesClosed``, ``…/trades``): a fill against the position closes or reduces the oldest opposite trades
first (FIFO), and what is left of it opens a trade whose id is the fill's transaction id. A fill may
instead target one trade (a trade close), which it then reduces before any other.

The netted position (:class:`~broker_integration.sim.accounts.PositionBook`) stays the book of record for
units, average price and the P&L booked to the balance; a fill's realized P&L is shared among the trades
it touched in proportion to the units it took from each, so the trades' P&L adds up to the position's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from broker_integration.sim.records import TradeChange, TradeEffect, TradeState, TradeView
from broker_integration.sim.valuation import MONEY_QUANTUM

__all__ = ["Fill", "TradeLedger"]

_ZERO = Decimal(0)


@dataclass(slots=True, eq=False)
class _Trade:
    trade_id: str
    account_id: str
    instrument: str
    order_id: str
    price: Decimal
    opened_at: datetime
    initial_units: Decimal
    units: Decimal
    realized_pl: Decimal = _ZERO
    closed_units: Decimal = _ZERO
    close_value: Decimal = _ZERO  # sum of units * price over the fills that reduced it
    closing_ids: list[int] = field(default_factory=list)
    closed_at: datetime | None = None

    def view(self) -> TradeView:
        average = None
        if self.closed_units:
            average = self.close_value / self.closed_units
        return TradeView(
            trade_id=self.trade_id,
            account_id=self.account_id,
            instrument=self.instrument,
            order_id=self.order_id,
            price=self.price,
            opened_at=self.opened_at,
            initial_units=self.initial_units,
            current_units=self.units,
            realized_pl=self.realized_pl,
            state=TradeState.OPEN if self.units else TradeState.CLOSED,
            closed_at=self.closed_at,
            average_close_price=average,
            closing_transaction_ids=tuple(self.closing_ids),
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """What the ledger needs of one fill: its transaction id, order, instrument, signed units, price,
    time, and the P&L it realized (account currency)."""

    transaction_id: int
    order_id: str
    instrument: str
    units: Decimal
    price: Decimal
    time: datetime
    realized_pl: Decimal


class TradeLedger:
    """One account's trades: the open ones per instrument (oldest first) and every trade ever opened."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self._open: dict[str, deque[_Trade]] = {}
        self._all: dict[str, _Trade] = {}

    def apply(self, fill: Fill, *, target: str | None = None) -> TradeEffect:
        """Net ``fill`` into the trades: reduce ``target`` first when given, then the oldest opposite
        trades, then open a trade with what is left."""
        book = self._open.setdefault(fill.instrument, deque())
        direction = Decimal(1) if fill.units > 0 else Decimal(-1)
        remaining = abs(fill.units)
        order = list(book)
        if target is not None and target in self._all and self._all[target] in book:
            order.remove(self._all[target])
            order.insert(0, self._all[target])
        touched: list[tuple[_Trade, Decimal]] = []
        for trade in order:
            if not remaining or (trade.units > 0) == (fill.units > 0):
                break
            take = min(remaining, abs(trade.units))
            touched.append((trade, take))
            remaining -= take
        shares = _split(fill.realized_pl, [take for _, take in touched])
        closed: list[TradeChange] = []
        reduced: TradeChange | None = None
        for (trade, take), share in zip(touched, shares, strict=True):
            trade.units += take * direction
            trade.realized_pl += share
            trade.closed_units += take
            trade.close_value += take * fill.price
            trade.closing_ids.append(fill.transaction_id)
            change = TradeChange(trade.trade_id, take * direction, fill.price, share)
            if trade.units:
                reduced = change
            else:
                trade.closed_at = fill.time
                book.remove(trade)
                closed.append(change)
        opened: TradeChange | None = None
        if remaining:
            trade_id = str(fill.transaction_id)
            signed = remaining * direction
            trade = _Trade(
                trade_id,
                self.account_id,
                fill.instrument,
                fill.order_id,
                fill.price,
                fill.time,
                signed,
                signed,
            )
            book.append(trade)
            self._all[trade_id] = trade
            opened = TradeChange(trade_id, signed, fill.price)
        return TradeEffect(opened, reduced, tuple(closed))

    def get(self, trade_id: str) -> TradeView | None:
        trade = self._all.get(trade_id)
        return None if trade is None else trade.view()

    def trades(self, *, include_closed: bool = False, instrument: str | None = None) -> list[TradeView]:
        """Open trades (every trade with ``include_closed``), oldest first."""
        return [
            trade.view()
            for trade in self._all.values()
            if (include_closed or trade.units) and (instrument is None or trade.instrument == instrument)
        ]


def _split(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``total`` shared in proportion to ``weights`` at money precision; the last share takes the rest."""
    if not weights:
        return []
    whole = sum(weights, _ZERO)
    shares = [(total * weight / whole).quantize(MONEY_QUANTUM) for weight in weights[:-1]]
    shares.append(total - sum(shares, _ZERO))
    return shares
