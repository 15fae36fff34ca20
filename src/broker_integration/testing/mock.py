"""``MockBrokerAdapter``: an in-memory broker for testing code that trades through a :class:`BrokerAdapter`.

It is simple and predictable on purpose; there is no price process. Prices change only when the test
calls :meth:`MockBrokerAdapter.set_price`. Market orders fill in full at the touch (the ask to buy, the
bid to sell). Limit and stop orders fill at once if the touch already crosses them, else they rest
until a later ``set_price`` crosses them, and then fill at the touch. A test can make the next call of an
operation fail (:meth:`~MockBrokerAdapter.fail_next`) and read every call the broker received
(:attr:`~MockBrokerAdapter.calls`).

Being a real ``BrokerAdapter`` subclass, every call runs through the base class's pipeline: events,
interceptors, error mapping and the refusal of undeclared order types all behave as with any broker.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import math
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

from pydantic import SecretStr, ValidationError

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.clock import Clock
from broker_integration.errors import (
    AuthenticationError,
    BrokerError,
    DuplicateOrderError,
    InvalidInstrumentError,
    InvalidOrderError,
    OrderNotFoundError,
    PermissionDeniedError,
    PositionNotFoundError,
    StandardErrorCode,
    UnknownBrokerError,
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
    InstrumentType,
    Order,
    OrderModification,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderTrace,
    OrderTraceStatus,
    OrderType,
    OrderUpdate,
    OrderUpdateKind,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
    new_client_order_id,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability, Operation
from broker_integration.symbols import canonical_symbol, split_pair

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_PRICES", "QUANTITY_STEP", "MockBrokerAdapter"]

PriceInput = Decimal | int | str

#: Quotes a new mock starts with when it is not given ``prices``.
DEFAULT_PRICES: Mapping[str, tuple[Decimal, Decimal]] = {
    "EUR/USD": (Decimal("1.10000"), Decimal("1.10020")),
    "GBP/USD": (Decimal("1.27000"), Decimal("1.27025")),
    "USD/JPY": (Decimal("150.000"), Decimal("150.020")),
}
DEFAULT_ACCOUNT_ID = "mock-001"
#: Smallest order size and size increment of every mock instrument.
QUANTITY_STEP = Decimal("0.0001")
DEFAULT_CANDLE_COUNT = 500
MAX_CANDLE_COUNT = 5000

_ORDER_TYPES = frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP})
_NO_AUTH_NEEDED = frozenset({Operation.AUTHENTICATE, Operation.DISCONNECT, Operation.HEALTH_CHECK})

_P = ParamSpec("_P")
_R = TypeVar("_R")
_M = TypeVar("_M", bound="MockBrokerAdapter")


def _broker_call(
    fn: Callable[Concatenate[_M, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_M, _P], Coroutine[Any, Any, _R]]:
    """Record the call as the caller made it and play any scripted failure before the body runs."""
    operation = Operation(fn.__name__)

    @functools.wraps(fn)
    async def call(self: _M, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        self._arrive(operation, args, kwargs)
        return await fn(self, *args, **kwargs)

    return call


_UPDATE_OF_STATUS = {
    OrderStatus.FILLED: OrderUpdateKind.FILLED,
    OrderStatus.PARTIALLY_FILLED: OrderUpdateKind.PARTIALLY_FILLED,
    OrderStatus.CANCELLED: OrderUpdateKind.CANCELLED,
    OrderStatus.EXPIRED: OrderUpdateKind.EXPIRED,
    OrderStatus.REJECTED: OrderUpdateKind.REJECTED,
}


@dataclass(slots=True)
class _Net:
    """A net position: signed quantity, its average price, and P&L realized while it was open."""

    quantity: Decimal
    average_price: Decimal
    realized_pnl: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class _Stream:
    symbols: frozenset[str]
    queue: asyncio.Queue[PriceTick | None]


class MockBrokerAdapter(BrokerAdapter):
    """An in-memory broker with scripted prices and failures.

    ``prices`` maps symbol to ``(bid, ask)`` (default :data:`DEFAULT_PRICES`); every priced symbol is
    an instrument. ``balance`` and ``currency`` describe the one account, whose id is the
    configuration's ``credentials.account_id`` or ``mock-001``. Any credentials are accepted unless
    ``valid_api_key`` is given; then only that API key is. Calls other than ``authenticate``,
    ``disconnect`` and ``health_check`` need an authenticated adapter (use ``async with``).

    P&L is in the instrument's quote currency, counted one to one in the account's currency: the mock
    converts nothing and charges no commission or margin.
    """

    broker_name = "mock"
    #: In process: an order is in the mock's book the moment it is placed, or never.
    absence_grace_seconds = 0.0
    capabilities: ClassVar[frozenset[BrokerCapability] | None] = frozenset(
        {
            BrokerCapability.MARKET_ORDERS,
            BrokerCapability.LIMIT_ORDERS,
            BrokerCapability.STOP_ORDERS,
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
            BrokerCapability.FRACTIONAL_QUANTITY,
            BrokerCapability.HEALTH_CHECK,
        }
    )
    supported_time_in_force: ClassVar[frozenset[TimeInForce] | None] = frozenset(
        {TimeInForce.GTC, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.FOK}
    )

    def __init__(
        self,
        config: BrokerConfiguration | Mapping[str, Any] | None = None,
        *,
        prices: Mapping[str, tuple[PriceInput, PriceInput]] | None = None,
        balance: PriceInput = Decimal(100_000),
        currency: str = "USD",
        valid_api_key: str | SecretStr | None = None,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(config, event_bus=event_bus, clock=clock)
        config = self.config  # a dict given as in the seed is a BrokerConfiguration now
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"currency must be a three-letter code such as USD, not {currency!r}")
        #: Every call that reached the mock, as ``(operation, args, kwargs)`` exactly as made.
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._valid_api_key = SecretStr(valid_api_key) if isinstance(valid_api_key, str) else valid_api_key
        creds = config.credentials if config is not None else None
        self._account = Account(
            account_id=(creds.account_id if creds is not None else None) or DEFAULT_ACCOUNT_ID,
            currency=currency.upper(),
            alias="mock",
            environment=creds.environment.value if creds is not None else None,
        )
        self._balance = _decimal(balance)
        self._realized = Decimal(0)
        self._ticks: dict[str, PriceTick] = {}
        self._instruments: dict[str, Instrument] = {}
        self._orders: dict[str, Order] = {}  # by broker id, in creation order
        self._latest_by_client_id: dict[str, str] = {}  # client id -> broker id of its newest order
        self._positions: dict[str, _Net] = {}
        self._streams: list[_Stream] = []
        self._update_streams: list[asyncio.Queue[OrderUpdate | None]] = []
        self._failures: dict[Operation, deque[Callable[[], BrokerError]]] = {}
        self._sequence = 0
        for symbol, (bid, ask) in (DEFAULT_PRICES if prices is None else prices).items():
            self.set_price(symbol, bid, ask)

    # ------------------------------------------------------------------ scripting for tests

    @property
    def account_id(self) -> str:
        return self._account.account_id

    def set_price(self, instrument: str, bid: PriceInput, ask: PriceInput) -> PriceTick:
        """Quote ``instrument`` at ``bid``/``ask`` from now on; orders it crosses fill, streams see it.

        A symbol quoted for the first time becomes an instrument whose tick size is the finest
        decimal place of this quote.
        """
        tick = PriceTick(instrument=instrument, bid=_decimal(bid), ask=_decimal(ask), time=self.clock.now())
        symbol = tick.instrument
        if symbol not in self._instruments:
            self._instruments[symbol] = _default_instrument(symbol, tick)
        self._ticks[symbol] = tick
        self._expire_due()
        for order in list(self._orders.values()):
            if order.instrument == symbol and order.status.is_open:
                price = self._crossing_price(order)
                if price is not None:
                    self._fill(order, price)
        for stream in self._streams:
            if symbol in stream.symbols:
                stream.queue.put_nowait(tick)
        return tick

    def fail_next(self, operation: str, error: BrokerError | StandardErrorCode, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` (a method name) raise ``error``.

        Order actions then come back as a failed ``OrderResult``, as the pipeline makes them.
        Scripted failures queue up: two ``fail_next`` calls fail the next two calls, in order. Every
        attempt that reaches the mock counts, so a retry of a transient failure by the pipeline
        consumes the next scripted failure.
        """
        try:
            op = Operation(operation)
        except ValueError:
            names = ", ".join(o.value for o in Operation)
            raise ValueError(f"unknown operation {operation!r}; use one of {names}") from None
        if times < 1:
            raise ValueError("times must be at least 1")
        code = error.error_code if isinstance(error, BrokerError) else StandardErrorCode(error)

        def scripted() -> BrokerError:
            if isinstance(error, BrokerError):
                return copy.copy(error)  # a fresh exception each time, with no old traceback
            return error_class_for(code)(
                make_error(code, f"scripted failure of {op.value}", broker_name=self.name)
            )

        self._failures.setdefault(op, deque()).extend([scripted] * times)

    # ------------------------------------------------------------------ session

    @_broker_call
    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        if self._valid_api_key is None:
            return True
        creds = credentials or self.credentials
        given = creds.api_key if creds is not None else None
        if given is None:
            return False
        expected = self._valid_api_key.get_secret_value().encode()
        return secrets.compare_digest(given.get_secret_value().encode(), expected)

    @_broker_call
    async def disconnect(self) -> None:
        for stream in self._streams:
            stream.queue.put_nowait(None)  # ends the stream after the ticks already queued
        for queue in self._update_streams:
            queue.put_nowait(None)

    @_broker_call
    async def health_check(self) -> HealthStatus:
        now = self.clock.now()
        if not self.is_authenticated:
            return HealthStatus(state=HealthState.DOWN, checked_at=now, message="not authenticated")
        return HealthStatus(
            state=HealthState.HEALTHY,
            checked_at=now,
            latency_ms=0.0,
            details={"open_orders": self._open_order_count(), "positions": len(self._positions)},
        )

    # ------------------------------------------------------------------ orders

    @_broker_call
    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self._check_account(order.account_id)
        spec = self._instrument(order.instrument)
        if order.order_type not in _ORDER_TYPES:
            raise UnsupportedOperationError(f"the mock broker does not take {order.order_type.value} orders")
        if order.take_profit is not None or order.stop_loss is not None:
            raise UnsupportedOperationError("the mock broker does not attach take-profit or stop-loss orders")
        self._check_quantity(spec, order.units)
        if order.order_id in self._latest_by_client_id:
            raise DuplicateOrderError(
                f"client order id {order.order_id!r} is already used by order "
                f"{self._latest_by_client_id[order.order_id]}",
                context={"client_order_id": order.order_id},
            )
        now = self.clock.now()
        self._check_expiry(order.expire_time, now)
        placed = self._new_order(
            order,
            self._new_broker_id(),
            now,
            client_order_id=order.order_id,
            instrument=spec.symbol,
            account_id=self.account_id,
        )
        return self._result(self._accept(placed))

    @_broker_call
    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        """Replace the order: the old one is cancelled, a new one (new broker id) takes its place."""
        old = self._open_order(order_id)
        changes = modification.model_dump(exclude_unset=True)
        if "take_profit" in changes or "stop_loss" in changes:
            raise UnsupportedOperationError("the mock broker does not attach take-profit or stop-loss orders")
        tif = changes.get("time_in_force") or old.time_in_force
        if "expire_time" in changes:
            expire_time = changes["expire_time"]
        else:
            expire_time = old.expire_time if tif is TimeInForce.GTD else None
        try:
            intent = UnifiedOrder(
                order_id=old.client_order_id or new_client_order_id(),
                instrument=old.instrument,
                side=old.side,
                order_type=old.order_type,
                quantity=changes.get("quantity", old.quantity),
                price=changes.get("price", old.price),
                stop_price=changes.get("stop_price", old.stop_price),
                trailing_distance=changes.get("trailing_distance", old.trailing_distance),
                time_in_force=tif,
                expire_time=expire_time,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise InvalidOrderError(
                f"the modified order would be invalid: {field}: {first['msg']}", context={"field": field}
            ) from exc
        self._check_quantity(self._instruments[old.instrument], intent.units)
        now = self.clock.now()
        self._check_expiry(intent.expire_time, now)
        new_id = self._new_broker_id()
        self._update(old, OrderStatus.CANCELLED, replaced_by_order_id=new_id)
        replacement = self._new_order(
            intent,
            new_id,
            now,
            client_order_id=old.client_order_id,
            instrument=old.instrument,
            account_id=old.account_id,
            replaces_order_id=old.broker_order_id,
        )
        return self._result(self._accept(replacement))

    @_broker_call
    async def cancel_order(self, order_id: str) -> OrderResult:
        return self._result(self._update(self._open_order(order_id), OrderStatus.CANCELLED))

    @_broker_call
    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        symbol = self._instrument(instrument).symbol
        net = self._positions.get(symbol)
        if net is None:
            raise PositionNotFoundError(f"no open position in {symbol}", context={"instrument": symbol})
        size = abs(net.quantity) if quantity is None else _decimal(quantity)
        if not 0 < size <= abs(net.quantity):
            raise InvalidOrderError(
                f"cannot close {size} of a {net.quantity} position in {symbol}",
                context={"instrument": symbol},
            )
        order = Order(
            broker_order_id=self._new_broker_id(),
            client_order_id=new_client_order_id(),
            instrument=symbol,
            side=OrderSide.SELL if net.quantity > 0 else OrderSide.BUY,
            order_type=OrderType.MARKET,
            quantity=size,
            time_in_force=TimeInForce.FOK,
            status=OrderStatus.ACCEPTED,
            created_at=self.clock.now(),
            account_id=self.account_id,
        )
        return self._result(self._accept(order))

    @_broker_call
    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        symbol = _symbol(instrument) if instrument is not None else None
        return [
            order
            for order in self._orders.values()
            if (include_closed or order.status.is_open) and (symbol is None or order.instrument == symbol)
        ]

    @_broker_call
    async def get_order(self, order_id: str) -> Order:
        """By broker id first, then by client order id (the newest order that carries it)."""
        order = self._find(order_id)
        if order is None:
            raise OrderNotFoundError(f"no order with id {order_id!r}", context={"order_id": order_id})
        return order

    @_broker_call
    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """The mock is the venue: its own record settles whether an order was placed."""
        try:
            order = await self.get_order(client_order_id)
        except OrderNotFoundError:
            return OrderTrace(
                status=OrderTraceStatus.ABSENT,
                evidence=f"the mock's order book holds no order with client id {client_order_id}",
            )
        return OrderTrace(status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id)

    @_broker_call
    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        symbol = _symbol(instrument) if instrument is not None else None
        return [self._position(s, net) for s, net in self._positions.items() if symbol in (None, s)]

    # ------------------------------------------------------------------ market data

    @_broker_call
    async def get_current_price(self, instrument: str) -> PriceTick:
        return self._ticks[self._instrument(instrument).symbol]

    @_broker_call
    async def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        symbols = [self._instrument(text).symbol for text in instruments]
        return {symbol: self._ticks[symbol] for symbol in symbols}

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        """The current quote of each instrument, then every ``set_price`` of them; ends at disconnect."""
        self._arrive(Operation.STREAM_PRICES, (instruments,), {})
        symbols = list(dict.fromkeys(self._instrument(text).symbol for text in instruments))
        if not symbols:
            raise InvalidInstrumentError("stream_prices needs at least one instrument")
        subscriber = _Stream(frozenset(symbols), asyncio.Queue())
        for symbol in symbols:
            subscriber.queue.put_nowait(self._ticks[symbol])
        self._streams.append(subscriber)
        try:
            while (tick := await subscriber.queue.get()) is not None:
                yield tick
        finally:
            self._streams.remove(subscriber)

    async def stream_order_updates(self) -> AsyncIterator[OrderUpdate]:
        """Every change of the mock's orders from now on (accepted, filled, cancelled, replaced, expired);
        ends at disconnect."""
        self._arrive(Operation.STREAM_ORDER_UPDATES, (), {})
        queue: asyncio.Queue[OrderUpdate | None] = asyncio.Queue()
        self._update_streams.append(queue)
        try:
            while (update := await queue.get()) is not None:
                yield update
        finally:
            self._update_streams.remove(queue)

    @_broker_call
    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        """A fixed zigzag around the current mid (steps of 0.1 %), the same for the same bar time.

        Bars sit on a grid of the granularity's nominal width from the Unix epoch; the bar that holds
        "now" is the last one and is incomplete.
        """
        spec = self._instrument(instrument)
        width = Granularity(granularity).seconds
        if count is not None and not 1 <= count <= MAX_CANDLE_COUNT:
            raise _bad_request(f"count must be between 1 and {MAX_CANDLE_COUNT}, not {count}")
        for name, value in (("start", start), ("end", end)):
            if value is not None and value.tzinfo is None:
                raise _bad_request(f"{name} must be timezone-aware")
        if start is not None and end is not None and start > end:
            raise _bad_request("start is after end")
        now_index = math.floor(self.clock.now().timestamp() / width)
        last = now_index if end is None else min(now_index, math.floor(end.timestamp() / width))
        if start is not None:
            first = math.ceil(start.timestamp() / width)
            if count is not None:
                last = min(last, first + count - 1)
        else:
            first = last - (count or DEFAULT_CANDLE_COUNT) + 1
        mid = self._ticks[spec.symbol].mid
        return [
            _candle(spec, Granularity(granularity), index, width, mid, complete=index < now_index)
            for index in range(first, last + 1)
        ]

    # ------------------------------------------------------------------ account

    @_broker_call
    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        self._check_account(account_id)
        positions = [self._position(s, net) for s, net in self._positions.items()]
        unrealized = sum((p.unrealized_pnl for p in positions), Decimal(0))
        equity = self._balance + unrealized
        return AccountSummary(
            account_id=self.account_id,
            currency=self._account.currency,
            balance=self._balance,
            equity=equity,
            unrealized_pnl=unrealized,
            realized_pnl=self._realized,
            margin_available=equity,
            open_position_count=len(positions),
            open_order_count=self._open_order_count(),
            time=self.clock.now(),
        )

    @_broker_call
    async def get_accounts(self) -> list[Account]:
        return [self._account]

    @_broker_call
    async def get_instruments(self) -> list[Instrument]:
        return list(self._instruments.values())

    # ------------------------------------------------------------------ internals

    def _arrive(self, op: Operation, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Every call starts here: record it, expire due orders, play a scripted failure, check login."""
        self.calls.append((op.value, tuple(args), dict(kwargs)))
        self._expire_due()
        scripted = self._failures.get(op)
        if scripted:
            raise scripted.popleft()()
        if op not in _NO_AUTH_NEEDED and not self.is_authenticated:
            raise AuthenticationError(
                f"{self.name}: not authenticated; call authenticate() first or use `async with`"
            )

    def _check_account(self, account_id: str | None) -> None:
        if account_id is not None and account_id != self.account_id:
            raise PermissionDeniedError(
                f"no access to account {account_id!r}", context={"account_id": account_id}
            )

    def _instrument(self, text: str) -> Instrument:
        symbol = _symbol(text)
        try:
            return self._instruments[symbol]
        except KeyError:
            raise InvalidInstrumentError(
                f"{symbol} has no price at the mock broker; call set_price first",
                context={"instrument": symbol},
            ) from None

    @staticmethod
    def _check_quantity(spec: Instrument, quantity: Decimal) -> None:
        if not spec.is_valid_quantity(quantity):
            raise InvalidOrderError(
                f"quantity {quantity} is not a multiple of {spec.quantity_increment} of at least {spec.min_quantity}",
                context={"quantity": str(quantity)},
            )

    @staticmethod
    def _check_expiry(expire_time: datetime | None, now: datetime) -> None:
        if expire_time is not None and expire_time <= now:
            raise InvalidOrderError(f"expire_time {expire_time.isoformat()} is not in the future")

    def _open_order_count(self) -> int:
        return sum(1 for order in self._orders.values() if order.status.is_open)

    def _new_broker_id(self) -> str:
        self._sequence += 1
        return str(self._sequence)

    def _find(self, order_id: str) -> Order | None:
        order = self._orders.get(order_id)
        if order is None and order_id in self._latest_by_client_id:
            order = self._orders[self._latest_by_client_id[order_id]]
        return order

    def _open_order(self, order_id: str) -> Order:
        order = self._find(order_id)
        if order is None:
            raise OrderNotFoundError(f"no order with id {order_id!r}", context={"order_id": order_id})
        if not order.status.is_open:
            raise OrderNotFoundError(
                f"order {order.broker_order_id} is {order.status.value}, no longer open",
                context={"order_id": order_id, "status": order.status.value},
            )
        return order

    @staticmethod
    def _new_order(intent: UnifiedOrder, broker_order_id: str, now: datetime, **fields: Any) -> Order:
        """An accepted order as ``intent`` asks (GTC unless it says), with its ids and account in ``fields``."""
        return Order(
            broker_order_id=broker_order_id,
            side=intent.side,
            order_type=intent.order_type,
            quantity=intent.quantity,
            price=intent.price,
            stop_price=intent.stop_price,
            time_in_force=intent.time_in_force or TimeInForce.GTC,
            expire_time=intent.expire_time,
            status=OrderStatus.ACCEPTED,
            created_at=now,
            **fields,
        )

    def _accept(self, order: Order) -> Order:
        """Store a new order, fill it if the touch crosses it, else let it rest (or cancel an IOC/FOK)."""
        self._orders[order.broker_order_id] = order
        if order.client_order_id is not None:
            self._latest_by_client_id[order.client_order_id] = order.broker_order_id
        self._publish(order, OrderUpdateKind.ACCEPTED)
        price = self._crossing_price(order)
        if price is not None:
            return self._fill(order, price)
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            return self._update(order, OrderStatus.CANCELLED)
        return order

    def _crossing_price(self, order: Order) -> Decimal | None:
        """The touch the order would fill at now, or ``None`` while it does not cross."""
        tick = self._ticks[order.instrument]
        buy = order.side is OrderSide.BUY
        touch = tick.ask if buy else tick.bid
        if order.order_type is OrderType.LIMIT:
            assert order.price is not None
            crossed = touch <= order.price if buy else touch >= order.price
        elif order.order_type is OrderType.STOP:
            assert order.stop_price is not None
            crossed = touch >= order.stop_price if buy else touch <= order.stop_price
        else:
            crossed = True
        return touch if crossed else None

    def _fill(self, order: Order, price: Decimal) -> Order:
        self._apply_fill(order.instrument, order.quantity * order.side.sign, price)
        return self._update(
            order, OrderStatus.FILLED, filled_quantity=order.quantity, average_fill_price=price
        )

    def _update(self, order: Order, status: OrderStatus, **changes: Any) -> Order:
        """Move ``order`` to ``status`` (checked by the state machine) and store the new version."""
        status = order.status.transition_to(status)
        updated = order.model_copy(update={"status": status, "updated_at": self.clock.now(), **changes})
        self._orders[order.broker_order_id] = updated
        kind = _UPDATE_OF_STATUS.get(status)
        if updated.replaced_by_order_id is not None and status is OrderStatus.CANCELLED:
            kind = OrderUpdateKind.REPLACED
        if kind is not None:
            self._publish(updated, kind, filled_now=updated.filled_quantity - order.filled_quantity)
        return updated

    def _publish(self, order: Order, kind: OrderUpdateKind, *, filled_now: Decimal = Decimal(0)) -> None:
        """Tell the order-update streams what just happened to ``order``."""
        if not self._update_streams:
            return
        update = OrderUpdate(
            kind=kind,
            broker_order_id=order.broker_order_id,
            client_order_id=order.client_order_id,
            instrument=order.instrument,
            side=order.side,
            time=self.clock.now(),
            fill_quantity=filled_now if kind.is_fill else Decimal(0),
            fill_price=order.average_fill_price if kind.is_fill else None,
            filled_quantity=order.filled_quantity,
            remaining_quantity=order.remaining_quantity,
            replaced_by_order_id=order.replaced_by_order_id,
            account_id=order.account_id,
        )
        for queue in self._update_streams:
            queue.put_nowait(update)

    def _expire_due(self) -> None:
        now = self.clock.now()
        for order in list(self._orders.values()):
            if order.status.is_open and order.expire_time is not None and order.expire_time <= now:
                self._update(order, OrderStatus.EXPIRED)

    def _apply_fill(self, symbol: str, signed_quantity: Decimal, price: Decimal) -> None:
        """Net a fill into the position: add at a weighted average, reduce at a realized P&L, or flip."""
        net = self._positions.get(symbol)
        if net is None:
            self._positions[symbol] = _Net(signed_quantity, price)
            return
        held = net.quantity
        if (held > 0) == (signed_quantity > 0):
            total = held + signed_quantity
            net.average_price = (net.average_price * held + price * signed_quantity) / total
            net.quantity = total
            return
        closed = min(abs(held), abs(signed_quantity))
        pnl = (price - net.average_price) * closed * (1 if held > 0 else -1)
        net.realized_pnl += pnl
        self._realized += pnl
        self._balance += pnl
        remaining = held + signed_quantity
        if remaining == 0:
            del self._positions[symbol]
            return
        if (remaining > 0) != (held > 0):
            net.average_price = price  # flipped: the rest was opened by this fill
        net.quantity = remaining

    def _position(self, symbol: str, net: _Net) -> Position:
        tick = self._ticks[symbol]
        mark = tick.bid if net.quantity > 0 else tick.ask  # what closing it would get
        return Position(
            instrument=symbol,
            quantity=net.quantity,
            average_price=net.average_price,
            unrealized_pnl=(mark - net.average_price) * net.quantity,
            realized_pnl=net.realized_pnl,
            account_id=self.account_id,
        )

    def _result(self, order: Order) -> OrderResult:
        return OrderResult(
            success=True,
            client_order_id=order.client_order_id,
            broker_order_id=order.broker_order_id,
            broker_name=self.name,
            status=order.status,
            instrument=order.instrument,
            side=order.side,
            requested_quantity=order.quantity,
            filled_quantity=order.filled_quantity,
            average_fill_price=order.average_fill_price,
            submitted_at=order.created_at,
            completed_at=order.updated_at if order.status.is_terminal else None,
            replaces_order_id=order.replaces_order_id,
        )


def _decimal(value: PriceInput) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"give prices and amounts as Decimal, int or str, not float ({value!r})")
    return Decimal(value)


def _symbol(text: str) -> str:
    try:
        return canonical_symbol(text)
    except (TypeError, ValueError) as exc:
        raise InvalidInstrumentError(str(exc), context={"instrument": str(text)}) from None


def _bad_request(message: str) -> UnknownBrokerError:
    return UnknownBrokerError(message, broker_error_code="BAD_REQUEST")


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def _default_instrument(symbol: str, tick: PriceTick) -> Instrument:
    exponent = min(_exponent(tick.bid), _exponent(tick.ask))
    pair = split_pair(symbol)
    return Instrument(
        symbol=symbol,
        broker_symbol=symbol,
        type=InstrumentType.EQUITY if pair is None else InstrumentType.CURRENCY,
        display_name=symbol,
        tick_size=Decimal(1).scaleb(exponent),
        display_precision=max(0, min(12, -exponent)),
        min_quantity=QUANTITY_STEP,
        quantity_increment=QUANTITY_STEP,
        quote_currency=pair[1] if pair is not None else None,
    )


def _on_tick(value: Decimal, tick_size: Decimal) -> Decimal:
    """``value`` rounded to the tick grid, never below one tick."""
    return max((value / tick_size).to_integral_value() * tick_size, tick_size)


def _candle(
    spec: Instrument, granularity: Granularity, index: int, width: int, mid: Decimal, *, complete: bool
) -> Candle:
    def level(i: int) -> Decimal:
        return _on_tick(mid * (1 + Decimal(i % 8 - 4) / 1000), spec.tick_size)

    open_, close = level(index), level(index + 1)
    return Candle(
        instrument=spec.symbol,
        granularity=granularity,
        time=datetime.fromtimestamp(index * width, UTC),
        open=open_,
        close=close,
        high=_on_tick(max(open_, close) * Decimal("1.0005"), spec.tick_size),
        low=_on_tick(min(open_, close) * Decimal("0.9995"), spec.tick_size),
        volume=10 + (index % 10) * 5,
        complete=complete,
    )
