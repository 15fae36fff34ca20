"""``BrokerAdapter``: the one interface every broker is driven through, hosting the call pipeline.

A subclass implements only protocol translation: it overrides the public methods it supports
(``place_order``, ``get_current_price`` ...). :meth:`BrokerAdapter.__init_subclass__` wraps each override
so that every call, however it is reached, runs once through the same pipeline:

    built-in checks (:mod:`.checks`) → the stages :func:`~broker_integration.pipeline.build.build_pipeline`
    installed (credentials gate, capability profile, retry, rate limit, breaker, journal, deadline)
    → the adapter's code → failures mapped to a :class:`~broker_integration.errors.BrokerError`
    → exactly one :class:`~broker_integration.events.CallEvent` on the event bus, timed with a monotonic clock.

Order actions (place, modify, cancel, close) return an :class:`OrderResult` that says whether they
succeeded and whether they reached the broker; every other call raises a ``BrokerError`` when it fails. A
method the subclass does not override raises ``UNSUPPORTED_OPERATION``.
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
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerLimits
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors import (
    AuthenticationError,
    BrokerError,
    OrderNotFoundError,
    StandardizedError,
    UnsupportedOperationError,
    classify_exception,
    error_class_for,
)
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
    OrderTrace,
    OrderTraceStatus,
    OrderUpdate,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
    checked_result,
)
from broker_integration.pipeline import results
from broker_integration.pipeline.build import build_pipeline
from broker_integration.pipeline.checks import order_refusal, typed_credentials
from broker_integration.pipeline.context import (
    _INSIDE,
    _ORDER_CALL,
    CallContext,
    CallInterceptor,
    Proceed,
    current_order_call,
)
from broker_integration.pipeline.operations import OPERATIONS, BrokerCapability, Operation
from broker_integration.pipeline.resilience import BreakerState, Resilience
from broker_integration.tca import current_arrival_quote

if TYPE_CHECKING:
    from broker_integration.journal import OrderJournal

__all__ = ["AdapterDeclaration", "BrokerAdapter", "construct_adapter"]


@dataclass(frozen=True, slots=True)
class AdapterDeclaration:
    """What one adapter instance says it supports. ``capabilities`` ``None`` or ``time_in_force`` ``None``:
    nothing declared, so the pipeline refuses nothing on that ground. ``default_limits``: the broker's own
    published limits, used when the configuration sets none. ``notes``: how a declared capability is served
    (a stream by websocket or by polling, say), shown in the capability profile."""

    capabilities: frozenset[BrokerCapability] | None
    time_in_force: frozenset[TimeInForce] | None
    default_limits: BrokerLimits | None = None
    notes: Mapping[BrokerCapability, str] = field(default_factory=dict, compare=False)


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

#: The class attribute holding each adapter class's own declaration, built once (it is read on every order;
#: a class attribute is found faster than a weak-keyed table, and goes with its class).
_CLASS_DECLARATION = "_broker_class_declaration"

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
    _adapter_id: tuple[str, str] | None = None
    resilience: Resilience | None = None
    #: The order journal the pipeline writes intents to, once one is attached (``build_pipeline``).
    journal: OrderJournal | None = None

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
        build_pipeline(self, config)

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
        name = self.name
        known = self._adapter_id
        if known is None or known[0] is not name:  # formatted once per name: every call's event carries it
            known = self._adapter_id = (name, f"{name}@{id(self):x}")
        return known[1]

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
        ctx = current_order_call()
        if ctx is None or ctx.adapter is not self:
            return checked_result(fields)
        fields.update(results.known_fields(self, ctx, fields))
        result = ctx.completed = checked_result(fields)
        return result

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
        cached: AdapterDeclaration | None = cls.__dict__.get(_CLASS_DECLARATION)
        if (
            cached is None
            or cached.capabilities is not cls.capabilities
            or cached.time_in_force is not cls.supported_time_in_force
            or cached.default_limits is not cls.default_limits
        ):
            cached = AdapterDeclaration(cls.capabilities, cls.supported_time_in_force, cls.default_limits)
            setattr(cls, _CLASS_DECLARATION, cached)
        return cached

    @property
    def breaker_state(self) -> BreakerState | None:
        """The circuit breaker's state (``None`` without resilience stages): OPEN refuses calls unsent."""
        return self.resilience.breaker.state if self.resilience is not None else None

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
        derived = {
            spec.capability
            for op, spec in OPERATIONS.items()
            if spec.capability is not None and op in implemented
        }
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
        return OrderTrace(status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id)

    def stream_order_updates(self) -> AsyncIterator[OrderUpdate]:
        """Changes of the account's orders as they happen at the broker (accepted, filled in part or in full
        with price, quantity and costs, cancelled, rejected, expired, replaced), until the consumer stops."""
        raise _unsupported(self, Operation.STREAM_ORDER_UPDATES)

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

    def _context(self, op: Operation, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallContext:
        """A call of ``op`` starting now (nested when the adapter's own code makes it)."""
        clock = self.clock
        return CallContext(
            adapter=self,
            operation=op,
            args=args,
            kwargs=kwargs,
            started_at=clock.now(),
            started_ns=clock.monotonic_ns(),
            nested=_INSIDE.get() is self,
        )

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
        operation=ctx.operation._value_,  # .value is a Python-level property on every enum member
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
    if OPERATIONS[op].streaming:
        return _wrap_stream(op, impl)

    name = op.value
    order_action = OPERATIONS[op].order_action
    authenticating = op is Operation.AUTHENTICATE
    coroutine = inspect.iscoroutinefunction(impl)

    async def call(self: BrokerAdapter, *args: Any, **kwargs: Any) -> Any:
        if getattr(type(self), name) is not call:
            # Reached through super() from a more-derived override that already runs the pipeline.
            value = impl(self, *args, **kwargs)
            return await value if inspect.isawaitable(value) else value
        ctx = self._context(op, args, kwargs)
        success, error, result = False, None, None
        reports_sending = type(self).reports_sending

        async def call_impl() -> Any:
            if not reports_sending:
                ctx.sent = True
            inside = _INSIDE.set(self)
            # Only while the order action's own code runs: calls the journal makes around it are not it.
            order_call = _ORDER_CALL.set(ctx) if order_action else None
            try:
                if coroutine:
                    return await impl(self, *ctx.args, **ctx.kwargs)
                value = impl(self, *ctx.args, **ctx.kwargs)
                return await value if inspect.isawaitable(value) else value
            finally:
                if order_call is not None:
                    _ORDER_CALL.reset(order_call)
                _INSIDE.reset(inside)

        try:
            if order_action:
                if (refusal := order_refusal(self, ctx)) is not None:
                    raise error_class_for(refusal.error_code)(refusal)
            elif authenticating:
                typed_credentials(self, ctx)
            result = await self._chained(ctx, call_impl)()
            if order_action:
                result = results.completed(self, ctx, result)
                success, error = result.success, result.error
            else:
                success = True
                _note_auth(self, op, result)
            return result
        except Exception as exc:
            error = _to_standard(self, exc, op)
            if order_action:
                result = results.failed(self, ctx, error)
                return result
            if isinstance(exc, BrokerError):
                exc.error = error  # the same error, with the broker's name filled in
                raise
            raise error_class_for(error.error_code)(error) from exc
        finally:
            _emit(self, ctx, success=success, error=error, result=result)

    functools.update_wrapper(call, impl)
    setattr(call, _PIPELINE_MARK, op)
    return call


def _wrap_stream(op: Operation, impl: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
    """A streaming operation: the stages see opening the stream as the call; the items that follow are not
    re-intercepted. One event when the stream ends, with the number of items."""

    async def open_source(self: BrokerAdapter, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        source = impl(self, *args, **kwargs)
        return await source if inspect.isawaitable(source) else source

    async def stream(self: BrokerAdapter, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if getattr(type(self), op.value) is not stream:
            async for tick in await open_source(self, args, kwargs):
                yield tick
            return
        ctx = self._context(op, args, kwargs)
        ticks = 0
        success, error = False, None
        source: Any = None
        try:
            config = self.config
            if op is Operation.STREAM_PRICES and config is not None and not config.settings.enable_streaming:
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
            ctx.detail["items" if op is not Operation.STREAM_PRICES else "ticks"] = ticks
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
