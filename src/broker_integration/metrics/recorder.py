"""The hot path: fold each call event into the pending bucket of its broker, operation and minute.

Recording one call is a cached bucket look-up, one ``HdrHistogram.record_value`` and a few integer
additions (about a microsecond); nothing is written to the store here. Order results take a slower
path (``Decimal`` cost arithmetic), which is fine at order rates. The collector takes the pending
buckets away on its flush timer and writes them out.

Slippage is measured against the arrival mid: ``metadata["arrival_mid"]`` of the order (set by the A/B
framework when it routes) or of the result, else the last quote the collector's price probe saw for the
instrument if it is at most ``QuoteBook.max_age`` old when the order was sent. Orders with neither have
no slippage figure; their cost is commission and fees only.

Money (notional, commission, fees, spread paid) is counted in the account currency, the currency brokers
charge in: a fill's notional is converted with the result's ``quote_home_rate``, so a USD account's cost
in bps is right on USD/JPY as on EUR/USD and its totals add up across instruments. An adapter that does
not report the rate gets its notional taken as already in the account currency.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from broker_integration.events import CallEvent, OrderSettledEvent
from broker_integration.log import get_logger
from broker_integration.metrics.buckets import BUCKET_SECONDS, OpStats, OrderStats, bucket_start, from_epoch
from broker_integration.metrics.histograms import HIGHEST_US
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.models import OrderResult, OrderStatus, UnifiedOrder

__all__ = ["ARRIVAL_MID_KEY", "HEALTH_OPERATION", "MetricsRecorder", "PendingKey"]

_log = get_logger("broker_integration.metrics")

#: Metadata key (order or result) carrying the mid price when the order reached the router.
ARRIVAL_MID_KEY = "arrival_mid"
#: The operation under which health-check outcomes are counted.
HEALTH_OPERATION = "health_check"
_PLACE = "place_order"
_SAME_CURRENCY = Decimal(1)
_NO_ERROR = "CANCELLED"  # a call that ended without success or error: the caller cancelled it

PendingKey = tuple[str, str, int]  # broker, operation, bucket start
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
            code = event.error.error_code.value if event.error is not None else _NO_ERROR
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
                broker, orders, result, event.order, event.time, placed=event.operation == _PLACE
            )

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
        price = result.average_fill_price
        if filled <= 0 or price is None:
            return
        # Commission and fees come in the account currency; prices in the quote currency. The adapter's
        # rate joins them; without one the two are taken to be the same currency.
        rate = result.quote_home_rate or _SAME_CURRENCY
        notional = filled * price * rate
        orders.notional += notional
        cost_bps = float((result.commission + result.fees) / notional * 10_000)
        side = result.side or (order.side if order is not None else None)
        mid = self._arrival_mid(broker, result, order, when)
        if mid is not None and side is not None:
            move = side.sign * (price - mid)
            slippage_bps = float(move / mid * 10_000)
            orders.slippage_orders += 1
            orders.slippage_bps_sum += slippage_bps
            orders.spread_paid += move * filled * rate
            cost_bps += slippage_bps
        orders.cost_bps.add(cost_bps, self._rng)

    def _arrival_mid(
        self, broker: str, result: OrderResult, order: UnifiedOrder | None, when: datetime
    ) -> Decimal | None:
        for metadata in (order.metadata if order is not None else None, result.metadata):
            if metadata and ARRIVAL_MID_KEY in metadata:
                mid = _decimal(metadata[ARRIVAL_MID_KEY])
                if mid is not None:
                    return mid
        instrument = result.instrument
        if instrument is None and order is not None:
            instrument = order.instrument
        if instrument is None:
            return None
        return self.quotes.mid_at(broker, instrument, when)


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
