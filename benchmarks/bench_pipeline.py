"""What the adapter call pipeline adds per call, in microseconds.

Floor: awaiting the protocol code directly. Peer: the least a careful user writes by hand around a broker
call (a monotonic timer, ``asyncio.timeout`` and a try/except). Then the pipeline as every adapter gets it
(event + retry, rate limit, breaker and timeout stages), and for orders also with the order journal on a
SQLite file (two commits per order, intent first). Last, an order as user code and an adapter make it: a
``UnifiedOrder`` built per call, its result built with ``completed_result``, without and with the pipeline.
Prints figures and writes bench-results/bench_pipeline.json.

The in-process figures are this thread's CPU time per call (``time.thread_time_ns``), the least of the runs:
nothing in them waits, so CPU time is their whole cost, and unlike wall time it does not grow when other
processes share the machine. The journal's figure is wall time (its commits wait on the disk). The order
path's budget is what it cost before the order-safety checks (issue #15): 26 µs on the machine of issue #16.

``.venv/bin/python benchmarks/bench_pipeline.py [--calls N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from broker_integration import (
    BrokerAdapter,
    BrokerConfiguration,
    BrokerCredentials,
    BrokerLimits,
    CallEvent,
    EventBus,
    OrderResult,
    OrderSide,
    OrderStatus,
    PriceTick,
    UnifiedOrder,
)
from broker_integration.journal import OrderJournal
from broker_integration.pipeline import attach
from broker_integration.store import Store, sqlite_url


class Instant(BrokerAdapter):
    """Protocol code that does nothing, so only the wrapping is measured."""

    broker_name = "instant"

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def get_current_price(self, instrument: str) -> PriceTick:
        return TICK

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        return FILLED


class Completing(Instant):
    """Protocol code that builds its result as the real adapters do (``completed_result`` from the fields an
    answer gives), so the result's checks and the call's facts are measured too."""

    broker_name = "completing"

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        return self.completed_result(
            success=True,
            status=OrderStatus.ACCEPTED,
            broker_order_id="1",
            client_order_id=order.order_id,
            instrument=order.instrument,
            side=order.side,
            filled_quantity=Decimal(0),
            average_fill_price=None,
            completed_at=None,
            message="",
        )


TICK: PriceTick
#: The order path's CPU cost per order before issue #15's boundary checks, which issue #16 holds it to.
ORDER_BUDGET_US = 26.0
FILLED = OrderResult(
    success=True,
    broker_order_id="1",
    status=OrderStatus.FILLED,
    filled_quantity=Decimal(1),
    average_fill_price=Decimal(1),
)


async def per_call_us(call: Callable[[], Awaitable[object]], calls: int, repeats: int) -> float:
    """Least of ``repeats`` runs of ``calls`` sequential calls, in CPU µs per call (least: least disturbed)."""
    samples = []
    for _ in range(repeats):
        started = time.thread_time_ns()
        for _ in range(calls):
            await call()
        samples.append((time.thread_time_ns() - started) / calls / 1000)
    return min(samples)


async def main(calls: int, repeats: int) -> dict[str, float]:
    global TICK
    TICK = PriceTick(instrument="EUR/USD", bid=Decimal("1.1"), ask=Decimal("1.1001"), time=datetime.now(UTC))
    unlimited = BrokerLimits(requests_per_second=1e5, max_orders_per_second=1e5)
    bus = EventBus()
    bus.subscribe(CallEvent, lambda _e: None)  # one subscriber, as with a metrics collector attached
    adapter = Instant(BrokerConfiguration(broker_name="instant", limits=unlimited), event_bus=bus)
    await adapter.authenticate()
    protocol = Instant.get_current_price.__wrapped__  # type: ignore[attr-defined]

    async def floor() -> object:
        return await protocol(adapter, "EUR/USD")

    async def peer() -> object:
        started = time.monotonic_ns()
        try:
            async with asyncio.timeout(30):
                return await protocol(adapter, "EUR/USD")
        except Exception:
            raise
        finally:
            _ = time.monotonic_ns() - started

    async def pipeline() -> object:
        return await adapter.get_current_price("EUR/USD")

    order_protocol = Instant.place_order.__wrapped__  # type: ignore[attr-defined]
    order = UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1))

    async def order_floor() -> object:
        return await order_protocol(adapter, order)

    async def order_pipeline() -> object:
        return await adapter.place_order(order)

    completing = Completing(BrokerConfiguration(broker_name="completing", limits=unlimited), event_bus=bus)
    completing_protocol = Completing.place_order.__wrapped__  # type: ignore[attr-defined]

    def new_order() -> UnifiedOrder:
        return UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1))

    async def order_model() -> object:
        return new_order()

    async def completing_floor() -> object:
        return await completing_protocol(completing, new_order())

    async def completing_pipeline() -> object:
        return await completing.place_order(new_order())

    figures = {
        "floor_us": await per_call_us(floor, calls, repeats),
        "peer_us": await per_call_us(peer, calls, repeats),
        "pipeline_us": await per_call_us(pipeline, calls, repeats),
        "order_floor_us": await per_call_us(order_floor, calls, repeats),
        "order_pipeline_us": await per_call_us(order_pipeline, calls, repeats),
        "order_model_us": await per_call_us(order_model, calls, repeats),
        "completing_floor_us": await per_call_us(completing_floor, calls, repeats),
        "completing_pipeline_us": await per_call_us(completing_pipeline, calls, repeats),
    }
    with tempfile.TemporaryDirectory() as folder:
        async with Store(sqlite_url(Path(folder) / "journal.sqlite3")) as store:
            journaled = Instant(BrokerConfiguration(broker_name="journaled", limits=unlimited), event_bus=bus)
            attach(journaled, journal=OrderJournal(store))
            durations = []
            for _ in range(max(1, repeats)):
                batch = [
                    UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1)) for _ in range(200)
                ]
                started = time.perf_counter_ns()
                for each in batch:
                    await journaled.place_order(each)
                durations.append((time.perf_counter_ns() - started) / len(batch) / 1000)
            figures["order_with_journal_us"] = min(durations)
    return figures


def report(figures: dict[str, float]) -> None:
    floor, peer, pipe = figures["floor_us"], figures["peer_us"], figures["pipeline_us"]
    print("read call (get_current_price), CPU µs per call, least of runs:")
    print(f"  floor  (protocol code awaited directly)        {floor:8.2f}")
    print(f"  peer   (hand-written timer+timeout+try)         {peer:8.2f}   +{peer - floor:.2f} over floor")
    print(
        f"  pipeline (event, retry, limits, breaker, timeout) {pipe:6.2f}   +{pipe - floor:.2f} over floor, "
        f"{pipe / peer:.1f}x the peer"
    )
    print("order call (place_order):")
    print(f"  floor                                           {figures['order_floor_us']:8.2f}")
    print(
        f"  pipeline                                        {figures['order_pipeline_us']:8.2f}   "
        f"+{figures['order_pipeline_us'] - figures['order_floor_us']:.2f} over floor"
    )
    print(
        f"  budget (before issue #15's checks, issue #16)   {ORDER_BUDGET_US:8.2f}   "
        f"{'within' if figures['order_pipeline_us'] <= ORDER_BUDGET_US else 'OVER'}"
    )
    print(f"  pipeline + journal on SQLite (2 commits), wall  {figures['order_with_journal_us']:8.2f}")
    model, c_floor, c_pipe = (
        figures["order_model_us"],
        figures["completing_floor_us"],
        figures["completing_pipeline_us"],
    )
    print("order built per call, result by completed_result (as the adapters build theirs):")
    print(f"  UnifiedOrder(...) alone                         {model:8.2f}")
    print(f"  + protocol code awaited directly                {c_floor:8.2f}   +{c_floor - model:.2f}")
    print(
        f"  + pipeline                                      {c_pipe:8.2f}   +{c_pipe - c_floor:.2f} over floor"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    result = asyncio.run(main(args.calls, args.repeats))
    report(result)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "bench_pipeline.json").write_text(json.dumps(result, indent=2))
