"""Multi-broker execution: performance-based routing sends more flow to the broker that executes best,
while a floor and an exploration slice keep measuring the others.

Three paper venues stand in for three brokers: one charges commission, one quotes a wide spread, one is
fast and cheap. ``python examples/multi_broker_execution.py``
"""

import asyncio
from collections import Counter
from decimal import Decimal

from broker_integration import (
    BrokerABTestingFramework,
    BrokerConfiguration,
    BrokerFactory,
    RoutingStrategy,
    TrafficSplit,
    UnifiedOrder,
)
from broker_integration.ab_testing_framework import Metric

VENUES = {
    "commission_broker": {"seed": 3, "latency": {"median_ms": 4.0, "sigma": 0.3}, "commission": {"bps": "4"}},
    "cheap_broker": {"seed": 4, "latency": {"median_ms": 2.0, "sigma": 0.3}},
    "wide_spread_broker": {"seed": 5, "latency": {"median_ms": 4.0, "sigma": 0.3}, "spread_multiplier": 4.0},
}


async def main() -> None:
    factory = BrokerFactory()
    async with BrokerABTestingFramework(seed=7) as ab:
        for name, options in VENUES.items():
            config = BrokerConfiguration(broker_name=name, adapter="paper", options=options)
            ab.register_broker_adapter(name, await factory.create_from_config(config))
        test_id = ab.create_ab_test(
            test_name="multi-broker execution",
            description="Route to whichever broker executes most cheaply; keep measuring the others.",
            traffic_splits=[TrafficSplit(name, 100 / 3) for name in VENUES],
            routing_strategy=RoutingStrategy.PERFORMANCE_BASED,
            primary_metric=Metric.TOTAL_COST_BPS,
            minimum_sample_size=20,
        )
        routed: Counter[str] = Counter()
        for batch in range(12):
            orders = [
                UnifiedOrder(instrument="BTC/USD", side="buy" if i % 2 else "sell", quantity=Decimal("0.01"))
                for i in range(25)
            ]
            for result in await asyncio.gather(*(ab.execute_order_with_test(o, test_id) for o in orders)):
                routed[result.executed_arm] += 1
            if batch in (0, 5, 11):
                print(f"after batch {batch + 1:2d}: routed so far {dict(sorted(routed.items()))}")
        results = ab.get_test_results(test_id)

    for arm in results.arms:
        cost = arm.corrected.get(Metric.TOTAL_COST_BPS) or arm.metrics[Metric.TOTAL_COST_BPS]
        print(
            f"  {arm.arm}: {arm.orders} orders, allocation now {arm.allocation:.2f}, "
            f"P(best) {arm.p_best:.2f}, cost {cost.estimate:.2f} bps [{cost.low:.2f}, {cost.high:.2f}]"
        )
    print(f"winner: {results.winner}")
    for line in results.recommendations:
        print(f"- {line}")
    await factory.close_all()


if __name__ == "__main__":
    asyncio.run(main())
