"""The hot path: fold each call event into the pending bucket of its broker, operation and minute.

Recording one call is a cached bucket look-up, one ``HdrHistogram.record_value`` and a few integer
additions (about a microsecond); nothing is written to the store here. Order results take a slower
path (``Decimal`` cost arithmetic), which is fine at order rates. The collector takes the pending
buckets away on its flush timer and writes them out.

Each order result is measured by :func:`broker_integration.tca.measure_execution`, the function the A/B
framework uses too, against an arrival benchmark taken, in this order, from: the quote its call carried
(``CallEvent.arrival``, set by :func:`broker_integration.tca.arrival_quote`: the A/B framework places every
order inside one), a mid in ``metadata["arrival_mid"]`` of the order or the result, or the last quote the
collector's price probe saw for the instrument if it is at most ``QuoteBook.max_age`` old when the call
ended. Each order's benchmark is counted by its source. Orders with none have no slippage figure; their
cost is commission and fees only. The opportunity cost of a part that never filled is measured against the
probe's quote when the order ended, if it has a fresh one.

Money (notional, commission, fees, spread paid, price improvement, shortfall) is counted in the account currency, the currency brokers
charge in: a fill's notional is converted with the result's ``quote_home_rate``, so a USD account's cost
in bps is right on USD/JPY as on EUR/USD and its totals add up across instruments. An adapter that does
not report the rate gets its notional taken as already in the account currency.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from broker_integration.events import CallEvent, OrderSettledEvent, OrderUpdateEvent
from broker_integration.log import get_logger
from broker_integration.metrics.buckets import BUCKET_SECONDS, OpStats, OrderStats, bucket_start, from_epoch
from broker_integration.metrics.histograms import HIGHEST_US
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.models import OrderResult, OrderStatus, OrderUpdateKind, PriceTick, UnifiedOrder
from broker_integration.tca import Arrival, ArrivalSource, Execution, measure_execution, needs_end_quote

__all__ = ["ARRIVAL_MID_KEY", "CANCELLED_CODE", "HEALTH_OPERATION", "MetricsRecorder", "PendingKey"]

_log = get_logger("broker_integration.metrics")

#: Metadata key (order or result) carrying the mid price when the order reached the router.
ARRIVAL_MID_KEY = "arrival_mid"
#: The operation under which health-check outcomes are counted.
HEALTH_OPERATION = "health_check"
_PLACE = "place_order"
_ZERO = Decimal(0)
#: The code counted for a call that ended without success or error: its caller cancelled it.
CANCELLED_CODE = "CANCELLED"

PendingKey = tuple[str, str, int]  # broker, operation, bucket start
#: Resting orders remembered for their later fills, at most (the oldest are forgotten first).
_RESTING_LIMIT = 10_000
OrderObserver = Callable[[str, UnifiedOrder], object]


class MetricsRecorder:
    """Pending (not yet flushed) buckets, filled by events as they arrive."""

    def __init__(self, quotes: QuoteBook, *, seed: int = 0) -> None:
        self.quotes = quotes
        self.pending: dict[PendingKey, OpStats] = {}
        #: Called with each placed order (for order-activity alerts).
        self.order_observer: OrderObserver | None = None
        self._rng = random.Random(seed)
        self._lo = from_epoch(0)
        self._hi = from_epoch(0)
        self._start = 0
        #: (broker, client order id) of resting placements → what their later fills are measured with.
        self._resting: OrderedDict[tuple[str, str], _Resting] = OrderedDict()

    def take(self) -> dict[PendingKey, OpStats]:
        """Hand over the pending buckets and start empty."""
        taken, self.pending = self.pending, {}
        return taken

    def _bucket(self, when: datetime) -> int:
        start = bucket_start(when.timestamp())
        self._start = start
        self._lo = from_epoch(start)
        self._hi = self._lo + timedelta(seconds=BUCKET_SECONDS)
        return start

    def _stats(self, broker: str, operation: str, when: datetime) -> OpStats:
        start = self._start if self._lo <= when < self._hi else self._bucket(when)
        key = (broker, operation, start)
        stats = self.pending.get(key)
        if stats is None:
            stats = self.pending[key] = OpStats()
        return stats

    def record_call(self, broker: str, event: CallEvent) -> None:
        """Count one finished call of ``broker`` (the hot path)."""
        stats = self._stats(broker, event.operation, event.time)
        micros = event.duration_ns // 1000
        if micros > HIGHEST_US:
            micros = HIGHEST_US
        stats.histogram.record_value(micros)
        stats.calls += 1
        stats.sum_us += micros
        if not event.success:
            stats.failures += 1
            code = event.error.error_code.value if event.error is not None else CANCELLED_CODE
            stats.errors[code] = stats.errors.get(code, 0) + 1
        result = event.order_result
        if result is not None:
            orders = _orders_of(stats)
            if event.operation == _PLACE:
                orders.orders += 1
                if event.order is not None and self.order_observer is not None:
                    self.order_observer(broker, event.order)
                if result.status is OrderStatus.UNKNOWN:
                    orders.unknown += 1  # neither refused nor filled: it is settled later, or never
                    return
            self._record_outcome(
                broker,
                orders,
                result,
                event.order,
                event.time,
                placed=event.operation == _PLACE,
                arrival=event.arrival,
            )
            if (
                event.operation == _PLACE
                and event.order is not None
                and result.status is OrderStatus.ACCEPTED
            ):
                self._remember_resting(broker, event.order, result, event.arrival)

    def record_update(self, broker: str, event: OrderUpdateEvent) -> None:
        """Count a later fill of a resting order placed through this collector, in the minute the broker
        told it: its quantity, its costs and quality against the order's arrival quote, and, once filled in
        full, the order as filled (no longer unfilled) with its time to fill."""
        update = event.update
        key = (broker, update.client_order_id or "")
        resting = self._resting.get(key)
        if resting is None:
            return
        if not update.kind.is_fill:
            if update.kind.status.is_terminal and update.kind is not OrderUpdateKind.REPLACED:
                del self._resting[key]
            return
        orders = _orders_of(self._stats(broker, _PLACE, update.time))
        assert update.fill_price is not None
        fill = OrderResult(
            success=True,
            client_order_id=update.client_order_id,
            broker_order_id=update.broker_order_id,
            broker_name=broker,
            status=OrderStatus.FILLED,
            instrument=resting.order.instrument,
            side=resting.order.side,
            requested_quantity=update.fill_quantity,
            filled_quantity=update.fill_quantity,
            average_fill_price=update.fill_price,
            commission=update.commission,
            fees=update.fees,
            quote_home_rate=update.quote_home_rate,
            submitted_at=resting.submitted_at,
            completed_at=update.time,
        )
        orders.filled_qty += float(update.fill_quantity)
        orders.commission += fill.commission
        orders.fees += fill.fees
        bench = self._arrival(
            broker, resting.arrival, fill, resting.order, resting.order.instrument, update.time
        )
        _fold(orders, measure_execution(resting.order, fill, bench), self._rng)
        if update.kind is OrderUpdateKind.FILLED:
            del self._resting[key]
            orders.filled_later += 1
            if resting.submitted_at is not None:
                fill_ms = (update.time - resting.submitted_at).total_seconds() * 1000.0
                orders.fills_timed += 1
                orders.fill_ms_sum += fill_ms
                orders.fill_ms.add(fill_ms, self._rng)

    def _remember_resting(
        self, broker: str, order: UnifiedOrder, result: OrderResult, arrival: PriceTick | None
    ) -> None:
        self._resting[(broker, order.order_id)] = _Resting(order, arrival, result.submitted_at)
        if len(self._resting) > _RESTING_LIMIT:
            self._resting.popitem(last=False)

    def record_settlement(self, broker: str, event: OrderSettledEvent) -> None:
        """Count what became of a placement whose outcome was unknown when its call returned, in the
        minute it was learned: its result and filled quantity count as a placement's would. Its costs do
        not: an order lookup does not report commission, and a zero would bias the cost figures."""
        orders = _orders_of(self._stats(broker, _PLACE, event.time))
        if event.previous_status is OrderStatus.UNKNOWN:
            orders.settled += 1
        self._record_outcome(broker, orders, event.result, event.order, event.time, placed=True, costs=False)

    def record_health(self, broker: str, healthy: bool, when: datetime) -> None:
        """Count one health check's outcome (for availability)."""
        stats = self._stats(broker, HEALTH_OPERATION, when)
        stats.health_checks += 1
        stats.healthy_checks += healthy

    # ------------------------------------------------------------------ orders

    def _record_outcome(
        self,
        broker: str,
        orders: OrderStats,
        result: OrderResult,
        order: UnifiedOrder | None,
        when: datetime,
        *,
        placed: bool,
        costs: bool = True,
        arrival: PriceTick | None = None,
    ) -> None:
        filled = result.filled_quantity
        if placed:
            requested = result.requested_quantity
            if requested is None and order is not None:
                requested = order.quantity
            if not result.success:
                orders.rejected += 1
            elif filled <= 0:
                orders.unfilled += 1
            elif requested is not None and filled < requested:
                orders.partial += 1
            else:
                orders.filled += 1
            if requested is not None and result.success:
                orders.requested_qty += float(requested)
            orders.filled_qty += float(filled)
            if result.status is OrderStatus.FILLED and result.submitted_at and result.completed_at:
                fill_ms = (result.completed_at - result.submitted_at).total_seconds() * 1000.0
                orders.fills_timed += 1
                orders.fill_ms_sum += fill_ms
                orders.fill_ms.add(fill_ms, self._rng)
        if not costs:
            return
        orders.commission += result.commission
        orders.fees += result.fees
        instrument = order.instrument if order is not None else result.instrument
        bench = self._arrival(broker, arrival, result, order, instrument, when)
        end_quote = None
        if bench is not None and instrument is not None and needs_end_quote(order, result):
            end_quote = self.quotes.quote_at(broker, instrument, result.completed_at or when)
        _fold(orders, measure_execution(order, result, bench, end_quote=end_quote), self._rng)

    def _arrival(
        self,
        broker: str,
        quote: PriceTick | None,
        result: OrderResult,
        order: UnifiedOrder | None,
        instrument: str | None,
        when: datetime,
    ) -> Arrival | None:
        """The order's arrival benchmark: the quote its call carried, else a mid in its metadata, else the
        probe's quote if fresh (each labelled with its source)."""
        if instrument is None:
            return None
        if quote is not None and quote.instrument == instrument:
            return Arrival.of(quote, ArrivalSource.CALL)
        for metadata in (order.metadata if order is not None else None, result.metadata):
            if metadata and ARRIVAL_MID_KEY in metadata:
                mid = _decimal(metadata[ARRIVAL_MID_KEY])
                if mid is not None:
                    return Arrival(instrument, mid, ArrivalSource.ORDER)
        tick = self.quotes.quote_at(broker, instrument, when)
        return Arrival.of(tick, ArrivalSource.PROBE) if tick is not None else None


@dataclass(frozen=True, slots=True)
class _Resting:
    """A resting order as placed: what its later fills are measured against."""

    order: UnifiedOrder
    arrival: PriceTick | None
    submitted_at: datetime | None


def _fold(orders: OrderStats, e: Execution, rng: random.Random) -> None:
    """Add one order's execution figures to the bucket's sums."""
    if e.shortfall is not None and e.shortfall_bps is not None:
        orders.shortfall_orders += 1
        orders.shortfall += e.shortfall
        orders.shortfall_bps_sum += e.shortfall_bps
        orders.opportunity_cost += e.opportunity_cost or _ZERO
        orders.intended_notional += e.intended_notional or _ZERO
    notional = e.filled_notional
    if notional is None or e.commission_bps is None:
        return
    orders.notional += notional
    orders.commission_bps_sum += e.commission_bps
    cost_bps = e.commission_bps
    if e.slippage_bps is not None:
        orders.slippage_orders += 1
        orders.slippage_bps_sum += e.slippage_bps
        orders.effective_spread_bps_sum += e.effective_spread_bps or 0.0
        orders.spread_paid += e.execution_cost or _ZERO
        if e.arrival_source is not None:
            orders.count_arrival(e.arrival_source)
        cost_bps += e.slippage_bps
    if e.spread_cost_bps is not None and e.price_improvement_bps is not None:
        orders.quoted_orders += 1
        orders.spread_cost_bps_sum += e.spread_cost_bps
        orders.price_improvement_bps_sum += e.price_improvement_bps
        orders.price_improvement += e.price_improvement or _ZERO
    ratio = e.effective_to_quoted
    if ratio is not None:
        orders.ratio_orders += 1
        orders.effective_to_quoted_sum += ratio
    orders.cost_bps.add(cost_bps, rng)


def _orders_of(stats: OpStats) -> OrderStats:
    if stats.orders is None:
        stats.orders = OrderStats()
    return stats.orders


def _decimal(value: object) -> Decimal | None:
    try:
        mid = Decimal(str(value))
    except (InvalidOperation, ValueError):
        _log.debug("ignoring arrival_mid %r: not a number", value)
        return None
    return mid if mid.is_finite() and mid > 0 else None
