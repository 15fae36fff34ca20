"""Helpers shared by the capability discovery tests (imported by name: pytest puts this folder on the path).

Adapters a user might write: one that implements part of the interface, one whose declaration claims more
than it delivers, one that fills every order whatever its price. And small helpers to look at the venue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerLimits,
    BrokerSettings,
)
from broker_integration.errors import OrderNotFoundError, UnsupportedOperationError
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    AccountSummary,
    Candle,
    Granularity,
    Order,
    OrderResult,
    OrderStatus,
    OrderType,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability
from broker_integration.sim.records import OrderView
from broker_integration.testing import MockBrokerAdapter

C = BrokerCapability


def paper_config(broker_name: str = "paper", **options: Any) -> BrokerConfiguration:
    """A paper configuration with limits out of the way and no automatic retries (so faults show)."""
    return BrokerConfiguration(
        broker_name=broker_name,
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
        settings=BrokerSettings(retry_attempts=0),
        options={"seed": 7, "poll_interval": 0.001, **options},
    )


def venue_orders(adapter: PaperBrokerAdapter, *, include_closed: bool = False) -> list[OrderView]:
    """What the paper venue itself holds for the adapter's account (not what the adapter says)."""
    return adapter.engine.orders(adapter.account_id, include_closed=include_closed)


def calls_of(bus: EventBus) -> list[CallEvent]:
    """Start recording every CallEvent on ``bus``; returns the (growing) list."""
    events: list[CallEvent] = []
    bus.subscribe(CallEvent, events.append)
    return events


def on_nth_call(bus: EventBus, operation: str, n: int, action: Callable[[], object]) -> None:
    """Run ``action`` once, right after the ``n``-th successful ``operation`` call on ``bus`` ends."""
    seen = 0

    def handler(event: CallEvent) -> None:
        nonlocal seen
        if event.operation == operation and event.success:
            seen += 1
            if seen == n:
                action()

    bus.subscribe(CallEvent, handler)


class PartialAdapter(BrokerAdapter):
    """A user's adapter that implements only part of the interface and declares nothing.

    It prices one instrument, rests limit orders in a dictionary, fills market orders, cancels, lists
    orders and gives an account summary. Everything else is the base class's unsupported default, and
    stop orders raise ``NotImplementedError``.
    """

    broker_name = "partial"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.book: dict[str, Order] = {}

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def get_current_price(self, instrument: str) -> PriceTick:
        return PriceTick(
            instrument=instrument, bid=Decimal("1.10000"), ask=Decimal("1.10020"), time=self.clock.now()
        )

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        if order.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise NotImplementedError(f"{order.order_type.value} orders are not wired up yet")
        if order.order_type is OrderType.MARKET or order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            status = OrderStatus.FILLED if order.order_type is OrderType.MARKET else OrderStatus.CANCELLED
            filled = order.quantity if status is OrderStatus.FILLED else Decimal(0)
            price = Decimal("1.10020") if filled else None
            return OrderResult(
                success=True,
                broker_order_id=f"p{len(self.book) + 1}",
                status=status,
                filled_quantity=filled,
                average_fill_price=price,
            )
        broker_id = f"p{len(self.book) + 1}"
        self.book[broker_id] = Order(
            broker_order_id=broker_id,
            client_order_id=order.order_id,
            instrument=order.instrument,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            price=order.price,
            time_in_force=order.time_in_force or TimeInForce.GTC,
            expire_time=order.expire_time,
            status=OrderStatus.ACCEPTED,
            created_at=self.clock.now(),
        )
        return OrderResult(success=True, broker_order_id=broker_id, status=OrderStatus.ACCEPTED)

    async def cancel_order(self, order_id: str) -> OrderResult:
        for broker_id, order in self.book.items():
            if order_id in (broker_id, order.client_order_id) and order.status.is_open:
                self.book[broker_id] = order.model_copy(update={"status": OrderStatus.CANCELLED})
                return OrderResult(success=True, broker_order_id=broker_id, status=OrderStatus.CANCELLED)
        raise OrderNotFoundError(f"no open order {order_id}")

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        return [o for o in self.book.values() if include_closed or o.status.is_open]

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return AccountSummary(
            account_id="main",
            currency="USD",
            balance=Decimal(10_000),
            equity=Decimal(10_000),
            margin_available=Decimal(10_000),
            time=self.clock.now(),
        )

    @property
    def open_orders(self) -> list[Order]:
        return [o for o in self.book.values() if o.status.is_open]


class NoListingAdapter(PartialAdapter):
    """Like :class:`PartialAdapter`, but with no way to list or look up orders."""

    broker_name = "nolisting"
    get_orders = BrokerAdapter.get_orders


class OverclaimingMock(MockBrokerAdapter):
    """Declares more than it delivers, as CCXT's ``has`` flags sometimes do.

    Its candles raise a ``TypeError`` (an adapter bug), its stream is not wired up, and its place_order
    refuses stop orders although stop orders are declared. ``history_works`` switches the candles on.
    """

    broker_name = "overclaiming"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history_works = False

    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        if not self.history_works:
            raise TypeError("unsupported operand type(s) for +: 'NoneType' and 'int'")
        return await super().get_historical_data(instrument, granularity, count=count, start=start, end=end)

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        raise NotImplementedError("streaming is not wired up yet")
        yield  # an async generator, as the interface has it

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        if order.order_type is OrderType.STOP:
            raise UnsupportedOperationError("this account cannot place stop orders")
        return await super().place_order(order)


class FillEverythingAdapter(BrokerAdapter):
    """The guide's toy adapter taken literally: every order fills at 1.10, whatever its price."""

    broker_name = "fillall"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placed: list[UnifiedOrder] = []

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def get_current_price(self, instrument: str) -> PriceTick:
        return PriceTick(
            instrument=instrument, bid=Decimal("1.10"), ask=Decimal("1.10"), time=datetime.now(UTC)
        )

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self.placed.append(order)
        return OrderResult(
            success=True,
            broker_order_id=str(len(self.placed)),
            status=OrderStatus.FILLED,
            filled_quantity=order.quantity,
            average_fill_price=Decimal("1.10"),
        )

    async def cancel_order(self, order_id: str) -> OrderResult:
        raise OrderNotFoundError(f"order {order_id} is filled")

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        return []
