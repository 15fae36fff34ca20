"""Performance monitoring: record every broker call, probe health and prices in the background, and
compare brokers on latency, reliability, cost and fill quality with the statistics behind the verdict.

``python examples/performance_monitoring.py``
"""

import asyncio
from decimal import Decimal

from broker_integration import (
    BrokerConfiguration,
    BrokerFactory,
    ComparisonPeriod,
    PerformanceMetricsCollector,
    UnifiedOrder,
)


async def main() -> None:
    factory = BrokerFactory()
    venues = {
        "steady": {"seed": 1, "latency": {"median_ms": 3.0, "sigma": 0.2}},
        "costly": {"seed": 2, "latency": {"median_ms": 3.0, "sigma": 0.2}, "commission": {"bps": "5"}},
    }
    collector = PerformanceMetricsCollector(probe_interval=0.5, probe_instruments=["BTC/USD"])
    for name, options in venues.items():
        adapter = await factory.create_from_config(
            BrokerConfiguration(broker_name=name, adapter="paper", options=options)
        )
        collector.register_broker(name, adapter)

    await collector.start_collection()
    for i in range(200):
        side = "buy" if i % 2 else "sell"
        for name in venues:
            order = UnifiedOrder(instrument="BTC/USD", side=side, quantity=Decimal("0.01"))
            await factory.get_adapter(name).place_order(order)
    comparison = await collector.compare_brokers(list(venues), ComparisonPeriod.LAST_HOUR)
    await collector.stop_collection()

    print(f"winner: {comparison.winner} ({comparison.verdict})")
    for name in comparison.ranking:
        metrics = comparison.metrics[name]
        latency = metrics.operations["place_order"].latency
        print(
            f"  {name}: score {comparison.overall[name]:.3f}, {metrics.calls} calls, place_order p50 "
            f"{latency.p50_ms:.2f} ms p99 {latency.p99_ms:.2f} ms, commission {metrics.cost.commission_bps:.2f} bps"
        )
    for line in comparison.recommendations:
        print(f"- {line}")
    await factory.close_all()


if __name__ == "__main__":
    asyncio.run(main())
