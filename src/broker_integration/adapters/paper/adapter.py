"""The embedded paper broker: :class:`BrokerAdapter` over an in-process :class:`VenueEngine`.

No credentials, no network. Options in ``config.options`` configure the venue: any
:class:`~broker_integration.sim.profile.VenueProfile` field (``seed``, ``spread_multiplier``,
``commission``, ``latency`` ...) or a ``preset`` name, plus this adapter's own ``account_id``,
``alias`` and ``poll_interval`` (seconds between price polls when streaming); they are read through
:class:`~broker_integration.adapters.paper.config.PaperOptions`, so a misspelt one is an error. The profile's latency is
slept with ``asyncio.sleep`` and its transient faults are raised before the engine is touched, so a
faulted order was never placed; only a lost response (``OutcomeUnknownError``) comes after execution.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from broker_integration.adapters.paper.config import ADAPTER_KEYS, PaperOptions
from broker_integration.adapters.paper.errors import (
    ANSWERED_FAULTS,
    FAULT_ERRORS,
    FAULT_HTTP_STATUS,
    SIMULATOR_ERROR_ACTIONS,
    SIMULATOR_ERROR_CODES,
    reason_error,
)
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerLimits
from broker_integration.clock import Clock
from broker_integration.errors import (
    BrokerError,
    BrokerTimeoutError,
    InvalidInstrumentError,
    OrderNotFoundError,
    OutcomeUnknownError,
    UnsupportedOperationError,
    error_class_for,
    make_error,
)
from broker_integration.events import EventBus
from broker_integration.models import (
    Account,
    AccountSummary,
    Candle,
    Granularity,
    HealthState,
    HealthStatus,
    Instrument,
    Order,
    OrderModification,
    OrderResult,
    OrderStatus,
    OrderTrace,
    OrderTraceStatus,
    OrderUpdate,
    OrderUpdateKind,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability, Operation
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.errors import SimulatorError
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.records import (
    CancelReason,
    OrderChanges,
    OrderOutcome,
    OrderRequest,
    OrderView,
    PositionSnapshot,
    RejectReason,
    Transaction,
    TransactionType,
)
from broker_integration.sim.validation import CONTINUOUS_TIME_IN_FORCE

__all__ = ["DEFAULT_ACCOUNT_ID", "PaperBrokerAdapter"]

#: The account a paper adapter trades in when neither options nor credentials name one.
DEFAULT_ACCOUNT_ID = "paper-001"

#: Order status of a final order by the reason it was cancelled (refusals are REJECTED).
_CANCELLED_STATUS: Mapping[CancelReason, OrderStatus] = {
    CancelReason.CLIENT_REQUEST: OrderStatus.CANCELLED,
    CancelReason.CLIENT_REQUEST_REPLACED: OrderStatus.CANCELLED,
    CancelReason.IOC_REMAINDER: OrderStatus.CANCELLED,
    CancelReason.TIME_IN_FORCE_EXPIRED: OrderStatus.EXPIRED,
}


class PaperBrokerAdapter(BrokerAdapter):
    """A simulated broker in the same process: real matching, positions and P&L over simulated prices.

    Pass ``engine`` to share one venue between several adapters (several accounts at one broker);
    otherwise each adapter builds its own from ``config.options``.
    """

    broker_name: ClassVar[str] = "paper"
    #: The venue runs in this process: an order is in its book the moment the engine took it, or never.
    absence_grace_seconds = 0.0
    #: In-process: nothing to protect from overload, so the limits only stop runaway loops.
    default_limits: ClassVar[BrokerLimits | None] = BrokerLimits(
        requests_per_second=100_000, max_orders_per_second=100_000
    )
    capabilities: ClassVar[frozenset[BrokerCapability] | None] = frozenset(
        {
            BrokerCapability.MARKET_ORDERS,
            BrokerCapability.LIMIT_ORDERS,
            BrokerCapability.STOP_ORDERS,
            BrokerCapability.STOP_LIMIT_ORDERS,
            BrokerCapability.MARKET_IF_TOUCHED_ORDERS,
            BrokerCapability.TRAILING_STOP_ORDERS,
            BrokerCapability.MODIFY_ORDERS,
            BrokerCapability.CANCEL_ORDERS,
            BrokerCapability.ORDER_LISTING,
            BrokerCapability.CLIENT_ORDER_ID_LOOKUP,
            BrokerCapability.POSITIONS,
            BrokerCapability.CLOSE_POSITION,
            BrokerCapability.CURRENT_PRICES,
            BrokerCapability.STREAMING_PRICES,
            BrokerCapability.ORDER_UPDATES,
            BrokerCapability.HISTORICAL_DATA,
            BrokerCapability.ACCOUNT_SUMMARY,
            BrokerCapability.MULTIPLE_ACCOUNTS,
            BrokerCapability.INSTRUMENTS,
            BrokerCapability.PARTIAL_FILLS,
            BrokerCapability.FRACTIONAL_QUANTITY,
            BrokerCapability.HEALTH_CHECK,
        }
    )
    #: The engine's (continuous trading: no opening or closing auction).
    supported_time_in_force: ClassVar[frozenset[TimeInForce] | None] = CONTINUOUS_TIME_IN_FORCE

    def __init__(
        self,
        config: BrokerConfiguration | None = None,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
        engine: VenueEngine | None = None,
    ) -> None:
        self.options = PaperOptions.from_configuration(config)
        super().__init__(config, event_bus=event_bus, clock=clock)
        credentials_account = config.credentials.account_id if config is not None else None
        self.account_id: str = self.options.account_id or credentials_account or DEFAULT_ACCOUNT_ID
        self._poll_interval = self.options.poll_interval
        if engine is None:
            engine = VenueEngine(self.options.venue or VenueProfile(), clock=self.clock)
        elif self.options.venue is not None:
            venue_keys = sorted(key for key in config.options if key not in ADAPTER_KEYS) if config else []
            raise ValueError(f"options {venue_keys} configure a venue; they cannot apply to a shared engine")
        self.engine = engine
        if not engine.has_account(self.account_id):
            engine.open_account(self.account_id, alias=self.options.alias)
        self._disconnects = 0

    @property
    def profile(self) -> VenueProfile:
        return self.engine.profile

    # ------------------------------------------------------------------ session

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        """Always succeeds: the paper broker needs no credentials and ignores any it is given."""
        return True

    async def disconnect(self) -> None:
        """Ends any open price streams; the venue and its accounts stay as they are."""
        self._disconnects += 1

    async def health_check(self) -> HealthStatus:
        start = self.clock.monotonic_ns()
        try:
            await self._enter(Operation.HEALTH_CHECK)
            snapshot = self.engine.account(self.account_id)
        except BrokerError as exc:
            return HealthStatus(state=HealthState.DOWN, checked_at=self.clock.now(), message=str(exc.error))
        return HealthStatus(
            state=HealthState.HEALTHY,
            checked_at=self.clock.now(),
            latency_ms=(self.clock.monotonic_ns() - start) / 1e6,
            message=f"paper venue {self.profile.name!r} is up",
            details={
                "venue": self.profile.name,
                "seed": self.profile.seed,
                "account_id": self.account_id,
                "pending_orders": snapshot.pending_order_count,
                "last_transaction_id": snapshot.last_transaction_id,
            },
        )

    # ------------------------------------------------------------------ orders

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        if order.take_profit is not None or order.stop_loss is not None:
            raise UnsupportedOperationError(
                "the paper broker does not attach take-profit/stop-loss orders on fill", broker_name=self.name
            )
        fault = await self._enter(Operation.PLACE_ORDER)
        request = OrderRequest(
            instrument=order.instrument,
            side=order.side,
            units=order.units,
            order_type=order.order_type,
            price=order.price,
            stop_price=order.stop_price,
            trailing_distance=order.trailing_distance,
            time_in_force=order.time_in_force,
            expire_time=order.expire_time,
            client_order_id=order.order_id,
        )
        with self._translated():
            outcome = self.engine.submit_order(order.account_id or self.account_id, request)
        self._leave(fault, Operation.PLACE_ORDER)
        return self._result(outcome)

    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        """Replace the order (as OANDA does): the result carries the new order id and ``replaces_order_id``."""
        if modification.take_profit is not None or modification.stop_loss is not None:
            raise UnsupportedOperationError(
                "the paper broker does not attach take-profit/stop-loss orders", broker_name=self.name
            )
        fault = await self._enter(Operation.MODIFY_ORDER)
        changes = OrderChanges(
            units=modification.quantity,
            price=modification.price,
            stop_price=modification.stop_price,
            trailing_distance=modification.trailing_distance,
            time_in_force=modification.time_in_force,
            expire_time=modification.expire_time,
        )
        with self._translated():
            outcome = self.engine.replace_order(self.account_id, changes, **self._reference(order_id))
        self._leave(fault, Operation.MODIFY_ORDER)
        replaced = outcome.previous.order_id if outcome.previous is not None and outcome.ok else None
        return self._result(outcome, replaces=replaced)

    async def cancel_order(self, order_id: str) -> OrderResult:
        fault = await self._enter(Operation.CANCEL_ORDER)
        with self._translated():
            outcome = self.engine.cancel_order(self.account_id, **self._reference(order_id))
        self._leave(fault, Operation.CANCEL_ORDER)
        return self._result(outcome)

    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        fault = await self._enter(Operation.CLOSE_POSITION)
        with self._translated():
            symbol = self.engine.instrument(instrument).symbol
            outcome = self.engine.close_position(self.account_id, symbol, quantity)
        self._leave(fault, Operation.CLOSE_POSITION)
        return self._result(outcome)

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        await self._enter(Operation.GET_ORDERS)
        with self._translated():
            views = self.engine.orders(self.account_id, instrument=instrument, include_closed=include_closed)
        return [_order(view) for view in views]

    async def get_order(self, order_id: str) -> Order:
        """By the broker's order id or the client order id (the live order after replaces)."""
        await self._enter(Operation.GET_ORDER)
        with self._translated():
            view = self.engine.find_order(self.account_id, **self._reference(order_id))
        if view is None:
            raise OrderNotFoundError(f"no order with id {order_id!r}", broker_name=self.name)
        return _order(view)

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """The engine is the venue, in this process: its order book settles whether an order was placed."""
        await self._enter(Operation.TRACE_ORDER)
        with self._translated():
            view = self.engine.find_order(self.account_id, client_order_id=client_order_id)
        if view is None:
            return OrderTrace(
                status=OrderTraceStatus.ABSENT,
                evidence=f"the paper venue's order book holds no order with client id {client_order_id}",
            )
        order = _order(view)
        return OrderTrace(status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id)

    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        await self._enter(Operation.GET_POSITIONS)
        with self._translated():
            snapshots = self.engine.positions(self.account_id, instrument=instrument)
        return [_position(snapshot) for snapshot in snapshots]

    # ------------------------------------------------------------------ market data

    async def get_current_price(self, instrument: str) -> PriceTick:
        await self._enter(Operation.GET_CURRENT_PRICE)
        with self._translated():
            return self.engine.quote(instrument).price_tick()

    async def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        await self._enter(Operation.GET_CURRENT_PRICES)
        with self._translated():
            ticks = [self.engine.quote(symbol).price_tick() for symbol in instruments]
        return {tick.instrument: tick for tick in ticks}

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        """Yields each instrument's quote when it changes (the current ones first), polling the venue
        every ``poll_interval`` seconds, until the consumer stops or the adapter disconnects."""
        await self._enter(Operation.STREAM_PRICES)
        with self._translated():
            symbols = [self.engine.instrument(symbol).symbol for symbol in instruments]
        if not symbols:
            raise InvalidInstrumentError("stream_prices needs at least one instrument", broker_name=self.name)
        session = self._disconnects
        last: dict[str, tuple[Decimal, Decimal, bool]] = {}
        while session == self._disconnects:
            for symbol in symbols:
                quote = self.engine.quote(symbol)
                state = (quote.bid, quote.ask, quote.tradeable)
                if last.get(symbol) != state:
                    last[symbol] = state
                    yield quote.price_tick()
            await asyncio.sleep(self._poll_interval)

    async def stream_order_updates(self) -> AsyncIterator[OrderUpdate]:
        """The account's order changes from the venue's log, polled every ``poll_interval`` seconds, until
        the consumer stops or the adapter disconnects."""
        await self._enter(Operation.STREAM_ORDER_UPDATES)
        session = self._disconnects
        since = self.engine.last_transaction_id
        filled: dict[str, Decimal] = {}
        while session == self._disconnects:
            for transaction in self.engine.transactions(account_id=self.account_id, since_id=since):
                since = transaction.id
                update = self._order_update(transaction, filled)
                if update is not None:
                    yield update
            await asyncio.sleep(self._poll_interval)

    def _order_update(self, t: Transaction, filled: dict[str, Decimal]) -> OrderUpdate | None:
        """One log entry as an order update; ``filled`` keeps each order's fills to tell partial from full."""
        if t.order_id is None:
            return None
        common = {"broker_order_id": t.order_id, "client_order_id": t.client_order_id, "time": t.time}
        if t.type is TransactionType.ORDER_CREATE:
            return OrderUpdate(
                kind=OrderUpdateKind.ACCEPTED,
                instrument=t.instrument,
                side=t.side,
                remaining_quantity=t.units,
                reason=t.reason.value if t.reason else "",
                account_id=t.account_id,
                **common,
            )
        if t.type is TransactionType.ORDER_REJECT:
            return OrderUpdate(
                kind=OrderUpdateKind.REJECTED,
                instrument=t.instrument,
                side=t.side,
                reason=t.reason.value if t.reason else "",
                account_id=t.account_id,
                **common,
            )
        if t.type is TransactionType.ORDER_FILL and t.units and t.price:
            view = self.engine.find_order(self.account_id, t.order_id)
            total = filled.get(t.order_id, Decimal(0)) + t.units
            full = view is None or total >= view.units
            filled[t.order_id] = total
            return OrderUpdate(
                kind=OrderUpdateKind.FILLED if full else OrderUpdateKind.PARTIALLY_FILLED,
                instrument=t.instrument,
                side=t.side,
                fill_quantity=t.units,
                fill_price=t.price,
                commission=t.commission or Decimal(0),
                quote_home_rate=_home_rate(t),
                filled_quantity=total,
                remaining_quantity=max(view.units - total, Decimal(0)) if view is not None else None,
                account_id=t.account_id,
                **common,
            )
        if t.type is TransactionType.ORDER_CANCEL:
            kind = (
                _CANCEL_KIND.get(t.reason, OrderUpdateKind.CANCELLED)
                if t.reason
                else OrderUpdateKind.CANCELLED
            )
            return OrderUpdate(
                kind=kind,
                replaced_by_order_id=t.replaced_by_order_id,
                reason=t.reason.value if t.reason else "",
                account_id=t.account_id,
                **common,
            )
        return None

    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        await self._enter(Operation.GET_HISTORICAL_DATA)
        with self._translated():
            symbol = self.engine.instrument(instrument).symbol
            bars = self.engine.candles(symbol, granularity, count=count, start=start, end=end)
        return [
            Candle(
                instrument=symbol,
                granularity=granularity,
                time=bar.time,
                open=bar.open,
                high=bar.high,
                low=bar.low,
                close=bar.close,
                volume=bar.volume,
                complete=bar.complete,
            )
            for bar in bars
        ]

    # ------------------------------------------------------------------ accounts

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        await self._enter(Operation.GET_ACCOUNT_SUMMARY)
        with self._translated():
            snapshot = self.engine.account(account_id or self.account_id)
        return AccountSummary(
            account_id=snapshot.account_id,
            currency=snapshot.currency,
            balance=snapshot.balance,
            equity=snapshot.nav,
            unrealized_pnl=snapshot.unrealized_pl,
            realized_pnl=snapshot.realized_pl,
            margin_used=snapshot.margin_used,
            margin_available=snapshot.margin_available,
            open_position_count=snapshot.open_position_count,
            open_order_count=snapshot.pending_order_count,
            time=snapshot.time,
        )

    async def get_accounts(self) -> list[Account]:
        await self._enter(Operation.GET_ACCOUNTS)
        return [
            Account(account_id=a.account_id, currency=a.currency, alias=a.alias, environment="paper")
            for a in self.engine.accounts()
        ]

    async def get_instruments(self) -> list[Instrument]:
        await self._enter(Operation.GET_INSTRUMENTS)
        return [spec.instrument for spec in self.engine.instruments()]

    # ------------------------------------------------------------------ faults and translation

    async def _enter(self, operation: Operation) -> Fault | None:
        """Apply the venue's latency and any fault due for this call, before the engine is touched."""
        faults = self.engine.faults
        fault = faults.next_fault(operation.value, mutating=operation.is_order_action)
        delay = faults.latency_seconds() + (fault.delay_s if fault is not None else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is None or fault.kind is FaultKind.LATENCY_SPIKE:
            return None
        if fault.kind is FaultKind.RESPONSE_LOST and operation.is_order_action:
            return fault  # executes; the answer is lost afterwards (see _leave)
        raise self._fault_error(fault, operation)

    def _leave(self, fault: Fault | None, operation: Operation) -> None:
        """Raise the lost-response fault after the engine has executed the request."""
        if fault is not None:
            raise self._fault_error(fault, operation)

    def _fault_error(self, fault: Fault, operation: Operation) -> BrokerError:
        kind = fault.kind
        if kind is FaultKind.RESPONSE_LOST and not operation.is_order_action:
            error_class: type[BrokerError] = BrokerTimeoutError  # a lost answer to a read is a timeout
        else:
            error_class = FAULT_ERRORS[kind]
        message = fault.message or f"simulated {kind.value} during {operation.value}"
        if error_class is OutcomeUnknownError:
            message += "; the request was executed"
        return error_class(
            make_error(
                error_class.code,
                message,
                broker_name=self.name,
                http_status=FAULT_HTTP_STATUS.get(kind),
                retry_after=fault.retry_after_s,
                # the venue said so itself: nothing was executed
                sent=False if kind in ANSWERED_FAULTS else None,
                context={"operation": operation.value, "fault": kind.value},
            )
        )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn the engine's lookup exceptions into the standard ``BrokerError`` for their code."""
        try:
            yield
        except SimulatorError as exc:
            kind = next(cls for cls in type(exc).__mro__ if cls in SIMULATOR_ERROR_CODES)
            code = SIMULATOR_ERROR_CODES[kind]
            error = make_error(
                code, str(exc), broker_name=self.name, suggested_action=SIMULATOR_ERROR_ACTIONS.get(kind)
            )
            raise error_class_for(code)(error) from exc

    def _reference(self, order_id: str) -> dict[str, str]:
        """Keyword arguments naming an order to the engine: its broker id if it is one, else a client id."""
        if order_id.isdigit() and self.engine.find_order(self.account_id, order_id) is not None:
            return {"order_id": order_id}
        return {"client_order_id": order_id}

    def _result(self, outcome: OrderOutcome, *, replaces: str | None = None) -> OrderResult:
        view = outcome.order if outcome.order is not None else outcome.previous
        error = None
        if outcome.reject_reason is not None:
            context: dict[str, Any] = {"account_id": self.account_id}
            if view is not None:
                context.update(order_id=view.order_id, instrument=view.instrument)
            error = reason_error(
                outcome.reject_reason, outcome.message, broker_name=self.name, context=context
            )
        fills = [
            {
                "transaction_id": t.id,
                "units": t.units,
                "price": t.price,
                "bid": t.details.get("bid"),
                "ask": t.details.get("ask"),
                "commission": t.commission,
            }
            for t in outcome.transactions
            if t.type is TransactionType.ORDER_FILL
        ]
        return OrderResult(
            success=outcome.ok,
            client_order_id=None if view is None else view.client_order_id,
            broker_order_id=None if view is None else view.order_id,
            broker_name=self.name,
            status=_status(view) if outcome.ok and view is not None else OrderStatus.REJECTED,
            instrument=None if view is None else view.instrument,
            side=None if view is None else view.side,
            requested_quantity=None if view is None else view.units,
            filled_quantity=Decimal(0) if view is None else view.filled_units,
            average_fill_price=None if view is None else view.average_fill_price,
            commission=Decimal(0) if view is None else view.commission,
            quote_home_rate=_quote_home_rate(outcome.transactions),
            completed_at=self.clock.now(),
            replaces_order_id=replaces,
            error=error,
            message=outcome.message,
            metadata={
                "account_id": self.account_id,
                "venue": self.profile.name,
                "transaction_ids": [t.id for t in outcome.transactions],
                "fills": fills,
            },
        )


# ---------------------------------------------------------------------------------- conversions


def _quote_home_rate(transactions: Sequence[Transaction]) -> Decimal | None:
    """The fills' quote-to-account rate, weighted by their notional (``None`` without a fill)."""
    weighted = notional = Decimal(0)
    for t in transactions:
        rate = t.details.get("quote_home_rate")
        if t.type is TransactionType.ORDER_FILL and isinstance(rate, Decimal) and t.price and t.units:
            value = t.units * t.price
            weighted += value * rate
            notional += value
    return weighted / notional if notional else None


def _status(view: OrderView) -> OrderStatus:
    if view.is_open:
        return OrderStatus.PARTIALLY_FILLED if view.filled_units else OrderStatus.ACCEPTED
    if view.cancel_reason is None:
        return OrderStatus.FILLED
    if isinstance(view.cancel_reason, RejectReason):
        return OrderStatus.REJECTED
    return _CANCELLED_STATUS[view.cancel_reason]


def _order(view: OrderView) -> Order:
    return Order(
        broker_order_id=view.order_id,
        client_order_id=view.client_order_id,
        instrument=view.instrument,
        side=view.side,
        order_type=view.order_type,
        quantity=view.units,
        filled_quantity=view.filled_units,
        price=view.price,
        stop_price=view.stop_price,
        trailing_distance=view.trailing_distance,
        time_in_force=view.time_in_force,
        expire_time=view.expire_time,
        status=_status(view),
        average_fill_price=view.average_fill_price,
        created_at=view.created_at,
        updated_at=view.updated_at,
        account_id=view.account_id,
        replaces_order_id=view.replaces_order_id,
        replaced_by_order_id=view.replaced_by_order_id,
    )


def _position(snapshot: PositionSnapshot) -> Position:
    units = snapshot.units
    return Position(
        instrument=snapshot.instrument,
        quantity=units,
        average_price=snapshot.average_price,
        unrealized_pnl=snapshot.unrealized_pl,
        realized_pnl=snapshot.realized_pl,
        margin_used=snapshot.margin_used,
        account_id=snapshot.account_id,
        long_quantity=max(units, Decimal(0)),
        short_quantity=max(-units, Decimal(0)),
    )


#: The cancel reasons that are not a plain cancel.
_CANCEL_KIND: dict[object, OrderUpdateKind] = {
    CancelReason.CLIENT_REQUEST_REPLACED: OrderUpdateKind.REPLACED,
    CancelReason.TIME_IN_FORCE_EXPIRED: OrderUpdateKind.EXPIRED,
}


def _home_rate(t: Transaction) -> Decimal | None:
    rate = t.details.get("quote_home_rate")
    return rate if isinstance(rate, Decimal) and rate > 0 else None
