"""The short paper-broker run behind ``broker-integration demo``: every core call once, with real output.

Authenticate, read the account, quote a few instruments, place a market order, rest a limit order and
cancel it, show positions, close them. It uses only the public interface, through the factory, so it
is also a working example of the library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from broker_integration.broker_adapter import BrokerAdapter
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    AccountSummary,
    OrderResult,
    OrderSide,
    OrderType,
    Position,
    PriceTick,
    UnifiedOrder,
)
from broker_integration.unified_errors import UnsupportedOperationError

__all__ = ["PREFERRED_INSTRUMENTS", "TourReport", "run_paper_tour"]

PREFERRED_INSTRUMENTS = ("EUR/USD", "USD/JPY", "AAPL", "BTC/USD")


@dataclass
class TourReport:
    """What the tour did, for printing and for tests."""

    summary_before: AccountSummary | None = None
    summary_after: AccountSummary | None = None
    quotes: list[PriceTick] = field(default_factory=list)
    orders: list[OrderResult] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    closed: list[OrderResult] = field(default_factory=list)
    calls: list[CallEvent] = field(default_factory=list)

    @property
    def traded_instrument(self) -> str | None:
        return self.orders[0].instrument if self.orders else None


def _tradeable(quotes: list[PriceTick]) -> PriceTick | None:
    return next((q for q in quotes if q.tradeable), None)


async def run_paper_tour(*, seed: int = 7, quantity: Decimal = Decimal(1000)) -> TourReport:
    """Run the tour on a fresh paper venue and return what happened."""
    bus = EventBus()
    report = TourReport()
    bus.subscribe(CallEvent, report.calls.append)
    factory = BrokerFactory(event_bus=bus, discover_plugins=False)
    config = BrokerConfiguration(broker_name="paper", display_name="Paper venue", options={"seed": seed})
    adapter: BrokerAdapter = await factory.create_adapter("paper", config)
    try:
        report.summary_before = await adapter.get_account_summary()
        prices = await adapter.get_current_prices(PREFERRED_INSTRUMENTS)
        report.quotes = [prices[symbol] for symbol in PREFERRED_INSTRUMENTS if symbol in prices]
        quote = _tradeable(report.quotes)
        if quote is None:
            raise UnsupportedOperationError("no instrument in the tour is open for trading right now")
        size = quantity if quote.instrument != "BTC/USD" else Decimal("0.01")
        market = UnifiedOrder(instrument=quote.instrument, side=OrderSide.BUY, quantity=size)
        report.orders.append(await adapter.place_order(market))
        far_below = (quote.bid * Decimal("0.9")).quantize(quote.bid)
        limit = UnifiedOrder(
            instrument=quote.instrument,
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            quantity=size,
            price=far_below,
        )
        resting = await adapter.place_order(limit)
        report.orders.append(resting)
        if resting.success and resting.broker_order_id:
            report.orders.append(await adapter.cancel_order(resting.broker_order_id))
        report.positions = await adapter.get_positions()
        for position in report.positions:
            report.closed.append(await adapter.close_position(position.instrument))
        report.summary_after = await adapter.get_account_summary()
    finally:
        await factory.close_all()
    return report
