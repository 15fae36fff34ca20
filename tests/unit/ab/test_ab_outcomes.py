"""Transaction cost analysis of one order against the arrival mid."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from broker_integration.ab_testing.models import Metric
from broker_integration.ab_testing.outcomes import measure_execution
from broker_integration.errors import StandardErrorCode, make_error
from broker_integration.models import OrderResult, OrderStatus, PriceTick, UnifiedOrder

NOW = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
QUOTE = PriceTick(instrument="EUR/USD", bid=Decimal("1.0999"), ask=Decimal("1.1001"), time=NOW)


def order(side: str = "buy") -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side=side, quantity=Decimal(10_000))


def filled(price: str, *, commission: str = "0", fees: str = "0", quantity: int = 10_000) -> OrderResult:
    return OrderResult(
        success=True,
        status=OrderStatus.FILLED,
        filled_quantity=Decimal(quantity),
        average_fill_price=Decimal(price),
        commission=Decimal(commission),
        fees=Decimal(fees),
        latency_ms=12.5,
        completed_at=NOW,
    )


def test_buy_at_the_ask_pays_half_the_spread() -> None:
    e = measure_execution(order("buy"), filled("1.1001"), QUOTE, quote_latency_ms=0.4)
    half_spread = 0.0001 / 1.1 * 1e4
    assert e.slippage_bps == pytest.approx(half_spread)
    assert e.spread_cost_bps == pytest.approx(half_spread)
    assert e.quote_latency_ms == 0.4
    assert e.latency_ms == 12.5
    assert (e.arrival_bid, e.arrival_ask) == (QUOTE.bid, QUOTE.ask)


def test_sell_sign_and_price_improvement() -> None:
    at_bid = measure_execution(order("sell"), filled("1.0999"), QUOTE)
    assert at_bid.slippage_bps == pytest.approx(0.0001 / 1.1 * 1e4)
    improved = measure_execution(order("buy"), filled("1.0999"), QUOTE)
    assert improved.slippage_bps == pytest.approx(-0.0001 / 1.1 * 1e4)  # bought below the mid


def test_commission_and_fees_in_bps_of_the_filled_notional() -> None:
    e = measure_execution(order(), filled("1.1001", commission="0.55", fees="0.55", quantity=5_000), QUOTE)
    assert e.commission == Decimal("1.10")
    assert e.commission_bps == pytest.approx(1.10 / (5_000 * 1.1001) * 1e4)
    assert e.total_cost_bps == pytest.approx(e.slippage_bps + e.commission_bps)
    assert not e.fully_filled
    assert e.value(Metric.FILL_RATE) == 0.0


def test_without_a_quote_only_commission_is_measured() -> None:
    e = measure_execution(order(), filled("1.1001", commission="1"), None)
    assert e.slippage_bps is None
    assert e.spread_cost_bps is None
    assert e.total_cost_bps is None
    assert e.commission_bps is not None
    other = PriceTick(instrument="GBP/USD", bid=Decimal("1.27"), ask=Decimal("1.2702"), time=NOW)
    assert measure_execution(order(), filled("1.1001"), other).slippage_bps is None


def test_a_refused_order_has_no_fill_figures_and_no_latency_metric() -> None:
    refused = OrderResult(
        success=False,
        status=OrderStatus.REJECTED,
        latency_ms=3.0,
        error=make_error(StandardErrorCode.INSUFFICIENT_FUNDS, "no money"),
        metadata={"sent": True},
    )
    e = measure_execution(order(), refused, QUOTE)
    assert e.error_code == "INSUFFICIENT_FUNDS"
    assert e.slippage_bps is None
    assert e.commission_bps is None
    assert e.value(Metric.SUCCESS_RATE) == 0.0
    assert e.value(Metric.LATENCY_MS) is None  # latency is compared on orders that succeeded
    assert e.sent
    assert not e.ambiguous
