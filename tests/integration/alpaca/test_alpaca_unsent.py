"""An order whose connection never opens was not sent, and says so: the pipeline hears that a request is
leaving only when the transport writes its first byte, so a deadline that expires while the connection is
still opening (a venue behind a black hole) leaves nothing to look up and the order free to go elsewhere."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from alpaca_fixtures import ALWAYS_OPEN, QUICK

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.broker_config import BrokerSettings
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.models import Delivery, OrderSide, OrderStatus, TimeInForce, UnifiedOrder
from broker_integration.sim.alpaca import AlpacaSimulator
from loopback import port_that_never_accepts


async def test_an_order_whose_connection_never_opens_is_known_unsent() -> None:
    async with AlpacaSimulator(profile=ALWAYS_OPEN, settings=QUICK) as sim:
        config = sim.configuration(fill_timeout_seconds=0).model_copy(
            update={"settings": BrokerSettings(timeout_seconds=0.4, retry_attempts=0)}
        )
        adapter = AlpacaAdapter(config, event_bus=EventBus())
        await adapter.authenticate()
        port = urlsplit(config.endpoints.base_url).port
        assert port is not None
    # The simulator is gone; its port now takes connections into a full queue, where they never open.
    try:
        with port_that_never_accepts(port):
            order = UnifiedOrder(
                instrument="AAPL", side=OrderSide.BUY, quantity=Decimal(1), time_in_force=TimeInForce.GTC
            )
            result = await adapter.place_order(order)
    finally:
        await adapter.disconnect()
    assert result.delivery is Delivery.NOT_SENT, result
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.TIMEOUT
