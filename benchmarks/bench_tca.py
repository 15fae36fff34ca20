"""What measuring one order costs: ``tca.measure_execution`` and the metrics recorder's order path.

The same 20,000 pre-built market orders and results (EUR/USD, buys and sells, one in four filled in part
with its rest cancelled, commission on every fill) are measured against an arrival quote by:

* floor: the arithmetic the recorder did before the TCA module, inline: filled notional, commission bps,
  slippage bps and spread paid in ``Decimal`` (the least a Decimal-exact slippage figure costs);
* ours, measure: ``measure_execution(order, result, quote, end_quote=...)``, every figure of one
  :class:`~broker_integration.tca.Execution` (slippage, spreads, price improvement, shortfall);
* ours, recorder: ``MetricsRecorder.record_call`` of the order's ``CallEvent`` carrying the quote
  (latency histogram, counters, the measurement, and folding it into the minute's sums);
* reference, recorder without an order: ``record_call`` of a quote request's event, the hot path every
  other call takes.

Each is timed with ``time.perf_counter_ns`` over the whole loop, best of ``--repeats``; the figure is
microseconds per order. Usage: ``python benchmarks/bench_tca.py [--repeats 7]``; prints the figures and
writes ``bench-results/bench_tca.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from broker_integration.events import CallEvent
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.metrics.recorder import MetricsRecorder
from broker_integration.models import (
    OrderResult,
    OrderSide,
    OrderStatus,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.tca import measure_execution

RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_tca.json"
START = datetime(2024, 1, 2, 14, 0, tzinfo=UTC)
ORDERS = 20_000
_BPS = Decimal(10_000)

Case = tuple[UnifiedOrder, OrderResult, PriceTick, PriceTick]


def _cases() -> list[Case]:
    rng = random.Random(1)
    cases = []
    for i in range(ORDERS):
        mid = Decimal("1.1000") + Decimal(rng.randint(-50, 50)) * Decimal("0.00001")
        arrival = PriceTick(
            instrument="EUR/USD", bid=mid - Decimal("0.0001"), ask=mid + Decimal("0.0001"), time=START
        )
        later = PriceTick(
            instrument="EUR/USD", bid=mid - Decimal("0.00008"), ask=mid + Decimal("0.00012"), time=START
        )
        side = OrderSide.BUY if i % 2 else OrderSide.SELL
        quantity = Decimal(rng.choice((1_000, 2_000, 5_000, 10_000)))
        partial = i % 4 == 0
        order = UnifiedOrder(
            instrument="EUR/USD", side=side, quantity=quantity, time_in_force=TimeInForce.IOC
        )
        price = arrival.ask if side is OrderSide.BUY else arrival.bid
        filled = quantity / 2 if partial else quantity
        result = OrderResult(
            success=True,
            status=OrderStatus.PARTIALLY_FILLED if partial else OrderStatus.FILLED,
            instrument="EUR/USD",
            side=side,
            requested_quantity=quantity,
            filled_quantity=filled,
            average_fill_price=price,
            commission=(filled * price * Decimal("0.00002")).quantize(Decimal("0.0001")),
            completed_at=START,
        )
        cases.append((order, result, arrival, later))
    return cases


def _event(operation: str, **order: Any) -> CallEvent:
    return CallEvent(
        time=START,
        broker_name="bench",
        adapter_id="bench",
        operation=operation,
        duration_ns=8_000_000,
        success=True,
        **order,
    )


def _best_us_per_order(run: Callable[[], None], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        run()
        timings.append(time.perf_counter_ns() - started)
    return min(timings) / ORDERS / 1000


def bench(repeats: int) -> dict[str, float]:
    cases = _cases()
    order_events = [
        _event("place_order", order=order, order_result=result, arrival=arrival)
        for order, result, arrival, _ in cases
    ]
    quote_events = [_event("get_current_price") for _ in cases]

    def floor() -> None:
        for order, result, arrival, _ in cases:
            price = result.average_fill_price
            assert price is not None
            filled = result.filled_quantity
            notional = filled * price * (result.quote_home_rate or Decimal(1))
            float((result.commission + result.fees) / notional * _BPS)
            move = order.side.sign * (price - arrival.mid)
            float(move / arrival.mid * _BPS)
            _ = move * filled

    def measure() -> None:
        for order, result, arrival, later in cases:
            measure_execution(order, result, arrival, end_quote=later)

    def recorder() -> None:
        rec = MetricsRecorder(QuoteBook())
        for event in order_events:
            rec.record_call("bench", event)

    def reference() -> None:
        rec = MetricsRecorder(QuoteBook())
        for event in quote_events:
            rec.record_call("bench", event)

    return {
        "floor_inline_slippage_and_commission_us": _best_us_per_order(floor, repeats),
        "measure_execution_us": _best_us_per_order(measure, repeats),
        "recorder_order_event_us": _best_us_per_order(recorder, repeats),
        "reference_recorder_non_order_event_us": _best_us_per_order(reference, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    figures = bench(args.repeats)
    floor = figures["floor_inline_slippage_and_commission_us"]
    print(f"Measuring one order (µs per order, best of {args.repeats} runs of {ORDERS:,})")
    for name, value in figures.items():
        print(f"  {name:40s} {value:7.2f}   x floor {value / floor:5.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "processor": platform.processor(),
                "repeats": args.repeats,
                "orders": ORDERS,
                "figures_us": figures,
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
