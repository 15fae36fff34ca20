"""Transaction cost analysis: the one place execution quality is computed.

The quote at arrival travels with the call: whoever decides to trade (the A/B framework, a strategy) takes
the quote once and places the order inside :func:`arrival_quote`; the call pipeline records it on the
order's :class:`~broker_integration.events.CallEvent`. The metrics recorder and the A/B framework both turn
an order's result into one :class:`Execution` with :func:`measure_execution`, so their figures agree by
construction.

Definitions, per order. ``s`` is +1 to buy and -1 to sell; ``Q`` the intended quantity, ``q`` the filled
quantity, ``P`` the average fill price; ``m``, ``b``, ``a`` the mid, bid and ask at arrival; ``r`` the
result's ``quote_home_rate`` (what one unit of the quote currency is worth in the account currency, 1 when
the adapter does not report it); ``C`` commission plus fees, in the account currency as brokers charge
them. Basis points (bps) are 10⁴ x a relative figure. A positive cost is bad; a positive improvement good.

* ``slippage_bps`` = s·(P - m)/m. Crossing the spread is part of it: a buy filled at the ask pays half
  the spread.
* ``spread_cost_bps`` = (a - b)/2/m: half the quoted spread, the part of the slippage the quote announced.
* ``commission_bps`` = C/(q·P·r): commission and fees against the filled notional in the account currency.
* ``effective_spread_bps`` = 2·|P - m|/m, and ``effective_to_quoted`` = effective / quoted spread
  ((a - b)/m), as in the SEC's Rule 605 execution-quality statistics (17 CFR 242.605): below 1, the
  order did better than the quote; above 1, worse.
* ``price_improvement_bps`` = (a - P)/m for a buy, (P - b)/m for a sell: what the fill beat the quote's
  near side by, per unit; ``price_improvement`` is the same in money, x q·r. Negative when worse.
* Implementation shortfall, as Perold defined it ("The Implementation Shortfall: Paper versus Reality",
  Journal of Portfolio Management 14(3), 1988): the paper portfolio trades all of Q at the decision
  price, here the arrival mid m. ``execution_cost`` = s·(P - m)·q·r on the filled part;
  ``opportunity_cost`` = s·(m_end - m)·(Q - q)·r on the part never filled, with m_end the mid of the quote
  when the order ended (a later price of the same instrument, if the measurer has one); ``shortfall`` =
  execution cost + opportunity cost + C, and ``shortfall_bps`` = shortfall / (Q·m·r). It is measured for
  orders the broker accepted that have ended (filled in full, or their rest cancelled: a terminal status,
  or an IOC/FOK order that filled partly); an open order's shortfall is not final, and a refused or
  unknown one is counted under reliability instead.

Where the arrival benchmark came from is part of the record (:class:`ArrivalSource`): the quote that
travelled with the call, a mid the order carried in ``metadata["arrival_mid"]``, or, in the metrics
collector only, the last quote its price probe saw. Money stays ``Decimal``; the bps figures are floats
(statistics).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from broker_integration.models import Delivery, OrderResult, OrderStatus, PriceTick, TimeInForce, UnifiedOrder

__all__ = [
    "Arrival",
    "ArrivalSource",
    "Execution",
    "arrival_quote",
    "current_arrival_quote",
    "measure_execution",
    "needs_end_quote",
]

_ARRIVAL: ContextVar[PriceTick | None] = ContextVar("broker_integration_arrival_quote", default=None)
_BPS_FLOAT = 10_000.0
_ONE = Decimal(1)
_ZERO = Decimal(0)
#: Orders that cannot rest: what did not fill at once was cancelled.
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})


@contextmanager
def arrival_quote(quote: PriceTick | None) -> Iterator[None]:
    """Orders placed inside this block are measured against ``quote`` (the market when the decision was
    made), by every consumer of their call events."""
    token = _ARRIVAL.set(quote)
    try:
        yield
    finally:
        _ARRIVAL.reset(token)


def current_arrival_quote() -> PriceTick | None:
    """The arrival quote of the order being placed in this task, if its caller gave one."""
    return _ARRIVAL.get()


class ArrivalSource(StrEnum):
    """Where an order's arrival benchmark came from."""

    #: The quote taken when the decision was made, travelling with the call (:func:`arrival_quote`).
    CALL = "call"
    #: A mid the order (or its result) carried in ``metadata["arrival_mid"]``: no bid or ask.
    ORDER = "order"
    #: The metrics collector's last quote of the broker for the instrument, if fresh enough.
    PROBE = "probe"


@dataclass(frozen=True, slots=True)
class Arrival:
    """The benchmark an order is measured against: the mid at arrival, and the quote's bid and ask when
    known (a mid alone gives slippage and effective spread, not the quoted spread or price improvement)."""

    instrument: str
    mid: Decimal
    source: ArrivalSource
    bid: Decimal | None = None
    ask: Decimal | None = None

    def __post_init__(self) -> None:
        if not (self.mid.is_finite() and self.mid > 0):
            raise ValueError(f"an arrival mid must be a positive price, not {self.mid}")

    @classmethod
    def of(cls, quote: PriceTick, source: ArrivalSource = ArrivalSource.CALL) -> Arrival:
        return cls(quote.instrument, quote.mid, source, quote.bid, quote.ask)


class _Reading(Protocol):
    """Anything that reads one figure off an execution (an A/B :class:`~broker_integration.ab_testing.Metric`)."""

    def of(self, execution: Execution) -> float | None: ...


@dataclass(frozen=True)
class Execution:
    """The measured outcome of one order action at one broker (figures defined in the module docstring).

    A figure is ``None`` when the order is outside its scope: no fill, no arrival benchmark, no quoted
    spread, or (for the opportunity cost and the shortfall) an unfilled part with no later price.
    """

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
    arrival_mid: Decimal | None = None
    arrival_source: ArrivalSource | None = None
    quote_home_rate: Decimal | None = None
    price_improvement_bps: float | None = None
    price_improvement: Decimal | None = None
    execution_cost: Decimal | None = None
    end_mid: Decimal | None = None
    opportunity_cost: Decimal | None = None
    shortfall: Decimal | None = None
    shortfall_bps: float | None = None

    @property
    def ambiguous(self) -> bool:
        """The broker may or may not have executed it."""
        return self.status is OrderStatus.UNKNOWN

    @property
    def fully_filled(self) -> bool:
        return self.filled_quantity > 0 and self.filled_quantity >= self.requested_quantity

    @property
    def total_cost_bps(self) -> float | None:
        """Slippage plus commission (needs the arrival benchmark)."""
        if self.slippage_bps is None:
            return None
        return self.slippage_bps + (self.commission_bps or 0.0)

    @property
    def quoted_spread_bps(self) -> float | None:
        """The full quoted spread at arrival, (a - b)/m."""
        return None if self.spread_cost_bps is None else 2 * self.spread_cost_bps

    @property
    def effective_spread_bps(self) -> float | None:
        """2·|P - m|/m: twice the distance of the fill from the arrival mid."""
        return None if self.slippage_bps is None else 2 * abs(self.slippage_bps)

    @property
    def effective_to_quoted(self) -> float | None:
        """Effective over quoted spread; ``None`` without a quote or when the quote was locked (no spread)."""
        effective, quoted = self.effective_spread_bps, self.quoted_spread_bps
        if effective is None or not quoted:
            return None
        return effective / quoted

    @property
    def filled_notional(self) -> Decimal | None:
        """q·P·r: the filled notional in the account currency (``None`` without a fill)."""
        if self.filled_quantity <= 0 or self.average_fill_price is None:
            return None
        return self.filled_quantity * self.average_fill_price * (self.quote_home_rate or _ONE)

    @property
    def intended_notional(self) -> Decimal | None:
        """Q·m·r: the paper portfolio's notional, the denominator of ``shortfall_bps``."""
        if self.arrival_mid is None:
            return None
        return self.requested_quantity * self.arrival_mid * (self.quote_home_rate or _ONE)

    def value(self, metric: _Reading) -> float | None:
        """This order's value of ``metric``, or ``None`` when the metric does not cover it."""
        return metric.of(self)


def needs_end_quote(order: UnifiedOrder | None, result: OrderResult) -> bool:
    """Whether the shortfall of ``result`` needs a later quote: an accepted order that has ended with part
    of it never filled (its opportunity cost is measured against the quote when it ended)."""
    requested = _requested(order, result)
    return result.success and _ended(order, result) and result.filled_quantity < requested


def measure_execution(
    order: UnifiedOrder | None,
    result: OrderResult,
    arrival: Arrival | PriceTick | None,
    *,
    end_quote: PriceTick | None = None,
    quote_latency_ms: float | None = None,
) -> Execution:
    """The execution-quality figures of ``result`` for ``order`` against ``arrival``.

    ``order`` is the intent (its side, quantity and instrument); without one (an order action that has no
    :class:`UnifiedOrder`), the result's are used. A plain :class:`PriceTick` as ``arrival`` is the quote
    that travelled with the call. An arrival or end quote of another instrument is ignored. ``end_quote``
    is only read when part of the order never filled (see :func:`needs_end_quote`).
    """
    side = order.side if order is not None else result.side
    instrument = order.instrument if order is not None else result.instrument
    requested = _requested(order, result)
    bench = _benchmark(arrival, instrument)
    filled, price = result.filled_quantity, result.average_fill_price
    rate = result.quote_home_rate or _ONE
    commission = result.commission + result.fees
    commission_bps = slippage = spread = improvement_bps = None
    improvement = execution_cost = end_mid = opportunity = shortfall = shortfall_bps = None
    fill = price if filled > 0 else None
    if fill is not None:
        commission_bps = _bps(commission, filled * fill * rate)
    if bench is not None and side is not None:
        mid, sign = bench.mid, side.sign
        per_mid = _BPS_FLOAT / float(mid)
        execution_cost = _ZERO
        if fill is not None:
            move = sign * (fill - mid)
            slippage = float(move) * per_mid
            execution_cost = move * filled * rate
            if bench.bid is not None and bench.ask is not None:
                spread = float(bench.ask - bench.bid) / 2 * per_mid
                per_unit = bench.ask - fill if sign > 0 else fill - bench.bid
                improvement_bps = float(per_unit) * per_mid
                improvement = per_unit * filled * rate
        if result.success and requested > 0 and _ended(order, result):
            remainder = requested - filled
            if remainder <= 0:
                opportunity = _ZERO
            elif end_quote is not None and end_quote.instrument == instrument:
                end_mid = end_quote.mid
                opportunity = sign * (end_mid - mid) * remainder * rate
            if opportunity is not None:
                shortfall = execution_cost + opportunity + commission
                shortfall_bps = _bps(shortfall, requested * mid * rate)
    return Execution(
        status=result.status,
        success=result.success,
        sent=result.delivery is not Delivery.NOT_SENT,
        error_code=result.error.error_code.value if result.error is not None else None,
        latency_ms=result.latency_ms,
        quote_latency_ms=quote_latency_ms,
        requested_quantity=requested,
        filled_quantity=filled,
        average_fill_price=price,
        arrival_bid=bench.bid if bench is not None else None,
        arrival_ask=bench.ask if bench is not None else None,
        commission=commission,
        slippage_bps=slippage,
        spread_cost_bps=spread,
        commission_bps=commission_bps,
        completed_at=_completed_at(order, result),
        arrival_mid=bench.mid if bench is not None else None,
        arrival_source=bench.source if bench is not None else None,
        quote_home_rate=result.quote_home_rate,
        price_improvement_bps=improvement_bps,
        price_improvement=improvement,
        execution_cost=execution_cost,
        end_mid=end_mid,
        opportunity_cost=opportunity,
        shortfall=shortfall,
        shortfall_bps=shortfall_bps,
    )


def _bps(numerator: Decimal, denominator: Decimal) -> float:
    """numerator / denominator in basis points, as a float (a statistic: floats are exact enough)."""
    return float(numerator) / float(denominator) * _BPS_FLOAT


def _benchmark(arrival: Arrival | PriceTick | None, instrument: str | None) -> Arrival | None:
    if arrival is None or instrument is None:
        return None
    bench = arrival if isinstance(arrival, Arrival) else Arrival.of(arrival)
    return bench if bench.instrument == instrument else None


def _requested(order: UnifiedOrder | None, result: OrderResult) -> Decimal:
    """The intended quantity: the order's; else the result's, else what filled (an order action with no
    stated quantity, such as closing a position or a notional order, intends what it got)."""
    if order is not None and order.quantity is not None:
        return order.quantity
    if result.requested_quantity is not None:
        return result.requested_quantity
    return result.filled_quantity


def _ended(order: UnifiedOrder | None, result: OrderResult) -> bool:
    """The order can fill no more: a terminal status, or an IOC/FOK order reported partly filled (its
    rest was cancelled at once)."""
    status = result.status
    if status.is_terminal:
        return True
    return status is OrderStatus.PARTIALLY_FILLED and order is not None and order.time_in_force in _IMMEDIATE


def _completed_at(order: UnifiedOrder | None, result: OrderResult) -> datetime:
    when = result.completed_at or result.submitted_at
    if when is not None:
        return when
    return order.created_at if order is not None else datetime.now(UTC)
