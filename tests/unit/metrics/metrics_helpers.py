"""Test brokers for the metrics tests: mock brokers whose calls take scripted time on a manual clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.models import OrderResult, OrderSide, PriceTick, UnifiedOrder
from broker_integration.testing import MockBrokerAdapter

LatencyMs = float | Callable[[], float]


def lognormal_ms(median_ms: float, sigma: float = 0.3, seed: int = 1) -> Callable[[], float]:
    """Right-skewed latencies around ``median_ms`` (deterministic for a seed)."""
    rng = random.Random(seed)
    return lambda: median_ms * rng.lognormvariate(0.0, sigma)


class TimedBroker(MockBrokerAdapter):
    """A mock broker whose orders and quotes take ``latency_ms`` of manual-clock time each.

    ``commission`` is charged per filled order; ``fill_ratio`` below one fills orders partly.
    """

    def __init__(
        self,
        clock: ManualClock,
        bus: EventBus,
        *,
        latency_ms: LatencyMs = 1.0,
        commission: Decimal = Decimal(0),
        fill_ratio: Decimal = Decimal(1),
        **kwargs: Any,
    ) -> None:
        super().__init__(clock=clock, event_bus=bus, **kwargs)
        self._manual = clock
        self._latency = latency_ms
        self.commission = commission
        self.fill_ratio = fill_ratio

    def _spend(self) -> None:
        ms = self._latency() if callable(self._latency) else self._latency
        self._manual.advance(ms / 1000.0)

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self._spend()
        result = await super().place_order(order)
        update: dict[str, Any] = {}
        if self.commission and result.filled_quantity > 0:
            update["commission"] = self.commission
        if self.fill_ratio < 1 and result.filled_quantity > 0:
            update["filled_quantity"] = result.filled_quantity * self.fill_ratio
        return result.model_copy(update=update) if update else result

    async def get_current_price(self, instrument: str) -> PriceTick:
        self._spend()
        return await super().get_current_price(instrument)


def market(quantity: int | str = 1000, side: OrderSide = OrderSide.BUY, **kwargs: Any) -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side=side, quantity=Decimal(quantity), **kwargs)


async def place_many(broker: MockBrokerAdapter, count: int, **kwargs: Any) -> None:
    for _ in range(count):
        await broker.place_order(market(**kwargs))
