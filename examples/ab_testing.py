"""A/B testing two brokers: split order flow 50/50 by a stable hash of the client order id, then read
the results at any time (the sequential test stays valid however often you look).

Two paper venues stand in for two brokers; "fast" answers in about 3 ms, "slow" in about 9 ms.
``python examples/ab_testing.py``
"""

import asyncio
from decimal import Decimal

from broker_integration import (
    BrokerABTestingFramework,
    BrokerConfiguration,
    BrokerFactory,
    RoutingStrategy,
    TrafficSplit,
    UnifiedOrder,
)


def venue(name: str, median_ms: float, seed: int) -> BrokerConfiguration:
    return BrokerConfiguration(
        broker_name=name,
        adapter="paper",
        options={"seed": seed, "latency": {"median_ms": median_ms, "sigma": 0.25}},
    )


async def main() -> None:
    factory = BrokerFactory()
    ab = BrokerABTestingFramework(seed=1)
    for config in (venue("fast", 3.0, 1), venue("slow", 9.0, 2)):
        ab.register_broker_adapter(config.broker_name, await factory.create_from_config(config))

    test_id = ab.create_ab_test(
        test_name="fast vs slow",
        description="Does the fast venue really execute faster, without costing fills?",
        traffic_splits=[TrafficSplit("fast", 50.0), TrafficSplit("slow", 50.0)],
        routing_strategy=RoutingStrategy.HASH_BASED,
    )
    for _ in range(8):
        orders = [
            UnifiedOrder(instrument="BTC/USD", side="buy" if i % 2 else "sell", quantity=Decimal("0.01"))
            for i in range(50)
        ]
        await asyncio.gather(*(ab.execute_order_with_test(order, test_id) for order in orders))
        results = ab.get_test_results(test_id)
        print(f"after {results.total_orders:4d} orders: {results.status.value}")

    evidence = "n/a" if results.winner_p_value is None else f"{results.winner_p_value:.2g}"
    print(f"winner: {results.winner} (Holm-adjusted p {evidence})")
    for arm in results.arms:
        latency = arm.metrics[results.primary_metric]
        print(
            f"  {arm.arm}: {arm.orders} orders, mean {results.primary_metric.value} {latency.estimate:.2f} "
            f"[{latency.low:.2f}, {latency.high:.2f}]"
        )
    print(f"sample ratio mismatch: {results.srm.mismatch}")
    for line in results.recommendations:
        print(f"- {line}")
    await ab.close()
    await factory.close_all()


if __name__ == "__main__":
    asyncio.run(main())
