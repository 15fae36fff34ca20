"""What OANDA shows that the engine's records do not say outright: how each order ended, and P&L by side.

:class:`VenueHistory` reads the engine's transaction log in order (incrementally, so every fill is seen
once, including those of resting orders that filled between requests) and keeps the transaction that
filled or cancelled each order, the realized P&L of each side of each position (a fill that reduced
trades realized it on the side it reduced), commission, and when each account was opened and last
filled. Trades themselves are the engine's (:mod:`broker_integration.sim.trades`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from broker_integration.models import OrderSide
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.records import TradeEffect, Transaction, TransactionType

__all__ = ["InstrumentLedger", "Mark", "VenueHistory"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Mark:
    """The transaction that ended an order's life (its last fill, or its cancel)."""

    transaction_id: int
    time: datetime
    trades: TradeEffect | None = None  # what the last fill did to the trades


@dataclass(slots=True)
class InstrumentLedger:
    """One account's realized P&L by side, and commission, in one instrument."""

    long_pl: Decimal = _ZERO
    short_pl: Decimal = _ZERO
    commission: Decimal = _ZERO


class VenueHistory:
    """Order endings and side P&L, read from one engine's transaction log."""

    def __init__(self, engine: VenueEngine) -> None:
        self._engine = engine
        self._seen = 0
        self._ledgers: dict[tuple[str, str], InstrumentLedger] = {}
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
        ledger = self.ledger(fill.account_id, fill.instrument)
        trades = fill.trades
        if trades is not None and (trades.reduced is not None or trades.closed):
            if fill.side is OrderSide.SELL:  # a sell reduces longs
                ledger.long_pl += fill.pl or _ZERO
            else:
                ledger.short_pl += fill.pl or _ZERO
        ledger.commission += fill.commission or _ZERO
        if fill.order_id is not None:
            self._filled[fill.order_id] = Mark(fill.id, fill.time, fill.trades)
        self._last_fill[fill.account_id] = fill.time

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

    def filled_by(self, order_id: str) -> Mark | None:
        return self._filled.get(order_id)

    def cancelled_by(self, order_id: str) -> Mark | None:
        return self._cancelled.get(order_id)

    def last_fill_time(self, account_id: str) -> datetime | None:
        return self._last_fill.get(account_id)

    def opened_at(self, account_id: str) -> datetime | None:
        """When the account was opened (its ACCOUNT_OPEN transaction)."""
        return self._opened.get(account_id)
