"""Test venues for A/B tests: mock brokers whose order latency is drawn from a distribution.

Latency is simulated by advancing a shared :class:`ManualClock` inside ``place_order``, so the
pipeline measures it exactly and no test sleeps. Orders must then be sent one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.models import OrderResult, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter
from broker_integration.testing import MockBrokerAdapter


class TimedVenue(MockBrokerAdapter):
    """A mock broker with a latency distribution (ms) and an optional commission in basis points.

    ``fill_ratio`` below one fills that share of each order; the rest is never filled (the order ends).
    """

    def __init__(
        self,
        clock: ManualClock,
        latency_ms: Callable[[], float],
        *,
        commission_bps: Decimal = Decimal(0),
        prices: dict[str, tuple[str, str]] | None = None,
        fill_ratio: Decimal = Decimal(1),
        event_bus: EventBus | None = None,
    ) -> None:
        super().__init__(clock=clock, prices=prices, event_bus=event_bus)
        self.manual_clock = clock
        self.latency_ms = latency_ms
        self.commission_bps = commission_bps
        self.fill_ratio = fill_ratio

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self.manual_clock.advance(self.latency_ms() / 1000)
        result = await super().place_order(order)
        if self.fill_ratio < 1 and result.filled_quantity > 0:
            result = result.model_copy(update={"filled_quantity": result.filled_quantity * self.fill_ratio})
        if self.commission_bps and result.average_fill_price is not None:
            notional = result.filled_quantity * result.average_fill_price
            commission = (notional * self.commission_bps / 10_000).quantize(Decimal("0.0001"))
            result = result.model_copy(update={"commission": commission})
        return result


def lognormal(rng: np.random.Generator, median_ms: float, sigma: float = 0.4) -> Callable[[], float]:
    """Right-skewed latencies like a real broker's: lognormal around ``median_ms``."""
    mu = float(np.log(median_ms))
    return lambda: float(rng.lognormal(mu, sigma))


def order(i: int, **fields: object) -> UnifiedOrder:
    """A small EUR/USD market order with a deterministic client id."""
    side = "buy" if i % 2 == 0 else "sell"
    return UnifiedOrder.model_validate(
        {
            "order_id": f"ord-{i:06d}",
            "instrument": "EUR/USD",
            "side": side,
            "quantity": Decimal(1000),
            **fields,
        }
    )


async def paper_venue(seed: int, median_ms: float, **profile: object) -> BrokerAdapter:
    """An authenticated paper venue with the given latency (lognormal, sigma 0.3) and profile fields.

    Client-side rate limits are raised so that they do not pace the test's order flow.
    """
    from broker_integration.adapters.paper import PaperBrokerAdapter

    options = {
        "seed": seed,
        "enforce_trading_hours": False,
        "latency": {"median_ms": median_ms, "sigma": 0.3},
        **profile,
    }
    config = BrokerConfiguration(
        broker_name="paper",
        limits={"requests_per_second": 100_000, "max_orders_per_second": 100_000},
        options=options,
    )
    adapter = PaperBrokerAdapter(config)
    assert await adapter.authenticate()
    return adapter


def btc_order(i: int) -> UnifiedOrder:
    """A small BTC/USD market order (trades around the clock), alternating sides to stay flat."""
    return UnifiedOrder(instrument="BTC/USD", side="buy" if i % 2 == 0 else "sell", quantity=Decimal("0.01"))
