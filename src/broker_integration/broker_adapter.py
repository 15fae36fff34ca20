"""``BrokerAdapter``: the one interface every broker is driven through, and the call pipeline behind it.

A subclass implements only protocol translation: it overrides the public methods it supports
(``place_order``, ``get_current_price`` ...). :meth:`BrokerAdapter.__init_subclass__` wraps each override
so that every call, however it is reached, runs once through the same pipeline:

    built-in checks → interceptors by priority (pre-trade checks, rate limit, breaker, timeout, journal)
    → the adapter's code → failures mapped to a :class:`~broker_integration.unified_errors.BrokerError`
    → exactly one :class:`~broker_integration.events.CallEvent` on the event bus, timed with a monotonic clock.

Order actions (place, modify, cancel, close) return an :class:`OrderResult` that says whether they
succeeded; every other call raises a ``BrokerError`` when it fails. A method the subclass does not
override raises ``UNSUPPORTED_OPERATION``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from pydantic import ValidationError

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerLimits
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.events import CallEvent, EventBus, get_event_bus
from broker_integration.log import get_logger
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
    OrderType,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.tca import current_arrival_quote
from broker_integration.unified_errors import (
    AuthenticationError,
    BrokerError,
    OrderNotFoundError,
    StandardErrorCode,
    StandardizedError,
    UnsupportedOperationError,
    classify_exception,
    describe_validation_error,
    error_class_for,
    is_ambiguous,
    make_error,
)

if TYPE_CHECKING:
    from broker_integration.resilience_stages import Resilience

__all__ = [
    "CAPABILITY_OPERATIONS",
    "DERIVED_DEFAULTS",
    "AdapterDeclaration",
    "BrokerAdapter",
    "BrokerCapability",
    "CallContext",
    "CallInterceptor",
    "InterceptorPriority",
    "Operation",
    "construct_adapter",
    "note_request_sent",
]


class BrokerCapability(StrEnum):
    """What a broker can do. Declared by an adapter, verified by capability discovery."""

    MARKET_ORDERS = "market_orders"
    LIMIT_ORDERS = "limit_orders"
    STOP_ORDERS = "stop_orders"
    STOP_LIMIT_ORDERS = "stop_limit_orders"
    MARKET_IF_TOUCHED_ORDERS = "market_if_touched_orders"
    TRAILING_STOP_ORDERS = "trailing_stop_orders"
    TAKE_PROFIT_STOP_LOSS = "take_profit_stop_loss"
    MODIFY_ORDERS = "modify_orders"
    CANCEL_ORDERS = "cancel_orders"
    ORDER_LISTING = "order_listing"
    CLIENT_ORDER_ID_LOOKUP = "client_order_id_lookup"
    POSITIONS = "positions"
    CLOSE_POSITION = "close_position"
    CURRENT_PRICES = "current_prices"
    STREAMING_PRICES = "streaming_prices"
    HISTORICAL_DATA = "historical_data"
    ACCOUNT_SUMMARY = "account_summary"
    MULTIPLE_ACCOUNTS = "multiple_accounts"
    INSTRUMENTS = "instruments"
    PARTIAL_FILLS = "partial_fills"
    FRACTIONAL_QUANTITY = "fractional_quantity"
    HEALTH_CHECK = "health_check"


ORDER_TYPE_CAPABILITY: dict[OrderType, BrokerCapability] = {
    OrderType.MARKET: BrokerCapability.MARKET_ORDERS,
    OrderType.LIMIT: BrokerCapability.LIMIT_ORDERS,
    OrderType.STOP: BrokerCapability.STOP_ORDERS,
    OrderType.STOP_LIMIT: BrokerCapability.STOP_LIMIT_ORDERS,
    OrderType.MARKET_IF_TOUCHED: BrokerCapability.MARKET_IF_TOUCHED_ORDERS,
    OrderType.TRAILING_STOP: BrokerCapability.TRAILING_STOP_ORDERS,
}


class Operation(StrEnum):
    """The public calls of :class:`BrokerAdapter`; the value is the method name."""

    AUTHENTICATE = "authenticate"
    DISCONNECT = "disconnect"
    HEALTH_CHECK = "health_check"
    PLACE_ORDER = "place_order"
    MODIFY_ORDER = "modify_order"
    CANCEL_ORDER = "cancel_order"
    GET_ORDERS = "get_orders"
    GET_ORDER = "get_order"
    GET_POSITIONS = "get_positions"
    CLOSE_POSITION = "close_position"
    GET_CURRENT_PRICE = "get_current_price"
    GET_CURRENT_PRICES = "get_current_prices"
    STREAM_PRICES = "stream_prices"
    GET_HISTORICAL_DATA = "get_historical_data"
    GET_ACCOUNT_SUMMARY = "get_account_summary"
    GET_ACCOUNTS = "get_accounts"
    GET_INSTRUMENTS = "get_instruments"
    TRACE_ORDER = "trace_order"

    @property
    def is_order_action(self) -> bool:
        """Returns an :class:`OrderResult` instead of raising."""
        return self in _ORDER_ACTIONS

    @property
    def is_read_only(self) -> bool:
        """Changes nothing at the broker, so it is safe to repeat."""
        return self in _READ_ONLY


_ORDER_ACTIONS = frozenset(
    {Operation.PLACE_ORDER, Operation.MODIFY_ORDER, Operation.CANCEL_ORDER, Operation.CLOSE_POSITION}
)
_READ_ONLY = frozenset(
    {
        Operation.HEALTH_CHECK,
        Operation.GET_ORDERS,
        Operation.GET_ORDER,
        Operation.GET_POSITIONS,
        Operation.GET_CURRENT_PRICE,
        Operation.GET_CURRENT_PRICES,
        Operation.STREAM_PRICES,
        Operation.GET_HISTORICAL_DATA,
        Operation.GET_ACCOUNT_SUMMARY,
        Operation.GET_ACCOUNTS,
        Operation.GET_INSTRUMENTS,
        Operation.TRACE_ORDER,
    }
)

#: Base-class defaults that work as soon as the subclass implements any one of the listed calls.
DERIVED_DEFAULTS: dict[Operation, frozenset[Operation]] = {
    Operation.GET_ORDER: frozenset({Operation.GET_ORDERS}),
    Operation.TRACE_ORDER: frozenset({Operation.GET_ORDER, Operation.GET_ORDERS}),
    Operation.GET_CURRENT_PRICES: frozenset({Operation.GET_CURRENT_PRICE}),
    Operation.HEALTH_CHECK: frozenset({Operation.GET_ACCOUNT_SUMMARY, Operation.GET_ACCOUNTS}),
    Operation.DISCONNECT: frozenset(Operation),
}

#: The capability an implemented method gives (order types are declared separately).
_OPERATION_CAPABILITY: dict[Operation, BrokerCapability] = {
    Operation.MODIFY_ORDER: BrokerCapability.MODIFY_ORDERS,
    Operation.CANCEL_ORDER: BrokerCapability.CANCEL_ORDERS,
    Operation.GET_ORDERS: BrokerCapability.ORDER_LISTING,
    Operation.GET_POSITIONS: BrokerCapability.POSITIONS,
    Operation.CLOSE_POSITION: BrokerCapability.CLOSE_POSITION,
    Operation.GET_CURRENT_PRICE: BrokerCapability.CURRENT_PRICES,
    Operation.STREAM_PRICES: BrokerCapability.STREAMING_PRICES,
    Operation.GET_HISTORICAL_DATA: BrokerCapability.HISTORICAL_DATA,
    Operation.GET_ACCOUNT_SUMMARY: BrokerCapability.ACCOUNT_SUMMARY,
    Operation.GET_ACCOUNTS: BrokerCapability.MULTIPLE_ACCOUNTS,
    Operation.GET_INSTRUMENTS: BrokerCapability.INSTRUMENTS,
    Operation.HEALTH_CHECK: BrokerCapability.HEALTH_CHECK,
    Operation.GET_ORDER: BrokerCapability.CLIENT_ORDER_ID_LOOKUP,
}

#: For each capability, the calls of which at least one must be implemented for it to work.
CAPABILITY_OPERATIONS: dict[BrokerCapability, frozenset[Operation]] = {
    **{cap: frozenset({Operation.PLACE_ORDER}) for cap in ORDER_TYPE_CAPABILITY.values()},
    BrokerCapability.TAKE_PROFIT_STOP_LOSS: frozenset({Operation.PLACE_ORDER}),
    BrokerCapability.PARTIAL_FILLS: frozenset({Operation.PLACE_ORDER}),
    BrokerCapability.FRACTIONAL_QUANTITY: frozenset({Operation.PLACE_ORDER}),
    BrokerCapability.MODIFY_ORDERS: frozenset({Operation.MODIFY_ORDER}),
    BrokerCapability.CANCEL_ORDERS: frozenset({Operation.CANCEL_ORDER}),
    BrokerCapability.ORDER_LISTING: frozenset({Operation.GET_ORDERS}),
    BrokerCapability.CLIENT_ORDER_ID_LOOKUP: frozenset({Operation.GET_ORDER, Operation.GET_ORDERS}),
    BrokerCapability.POSITIONS: frozenset({Operation.GET_POSITIONS}),
    BrokerCapability.CLOSE_POSITION: frozenset({Operation.CLOSE_POSITION}),
    BrokerCapability.CURRENT_PRICES: frozenset({Operation.GET_CURRENT_PRICE}),
    BrokerCapability.STREAMING_PRICES: frozenset({Operation.STREAM_PRICES}),
    BrokerCapability.HISTORICAL_DATA: frozenset({Operation.GET_HISTORICAL_DATA}),
    BrokerCapability.ACCOUNT_SUMMARY: frozenset({Operation.GET_ACCOUNT_SUMMARY}),
    BrokerCapability.MULTIPLE_ACCOUNTS: frozenset({Operation.GET_ACCOUNTS}),
    BrokerCapability.INSTRUMENTS: frozenset({Operation.GET_INSTRUMENTS}),
    BrokerCapability.HEALTH_CHECK: frozenset(
        {Operation.HEALTH_CHECK, Operation.GET_ACCOUNT_SUMMARY, Operation.GET_ACCOUNTS}
    ),
}


@dataclass(frozen=True, slots=True)
class AdapterDeclaration:
    """What one adapter instance says it supports. ``capabilities`` ``None`` or ``time_in_force`` ``None``:
    nothing declared, so the pipeline refuses nothing on that ground. ``default_limits``: the broker's own
    published limits, used when the configuration sets none."""

    capabilities: frozenset[BrokerCapability] | None
    time_in_force: frozenset[TimeInForce] | None
    default_limits: BrokerLimits | None = None


class InterceptorPriority:
    """Where an interceptor sits in the pipeline: lower runs first (further from the broker)."""

    PRE_TRADE = 100
    RETRY = 150
    RATE_LIMIT = 200
    CIRCUIT_BREAKER = 300
    JOURNAL = 350
    TIMEOUT = 400


@dataclass(slots=True)
class CallContext:
    """One call as it passes through the pipeline; interceptors may read it and add to ``detail``."""

    adapter: BrokerAdapter
    operation: Operation
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    started_at: datetime
    started_ns: int
    order: UnifiedOrder | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    #: Made by the adapter's own code inside another of its calls (a derived default such as
    #: ``health_check`` reading ``get_account_summary``): timed, mapped and reported, but not passed through
    #: the stages again — the outer call already holds its rate-limit slot, breaker permit and deadline.
    nested: bool = False


Proceed = Callable[[], Awaitable[Any]]


class CallInterceptor(Protocol):
    """A pipeline stage: do something around ``proceed()`` (the rest of the pipeline) and return its value."""

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Stage:
    priority: int
    name: str
    interceptor: CallInterceptor
    #: The calls the stage applies to; ``None``: every call.
    operations: frozenset[Operation] | None = None


@dataclass(frozen=True, slots=True)
class _Wiring:
    event_bus: EventBus | None
    clock: Clock | None


#: What :func:`construct_adapter` hands to ``BrokerAdapter.__init__`` past a subclass's own ``__init__``.
_WIRING: ContextVar[_Wiring | None] = ContextVar("broker_integration_adapter_wiring", default=None)

#: The adapter whose own protocol code is running in this task (inside the innermost pipeline step).
_INSIDE: ContextVar[BrokerAdapter | None] = ContextVar("broker_integration_inside_adapter", default=None)

#: The order action running in this task, so protocol code can build its complete result in one go.
_ORDER_CALL: ContextVar[CallContext | None] = ContextVar("broker_integration_order_call", default=None)

_PIPELINE_MARK = "__broker_pipeline_operation__"
_BASE_DEFAULT_MARK = "__broker_base_default__"


class BrokerAdapter:
    """Base class of every broker adapter.

    Subclasses set ``broker_name``, implement :meth:`authenticate` and override the calls the broker
    supports. They may declare ``capabilities`` (order types and features) and
    ``supported_time_in_force``; when they do, orders outside the declaration are refused before they
    are sent. Use it as an async context manager to authenticate on entry and disconnect on exit.
    """

    broker_name: ClassVar[str] = ""
    #: Client-side limits used when a configuration does not set ``limits`` (the broker's own published limits).
    default_limits: ClassVar[BrokerLimits | None] = None
    capabilities: ClassVar[frozenset[BrokerCapability] | None] = None
    supported_time_in_force: ClassVar[frozenset[TimeInForce] | None] = None
    #: How long after an order was sent the broker's record may still lack it (a request queued at the
    #: venue, read-after-write lag). An ABSENT trace proves "never placed" only once this has passed.
    absence_grace_seconds: float = 60.0
    #: True when the protocol code calls :func:`note_request_sent` just before a request leaves the process,
    #: so a failure before that is known not to have reached the broker. Otherwise an order counts as sent
    #: as soon as the adapter's code runs (the cautious assumption).
    reports_sending: ClassVar[bool] = False

    # Instance state has class-level defaults, so a subclass that forgets super().__init__() still works.
    config: BrokerConfiguration | None = None
    _event_bus: EventBus | None = None
    _clock: Clock = SYSTEM_CLOCK
    _stages: tuple[_Stage, ...] = ()
    _chains: dict[Operation, tuple[CallInterceptor, ...]] | None = None
    _authenticated: bool = False
    _instance_name: str | None = None
    resilience: Resilience | None = None

    def __init__(
        self,
        config: BrokerConfiguration | Mapping[str, Any] | None = None,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``config`` may be a :class:`BrokerConfiguration` or a dict in its shape (as in the seed).

        A subclass whose ``__init__`` takes only ``config`` and passes it on still gets the event bus and
        clock of whoever creates it through :func:`construct_adapter` (the factory, discovery, the demo).
        """
        if isinstance(config, Mapping):
            config = BrokerConfiguration.from_dict(dict(config))
        wiring = _WIRING.get()
        if wiring is not None:
            event_bus = event_bus or wiring.event_bus
            clock = clock or wiring.clock
        self.config = config
        self._event_bus = event_bus
        self._clock = clock or SYSTEM_CLOCK
        self._stages = ()
        self._authenticated = False
        self._instance_name = config.broker_name if config is not None else None
        from broker_integration.resilience_stages import install_resilience

        install_resilience(self, config)

    # ------------------------------------------------------------------ wiring

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for op in Operation:
            # Whatever the class resolves the name to (its own method or a mixin's) runs through the pipeline.
            impl = getattr(cls, op.value, None)
            if impl is not None and callable(impl) and not hasattr(impl, _PIPELINE_MARK):
                setattr(cls, op.value, _wrap(op, impl))

    @property
    def name(self) -> str:
        """This adapter's name: the configuration's ``broker_name``, else the class's."""
        return self._instance_name or type(self).broker_name or type(self).__name__

    @property
    def adapter_id(self) -> str:
        """Tells apart two adapters of the same broker in events and metrics."""
        return f"{self.name}@{id(self):x}"

    @property
    def event_bus(self) -> EventBus:
        return self._event_bus or get_event_bus()

    @event_bus.setter
    def event_bus(self, bus: EventBus) -> None:
        self._event_bus = bus

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def is_authenticated(self) -> bool:
        return self._authenticated

    @property
    def credentials(self) -> BrokerCredentials | None:
        return self.config.credentials if self.config is not None else None

    def completed_result(self, **fields: Any) -> OrderResult:
        """An :class:`OrderResult` for the order action running now, with what the pipeline knows filled
        in where ``fields`` leave it open: broker name, the order's client id, instrument, side and
        quantity, when it was submitted and the latency up to now (the broker's answer is in hand).

        Protocol code that builds its result this way spares the pipeline a copy to complete it.
        """
        ctx = _ORDER_CALL.get()
        if ctx is not None and ctx.adapter is self:
            known: dict[str, Any] = {
                "broker_name": self.name,
                "submitted_at": ctx.started_at,
                "latency_ms": (self.clock.monotonic_ns() - ctx.started_ns) / 1e6,
            }
            order = ctx.order
            if order is not None:
                known["client_order_id"] = order.order_id
                known["instrument"] = order.instrument
                known["side"] = order.side
                known["requested_quantity"] = order.quantity
            for name, value in known.items():
                if fields.get(name) is None:
                    fields[name] = value
        return OrderResult(**fields)

    def add_interceptor(
        self,
        interceptor: CallInterceptor,
        *,
        priority: int,
        name: str = "",
        operations: Iterable[Operation] | None = None,
    ) -> None:
        """Insert a pipeline stage; stages run in ascending ``priority``, ties in insertion order.

        ``operations`` limits the stage to those calls (the others do not pass through it at all).
        """
        only = frozenset(operations) if operations is not None else None
        stage = _Stage(priority, name or type(interceptor).__name__, interceptor, only)
        self._set_stages(tuple(sorted((*self._stages, stage), key=lambda s: s.priority)))

    def remove_interceptor(self, name: str) -> None:
        self._set_stages(tuple(s for s in self._stages if s.name != name))

    def _set_stages(self, stages: tuple[_Stage, ...]) -> None:
        self._stages = stages
        self._chains = None  # rebuilt per operation on its next call

    def _chain(self, op: Operation) -> tuple[CallInterceptor, ...]:
        """The interceptors ``op`` passes through, outermost first."""
        chains = self._chains
        if chains is None:
            chains = self._chains = {}
        chain = chains.get(op)
        if chain is None:
            chain = tuple(s.interceptor for s in self._stages if s.operations is None or op in s.operations)
            chains[op] = chain
        return chain

    @property
    def interceptor_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._stages)

    @classmethod
    def implemented_operations(cls) -> frozenset[Operation]:
        """The calls this class really implements (not the base class's unsupported defaults)."""
        return frozenset(
            op for op in Operation if not getattr(getattr(cls, op.value), _BASE_DEFAULT_MARK, False)
        )

    @property
    def declaration(self) -> AdapterDeclaration:
        """What this adapter instance declares: the class's ``capabilities``, ``supported_time_in_force`` and
        ``default_limits`` by default. An adapter whose broker varies per instance (CCXT: per exchange)
        overrides it; it is first read while ``BrokerAdapter.__init__`` runs (for the limits), so derive it
        from ``self.config``."""
        cls = type(self)
        return AdapterDeclaration(cls.capabilities, cls.supported_time_in_force, cls.default_limits)

    @classmethod
    def declared_capabilities(cls) -> frozenset[BrokerCapability]:
        """``capabilities`` if the class declares them, else what its implemented methods imply."""
        if cls.capabilities is not None:
            return cls.capabilities
        return cls.implied_capabilities()

    @classmethod
    def implied_capabilities(cls) -> frozenset[BrokerCapability]:
        """What the class's implemented methods imply, for an adapter that declares no capability set."""
        implemented = cls.implemented_operations()
        derived = {cap for op, cap in _OPERATION_CAPABILITY.items() if op in implemented}
        if Operation.PLACE_ORDER in implemented:
            derived.add(BrokerCapability.MARKET_ORDERS)
        return frozenset(derived)

    # ------------------------------------------------------------------ the interface

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        """Log in with ``credentials`` (or the configuration's); True when the broker accepted them."""
        raise _unsupported(self, Operation.AUTHENTICATE)

    async def disconnect(self) -> None:
        """Close connections and streams. Safe to call more than once."""
        return None

    async def health_check(self) -> HealthStatus:
        """Time one cheap read-only call; subclasses may override with something better."""
        implemented = type(self).implemented_operations()
        probe: Callable[[], Awaitable[object]]
        if Operation.GET_ACCOUNT_SUMMARY in implemented:
            probe = self.get_account_summary
        elif Operation.GET_ACCOUNTS in implemented:
            probe = self.get_accounts
        else:
            raise _unsupported(self, Operation.HEALTH_CHECK)
        start = self.clock.monotonic_ns()
        try:
            await probe()
        except BrokerError as exc:
            return HealthStatus(state=HealthState.DOWN, checked_at=self.clock.now(), message=str(exc.error))
        latency = (self.clock.monotonic_ns() - start) / 1e6
        return HealthStatus(state=HealthState.HEALTHY, checked_at=self.clock.now(), latency_ms=latency)

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        """Send ``order``; the result says what became of it."""
        raise _unsupported(self, Operation.PLACE_ORDER)

    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        """Change a resting order (``order_id`` is the broker's id or the client order id)."""
        raise _unsupported(self, Operation.MODIFY_ORDER)

    async def cancel_order(self, order_id: str) -> OrderResult:
        """Cancel a resting order (``order_id`` is the broker's id or the client order id)."""
        raise _unsupported(self, Operation.CANCEL_ORDER)

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        """Open orders (and recent final ones with ``include_closed``), optionally for one instrument."""
        raise _unsupported(self, Operation.GET_ORDERS)

    async def get_order(self, order_id: str) -> Order:
        """One order by the broker's id or the client order id; ORDER_NOT_FOUND if there is none."""
        for order in await self.get_orders(include_closed=True):
            if order_id in (order.broker_order_id, order.client_order_id):
                return order
        raise OrderNotFoundError(f"no order with id {order_id!r}", broker_name=self.name)

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """What the broker's own record says of the order sent with ``client_order_id``.

        ``since`` is the :meth:`history_marker` taken before the order was sent. This default looks the order
        up; a lookup that finds nothing is ``UNKNOWN``, never ``ABSENT``: silence is not evidence. Adapters
        that can search the broker's history (OANDA's transactions) or hold the venue's complete record
        (the paper broker) override it.
        """
        try:
            order = await self.get_order(client_order_id)
        except OrderNotFoundError:
            return OrderTrace(
                status=OrderTraceStatus.UNKNOWN,
                evidence=f"{self.name} did not find {client_order_id} by lookup; it keeps no history to search",
            )
        return OrderTrace(
            status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id
        )

    def history_marker(self) -> str | None:
        """The newest point of the broker's own history this adapter has seen (OANDA: the last transaction
        id); an order sent from now on appears after it. Stored with a journaled intent. No I/O."""
        return None

    def known_instruments(self) -> Mapping[str, Instrument] | None:
        """The broker's complete instrument listing, keyed by canonical symbol, when the adapter has loaded
        it (no I/O); ``None`` otherwise. Orders its rules forbid are refused before sending."""
        return None

    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        """Open positions, optionally for one instrument."""
        raise _unsupported(self, Operation.GET_POSITIONS)

    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        """Close all of a position, or ``quantity`` of it."""
        raise _unsupported(self, Operation.CLOSE_POSITION)

    async def get_current_price(self, instrument: str) -> PriceTick:
        """The latest quote for ``instrument``."""
        raise _unsupported(self, Operation.GET_CURRENT_PRICE)

    async def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        """Latest quotes for several instruments, keyed by canonical symbol."""
        ticks = [await self.get_current_price(symbol) for symbol in instruments]
        return {tick.instrument: tick for tick in ticks}

    def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        """Quotes as they change, until the consumer stops iterating."""
        raise _unsupported(self, Operation.STREAM_PRICES)

    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        """Candles, oldest first: the last ``count``, or those between ``start`` and ``end``."""
        raise _unsupported(self, Operation.GET_HISTORICAL_DATA)

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        """Balances for ``account_id`` (default: the configured account)."""
        raise _unsupported(self, Operation.GET_ACCOUNT_SUMMARY)

    async def get_accounts(self) -> list[Account]:
        """Accounts the credentials can reach."""
        raise _unsupported(self, Operation.GET_ACCOUNTS)

    async def get_instruments(self) -> list[Instrument]:
        """Instruments the account can trade, with their sizes and ticks."""
        raise _unsupported(self, Operation.GET_INSTRUMENTS)

    # ------------------------------------------------------------------ context manager

    async def __aenter__(self) -> Self:
        if not self.is_authenticated and not await self.authenticate(self.credentials):
            raise AuthenticationError(f"{self.name} refused the credentials", broker_name=self.name)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.disconnect()

    def __repr__(self) -> str:
        state = "authenticated" if self.is_authenticated else "not authenticated"
        return f"<{type(self).__name__} {self.name!r} {state}>"

    # ------------------------------------------------------------------ pipeline internals

    def _refusal(self, op: Operation, ctx: CallContext) -> StandardizedError | None:
        """Why an order action must not be sent: an invalid order or modification, an order the adapter's
        declaration excludes, or one the broker's instrument rules forbid. Nothing is sent then."""
        refusal = _checked_order(op, ctx)
        order = ctx.order
        if refusal is None and order is not None:
            refusal = self._check_declared(order) or self._check_instrument(order)
        if refusal is not None and not refusal.broker_name:
            refusal = refusal.model_copy(update={"broker_name": self.name})
        return refusal

    def _check_instrument(self, order: UnifiedOrder) -> StandardizedError | None:
        """Refuse, from the instruments the adapter has loaded, an instrument the broker does not list or an
        order its rules forbid; and an expiry already past."""
        if order.expire_time is not None and order.expire_time <= self.clock.now():
            return make_error(
                StandardErrorCode.INVALID_ORDER,
                f"expire_time {order.expire_time.isoformat()} is already past",
                broker_name=self.name,
                context={"field": "expire_time"},
            )
        listing = self.known_instruments()
        if listing is None:
            return None
        instrument = listing.get(order.instrument)
        if instrument is None:
            return make_error(
                StandardErrorCode.INVALID_INSTRUMENT,
                f"{self.name} does not list {order.instrument}",
                broker_name=self.name,
                context={"field": "instrument", "instrument": order.instrument},
            )
        refusal = instrument.order_refusal(order)
        if refusal is None:
            return None
        return make_error(
            StandardErrorCode.INVALID_ORDER,
            f"{self.name}: {refusal}",
            broker_name=self.name,
            context={"instrument": order.instrument},
        )

    def _check_declared(self, order: UnifiedOrder) -> StandardizedError | None:
        """Refuse an order type or time in force that the adapter's declaration excludes."""
        declaration = self.declaration
        declared = declaration.capabilities
        if declared is not None and ORDER_TYPE_CAPABILITY[order.order_type] not in declared:
            return make_error(
                StandardErrorCode.UNSUPPORTED_OPERATION,
                f"{self.name} does not support {order.order_type.value} orders",
                broker_name=self.name,
                context={"order_type": order.order_type.value},
            )
        tifs = declaration.time_in_force
        if tifs is not None and order.time_in_force not in tifs:
            tif = order.time_in_force.value if order.time_in_force else None
            return make_error(
                StandardErrorCode.UNSUPPORTED_OPERATION,
                f"{self.name} does not support time in force {tif}",
                broker_name=self.name,
                context={"time_in_force": tif},
            )
        has_exits = order.take_profit is not None or order.stop_loss is not None
        if has_exits and declared is not None and BrokerCapability.TAKE_PROFIT_STOP_LOSS not in declared:
            return make_error(
                StandardErrorCode.UNSUPPORTED_OPERATION,
                f"{self.name} does not support take-profit/stop-loss on fill",
                broker_name=self.name,
            )
        return None

    async def _run(self, ctx: CallContext, impl: Callable[..., Any]) -> Any:
        reports_sending = type(self).reports_sending

        async def call_impl() -> Any:
            if not reports_sending:
                ctx.detail["sent"] = True
            inside = _INSIDE.set(self)
            try:
                value = impl(self, *ctx.args, **ctx.kwargs)
                return await value if inspect.isawaitable(value) else value
            finally:
                _INSIDE.reset(inside)

        return await self._chained(ctx, call_impl)()

    async def _run_stream_open(
        self,
        ctx: CallContext,
        open_source: Callable[[BrokerAdapter, tuple[Any, ...], dict[str, Any]], Awaitable[Any]],
    ) -> Any:
        """Interceptors see opening a stream as the call; the ticks that follow are not re-intercepted."""

        async def call_open() -> Any:
            return await open_source(self, ctx.args, ctx.kwargs)

        return await self._chained(ctx, call_open)()

    def _chained(self, ctx: CallContext, innermost: Proceed) -> Proceed:
        """``innermost`` wrapped in the stages of ``ctx``'s operation, ready to be awaited."""
        proceed: Proceed = innermost
        if ctx.nested:
            return proceed
        for interceptor in reversed(self._chain(ctx.operation)):
            proceed = functools.partial(interceptor, ctx, proceed)
        return proceed


_log = get_logger("broker_integration.adapter")


def note_request_sent() -> None:
    """Say that the order action running in this task is about to send its request to the broker.

    Protocol code of an adapter with ``reports_sending = True`` calls it just before the request leaves the
    process; a failure before that is known not to have reached the broker (nothing to look up, safe to
    route elsewhere).
    """
    ctx = _ORDER_CALL.get()
    if ctx is not None:
        ctx.detail["sent"] = True


def construct_adapter(
    adapter_class: type[BrokerAdapter],
    config: BrokerConfiguration,
    *,
    event_bus: EventBus | None = None,
    clock: Clock | None = None,
) -> BrokerAdapter:
    """Instantiate ``adapter_class(config)`` wired to ``event_bus`` and ``clock``.

    Only ``config`` is passed to the constructor, so an adapter written as the seed shows it —
    ``def __init__(self, config): super().__init__(config)`` — works; the bus and clock reach
    ``BrokerAdapter.__init__`` through a context variable. An adapter that never calls
    ``super().__init__`` is wired afterwards, pipeline included.
    """
    token = _WIRING.set(_Wiring(event_bus, clock))
    try:
        adapter = adapter_class(config)
    finally:
        _WIRING.reset(token)
    if "_stages" not in vars(adapter):  # the subclass skipped BrokerAdapter.__init__
        BrokerAdapter.__init__(adapter, config, event_bus=event_bus, clock=clock)
    return adapter


def _unsupported(adapter: BrokerAdapter, op: Operation) -> UnsupportedOperationError:
    return UnsupportedOperationError(
        f"{adapter.name} does not support {op.value}",
        broker_name=adapter.name,
        context={"operation": op.value},
    )


def _credentials_argument(
    adapter: BrokerAdapter, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``authenticate``'s arguments with a dict of credentials (as the seed passes them) made a
    :class:`BrokerCredentials`, so every adapter receives one type and a masked secret never reaches a broker."""
    given = args[0] if args else kwargs.get("credentials")
    if not isinstance(given, Mapping):
        return args, kwargs
    try:
        credentials = BrokerCredentials.model_validate(dict(given))
    except ValidationError as exc:
        raise AuthenticationError(
            f"{adapter.name}: unusable credentials ({describe_validation_error(exc)})",
            broker_name=adapter.name,
        ) from None
    if args:
        return (credentials, *args[1:]), kwargs
    return args, {**kwargs, "credentials": credentials}


def _checked_order(op: Operation, ctx: CallContext) -> StandardizedError | None:
    """Validate the order argument of ``place_order`` (and the modification of ``modify_order``) again, as
    the model would on construction: a copied (``model_copy(update=...)``) or constructed
    (``model_construct``) model is not trusted. The validated value replaces the argument."""
    model: type[UnifiedOrder] | type[OrderModification]
    if op is Operation.PLACE_ORDER:
        position, name, model = 0, "order", UnifiedOrder
    elif op is Operation.MODIFY_ORDER:
        position, name, model = 1, "modification", OrderModification
    else:
        return None
    args, kwargs = ctx.args, ctx.kwargs
    given = args[position] if len(args) > position else kwargs.get(name)
    try:
        if isinstance(given, model):
            checked = type(given).__pydantic_validator__.validate_python(given.__dict__)
            # Validation from every field would mark all of them as given; keep what the caller set.
            object.__setattr__(checked, "__pydantic_fields_set__", set(given.model_fields_set))
        elif isinstance(given, Mapping):
            checked = model.model_validate(given)
        else:
            return make_error(
                StandardErrorCode.INVALID_ORDER,
                f"{op.value} takes a {model.__name__}, got {type(given).__name__}",
                context={"field": name},
            )
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        code = StandardErrorCode.INVALID_INSTRUMENT if fields == ["instrument"] else StandardErrorCode.INVALID_ORDER
        return make_error(
            code,
            f"invalid {name}: {describe_validation_error(exc)}",
            context={"field": ", ".join(fields) or name},
        )
    if len(args) > position:
        ctx.args = (*args[:position], checked, *args[position + 1 :])
    else:
        ctx.kwargs = {**kwargs, name: checked}
    if isinstance(checked, UnifiedOrder):
        ctx.order = checked
    return None


def _failed_result(
    adapter: BrokerAdapter, ctx: CallContext, error: StandardizedError, latency_ms: float
) -> OrderResult:
    # Sent once the adapter's code ran, unless the broker's answer says nothing was executed.
    sent = bool(ctx.detail.get("sent", False)) and error.context.get("sent") is not False
    ambiguous = sent and is_ambiguous(error)
    order = ctx.order
    return OrderResult(
        success=False,
        client_order_id=order.order_id if order else None,
        broker_name=adapter.name,
        status=OrderStatus.UNKNOWN if ambiguous else OrderStatus.REJECTED,
        instrument=order.instrument if order else None,
        side=order.side if order else None,
        requested_quantity=order.quantity if order else None,
        submitted_at=ctx.started_at,
        completed_at=adapter.clock.now(),
        latency_ms=latency_ms,
        error=error,
        message=error.message,
        metadata={"sent": sent},
    )


def _complete_result(adapter: BrokerAdapter, ctx: CallContext, result: Any, latency_ms: float) -> OrderResult:
    if not isinstance(result, OrderResult):
        raise TypeError(
            f"{adapter.name}.{ctx.operation.value} must return an OrderResult, got {type(result).__name__}"
        )
    order = ctx.order
    update: dict[str, Any] = {}
    if not result.broker_name:
        update["broker_name"] = adapter.name
    if result.latency_ms is None:
        update["latency_ms"] = latency_ms
    if result.submitted_at is None:
        update["submitted_at"] = ctx.started_at
    if order is not None:
        if result.client_order_id is None:
            update["client_order_id"] = order.order_id
        if result.instrument is None:
            update["instrument"] = order.instrument
        if result.side is None:
            update["side"] = order.side
        if result.requested_quantity is None:
            update["requested_quantity"] = order.quantity
    if result.error is not None and not result.error.broker_name:
        update["error"] = result.error.model_copy(update={"broker_name": adapter.name})
    return result.model_copy(update=update) if update else result


def _emit(
    adapter: BrokerAdapter,
    ctx: CallContext,
    *,
    success: bool,
    error: StandardizedError | None,
    result: Any,
) -> None:
    bus = adapter.event_bus
    debug = _log.isEnabledFor(logging.DEBUG)
    if not debug and not bus.wants(CallEvent):
        return  # nobody would read the event
    duration_ns = adapter.clock.monotonic_ns() - ctx.started_ns
    event = CallEvent(
        time=ctx.started_at,
        broker_name=adapter.name,
        adapter_id=adapter.adapter_id,
        operation=ctx.operation.value,
        duration_ns=duration_ns,
        success=success,
        error=error,
        order=ctx.order,
        order_result=result if isinstance(result, OrderResult) else None,
        arrival=current_arrival_quote() if ctx.order is not None else None,
        detail=ctx.detail,
    )
    if debug:
        outcome = "ok" if success else f"failed {error.error_code.value if error else 'cancelled'}"
        _log.debug("%s %s %s in %.3f ms", adapter.name, ctx.operation.value, outcome, duration_ns / 1e6)
    bus.publish(event)


def _to_standard(adapter: BrokerAdapter, exc: BaseException, op: Operation) -> StandardizedError:
    if isinstance(exc, BrokerError):
        error = exc.error
        return error if error.broker_name else error.model_copy(update={"broker_name": adapter.name})
    return classify_exception(exc, broker_name=adapter.name, operation=op.value)


def _wrap(op: Operation, impl: Callable[..., Any]) -> Callable[..., Any]:
    """Route calls of ``impl`` through the pipeline, once per call even across ``super()`` chains."""
    if op is Operation.STREAM_PRICES:
        return _wrap_stream(impl)

    async def call(self: BrokerAdapter, *args: Any, **kwargs: Any) -> Any:
        if getattr(type(self), op.value) is not call:
            # Reached through super() from a more-derived override that already runs the pipeline.
            value = impl(self, *args, **kwargs)
            return await value if inspect.isawaitable(value) else value
        clock = self.clock
        ctx = CallContext(
            adapter=self,
            operation=op,
            args=args,
            kwargs=kwargs,
            started_at=clock.now(),
            started_ns=clock.monotonic_ns(),
            nested=_INSIDE.get() is self,
        )
        success, error, result = False, None, None
        order_action = op.is_order_action
        token = _ORDER_CALL.set(ctx if order_action else None)
        try:
            if op is Operation.AUTHENTICATE:
                ctx.args, ctx.kwargs = _credentials_argument(self, args, kwargs)
            elif order_action and (refusal := self._refusal(op, ctx)) is not None:
                raise error_class_for(refusal.error_code)(refusal)
            result = await self._run(ctx, impl)
            if order_action:
                latency = (clock.monotonic_ns() - ctx.started_ns) / 1e6
                result = _complete_result(self, ctx, result, latency)
                success, error = result.success, result.error
            else:
                success = True
                _note_auth(self, op, result)
            return result
        except Exception as exc:
            error = _to_standard(self, exc, op)
            if order_action:
                latency = (clock.monotonic_ns() - ctx.started_ns) / 1e6
                result = _failed_result(self, ctx, error, latency)
                return result
            if isinstance(exc, BrokerError):
                exc.error = error  # the same error, with the broker's name filled in
                raise
            raise error_class_for(error.error_code)(error) from exc
        finally:
            _ORDER_CALL.reset(token)
            _emit(self, ctx, success=success, error=error, result=result)

    functools.update_wrapper(call, impl)
    setattr(call, _PIPELINE_MARK, op)
    return call


def _wrap_stream(impl: Callable[..., Any]) -> Callable[..., AsyncIterator[PriceTick]]:
    op = Operation.STREAM_PRICES

    async def open_source(self: BrokerAdapter, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        source = impl(self, *args, **kwargs)
        return await source if inspect.isawaitable(source) else source

    async def stream(self: BrokerAdapter, *args: Any, **kwargs: Any) -> AsyncIterator[PriceTick]:
        if getattr(type(self), op.value) is not stream:
            async for tick in await open_source(self, args, kwargs):
                yield tick
            return
        clock = self.clock
        ctx = CallContext(
            adapter=self,
            operation=op,
            args=args,
            kwargs=kwargs,
            started_at=clock.now(),
            started_ns=clock.monotonic_ns(),
            nested=_INSIDE.get() is self,
        )
        ticks = 0
        success, error = False, None
        source: Any = None
        try:
            config = self.config
            if config is not None and not config.settings.enable_streaming:
                raise UnsupportedOperationError(
                    f"{self.name}: price streaming is switched off in the configuration "
                    "(settings.enable_streaming: false); poll get_current_prices instead",
                    broker_name=self.name,
                    context={"operation": op.value, "setting": "enable_streaming"},
                )
            source = await self._run_stream_open(ctx, open_source)
            async for tick in source:
                ticks += 1
                yield tick
            success = True
        except GeneratorExit:
            success = True  # the consumer stopped listening: a normal end for a stream
            raise
        except Exception as exc:
            error = _to_standard(self, exc, op)
            if isinstance(exc, BrokerError):
                exc.error = error
                raise
            raise error_class_for(error.error_code)(error) from exc
        finally:
            ctx.detail["ticks"] = ticks
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
            _emit(self, ctx, success=success, error=error, result=None)

    functools.update_wrapper(stream, impl)
    setattr(stream, _PIPELINE_MARK, op)
    return stream


def _note_auth(adapter: BrokerAdapter, op: Operation, result: Any) -> None:
    if op is Operation.AUTHENTICATE:
        adapter._authenticated = bool(result)
    elif op is Operation.DISCONNECT:
        adapter._authenticated = False


for _op in Operation:
    _default = _wrap(_op, BrokerAdapter.__dict__[_op.value])
    setattr(_default, _BASE_DEFAULT_MARK, True)
    setattr(BrokerAdapter, _op.value, _default)
del _op, _default
