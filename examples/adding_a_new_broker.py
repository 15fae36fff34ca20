"""Adding a new broker: implement the calls your broker has, register the class, and it is timed, mapped,
rate-limited and observed like the built-in adapters. Calls it lacks raise UNSUPPORTED_OPERATION.

``python examples/adding_a_new_broker.py``
"""

import asyncio
from decimal import Decimal

from broker_integration import (
    AccountSummary,
    BrokerAdapter,
    BrokerCapability,
    BrokerConfiguration,
    BrokerCredentials,
    BrokerFactory,
    CallEvent,
    EventBus,
    OrderResult,
    OrderStatus,
    PriceTick,
    UnifiedOrder,
    UnsupportedOperationError,
)


class AcmeBrokerAdapter(BrokerAdapter):
    """A toy broker: market orders fill at the ask (buy) or bid (sell) of a fixed quote."""

    broker_name = "acme"
    capabilities = frozenset({BrokerCapability.MARKET_ORDERS, BrokerCapability.CURRENT_PRICES})

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        # A real adapter would call the broker's login endpoint with credentials.api_key here.
        return credentials is not None and credentials.api_key is not None

    async def get_current_price(self, instrument: str) -> PriceTick:
        return PriceTick(
            instrument=instrument, bid=Decimal("1.1000"), ask=Decimal("1.1002"), time=self.clock.now()
        )

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        quote = await self.get_current_price(order.instrument)
        price = quote.ask if order.side.value == "buy" else quote.bid
        return OrderResult(
            success=True,
            broker_order_id="acme-1",
            status=OrderStatus.FILLED,
            filled_quantity=order.quantity,
            average_fill_price=price,
        )

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return AccountSummary(
            account_id="acme-main",
            currency="USD",
            balance=Decimal(50_000),
            equity=Decimal(50_000),
            margin_available=Decimal(50_000),
            time=self.clock.now(),
        )


async def main() -> None:
    bus = EventBus()
    bus.subscribe(CallEvent, lambda e: print(f"  event: {e.operation} ok={e.success} {e.duration_ms:.3f} ms"))
    factory = BrokerFactory(event_bus=bus)
    factory.register_adapter("acme", AcmeBrokerAdapter)
    config = BrokerConfiguration(broker_name="acme", credentials=BrokerCredentials(api_key="acme-token"))
    adapter = await factory.create_adapter("acme", config)

    result = await adapter.place_order(UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000)))
    print(f"market order: {result.status.value} at {result.average_fill_price}")

    limit = UnifiedOrder(
        instrument="EUR/USD", side="buy", order_type="limit", quantity=Decimal(1000), price=Decimal(1)
    )
    refused = await adapter.place_order(limit)
    print(f"limit order refused before sending: {refused.error.error_code.value if refused.error else None}")

    try:
        await adapter.get_positions()
    except UnsupportedOperationError as exc:
        print(f"get_positions: {exc.error.error_code.value}")

    health = await adapter.health_check()  # the base class times get_account_summary
    print(f"health: {health.state.value}")
    await factory.close_all()


if __name__ == "__main__":
    asyncio.run(main())
