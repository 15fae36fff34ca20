"""Costs in the account currency: a venue that charges 2 bps of notional is measured at 2 bps on every
pair, whatever its quote currency (USD/JPY on a USD account as on EUR/USD), through both real adapters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from broker_integration.ab_testing.outcomes import measure_execution
from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerLimits
from broker_integration.events import EventBus
from broker_integration.models import OrderResult, OrderStatus, UnifiedOrder
from broker_integration.performance_metrics import PerformanceMetricsCollector
from broker_integration.pipeline import BrokerAdapter
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import CommissionModel, VenueProfile

BPS = Decimal(2)
VENUE = VenueProfile(name="venue", enforce_trading_hours=False, commission=CommissionModel(bps=BPS))
PAIRS = ("EUR/USD", "USD/JPY", "USD/CHF")


async def buy(adapter: BrokerAdapter, instrument: str) -> tuple[UnifiedOrder, OrderResult]:
    order = UnifiedOrder(instrument=instrument, side="buy", quantity=Decimal(10_000))
    result = await adapter.place_order(order)
    assert result.status is OrderStatus.FILLED, result.message
    return order, result


async def check(adapter: BrokerAdapter) -> None:
    collector = PerformanceMetricsCollector()
    collector.register_broker("venue", adapter)
    for instrument in PAIRS:
        order, result = await buy(adapter, instrument)
        assert result.quote_home_rate is not None
        assert result.average_fill_price is not None
        # what one quote unit is worth in USD: 1 for EUR/USD; for USD/JPY and USD/CHF about 1 / price
        if instrument == "EUR/USD":
            assert result.quote_home_rate == 1
        else:
            assert float(result.quote_home_rate * result.average_fill_price) == pytest.approx(1, rel=1e-3)
        execution = measure_execution(order, result, None)
        assert execution.commission_bps == pytest.approx(float(BPS), abs=0.01), instrument
    cost = (await collector.metrics("venue")).cost
    assert cost.orders_with_fills == len(PAIRS)
    assert cost.commission_bps == pytest.approx(float(BPS), abs=0.01)  # totals add up across quote currencies
    assert cost.avg_cost_bps == pytest.approx(float(BPS), abs=0.01)
    await collector.close()


async def test_paper_costs_are_measured_in_the_account_currency() -> None:
    config = BrokerConfiguration(
        broker_name="paper",
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
        options={**VENUE.model_dump(mode="json", exclude={"name"}), "seed": 3},
    )
    async with PaperBrokerAdapter(config, event_bus=EventBus()) as paper:
        await check(paper)


async def test_oanda_costs_are_measured_in_the_account_currency() -> None:
    settings = SimulatorSettings(max_requests_per_second=None)
    async with OandaSimulator(profile=VENUE, settings=settings) as sim:
        oanda = OandaAdapter(sim.configuration(), event_bus=EventBus())
        async with oanda:
            await check(oanda)
