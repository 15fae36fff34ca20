"""What OANDA shows that the engine does not keep: trades, and how each order ended.

The engine nets fills into positions; OANDA also keeps *trades*: each fill that adds to a position opens
a trade whose id is the fill's transaction id, and a fill against the position closes or reduces the
oldest trades first (reference §1.5, §1.6: ``tradeOpened``, ``tradesClosed``, ``tradeReduced``,
``tradeIDs``). :class:`VenueHistory` reads the engine's transaction log in order (incrementally, so every
fill is seen once, including those of resting orders that filled between requests) and keeps that
ledger, plus the transaction that filled or cancelled each order and the realized P&L of each side.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from broker_integration.models import OrderSide
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.records import Transaction, TransactionType

__all__ = ["FillTrades", "InstrumentLedger", "Mark", "Trade", "TradeChange", "VenueHistory"]

_ZERO = Decimal(0)
_MONEY = Decimal("0.0001")


@dataclass(slots=True)
class Trade:
    """One open trade: ``units`` is signed and shrinks as the trade is reduced; ``initial_units`` does not."""

    trade_id: str
    instrument: str
    units: Decimal
    price: Decimal
    opened_at: datetime
    initial_units: Decimal
    realized_pl: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class TradeChange:
    """A trade touched by a fill: ``units`` is signed as the fill (negative when a sell closes a long)."""

    trade_id: str
    units: Decimal
    price: Decimal
    realized_pl: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class FillTrades:
    """What one fill did to the trades: opened one, reduced one, and/or closed some."""

    opened: TradeChange | None = None
    reduced: TradeChange | None = None
    closed: tuple[TradeChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Mark:
    """The transaction that ended an order's life (its last fill, or its cancel)."""

    transaction_id: int
    time: datetime


@dataclass(slots=True)
class InstrumentLedger:
    """One account's OANDA bookkeeping in one instrument."""

    trades: deque[Trade] = field(default_factory=deque)
    long_pl: Decimal = _ZERO
    short_pl: Decimal = _ZERO
    commission: Decimal = _ZERO

    @property
    def net_units(self) -> Decimal:
        return sum((trade.units for trade in self.trades), _ZERO)


class VenueHistory:
    """The trade ledger and order endings, read from one engine's transaction log."""

    def __init__(self, engine: VenueEngine) -> None:
        self._engine = engine
        self._seen = 0
        self._ledgers: dict[tuple[str, str], InstrumentLedger] = {}
        self._fills: dict[int, FillTrades] = {}
        self._filled: dict[str, Mark] = {}
        self._cancelled: dict[str, Mark] = {}
        self._last_fill: dict[str, datetime] = {}
        self._opened: dict[str, datetime] = {}
        self.catch_up()

    # ------------------------------------------------------------------ reading the log

    def catch_up(self) -> None:
        """Apply every transaction the engine logged since the last call."""
        if self._engine.last_transaction_id == self._seen:
            return
        for transaction in self._engine.transactions(since_id=self._seen):
            self._apply(transaction)
            self._seen = transaction.id

    def _apply(self, transaction: Transaction) -> None:
        kind = transaction.type
        if kind is TransactionType.ORDER_FILL:
            self._apply_fill(transaction)
        elif kind is TransactionType.ORDER_CANCEL and transaction.order_id is not None:
            self._cancelled[transaction.order_id] = Mark(transaction.id, transaction.time)
        elif kind is TransactionType.ACCOUNT_OPEN:
            self._opened[transaction.account_id] = transaction.time

    def _apply_fill(self, fill: Transaction) -> None:
        assert fill.instrument is not None
        assert fill.units is not None
        assert fill.price is not None
        signed = fill.units if fill.side is OrderSide.BUY else -fill.units
        ledger = self.ledger(fill.account_id, fill.instrument)
        pl = fill.pl or _ZERO
        reducing = bool(ledger.trades) and (ledger.trades[0].units > 0) != (signed > 0)
        if reducing:
            if ledger.trades[0].units > 0:
                ledger.long_pl += pl
            else:
                ledger.short_pl += pl
        ledger.commission += fill.commission or _ZERO
        if fill.order_id is not None:
            self._filled[fill.order_id] = Mark(fill.id, fill.time)
        self._last_fill[fill.account_id] = fill.time
        self._fills[fill.id] = _net_fill(ledger, fill, signed, pl if reducing else _ZERO)

    # ------------------------------------------------------------------ queries

    def ledger(self, account_id: str, instrument: str) -> InstrumentLedger:
        key = (account_id, instrument)
        ledger = self._ledgers.get(key)
        if ledger is None:
            ledger = self._ledgers[key] = InstrumentLedger()
        return ledger

    def traded_instruments(self, account_id: str) -> list[str]:
        """Every instrument the account ever traded, in first-trade order (``GET …/positions``)."""
        return [instrument for (account, instrument) in self._ledgers if account == account_id]

    def open_trades(self, account_id: str) -> list[Trade]:
        return [
            t
            for (account, _), ledger in self._ledgers.items()
            if account == account_id
            for t in ledger.trades
        ]

    def fill_trades(self, transaction_id: int) -> FillTrades:
        return self._fills.get(transaction_id, FillTrades())

    def filled_by(self, order_id: str) -> Mark | None:
        return self._filled.get(order_id)

    def cancelled_by(self, order_id: str) -> Mark | None:
        return self._cancelled.get(order_id)

    def last_fill_time(self, account_id: str) -> datetime | None:
        return self._last_fill.get(account_id)

    def opened_at(self, account_id: str) -> datetime | None:
        """When the account was opened (its ACCOUNT_OPEN transaction)."""
        return self._opened.get(account_id)


def _net_fill(ledger: InstrumentLedger, fill: Transaction, signed: Decimal, pl: Decimal) -> FillTrades:
    """Close or reduce the oldest opposite trades first, then open a trade with what is left."""
    assert fill.price is not None
    remaining = abs(signed)
    direction = Decimal(1) if signed > 0 else Decimal(-1)
    touched: list[tuple[Trade, Decimal]] = []
    while remaining and ledger.trades and (ledger.trades[0].units > 0) != (signed > 0):
        trade = ledger.trades[0]
        take = min(remaining, abs(trade.units))
        touched.append((trade, take))
        remaining -= take
        trade.units += take * direction
        if not trade.units:
            ledger.trades.popleft()
    shares = _split(pl, [take for _, take in touched])
    closed: list[TradeChange] = []
    reduced: TradeChange | None = None
    for (trade, take), share in zip(touched, shares, strict=True):
        trade.realized_pl += share
        change = TradeChange(trade.trade_id, take * direction, fill.price, share)
        if trade.units:
            reduced = change
        else:
            closed.append(change)
    opened: TradeChange | None = None
    if remaining:
        assert fill.instrument is not None
        signed_rest = remaining * direction
        ledger.trades.append(
            Trade(str(fill.id), fill.instrument, signed_rest, fill.price, fill.time, signed_rest)
        )
        opened = TradeChange(str(fill.id), remaining * direction, fill.price)
    return FillTrades(opened, reduced, tuple(closed))


def _split(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``total`` shared in proportion to ``weights`` at money precision; the last share takes the rest."""
    if not weights:
        return []
    whole = sum(weights, _ZERO)
    shares = [(total * weight / whole).quantize(_MONEY) for weight in weights[:-1]]
    shares.append(total - sum(shares, _ZERO))
    return shares
