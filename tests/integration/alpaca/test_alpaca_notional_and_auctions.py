"""Orders sized by notional and the auction times in force, end to end: the adapter sends Alpaca's ``notional``
and ``opg``/``cls``, the simulator executes them, and the journal, the result and the metrics take an order
whose quantity only the broker's answer gives."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from alpaca_fixtures import ALWAYS_OPEN, QUICK

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import EventBus
from broker_integration.metrics import PerformanceMetricsCollector
from broker_integration.models import OrderSide, OrderStatus, OrderType, TimeInForce, UnifiedOrder
from broker_integration.sim.alpaca import AlpacaSimulator
from broker_integration.store import Store, sqlite_url


async def test_a_notional_order_is_journaled_filled_and_measured(tmp_path: Path) -> None:
    bus = EventBus()
    async with (
        AlpacaSimulator(profile=ALWAYS_OPEN, settings=QUICK) as sim,
        Store(sqlite_url(tmp_path / "notional.sqlite3")) as store,
    ):
        factory = BrokerFactory(event_bus=bus, store=store, discover_plugins=False)
        adapter = await factory.create_adapter("alpaca", sim.configuration())
        assert isinstance(adapter, AlpacaAdapter)
        collector = PerformanceMetricsCollector(event_bus=bus)
        collector.register_broker("alpaca", adapter)
        await collector.start_collection()
        order = UnifiedOrder(instrument="AAPL", side=OrderSide.BUY, notional=Decimal("1000"))
        result = await adapter.place_order(order)
        assert result.success, result.error
        assert result.status is OrderStatus.FILLED
        assert result.requested_quantity is None
        assert result.average_fill_price is not None
        assert 0 < result.filled_quantity * result.average_fill_price <= Decimal(1000)
        (record,) = sim.state.records.values()
        assert (record.notional, record.time_in_force) == (Decimal(1000), "day")
        (position,) = await adapter.get_positions()
        assert position.quantity == result.filled_quantity  # fractional shares, from Alpaca's answer
        journal = factory.journal
        assert journal is not None
        (entry,) = await journal.entries(adapter.name)
        assert (entry.quantity, entry.status, entry.filled_quantity) == (
            None,
            OrderStatus.FILLED,
            result.filled_quantity,
        )
        assert entry.to_order().notional == Decimal(1000)
        listed = await adapter.get_order(result.broker_order_id or "")
        assert listed.notional == Decimal(1000)
        metrics = await collector.metrics("alpaca")
        assert metrics.operations["place_order"].calls == 1
        assert (metrics.fill.orders, metrics.fill.filled, metrics.fill.partial) == (1, 1, 0)
        await collector.stop_collection()
        await collector.close()
        await factory.close_all()


async def test_auction_orders_go_as_opg_and_cls(adapter: AlpacaAdapter, sim: AlpacaSimulator) -> None:
    """A limit order for the opening or closing auction is sent as such and not waited on as if it executed
    at once; Alpaca's own time in force comes back in its record."""
    for tif, wire in ((TimeInForce.OPG, "opg"), (TimeInForce.CLS, "cls")):
        order = UnifiedOrder(
            instrument="AAPL",
            side=OrderSide.BUY,
            quantity=Decimal(1),
            order_type=OrderType.LIMIT,
            price=Decimal(1),
            time_in_force=tif,
        )
        result = await adapter.place_order(order)
        assert (result.success, result.status) == (True, OrderStatus.ACCEPTED), result.error
        assert sim.state.records[result.broker_order_id or ""].time_in_force == wire
        listed = await adapter.get_order(result.broker_order_id or "")
        assert listed.time_in_force is tif
