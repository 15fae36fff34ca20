"""What one broker did over a window, in five groups: latency, throughput, reliability, cost, fill quality.

Definitions (all over the window's buckets):

* throughput: calls (or placed orders) divided by the observed span, from the first bucket with data
  (or the window's start, if later) to the window's end;
* reliability: ``error_rate`` counts every failed call; ``broker_error_rate`` only failures that are
  the broker's doing (transient codes and UNKNOWN), which is what the comparison scores; availability is
  the share of health checks that found the broker healthy. A call its caller cancelled (a probe still
  running when collection stopped) ended without an answer either way: it is counted as ``cancelled``
  and left out of calls, failures and error codes, so it is never a venue's error;
* cost: commission and fees in money and in bps of filled notional; slippage in bps against the arrival
  mid (see :mod:`broker_integration.metrics.recorder`), averaged over the orders that had one; per-order
  all-in cost in bps. The execution-quality figures of :mod:`broker_integration.tca`, each averaged per
  order over the orders it covers: commission, half spread, effective spread, effective/quoted spread,
  price improvement (also summed in money), implementation shortfall (also summed in money with its
  opportunity-cost part, and as total shortfall over total paper notional); ``arrival_sources`` counts the
  orders with a benchmark by where it came from (``call``, ``order``, ``probe``);
* fill quality: over the orders the broker accepted (a refused placement counts under reliability, not
  here): fill rate is filled over requested quantity; full and partial fill rates are shares of those
  orders; time to fill is submit-to-complete of orders reported FILLED, its p95 by the library's one
  quantile rule (nearest rank, :func:`broker_integration.stats.quantile`, as the latency histograms').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from broker_integration.errors import TRANSIENT_CODES, StandardErrorCode
from broker_integration.metrics.aggregate import BrokerAggregate
from broker_integration.metrics.buckets import Counters, OpStats, from_epoch
from broker_integration.metrics.histograms import LatencySummary
from broker_integration.metrics.recorder import CANCELLED_CODE, HEALTH_OPERATION
from broker_integration.stats import quantile

__all__ = [
    "BROKER_FAULT_CODES",
    "BrokerMetrics",
    "CostMetrics",
    "FillMetrics",
    "OperationMetrics",
    "ReliabilityMetrics",
    "ThroughputMetrics",
    "answered_calls",
    "summarize",
]

#: Failures that are the broker's doing, as opposed to a refused order or a caller's mistake.
BROKER_FAULT_CODES = frozenset(c.value for c in TRANSIENT_CODES | {StandardErrorCode.UNKNOWN})
_PLACE = "place_order"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def answered_calls(counters: Counters) -> tuple[int, int, dict[str, int]]:
    """(calls, failures, failures by code) without the calls their caller cancelled: those ended with
    neither a success nor an error from the venue, so they count for neither."""
    cancelled = counters.errors.get(CANCELLED_CODE, 0)
    errors = {code: n for code, n in counters.errors.items() if code != CANCELLED_CODE}
    return counters.calls - cancelled, counters.failures - cancelled, errors


@dataclass(frozen=True, slots=True)
class OperationMetrics:
    """One operation: how often, how fast, how often it failed and why."""

    operation: str
    calls: int
    failures: int
    error_rate: float | None
    errors_by_code: dict[str, int]
    calls_per_second: float
    latency: LatencySummary
    #: Calls their caller cancelled: in ``calls`` and the latency, not in failures or the error rate.
    cancelled: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cancelled": self.cancelled,
            "failures": self.failures,
            "error_rate": self.error_rate,
            "errors_by_code": self.errors_by_code,
            "calls_per_second": self.calls_per_second,
            "latency": self.latency.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ThroughputMetrics:
    seconds: float
    calls_per_second: float
    orders_per_second: float


@dataclass(frozen=True, slots=True)
class ReliabilityMetrics:
    calls: int
    failures: int
    error_rate: float | None
    broker_failures: int
    broker_error_rate: float | None
    errors_by_code: dict[str, int]
    health_checks: int
    healthy_checks: int
    availability: float | None
    uptime_seconds: float | None
    #: Calls their caller cancelled, left out of every figure above.
    cancelled: int = 0

    @property
    def success_rate(self) -> float | None:
        return None if self.error_rate is None else 1.0 - self.error_rate


@dataclass(frozen=True, slots=True)
class CostMetrics:
    orders_with_fills: int
    notional: Decimal
    commission: Decimal
    fees: Decimal
    spread_paid: Decimal
    commission_bps: float | None
    slippage_orders: int
    avg_slippage_bps: float | None
    avg_cost_bps: float | None
    avg_commission_bps: float | None = None
    avg_effective_spread_bps: float | None = None
    arrival_sources: dict[str, int] = field(default_factory=dict)
    quoted_orders: int = 0
    avg_spread_cost_bps: float | None = None
    avg_price_improvement_bps: float | None = None
    price_improvement: Decimal = Decimal(0)
    ratio_orders: int = 0
    avg_effective_to_quoted: float | None = None
    shortfall_orders: int = 0
    shortfall: Decimal = Decimal(0)
    opportunity_cost: Decimal = Decimal(0)
    #: Total shortfall over the total paper notional of the orders it covers.
    shortfall_bps: float | None = None
    avg_shortfall_bps: float | None = None

    @property
    def total_fees(self) -> Decimal:
        return self.commission + self.fees


@dataclass(frozen=True, slots=True)
class FillMetrics:
    orders: int
    filled: int
    partial: int
    unfilled: int
    rejected: int
    #: Placements whose outcome was unknown when the call returned, and those of them found out later.
    unknown: int
    settled: int
    #: Of the resting orders (unfilled when placed), those the broker's order updates showed filled later.
    filled_later: int
    fill_rate: float | None
    full_fill_rate: float | None
    partial_fill_rate: float | None
    avg_time_to_fill_ms: float | None
    p95_time_to_fill_ms: float | None

    @property
    def accepted(self) -> int:
        """Placements the broker is known to have taken (the fill rates' denominator)."""
        return self.filled + self.partial + self.unfilled


@dataclass(frozen=True, slots=True)
class BrokerMetrics:
    """Everything measured for one broker over ``[start, end)``."""

    broker: str
    start: datetime
    end: datetime
    operations: dict[str, OperationMetrics]
    throughput: ThroughputMetrics
    reliability: ReliabilityMetrics
    cost: CostMetrics
    fill: FillMetrics

    @property
    def calls(self) -> int:
        return self.reliability.calls

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as decimal strings, times ISO 8601)."""
        r, c, f, t = self.reliability, self.cost, self.fill, self.throughput
        return {
            "broker": self.broker,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "operations": {name: op.to_dict() for name, op in sorted(self.operations.items())},
            "throughput": {
                "seconds": t.seconds,
                "calls_per_second": t.calls_per_second,
                "orders_per_second": t.orders_per_second,
            },
            "reliability": {
                "calls": r.calls,
                "cancelled": r.cancelled,
                "failures": r.failures,
                "error_rate": r.error_rate,
                "broker_failures": r.broker_failures,
                "broker_error_rate": r.broker_error_rate,
                "errors_by_code": r.errors_by_code,
                "health_checks": r.health_checks,
                "availability": r.availability,
                "uptime_seconds": r.uptime_seconds,
            },
            "cost": {
                "orders_with_fills": c.orders_with_fills,
                "notional": str(c.notional),
                "commission": str(c.commission),
                "fees": str(c.fees),
                "total_fees": str(c.total_fees),
                "spread_paid": str(c.spread_paid),
                "commission_bps": c.commission_bps,
                "slippage_orders": c.slippage_orders,
                "avg_slippage_bps": c.avg_slippage_bps,
                "avg_cost_bps": c.avg_cost_bps,
                "avg_commission_bps": c.avg_commission_bps,
                "avg_effective_spread_bps": c.avg_effective_spread_bps,
                "arrival_sources": c.arrival_sources,
                "quoted_orders": c.quoted_orders,
                "avg_spread_cost_bps": c.avg_spread_cost_bps,
                "avg_price_improvement_bps": c.avg_price_improvement_bps,
                "price_improvement": str(c.price_improvement),
                "ratio_orders": c.ratio_orders,
                "avg_effective_to_quoted": c.avg_effective_to_quoted,
                "shortfall_orders": c.shortfall_orders,
                "shortfall": str(c.shortfall),
                "opportunity_cost": str(c.opportunity_cost),
                "shortfall_bps": c.shortfall_bps,
                "avg_shortfall_bps": c.avg_shortfall_bps,
            },
            "fill": {
                "orders": f.orders,
                "filled": f.filled,
                "partial": f.partial,
                "unfilled": f.unfilled,
                "rejected": f.rejected,
                "unknown": f.unknown,
                "settled": f.settled,
                "filled_later": f.filled_later,
                "fill_rate": f.fill_rate,
                "full_fill_rate": f.full_fill_rate,
                "partial_fill_rate": f.partial_fill_rate,
                "avg_time_to_fill_ms": f.avg_time_to_fill_ms,
                "p95_time_to_fill_ms": f.p95_time_to_fill_ms,
            },
        }


def observed_seconds(agg: BrokerAggregate, end: float) -> float:
    """The span rates are computed over: from the first bucket with data (or the window start) to ``end``."""
    begin = max(agg.window.start, agg.first_bucket if agg.first_bucket is not None else agg.window.start)
    return max(1.0, end - begin)


def summarize(agg: BrokerAggregate, end: float, *, uptime_seconds: float | None = None) -> BrokerMetrics:
    """The metrics of ``agg``, rates computed up to ``end`` (Unix seconds: now, or a custom period's end)."""
    seconds = observed_seconds(agg, end)
    operations = {
        name: _operation(name, stats, seconds) for name, stats in agg.operations.items() if stats.calls
    }
    total = agg.totals()
    place = agg.operations.get(_PLACE)
    placed = place.calls if place is not None else 0
    return BrokerMetrics(
        broker=agg.broker,
        start=from_epoch(max(agg.window.start, 0)),
        end=from_epoch(int(end)),
        operations=operations,
        throughput=ThroughputMetrics(seconds, total.calls / seconds, placed / seconds),
        reliability=_reliability(total, agg.operations.get(HEALTH_OPERATION), uptime_seconds),
        cost=_cost(total),
        fill=_fill(total),
    )


def _operation(name: str, stats: OpStats, seconds: float) -> OperationMetrics:
    answered, failures, errors = answered_calls(stats)
    return OperationMetrics(
        operation=name,
        calls=stats.calls,
        failures=failures,
        error_rate=_ratio(failures, answered),
        errors_by_code=dict(sorted(errors.items())),
        calls_per_second=stats.calls / seconds,
        latency=LatencySummary.from_histogram(stats.histogram, stats.sum_us),
        cancelled=stats.calls - answered,
    )


def _reliability(total: Counters, health: OpStats | None, uptime: float | None) -> ReliabilityMetrics:
    calls, failures, errors = answered_calls(total)
    broker_failures = sum(n for code, n in errors.items() if code in BROKER_FAULT_CODES)
    checks = health.health_checks if health is not None else 0
    healthy = health.healthy_checks if health is not None else 0
    return ReliabilityMetrics(
        calls=calls,
        failures=failures,
        error_rate=_ratio(failures, calls),
        broker_failures=broker_failures,
        broker_error_rate=_ratio(broker_failures, calls),
        errors_by_code=dict(sorted(errors.items(), key=lambda kv: -kv[1])),
        health_checks=checks,
        healthy_checks=healthy,
        availability=_ratio(healthy, checks),
        uptime_seconds=uptime,
        cancelled=total.calls - calls,
    )


def _cost(total: Counters) -> CostMetrics:
    o = total.orders
    if o is None:
        zero = Decimal(0)
        return CostMetrics(0, zero, zero, zero, zero, None, 0, None, None)
    samples = o.cost_bps.samples
    with_fills = o.cost_bps.seen
    return CostMetrics(
        orders_with_fills=with_fills,
        notional=o.notional,
        commission=o.commission,
        fees=o.fees,
        spread_paid=o.spread_paid,
        commission_bps=float((o.commission + o.fees) / o.notional * 10_000) if o.notional else None,
        slippage_orders=o.slippage_orders,
        avg_slippage_bps=_ratio(o.slippage_bps_sum, o.slippage_orders),
        avg_cost_bps=float(np.mean(samples)) if samples else None,
        avg_commission_bps=_ratio(o.commission_bps_sum, with_fills),
        avg_effective_spread_bps=_ratio(o.effective_spread_bps_sum, o.slippage_orders),
        arrival_sources=o.arrival_sources(),
        quoted_orders=o.quoted_orders,
        avg_spread_cost_bps=_ratio(o.spread_cost_bps_sum, o.quoted_orders),
        avg_price_improvement_bps=_ratio(o.price_improvement_bps_sum, o.quoted_orders),
        price_improvement=o.price_improvement,
        ratio_orders=o.ratio_orders,
        avg_effective_to_quoted=_ratio(o.effective_to_quoted_sum, o.ratio_orders),
        shortfall_orders=o.shortfall_orders,
        shortfall=o.shortfall,
        opportunity_cost=o.opportunity_cost,
        shortfall_bps=float(o.shortfall / o.intended_notional * 10_000) if o.intended_notional else None,
        avg_shortfall_bps=_ratio(o.shortfall_bps_sum, o.shortfall_orders),
    )


def _fill(total: Counters) -> FillMetrics:
    o = total.orders
    if o is None or o.orders == 0:
        return FillMetrics(0, 0, 0, 0, 0, 0, 0, 0, None, None, None, None, None)
    times = o.fill_ms.samples
    accepted = o.accepted
    filled = o.filled + o.filled_later
    return FillMetrics(
        orders=o.orders,
        filled=filled,
        partial=o.partial,
        unfilled=max(o.unfilled - o.filled_later, 0),
        rejected=o.rejected,
        unknown=o.unknown,
        settled=o.settled,
        filled_later=o.filled_later,
        fill_rate=_ratio(o.filled_qty, o.requested_qty),
        full_fill_rate=_ratio(filled, accepted),
        partial_fill_rate=_ratio(o.partial, accepted),
        avg_time_to_fill_ms=_ratio(o.fill_ms_sum, o.fills_timed),
        p95_time_to_fill_ms=quantile(times, 0.95) if times else None,
    )
