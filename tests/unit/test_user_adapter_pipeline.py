"""A small user adapter gets the whole pipeline — checks, rate limit, breaker, deadline, retries and the order
journal — whether the factory creates it or its user builds it by hand with ``build_pipeline``."""

from __future__ import annotations

from decimal import Decimal

from broker_integration import BrokerAdapter, BrokerConfiguration, BrokerCredentials, BrokerFactory
from broker_integration.errors import OrderNotFoundError
from broker_integration.journal import OrderJournal
from broker_integration.models import (
    AccountSummary,
    Order,
    OrderResult,
    OrderStatus,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import STAGE_NAMES, build_pipeline
from broker_integration.store import Store


class TinyBroker(BrokerAdapter):
    """Forty lines of protocol code: fills everything at 1.10 and remembers what it filled."""

    broker_name = "tiny"

    def __init__(self, config: BrokerConfiguration) -> None:
        super().__init__(config)
        self.executed: dict[str, Order] = {}

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self.executed[order.order_id] = Order(
            broker_order_id=str(len(self.executed) + 1),
            client_order_id=order.order_id,
            instrument=order.instrument,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            filled_quantity=order.quantity,
            time_in_force=TimeInForce.FOK,
            status=OrderStatus.FILLED,
            average_fill_price=Decimal("1.10"),
            created_at=self.clock.now(),
        )
        return self.completed_result(
            success=True,
            broker_order_id=self.executed[order.order_id].broker_order_id,
            status=OrderStatus.FILLED,
            filled_quantity=order.quantity,
            average_fill_price=Decimal("1.10"),
        )

    async def get_order(self, order_id: str) -> Order:
        if order_id not in self.executed:
            raise OrderNotFoundError(f"no order {order_id}")
        return self.executed[order_id]

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        one = Decimal(1)
        return AccountSummary(
            account_id="t",
            currency="USD",
            balance=one,
            equity=one,
            margin_available=one,
            time=self.clock.now(),
        )


def _order() -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000))


async def _places_once_through_the_journal(adapter: BrokerAdapter, journal: OrderJournal) -> None:
    assert isinstance(adapter, TinyBroker)
    assert set(adapter.interceptor_names) == set(STAGE_NAMES) - {"credentials", "capability_profile"}
    order = _order()
    first = await adapter.place_order(order)
    again = await adapter.place_order(order)  # the same intent twice: sent once
    assert first.status is again.status is OrderStatus.FILLED
    assert len(adapter.executed) == 1
    entry = await journal.get("tiny", order.order_id)
    assert entry is not None
    assert entry.status is OrderStatus.FILLED
    assert adapter.journal is journal


async def test_created_by_the_factory(store: Store) -> None:
    factory = BrokerFactory(store=store, discover_plugins=False)
    factory.register_adapter("tiny", TinyBroker)
    adapter = await factory.create_adapter("tiny", BrokerConfiguration(broker_name="tiny"))
    assert factory.journal is not None
    await _places_once_through_the_journal(adapter, factory.journal)
    await factory.close_all()


async def test_built_by_hand(store: Store) -> None:
    adapter = TinyBroker(BrokerConfiguration(broker_name="tiny"))
    journal = OrderJournal(store)
    build_pipeline(adapter, journal=journal)
    await adapter.authenticate()
    await _places_once_through_the_journal(adapter, journal)
