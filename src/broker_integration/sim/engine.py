"""The simulated venue: accounts, order matching and the transaction log over deterministic prices.

One :class:`VenueEngine` is one broker's back end. Its faces (the in-process paper adapter, the OANDA v20
HTTP simulator) translate requests into calls here and render the protocol-neutral records it returns in
their venue's words. The engine has no threads and no timers: time comes from the injected clock, and
every call first catches up, checking the resting orders against each second since the last call
(coarser over long jumps, see :meth:`VenueEngine.sync`), so stops and limits trigger when the price
crossed them.

Identifiers: one integer sequence per engine numbers the log, in the order things happened, with no
gaps (so "everything after entry n" is a complete answer); an order's id is the id of the entry that
created it and a trade's id the id of the fill that opened it (see :mod:`broker_integration.sim.trades`:
fills reduce the oldest opposite trades, a trade close the one it names). Ids are decimal strings to the
faces, which show them as their venue does: OANDA's v20 numbers orders and transactions the same way,
so its face passes them through; a face whose venue uses UUIDs would derive them from these. Client
order ids are unique per account for the account's lifetime (or, with the profile's
``reuse_closed_client_order_ids``, among its open orders only); replacing an order carries the client id
over to the new order and links the two both ways.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.models import Granularity, OrderSide, OrderType, TimeInForce
from broker_integration.sim.accounts import AccountBook
from broker_integration.sim.candles import build_candles
from broker_integration.sim.errors import UnknownAccountError, UnknownInstrumentError
from broker_integration.sim.faults import FaultPlan
from broker_integration.sim.instruments import InstrumentSpec, default_instruments
from broker_integration.sim.matching import (
    EventKind,
    Window,
    limit_reached,
    next_event,
    stop_reached,
    touch,
    update_trailing,
)
from broker_integration.sim.orders import LiveOrder
from broker_integration.sim.prices import PricePath
from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.records import (
    AccountSnapshot,
    Bar,
    CancelReason,
    CreateReason,
    FillReason,
    OrderChanges,
    OrderOutcome,
    OrderRequest,
    OrderState,
    OrderView,
    PositionSnapshot,
    Quote,
    RejectReason,
    TradeCloseOutcome,
    TradeRejectReason,
    TradeView,
    Transaction,
    TransactionType,
)
from broker_integration.sim.rng import derive_key, exponential, uniform
from broker_integration.sim.trades import Fill, TradeLedger
from broker_integration.sim.validation import Refusal, check_request, check_units
from broker_integration.sim.valuation import MONEY_QUANTUM, Valuer
from broker_integration.symbols import canonical_symbol

__all__ = ["VenueEngine", "step_of", "time_of"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_ZERO = Decimal(0)
_WINDOW_SAMPLES = 8_192  # samples checked per catch-up window
_FINE_SPAN = 2 * 86_400  # catch-ups up to two days check every second
_COUNTER_SPACE = 1 << 20  # per-order counters for random draws: order id * space + draw number

_FILL_REASONS: dict[OrderType, FillReason] = {
    OrderType.MARKET: FillReason.MARKET_ORDER,
    OrderType.LIMIT: FillReason.LIMIT_ORDER,
    OrderType.STOP: FillReason.STOP_ORDER,
    OrderType.STOP_LIMIT: FillReason.STOP_LIMIT_ORDER,
    OrderType.MARKET_IF_TOUCHED: FillReason.MARKET_IF_TOUCHED_ORDER,
    OrderType.TRAILING_STOP: FillReason.TRAILING_STOP_ORDER,
}

#: Orders that only reduce what is held: no margin check, and their own fill reason.
_REDUCING: dict[CreateReason, FillReason] = {
    CreateReason.POSITION_CLOSEOUT: FillReason.MARKET_ORDER_POSITION_CLOSEOUT,
    CreateReason.TRADE_CLOSE: FillReason.MARKET_ORDER_TRADE_CLOSE,
}


def step_of(when: datetime) -> int:
    """The Unix second containing ``when``: the price process's time step."""
    return (when - _EPOCH) // _SECOND


def time_of(step: int) -> datetime:
    """The UTC start of Unix second ``step``."""
    return _EPOCH + timedelta(seconds=step)


def _step_at_or_after(when: datetime) -> int:
    """The first whole Unix second at or after ``when``."""
    return -(-(when - _EPOCH) // _SECOND)


def _catch_up_resolution(span: int) -> int:
    """Sample spacing for a catch-up over ``span`` seconds: at most ~170,000 samples per instrument."""
    for resolution in (1, 60, 3_600):
        if span <= _FINE_SPAN * resolution:
            return resolution
    return 86_400


class VenueEngine:
    """A simulated broker: deterministic prices, accounts, matching and a transaction log.

    ``profile`` sets the seed, spreads, execution quality, commission and faults; ``clock`` supplies
    time (a :class:`~broker_integration.clock.ManualClock` makes everything reproducible). All public
    methods are thread-safe and never block.
    """

    def __init__(
        self,
        profile: VenueProfile | None = None,
        *,
        clock: Clock | None = None,
        instruments: Iterable[InstrumentSpec] | None = None,
    ) -> None:
        self.profile = profile or VenueProfile()
        self.clock: Clock = clock or SYSTEM_CLOCK
        specs = tuple(instruments) if instruments is not None else default_instruments()
        self._specs: dict[str, InstrumentSpec] = {spec.symbol: spec for spec in specs}
        seed = self.profile.seed
        self._paths = {
            spec.symbol: PricePath(spec, seed, spread_multiplier=self.profile.spread_multiplier)
            for spec in specs
        }
        self._valuer = Valuer(self._specs, self._paths)
        self._volume_keys = {spec.symbol: derive_key(seed, "volume", spec.symbol) for spec in specs}
        self._partial_key = derive_key(seed, "execution", "partial")
        self._fraction_key = derive_key(seed, "execution", "fraction")
        self._slippage_key = derive_key(seed, "execution", "slippage")
        self._refusal_key = derive_key(seed, "execution", "refusal")
        self.faults = FaultPlan(self.profile)
        self._lock = threading.RLock()
        self._accounts: dict[str, AccountBook] = {}
        self._orders: dict[int, LiveOrder] = {}
        self._account_orders: dict[str, list[LiveOrder]] = {}
        self._client_ids: dict[str, dict[str, LiveOrder]] = {}
        self._trades: dict[str, TradeLedger] = {}
        self._open: dict[int, LiveOrder] = {}
        self._log: list[Transaction] = []
        self._next_id = 1
        self._synced = step_of(self.clock.now())

    # ================================================================== time

    def sync(self) -> int:
        """Catch up to the clock and return the current second.

        Resting orders are checked against every second since the last call; over a jump of more than two
        days the check uses the path's values every minute (up to 120 days), hour (up to ~20 years) or
        day, so the work stays bounded and a brief excursion between samples can be missed.
        """
        with self._lock:
            now = step_of(self.clock.now())
            if now > self._synced:
                if self._open:
                    self._catch_up(self._synced, now)
                self._synced = now
            return self._synced

    def _now(self) -> tuple[int, datetime]:
        step = self.sync()
        return step, max(self.clock.now(), time_of(step))

    # ================================================================== instruments and prices

    def instruments(self) -> list[InstrumentSpec]:
        """Every listed instrument, in listing order."""
        return list(self._specs.values())

    def instrument(self, symbol: str) -> InstrumentSpec:
        """The listing for ``symbol`` (any spelling :func:`canonical_symbol` accepts)."""
        spec = self._listed(symbol)
        if spec is None:
            raise UnknownInstrumentError(f"this venue does not list {symbol!r}")
        return spec

    def _listed(self, symbol: str) -> InstrumentSpec | None:
        spec = self._specs.get(symbol)
        if spec is None:
            try:
                spec = self._specs.get(canonical_symbol(symbol))
            except (ValueError, TypeError):
                return None
        return spec

    def is_tradeable(self, symbol: str, when: datetime | None = None) -> bool:
        """Whether orders in ``symbol`` are accepted at ``when`` (default now)."""
        return self._market_open(self.instrument(symbol), when or self.clock.now())

    def quote(self, symbol: str) -> Quote:
        """The current top of book."""
        with self._lock:
            step = self.sync()
            return self._quote(self.instrument(symbol), step)

    def quote_at(self, symbol: str, when: datetime) -> Quote:
        """The quote at any moment, past or future: prices are a pure function of time (tests look ahead)."""
        with self._lock:
            return self._quote(self.instrument(symbol), step_of(when))

    def _quote(self, spec: InstrumentSpec, step: int) -> Quote:
        path = self._paths[spec.symbol]
        bid, ask = path.quote_at(step)
        when = time_of(step)
        return Quote(spec.symbol, path.price(bid), path.price(ask), when, self._market_open(spec, when))

    def candles(
        self,
        symbol: str,
        granularity: Granularity,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Bar]:
        """Mid-price candles, oldest first (see :func:`broker_integration.sim.candles.build_candles`)."""
        spec = self.instrument(symbol)
        with self._lock:
            return build_candles(
                self._paths[spec.symbol],
                granularity,
                now=self.sync(),
                volume_key=self._volume_keys[spec.symbol],
                count=count,
                start=None if start is None else _step_at_or_after(start),
                end=None if end is None else _step_at_or_after(end),
            )

    # ================================================================== accounts

    def open_account(
        self,
        account_id: str | None = None,
        *,
        currency: str | None = None,
        balance: Decimal | None = None,
        alias: str = "",
    ) -> AccountSnapshot:
        """Open an account funded with ``balance`` (default: the profile's) in ``currency``."""
        with self._lock:
            step, when = self._now()
            account_id = account_id or f"{self.profile.name}-{len(self._accounts) + 1:03d}"
            if account_id in self._accounts:
                raise ValueError(f"account {account_id!r} exists already")
            currency = (currency or self.profile.currency).upper()
            for spec in self._specs.values():
                self._valuer.rate(spec.quote_currency, currency, step)  # refuse what we cannot value
            funds = (self.profile.initial_balance if balance is None else balance).quantize(MONEY_QUANTUM)
            if funds <= 0:
                raise ValueError("an account needs a positive balance")
            book = AccountBook(account_id, currency, funds, when, alias=alias, balance=funds)
            self._accounts[account_id] = book
            self._account_orders[account_id] = []
            self._client_ids[account_id] = {}
            self._trades[account_id] = TradeLedger(account_id)
            self._record(
                TransactionType.ACCOUNT_OPEN, account_id, when, balance=funds, details={"currency": currency}
            )
            return self._snapshot(book, step, when)

    def has_account(self, account_id: str) -> bool:
        return account_id in self._accounts

    def account(self, account_id: str) -> AccountSnapshot:
        """Balance, NAV, margin and counts of one account, valued at the current quotes."""
        with self._lock:
            step, when = self._now()
            return self._snapshot(self._account(account_id), step, when)

    def accounts(self) -> list[AccountSnapshot]:
        """Every account at this venue, in the order they were opened."""
        with self._lock:
            step, when = self._now()
            return [self._snapshot(book, step, when) for book in self._accounts.values()]

    def positions(self, account_id: str, *, instrument: str | None = None) -> list[PositionSnapshot]:
        """Open (non-flat) positions, optionally in one instrument."""
        with self._lock:
            step = self.sync()
            book = self._account(account_id)
            symbol = None if instrument is None else self.instrument(instrument).symbol
            result = []
            for position in book.open_positions():
                if symbol is not None and position.instrument != symbol:
                    continue
                unrealized, margin = self._valuer.position(book, position, step)
                result.append(
                    PositionSnapshot(
                        account_id=account_id,
                        instrument=position.instrument,
                        units=position.units,
                        average_price=position.average_price,
                        unrealized_pl=unrealized,
                        realized_pl=position.realized_pl,
                        commission=position.commission,
                        margin_used=margin,
                    )
                )
            return result

    def _account(self, account_id: str) -> AccountBook:
        book = self._accounts.get(account_id)
        if book is None:
            raise UnknownAccountError(f"no account {account_id!r} at this venue")
        return book

    def _snapshot(self, book: AccountBook, step: int, when: datetime) -> AccountSnapshot:
        unrealized, margin = self._valuer.account(book, step)
        nav = book.balance + unrealized
        return AccountSnapshot(
            account_id=book.account_id,
            currency=book.currency,
            alias=book.alias,
            balance=book.balance,
            nav=nav,
            unrealized_pl=unrealized,
            realized_pl=book.realized_pl,
            commission=book.commission,
            margin_used=margin,
            margin_available=nav - margin,
            open_position_count=len(book.open_positions()),
            pending_order_count=sum(
                1 for order in self._open.values() if order.account_id == book.account_id
            ),
            last_transaction_id=self._next_id - 1,
            time=when,
        )

    # ================================================================== orders: queries

    def find_order(
        self, account_id: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> OrderView | None:
        """An order by broker id or client order id (the newest order holding it), or ``None``."""
        with self._lock:
            self.sync()
            order = self._resolve(self._account(account_id), order_id, client_order_id)
            return None if order is None else order.view()

    def orders(
        self, account_id: str, *, instrument: str | None = None, include_closed: bool = False
    ) -> list[OrderView]:
        """Pending orders (all orders with ``include_closed``), oldest first."""
        with self._lock:
            self.sync()
            self._account(account_id)
            symbol = None if instrument is None else self.instrument(instrument).symbol
            if include_closed:
                chosen: Iterable[LiveOrder] = self._account_orders[account_id]
            else:  # the open set, in creation order: a busy account's history would make this O(orders ever)
                chosen = (o for o in self._open.values() if o.account_id == account_id and o.is_open)
            return [order.view() for order in chosen if symbol is None or order.instrument == symbol]

    def trades(
        self, account_id: str, *, instrument: str | None = None, include_closed: bool = False
    ) -> list[TradeView]:
        """Open trades (every trade with ``include_closed``), oldest first; see :mod:`.trades`."""
        with self._lock:
            self.sync()
            self._account(account_id)
            symbol = None if instrument is None else self.instrument(instrument).symbol
            return self._trades[account_id].trades(include_closed=include_closed, instrument=symbol)

    def find_trade(self, account_id: str, trade_id: str) -> TradeView | None:
        """A trade (open or closed) by id, or ``None``."""
        with self._lock:
            self.sync()
            self._account(account_id)
            return self._trades[account_id].get(trade_id)

    def transactions(
        self,
        *,
        account_id: str | None = None,
        since_id: int = 0,
        until_id: int | None = None,
        limit: int | None = None,
    ) -> list[Transaction]:
        """Log entries with ids above ``since_id`` (and up to ``until_id``), optionally for one account;
        the first ``limit`` of them when given."""
        with self._lock:
            self.sync()
            start = max(0, since_id)  # ids start at 1 and have no gaps, so id n sits at index n - 1
            end = len(self._log) if until_id is None else max(start, min(len(self._log), until_id))
            found: list[Transaction] = []
            for t in self._log[start:end]:
                if account_id is None or t.account_id == account_id:
                    found.append(t)
                    if limit is not None and len(found) >= limit:
                        break
            return found

    @property
    def last_transaction_id(self) -> int:
        return self._next_id - 1

    def _resolve(
        self, book: AccountBook, order_id: str | None, client_order_id: str | None
    ) -> LiveOrder | None:
        if order_id is not None:
            key = int(order_id) if order_id.isascii() and order_id.isdigit() and len(order_id) < 19 else None
            order = None if key is None else self._orders.get(key)
            return order if order is not None and order.account_id == book.account_id else None
        if client_order_id is not None:
            return self._client_ids[book.account_id].get(client_order_id)
        return None

    # ================================================================== orders: actions

    def submit_order(self, account_id: str, request: OrderRequest) -> OrderOutcome:
        """Place an order. It fills, rests, or is refused; the outcome and the log say which."""
        with self._lock:
            step, when = self._now()
            book = self._account(account_id)
            mark = len(self._log)
            refusal: Refusal | None
            spec = self._listed(request.instrument)
            if spec is None:
                refusal = Refusal(
                    RejectReason.INSTRUMENT_UNKNOWN, f"this venue does not list {request.instrument!r}"
                )
            else:
                refusal = check_request(request, spec, when)
            holder = self._client_ids[account_id].get(request.client_order_id or "")
            if (
                refusal is None
                and holder is not None
                and (holder.is_open or not self.profile.reuse_closed_client_order_ids)
            ):
                refusal = Refusal(
                    RejectReason.CLIENT_ORDER_ID_ALREADY_EXISTS,
                    f"client order id {request.client_order_id!r} is taken by another order",
                )
            if refusal is not None or spec is None:
                assert refusal is not None
                return self._refuse(book, request, refusal, when, mark)
            order = self._create(book, request, spec, when, CreateReason.CLIENT_ORDER)
            if not self._market_open(spec, when):
                self._kill(order, RejectReason.MARKET_HALTED, when, f"the {spec.symbol} market is closed")
            elif (
                self.profile.rejection_rate
                and uniform(self._refusal_key, order.id) < self.profile.rejection_rate
            ):
                self._kill(
                    order, RejectReason.INSUFFICIENT_LIQUIDITY, when, "the venue could not take the order"
                )
            else:
                self._arrive(order, step, when)
            return self._outcome(order, mark)

    def replace_order(
        self,
        account_id: str,
        changes: OrderChanges,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
    ) -> OrderOutcome:
        """Replace a pending order: cancel it and create a new one (new id) with ``changes`` applied.

        The old order gets ``replaced_by_order_id``, the new one ``replaces_order_id`` and the client order
        id. If the new order would be refused, nothing changes.
        """
        with self._lock:
            step, when = self._now()
            book = self._account(account_id)
            mark = len(self._log)
            old = self._resolve(book, order_id, client_order_id)
            if old is None or not old.is_open:
                return self._cancel_refused(book, old, order_id or client_order_id, when, mark)
            spec = self._specs[old.instrument]
            request = _merge(old, changes)
            refusal = check_request(request, spec, when)
            if refusal is None and not self._market_open(spec, when):
                refusal = Refusal(RejectReason.MARKET_HALTED, f"the {spec.symbol} market is closed")
            if refusal is not None:
                return self._refuse(book, request, refusal, when, mark, replacing=old)
            # The cancel takes the next transaction id and the new order the one after it.
            old.replaced_by_order_id = str(self._next_id + 1)
            self._kill(old, CancelReason.CLIENT_REQUEST_REPLACED, when, "replaced")
            new = self._create(book, request, spec, when, CreateReason.REPLACEMENT, replaces=old.key)
            self._arrive(new, step, when)
            return self._outcome(new, mark, previous=old)

    def cancel_order(
        self, account_id: str, order_id: str | None = None, *, client_order_id: str | None = None
    ) -> OrderOutcome:
        """Cancel a pending order; ORDER_DOESNT_EXIST if it is unknown or already final."""
        with self._lock:
            _, when = self._now()
            book = self._account(account_id)
            mark = len(self._log)
            order = self._resolve(book, order_id, client_order_id)
            if order is None or not order.is_open:
                return self._cancel_refused(book, order, order_id or client_order_id, when, mark)
            self._kill(order, CancelReason.CLIENT_REQUEST, when, "cancelled at the client's request")
            return OrderOutcome(order.view(), None, "cancelled", self._since(mark))

    def close_position(self, account_id: str, instrument: str, units: Decimal | None = None) -> OrderOutcome:
        """Close a position, all of it or ``units`` of it, with a market order at the touch."""
        with self._lock:
            step, when = self._now()
            book = self._account(account_id)
            mark = len(self._log)
            spec = self._listed(instrument)
            position = None if spec is None else book.positions.get(spec.symbol)
            side = OrderSide.SELL if position is not None and position.units > 0 else OrderSide.BUY
            size = abs(position.units) if position is not None else _ZERO
            symbol = instrument if spec is None else spec.symbol
            request = OrderRequest(
                symbol, side, units if units is not None else size, time_in_force=TimeInForce.FOK
            )
            refusal: Refusal | None = None
            if spec is None:
                refusal = Refusal(RejectReason.INSTRUMENT_UNKNOWN, f"this venue does not list {instrument!r}")
            elif not size:
                refusal = Refusal(
                    RejectReason.CLOSEOUT_POSITION_DOESNT_EXIST, f"no open position in {instrument}"
                )
            elif units is not None:
                refusal = check_units(units, spec)
                if refusal is None and units > size:
                    refusal = Refusal(
                        RejectReason.CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE,
                        f"cannot close {units} of a {size}-unit position",
                    )
            if refusal is not None or spec is None:
                assert refusal is not None
                return self._refuse(book, request, refusal, when, mark)
            order = self._create(book, request, spec, when, CreateReason.POSITION_CLOSEOUT)
            self._close_at_market(order, spec, step, when)
            return self._outcome(order, mark)

    def close_trade(self, account_id: str, trade_id: str, units: Decimal | None = None) -> TradeCloseOutcome:
        """Close an open trade, all of it or ``units`` of it, with a market order at the touch that
        reduces that trade (not the oldest). TRADE_DOESNT_EXIST for an unknown or closed trade."""
        with self._lock:
            step, when = self._now()
            book = self._account(account_id)
            mark = len(self._log)
            trade = self._trades[account_id].get(trade_id)
            if trade is None or not trade.is_open:
                self._record(
                    TransactionType.ORDER_REJECT,
                    account_id,
                    when,
                    order_type=OrderType.MARKET,
                    time_in_force=TimeInForce.FOK,
                    reason=TradeRejectReason.TRADE_DOESNT_EXIST,
                    details={"message": f"trade {trade_id!r} does not exist", "trade_id": trade_id},
                )
                return TradeCloseOutcome(
                    None,
                    TradeRejectReason.TRADE_DOESNT_EXIST,
                    f"trade {trade_id!r} does not exist",
                    self._since(mark),
                )
            spec = self._specs[trade.instrument]
            size = abs(trade.current_units)
            side = OrderSide.SELL if trade.current_units > 0 else OrderSide.BUY
            request = OrderRequest(
                spec.symbol, side, units if units is not None else size, time_in_force=TimeInForce.FOK
            )
            refusal = None if units is None else check_units(units, spec)
            reason: RejectReason | TradeRejectReason | None = None if refusal is None else refusal.reason
            message = "" if refusal is None else refusal.message
            if reason is None and units is not None and units > size:
                reason = TradeRejectReason.CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE
                message = f"cannot close {units} of a {size}-unit trade"
            if reason is not None:
                self._log_reject(book, request, reason, message, when, details={"trade_id": trade_id})
                return TradeCloseOutcome(None, reason, message, self._since(mark))
            order = self._create(book, request, spec, when, CreateReason.TRADE_CLOSE)
            order.close_trade_id = trade_id
            self._close_at_market(order, spec, step, when)
            done = self._outcome(order, mark)
            return TradeCloseOutcome(done.order, done.reject_reason, done.message, done.transactions)

    # ================================================================== orders: internals

    def _market_open(self, spec: InstrumentSpec, when: datetime) -> bool:
        return not self.profile.enforce_trading_hours or spec.hours.is_open(when)

    def _close_at_market(self, order: LiveOrder, spec: InstrumentSpec, step: int, when: datetime) -> None:
        """Fill a closing order whole at the market now, or cancel it MARKET_HALTED when the market is shut."""
        if not self._market_open(spec, when):
            self._kill(order, RejectReason.MARKET_HALTED, when, f"the {spec.symbol} market is closed")
        else:
            bid, ask = self._paths[spec.symbol].quote_at(step)
            order.live_step = step
            self._fill(order, order.units, self._market_ticks(order, bid, ask), step, when)

    def _refuse(
        self,
        book: AccountBook,
        request: OrderRequest,
        refusal: Refusal,
        when: datetime,
        mark: int,
        *,
        replacing: LiveOrder | None = None,
    ) -> OrderOutcome:
        """Log an ORDER_REJECT for a request that never becomes an order (a replacement's old order stays)."""
        self._log_reject(book, request, refusal.reason, refusal.message, when, replacing=replacing)
        previous = None if replacing is None else replacing.view()
        return OrderOutcome(None, refusal.reason, refusal.message, self._since(mark), previous=previous)

    def _log_reject(
        self,
        book: AccountBook,
        request: OrderRequest,
        reason: RejectReason | TradeRejectReason,
        message: str,
        when: datetime,
        *,
        replacing: LiveOrder | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        self._record(
            TransactionType.ORDER_REJECT,
            book.account_id,
            when,
            client_order_id=request.client_order_id,
            instrument=request.instrument,
            side=request.side,
            units=request.units,
            order_type=request.order_type,
            time_in_force=request.effective_time_in_force,
            reason=reason,
            replaces_order_id=None if replacing is None else replacing.key,
            details={"message": message, **(details or {})},
        )

    def _cancel_refused(
        self, book: AccountBook, order: LiveOrder | None, reference: str | None, when: datetime, mark: int
    ) -> OrderOutcome:
        message = (
            f"order {reference!r} does not exist"
            if order is None
            else f"order {order.key} is {order.state.value.lower()}"
        )
        self._record(
            TransactionType.ORDER_CANCEL_REJECT,
            book.account_id,
            when,
            order_id=None if order is None else order.key,
            client_order_id=None if order is None else order.client_order_id,
            reason=RejectReason.ORDER_DOESNT_EXIST,
            details={"message": message, "reference": reference},
        )
        return OrderOutcome(
            None if order is None else order.view(),
            RejectReason.ORDER_DOESNT_EXIST,
            message,
            self._since(mark),
        )

    def _create(
        self,
        book: AccountBook,
        request: OrderRequest,
        spec: InstrumentSpec,
        when: datetime,
        reason: CreateReason,
        *,
        replaces: str | None = None,
    ) -> LiveOrder:
        path = self._paths[spec.symbol]
        tif = request.effective_time_in_force
        expire_time = request.expire_time if tif is TimeInForce.GTD else None
        if tif is TimeInForce.DAY:
            expire_time = spec.hours.day_end(when)
        order = LiveOrder(
            id=self._next_id,
            account_id=book.account_id,
            instrument=spec.symbol,
            side=request.side,
            order_type=request.order_type,
            units=request.units,
            time_in_force=tif,
            tick=spec.tick_size,
            created_at=when,
            create_reason=reason,
            client_order_id=request.client_order_id,
            price_ticks=None if request.price is None else path.ticks(request.price),
            stop_ticks=None if request.stop_price is None else path.ticks(request.stop_price),
            trailing_ticks=None
            if request.trailing_distance is None
            else path.ticks(request.trailing_distance),
            gtd_time=request.expire_time if tif is TimeInForce.GTD else None,
            expire_time=expire_time,
            expire_step=None if expire_time is None else _step_at_or_after(expire_time),
            replaces_order_id=replaces,
        )
        self._orders[order.id] = order
        self._open[order.id] = order
        self._account_orders[book.account_id].append(order)
        if order.client_order_id is not None:
            self._client_ids[book.account_id][order.client_order_id] = order
        self._record_order(
            TransactionType.ORDER_CREATE,
            order,
            when,
            units=order.units,
            price=request.price if request.price is not None else request.stop_price,
            order_type=order.order_type,
            time_in_force=tif,
            reason=reason,
            replaces_order_id=replaces,
            details=_order_details(request, expire_time),
        )
        return order

    def _kill(self, order: LiveOrder, reason: CancelReason | RejectReason, when: datetime, note: str) -> None:
        """End an open order without (further) fills."""
        order.state = OrderState.CANCELLED
        order.cancel_reason = reason
        order.note = note
        order.updated_at = when
        self._open.pop(order.id, None)
        self._record_order(
            TransactionType.ORDER_CANCEL,
            order,
            when,
            units=order.remaining,
            reason=reason,
            replaced_by_order_id=order.replaced_by_order_id,
            details={"message": note},
        )

    def _arrive(self, order: LiveOrder, step: int, when: datetime) -> None:
        """Execute what a new order can execute now; leave the rest resting or kill it, by time in force."""
        bid, ask = self._paths[order.instrument].quote_at(step)
        kind, tif = order.order_type, order.time_in_force
        order.live_step = step
        if kind is OrderType.MARKET:
            self._take(order, self._market_ticks(order, bid, ask), step, when)
            return
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and stop_reached(order, bid, ask):
            if kind is OrderType.STOP:
                self._fill(order, order.remaining, self._market_ticks(order, bid, ask), step, when)
                return
            order.state = OrderState.TRIGGERED
        if kind is OrderType.MARKET_IF_TOUCHED and limit_reached(order, bid, ask):
            self._fill(order, order.remaining, self._market_ticks(order, bid, ask), step, when)
            return
        if kind is OrderType.TRAILING_STOP:
            order.trail_extreme = touch(order, bid, ask)
        if kind is not OrderType.LIMIT and order.state is not OrderState.TRIGGERED:
            return  # a stop, market-if-touched or trailing stop that waits for its level
        if limit_reached(order, bid, ask):
            self._take(order, touch(order, bid, ask), step, when)  # marketable: at the touch, not the limit
        elif tif is TimeInForce.FOK:
            self._kill(order, RejectReason.FOK_NOT_FILLED, when, "the limit price is not marketable now")
        elif tif is TimeInForce.IOC:
            self._kill(order, RejectReason.IOC_NOT_FILLED, when, "the limit price is not marketable now")

    def _take(self, order: LiveOrder, price_ticks: int, step: int, when: datetime) -> None:
        """Fill what the book offers now at ``price_ticks``, as the time in force allows: FOK all or
        nothing, IOC what there is with the rest cancelled, a resting order what there is."""
        units = self._available_units(order)
        if order.time_in_force is TimeInForce.FOK and units < order.remaining:
            self._kill(
                order, RejectReason.FOK_NOT_FILLED, when, f"only {units} of {order.units} could fill now"
            )
        elif (
            self._fill(order, units, price_ticks, step, when)
            and order.is_open
            and order.time_in_force is TimeInForce.IOC
        ):
            self._kill(
                order, CancelReason.IOC_REMAINDER, when, f"filled {order.filled_units}; the rest cancelled"
            )

    def _available_units(self, order: LiveOrder) -> Decimal:
        """How much of the order the book can take now: all of it, or with the profile's partial-fill
        probability a random fraction (on the quantity increment, at least one increment)."""
        probability = self.profile.partial_fill_probability
        remaining = order.remaining
        if probability <= 0:
            return remaining
        order.liquidity_draws += 1
        counter = order.id * _COUNTER_SPACE + order.liquidity_draws
        if uniform(self._partial_key, counter) >= probability:
            return remaining
        low = self.profile.partial_fill_min_fraction
        fraction = Decimal(repr(round(low + (1 - low) * uniform(self._fraction_key, counter), 6)))
        step = self._specs[order.instrument].instrument.quantity_increment
        units = (remaining * fraction / step).to_integral_value(ROUND_FLOOR) * step
        return min(remaining, max(step, units))

    def _market_ticks(self, order: LiveOrder, bid: int, ask: int) -> int:
        """The fill price of a market execution: the touch, moved against the order by random slippage
        (exponential with mean ``slippage_bps``)."""
        price = touch(order, bid, ask)
        bps = self.profile.slippage_bps
        if bps <= 0:
            return price
        draw = exponential(self._slippage_key, order.id * _COUNTER_SPACE + len(order.fill_ids))
        slip = round(price * bps / 10_000 * draw)
        return price + slip if order.is_buy else max(1, price - slip)

    def _fill(self, order: LiveOrder, units: Decimal, price_ticks: int, step: int, when: datetime) -> bool:
        """Execute ``units`` of ``order`` at ``price_ticks``; False (and the order killed) on a margin call."""
        book = self._accounts[order.account_id]
        spec = self._specs[order.instrument]
        path = self._paths[spec.symbol]
        price = path.price(price_ticks)
        signed = units if order.is_buy else -units
        position = book.position(spec.symbol)
        rate = self._valuer.to_account(spec, book, step)
        if order.create_reason not in _REDUCING:
            shortfall = self._valuer.margin_shortfall(book, spec, signed, step)
            if shortfall > 0:
                self._kill(
                    order,
                    RejectReason.INSUFFICIENT_MARGIN,
                    when,
                    f"margin short by {shortfall} {book.currency}",
                )
                return False
        commission = self.profile.commission.charge(units, units * price * rate)
        realized = (position.apply_fill(signed, price) * rate).quantize(MONEY_QUANTUM)
        book.book_fill(spec.symbol, realized, commission)
        order.filled_units += units
        order.fill_value += units * price
        order.commission += commission
        order.updated_at = when
        if not order.remaining:
            order.state = OrderState.FILLED
            self._open.pop(order.id, None)
        bid, ask = path.quote_at(step)
        reason = _REDUCING.get(order.create_reason, _FILL_REASONS[order.order_type])
        trades = self._trades[book.account_id].apply(
            Fill(self._next_id, order.key, spec.symbol, signed, price, when, realized),
            target=order.close_trade_id,
        )
        transaction = self._record_order(
            TransactionType.ORDER_FILL,
            order,
            when,
            units=units,
            price=price,
            order_type=order.order_type,
            reason=reason,
            pl=realized,
            commission=commission,
            balance=book.balance,
            trades=trades,
            details={
                "bid": path.price(bid),
                "ask": path.price(ask),
                "position_units": position.units,
                "quote_home_rate": rate,
            },
        )
        order.fill_ids.append(transaction.id)
        return True

    def _outcome(self, order: LiveOrder, mark: int, *, previous: LiveOrder | None = None) -> OrderOutcome:
        view = order.view()
        refused = order.cancel_reason if isinstance(order.cancel_reason, RejectReason) else None
        if refused is not None:
            message = order.note
        elif order.state is OrderState.FILLED:
            message = f"filled {order.filled_units} at {view.average_fill_price}"
        elif order.is_open:
            message = (
                f"resting; filled {order.filled_units} of {order.units}" if order.filled_units else "resting"
            )
        else:
            message = order.note
        return OrderOutcome(
            view, refused, message, self._since(mark), previous=None if previous is None else previous.view()
        )

    def _since(self, mark: int) -> tuple[Transaction, ...]:
        return tuple(self._log[mark:])

    def _record(self, kind: TransactionType, account_id: str, when: datetime, **fields: Any) -> Transaction:
        if "details" in fields:
            fields["details"] = MappingProxyType(dict(fields["details"]))
        transaction = Transaction(id=self._next_id, type=kind, time=when, account_id=account_id, **fields)
        self._next_id += 1
        self._log.append(transaction)
        return transaction

    def _record_order(
        self, kind: TransactionType, order: LiveOrder, when: datetime, **fields: Any
    ) -> Transaction:
        """Log a transaction about ``order``: its account, ids, instrument and side, plus ``fields``."""
        return self._record(
            kind,
            order.account_id,
            when,
            order_id=order.key,
            client_order_id=order.client_order_id,
            instrument=order.instrument,
            side=order.side,
            **fields,
        )

    # ================================================================== catch-up

    def _catch_up(self, last: int, now: int) -> None:
        resolution = _catch_up_resolution(now - last)
        cursor = last
        while cursor < now and self._open:
            first = (cursor // resolution + 1) * resolution
            final = min(now, first + resolution * (_WINDOW_SAMPLES - 1))
            steps = np.arange(first, final + 1, resolution, dtype=np.int64)
            if final == now and (steps.size == 0 or int(steps[-1]) != now):
                steps = np.append(steps, np.int64(now))
            self._run_window(steps, cursor, resolution)
            cursor = final

    def _window(self, symbol: str, steps: npt.NDArray[np.int64], before: int, resolution: int) -> Window:
        spec = self._specs[symbol]
        path = self._paths[symbol]
        bid, ask = path.quote_ticks(steps, path.sampled_log_mids(steps, resolution))
        if self.profile.enforce_trading_hours:
            return Window(steps, bid, ask, spec.hours.open_mask(steps), spec.hours.is_open(time_of(before)))
        return Window(steps, bid, ask, np.ones(steps.shape, dtype=np.bool_), True)

    def _run_window(self, steps: npt.NDArray[np.int64], before: int, resolution: int) -> None:
        """Process every expiry and trigger in one window, in time order (ties: expiry first, then id)."""
        resting = list(self._open.values())
        windows = {
            symbol: self._window(symbol, steps, before, resolution)
            for symbol in {o.instrument for o in resting}
        }
        queue: list[tuple[int, EventKind, int]] = []
        for order in resting:
            event = next_event(order, windows[order.instrument], 0)
            if event is not None:
                queue.append((event[0], event[1], order.id))
        heapq.heapify(queue)
        while queue:
            index, kind, order_id = heapq.heappop(queue)
            order = self._orders[order_id]
            if not order.is_open:
                continue
            window = windows[order.instrument]
            step = int(window.steps[index])
            when = time_of(step)
            if kind is EventKind.EXPIRE:
                self._kill(
                    order, CancelReason.TIME_IN_FORCE_EXPIRED, when, f"expired ({order.time_in_force.value})"
                )
                continue
            resume = self._trigger(order, window, index, step, when)
            if resume is not None and order.is_open:
                event = next_event(order, window, resume)
                if event is not None:
                    heapq.heappush(queue, (event[0], event[1], order.id))
        for order in resting:
            if order.is_open:
                update_trailing(order, windows[order.instrument])

    def _trigger(self, order: LiveOrder, window: Window, index: int, step: int, when: datetime) -> int | None:
        """Act on a triggered resting order; return the sample to look again from if it stays open."""
        bid, ask = int(window.bid[index]), int(window.ask[index])
        kind = order.order_type
        if kind in (OrderType.STOP, OrderType.MARKET_IF_TOUCHED, OrderType.TRAILING_STOP):
            self._fill(order, order.remaining, self._market_ticks(order, bid, ask), step, when)
            return None
        if kind is OrderType.STOP_LIMIT and order.state is OrderState.PENDING:
            order.state = OrderState.TRIGGERED
            order.live_step = step
            order.updated_at = when
            return index  # now a limit: it may fill at this very sample
        # A resting limit fills at its price, or at the touch when it just went live or the market gapped.
        assert order.price_ticks is not None
        at_touch = step == order.live_step or window.gapped(index)
        price = touch(order, bid, ask) if at_touch else order.price_ticks
        if self._fill(order, self._available_units(order), price, step, when) and order.is_open:
            return index + 1
        return None


def _merge(old: LiveOrder, changes: OrderChanges) -> OrderRequest:
    """The request for the order that replaces ``old``: its fields, overridden by ``changes``."""
    tif = changes.time_in_force or old.time_in_force
    if changes.expire_time is not None:
        expire_time: datetime | None = changes.expire_time
    else:
        expire_time = old.gtd_time if tif is TimeInForce.GTD else None
    tick = old.tick
    return OrderRequest(
        instrument=old.instrument,
        side=old.side,
        units=changes.units if changes.units is not None else old.remaining,
        order_type=old.order_type,
        price=changes.price if changes.price is not None else _price(old.price_ticks, tick),
        stop_price=changes.stop_price if changes.stop_price is not None else _price(old.stop_ticks, tick),
        trailing_distance=(
            changes.trailing_distance
            if changes.trailing_distance is not None
            else _price(old.trailing_ticks, tick)
        ),
        time_in_force=tif,
        expire_time=expire_time,
        client_order_id=old.client_order_id,
    )


def _price(ticks: int | None, tick: Decimal) -> Decimal | None:
    return None if ticks is None else tick * ticks


def _order_details(request: OrderRequest, expire_time: datetime | None) -> dict[str, object]:
    details: dict[str, object] = {}
    if request.order_type is OrderType.STOP_LIMIT:
        details["stop_price"] = request.stop_price
    if request.trailing_distance is not None:
        details["trailing_distance"] = request.trailing_distance
    if expire_time is not None:
        details["expire_time"] = expire_time
    return details
