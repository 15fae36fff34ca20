"""Basic broker integration: create an authenticated broker through the factory and use every core call.

Runs on the embedded paper broker: no account, no network. ``python examples/basic_integration.py``
"""

import asyncio
from decimal import Decimal

from broker_integration import (
    BrokerConfiguration,
    BrokerFactory,
    Granularity,
    OrderSide,
    OrderType,
    UnifiedOrder,
)


async def main() -> None:
    factory = BrokerFactory()
    config = BrokerConfiguration(
        broker_name="paper",
        display_name="Paper venue",
        # BTC/USD trades around the clock, so the example works at weekends too.
        options={"seed": 42},
    )
    adapter = await factory.create_adapter("paper", config)
    try:
        health = await adapter.health_check()
        print(f"health: {health.state.value} ({health.latency_ms:.2f} ms)")

        summary = await adapter.get_account_summary()
        print(f"account {summary.account_id}: balance {summary.balance} {summary.currency}")

        quote = await adapter.get_current_price("BTC/USD")
        print(f"BTC/USD bid {quote.bid} ask {quote.ask} spread {quote.spread}")

        candles = await adapter.get_historical_data("BTC/USD", Granularity.H1, count=3)
        print(f"last 3 hourly closes: {[str(c.close) for c in candles]}")

        market = UnifiedOrder(instrument="BTC/USD", side=OrderSide.BUY, quantity=Decimal("0.05"))
        result = await adapter.place_order(market)
        print(f"market order: {result.status.value}, {result.filled_quantity} at {result.average_fill_price}")

        limit = UnifiedOrder(
            instrument="BTC/USD",
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            quantity=Decimal("0.05"),
            price=(quote.bid * Decimal("0.8")).quantize(Decimal("0.01")),
        )
        resting = await adapter.place_order(limit)
        print(f"limit order: {resting.status.value} as {resting.broker_order_id}")
        print(f"open orders: {[o.broker_order_id for o in await adapter.get_orders()]}")
        cancelled = await adapter.cancel_order(limit.order_id)  # by client order id
        print(f"cancel: {cancelled.status.value}")

        for position in await adapter.get_positions():
            print(f"position {position.instrument}: {position.quantity} @ {position.average_price}")
            closed = await adapter.close_position(position.instrument)
            print(f"closed: {closed.status.value} at {closed.average_fill_price}")
    finally:
        await factory.close_all()


if __name__ == "__main__":
    asyncio.run(main())
