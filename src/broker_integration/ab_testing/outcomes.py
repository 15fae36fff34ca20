"""What one order did, measured: transaction cost analysis against the mid at arrival.

Sign convention: s = +1 to buy, -1 to sell; basis points are 10⁴ x relative; a positive cost is bad.

* **slippage_bps** = s · (average fill price - arrival mid) / arrival mid · 10⁴ for the filled part.
  Crossing the spread is part of it: a market buy filled at the ask pays half the spread.
* **spread_cost_bps** = half the quoted spread at arrival / mid · 10⁴: what crossing it costs; the part of
  the slippage that the quote already announced.
* **commission_bps** = (commission + fees) / (filled quantity · average fill price · quote-home rate) · 10⁴.
  Commission is in the account currency, as brokers charge it; the result's ``quote_home_rate`` converts
  the notional from the quote currency (taken as 1 when the adapter does not report it).
* **total_cost_bps** = slippage + commission.

The arrival quote is the executing broker's own ``get_current_price`` taken just before the order is
sent (timed on its own, not part of the order's latency), unless the caller passes a quote, e.g. from a
common reference feed, which makes brokers' slippage comparable against one benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from broker_integration.ab_testing.models import Metric
from broker_integration.models import OrderResult, OrderStatus, PriceTick, UnifiedOrder

__all__ = ["Assignment", "Execution", "OrderRecord", "measure_execution"]

_BPS = Decimal(10_000)


@dataclass(frozen=True)
class Execution:
    """The measured outcome of one order attempt at one broker."""

    status: OrderStatus
    success: bool
    sent: bool
    error_code: str | None
    latency_ms: float | None
    quote_latency_ms: float | None
    requested_quantity: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    arrival_bid: Decimal | None
    arrival_ask: Decimal | None
    commission: Decimal
    slippage_bps: float | None
    spread_cost_bps: float | None
    commission_bps: float | None
    completed_at: datetime

    @property
    def ambiguous(self) -> bool:
        """The broker may or may not have executed it."""
        return self.status is OrderStatus.UNKNOWN

    @property
    def fully_filled(self) -> bool:
        return self.filled_quantity > 0 and self.filled_quantity >= self.requested_quantity

    @property
    def total_cost_bps(self) -> float | None:
        if self.slippage_bps is None:
            return None
        return self.slippage_bps + (self.commission_bps or 0.0)

    def value(self, metric: Metric) -> float | None:
        """This order's value of ``metric``, or ``None`` when the metric does not cover it."""
        return _METRIC_VALUE[metric](self)


def _flag(value: bool) -> float:
    return 1.0 if value else 0.0


#: How each metric is read off an execution (``None``: the order is outside the metric's scope).
_METRIC_VALUE: dict[Metric, Callable[[Execution], float | None]] = {
    Metric.SUCCESS_RATE: lambda e: _flag(e.success),
    Metric.FILL_RATE: lambda e: _flag(e.fully_filled),
    Metric.LATENCY_MS: lambda e: e.latency_ms if e.success else None,
    Metric.SLIPPAGE_BPS: lambda e: e.slippage_bps,
    Metric.SPREAD_COST_BPS: lambda e: e.spread_cost_bps,
    Metric.COMMISSION_BPS: lambda e: e.commission_bps,
    Metric.TOTAL_COST_BPS: lambda e: e.total_cost_bps,
}


@dataclass(frozen=True)
class Assignment:
    """One routing decision, logged before the order is sent.

    ``attempt`` 0 is the randomised assignment that the analysis uses; a failover to another arm is
    attempt 1, 2 ... with ``failover_from`` set. ``probabilities`` is every arm's probability at that
    decision, so that sample-ratio checks and inverse-propensity estimates can use the logged design.
    """

    test_id: str
    client_order_id: str
    attempt: int
    arm: str
    propensity: float
    probabilities: dict[str, float]
    explore: bool
    sticky_key: str | None
    assigned_at: datetime
    failover_from: str | None = None


@dataclass(frozen=True)
class OrderRecord:
    """An assignment and, once the broker answered, its execution."""

    assignment: Assignment
    execution: Execution | None = None


def _bps(numerator: Decimal, denominator: Decimal) -> float:
    return float(numerator / denominator * _BPS)


def measure_execution(
    order: UnifiedOrder,
    result: OrderResult,
    arrival: PriceTick | None,
    *,
    quote_latency_ms: float | None = None,
) -> Execution:
    """The TCA figures of ``result`` for ``order`` against the ``arrival`` quote (if any)."""
    filled = result.filled_quantity
    price = result.average_fill_price
    quote = arrival if arrival is not None and arrival.instrument == order.instrument else None
    commission = result.commission + result.fees
    slippage = spread = commission_bps = None
    if filled > 0 and price is not None:
        commission_bps = _bps(commission, filled * price * (result.quote_home_rate or 1))
        if quote is not None:
            mid = quote.mid
            slippage = _bps(order.side.sign * (price - mid), mid)
            spread = _bps(quote.spread / 2, mid)
    return Execution(
        status=result.status,
        success=result.success,
        sent=bool(result.metadata.get("sent", True)),
        error_code=result.error.error_code.value if result.error is not None else None,
        latency_ms=result.latency_ms,
        quote_latency_ms=quote_latency_ms,
        requested_quantity=order.quantity,
        filled_quantity=filled,
        average_fill_price=price,
        arrival_bid=quote.bid if quote is not None else None,
        arrival_ask=quote.ask if quote is not None else None,
        commission=commission,
        slippage_bps=slippage,
        spread_cost_bps=spread,
        commission_bps=commission_bps,
        completed_at=result.completed_at or result.submitted_at or order.created_at,
    )
