"""Capability discovery: what a broker declares, what its API really answers, and what its order entry
accepts (test orders that cannot fill, cancelled at once). The profile then guards the order path.

``python examples/capability_discovery.py``
"""

import asyncio
from decimal import Decimal

from broker_integration import (
    BrokerConfiguration,
    BrokerFactory,
    CapabilityDiscoveryEngine,
    CapabilityTestType,
    UnifiedOrder,
)


async def main() -> None:
    factory = BrokerFactory()
    adapter = await factory.create_adapter(
        "paper", BrokerConfiguration(broker_name="paper", options={"enforce_trading_hours": False})
    )
    engine = CapabilityDiscoveryEngine()

    static = await engine.discover_capabilities(adapter, CapabilityTestType.STATIC)  # no broker calls
    counts = {status.value: n for status, n in static.capabilities.counts().items()}
    print(f"static (no calls): {counts}")
    profile = await engine.discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
    print(profile.capabilities)
    print(f"instruments: {len(profile.supported_instruments)}")
    print(f"order types verified: {[t.value for t in profile.order_types]}")
    slowest = sorted(profile.latencies.items(), key=lambda item: -item[1])[:3]
    print(f"slowest probes: {', '.join(f'{name} {ms:.2f} ms' for name, ms in slowest)}")
    open_orders = await adapter.get_orders()
    print(f"test orders left open: {len(open_orders)}")

    engine.enforce(adapter, profile)  # pre-trade checks from what discovery learned
    eur_usd = profile.supported_instruments["EUR/USD"]
    too_small = UnifiedOrder(instrument="EUR/USD", side="buy", quantity=eur_usd.min_quantity / 10)
    refused = await adapter.place_order(too_small)
    print(f"order below the minimum size: {refused.error.error_code.value if refused.error else 'accepted'}")
    fine = await adapter.place_order(UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000)))
    print(f"order of 1000 EUR/USD: {fine.status.value}")
    await factory.close_all()


if __name__ == "__main__":
    asyncio.run(main())
