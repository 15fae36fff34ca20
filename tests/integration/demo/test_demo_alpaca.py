"""The demo's Alpaca venue: its simulator runs beside OANDA's, and the example configuration's ``alpaca``
venue points at it with this run's keys; it trades in the crypto part, holding bitcoin from the start so
that sells can fill (crypto cannot be sold short at Alpaca)."""

from __future__ import annotations

from decimal import Decimal

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.demo import DemoOptions
from broker_integration.demo.venues import INVENTORY, open_venues
from broker_integration.events import EventBus
from broker_integration.models import OrderSide, OrderStatus, UnifiedOrder


async def test_the_alpaca_venue_trades_crypto_on_its_simulator() -> None:
    bus = EventBus()
    async with open_venues(DemoOptions(), bus) as venues:
        sim = venues.alpaca_simulator
        config = venues.loaded.configs["alpaca"]
        assert config.enabled
        assert config.endpoints.base_url == sim.base_url
        assert config.credentials.secret_key is not None
        assert config.credentials.secret_key.get_secret_value() == sim.secret_key
        adapter = venues.adapters["alpaca"]
        assert isinstance(adapter, AlpacaAdapter)
        held = {p.instrument: p.quantity for p in await adapter.get_positions()}
        assert held.get("BTC/USD") == INVENTORY
        result = await adapter.place_order(
            UnifiedOrder(instrument="BTC/USD", side=OrderSide.SELL, quantity=Decimal("0.01"))
        )
        assert result.status is OrderStatus.FILLED
        assert result.average_fill_price is not None
        oanda_mid = (await venues.adapters["oanda"].get_current_price("EUR/USD")).mid
        assert oanda_mid > 0  # both simulators serve the run side by side
