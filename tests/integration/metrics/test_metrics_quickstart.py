"""The seed's performance-monitoring quick start, run as written (with two mock brokers as the adapters)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from broker_integration import ComparisonPeriod, OrderSide, PerformanceMetricsCollector, UnifiedOrder
from broker_integration.testing import MockBrokerAdapter


async def test_seed_quick_start(capsys: pytest.CaptureFixture[str]) -> None:
    oanda_adapter = MockBrokerAdapter()
    alpaca_adapter = MockBrokerAdapter()
    await oanda_adapter.authenticate()
    await alpaca_adapter.authenticate()

    # --- the quick start, as the seed wrote it
    collector = PerformanceMetricsCollector()
    collector.register_broker("oanda", oanda_adapter)
    collector.register_broker("alpaca", alpaca_adapter)
    await collector.start_collection()
    for adapter in (oanda_adapter, alpaca_adapter):  # the "..." of the quick start: some trading
        for _ in range(40):
            await adapter.place_order(
                UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(100))
            )
            await adapter.get_current_price("EUR/USD")
    comparison = await collector.compare_brokers(["oanda", "alpaca"], ComparisonPeriod.LAST_HOUR)
    print(comparison.winner)
    for r in comparison.recommendations:
        print(r)
    await collector.stop_collection()
    # ---

    printed = capsys.readouterr().out.splitlines()
    assert printed[0] in {"None", "oanda", "alpaca"}
    assert printed[1:] == comparison.recommendations
    assert printed[-1].startswith("Overall (observational: ")
    assert comparison.metrics["oanda"].operations["place_order"].calls == 40
    assert comparison.metrics["alpaca"].fill.full_fill_rate == 1.0
    assert not collector.is_collecting
    await collector.close()
