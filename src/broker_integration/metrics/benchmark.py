"""``run_benchmark``: latency per operation, throughput at several concurrency levels, error rates.

Latency is what the adapter's call pipeline measures (its :class:`CallEvent` durations), recorded into
the same histograms the collector uses. Throughput is completed calls per second of wall time
(monotonic clock) with ``c`` workers issuing calls back to back. This is a closed loop: a worker waits
for each answer before sending the next, so a stall delays the calls behind it instead of being counted
against them (coordinated omission); read the latency figures with that in mind, and prefer the
collector's figures from real traffic for tail latency.

By default only read-only operations are exercised (nothing is ever traded unless you pass an
operation that does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors import BrokerError
from broker_integration.events import CallEvent
from broker_integration.metrics.buckets import OpStats
from broker_integration.metrics.histograms import LatencySummary
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.metrics.recorder import MetricsRecorder
from broker_integration.pipeline import BrokerAdapter, Operation

__all__ = ["BenchmarkReport", "OperationResult", "ThroughputResult", "default_operations", "run_benchmark"]

BenchmarkCall = Callable[[BrokerAdapter], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class OperationResult:
    """Latency and errors of one adapter operation over every benchmark call that reached it."""

    operation: str
    calls: int
    failures: int
    errors_by_code: dict[str, int]
    latency: LatencySummary

    @property
    def error_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0


@dataclass(frozen=True, slots=True)
class ThroughputResult:
    """``calls`` of ``workload`` by ``concurrency`` workers in ``seconds``."""

    workload: str
    concurrency: int
    calls: int
    failures: int
    seconds: float

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class BenchmarkReport:
    broker: str
    adapter_id: str
    started_at: datetime
    iterations: int
    operations: dict[str, OperationResult]
    throughput: list[ThroughputResult]
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "adapter_id": self.adapter_id,
            "started_at": self.started_at.isoformat(),
            "iterations": self.iterations,
            "method": self.method,
            "operations": {
                name: {
                    "calls": r.calls,
                    "failures": r.failures,
                    "error_rate": r.error_rate,
                    "errors_by_code": r.errors_by_code,
                    "latency": r.latency.to_dict(),
                }
                for name, r in sorted(self.operations.items())
            },
            "throughput": [
                {
                    "workload": t.workload,
                    "concurrency": t.concurrency,
                    "calls": t.calls,
                    "failures": t.failures,
                    "seconds": t.seconds,
                    "calls_per_second": t.calls_per_second if t.seconds > 0 else None,
                }
                for t in self.throughput
            ],
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()


def default_operations(adapter: BrokerAdapter, instrument: str) -> dict[str, BenchmarkCall]:
    """The read-only calls ``adapter`` implements, each as a zero-argument workload."""
    implemented = type(adapter).implemented_operations()
    candidates: dict[Operation, BenchmarkCall] = {
        Operation.HEALTH_CHECK: lambda a: a.health_check(),
        Operation.GET_CURRENT_PRICE: lambda a: a.get_current_price(instrument),
        Operation.GET_ACCOUNT_SUMMARY: lambda a: a.get_account_summary(),
        Operation.GET_POSITIONS: lambda a: a.get_positions(),
        Operation.GET_ORDERS: lambda a: a.get_orders(),
    }
    return {op.value: call for op, call in candidates.items() if op in implemented}


async def run_benchmark(
    adapter: BrokerAdapter,
    *,
    operations: Mapping[str, BenchmarkCall] | None = None,
    instrument: str = "EUR/USD",
    iterations: int = 200,
    concurrency_levels: Sequence[int] = (1, 4, 16),
    warmup: int = 5,
    clock: Clock | None = None,
) -> BenchmarkReport:
    """Benchmark ``adapter`` (authenticated) on ``operations`` (default: :func:`default_operations`).

    Each workload is called ``iterations`` times at each concurrency level, after ``warmup`` calls that
    are not counted. ``clock`` times the throughput runs (its monotonic counter).
    """
    if iterations < 1 or warmup < 0 or not concurrency_levels or min(concurrency_levels) < 1:
        raise ValueError("iterations and every concurrency level must be at least 1, warmup not negative")
    timer = clock or SYSTEM_CLOCK
    workloads = dict(operations) if operations is not None else default_operations(adapter, instrument)
    if not workloads:
        raise ValueError(
            f"{adapter.name} implements none of the default read-only operations; pass operations"
        )
    recorder = MetricsRecorder(QuoteBook())
    counting = False

    def on_call(event: CallEvent) -> None:
        if counting:
            recorder.record_call(adapter.name, event)

    target = adapter.adapter_id
    bus = adapter.event_bus
    subscription = bus.subscribe(CallEvent, on_call, where=lambda e: e.adapter_id == target)
    started_at = timer.now()
    throughput: list[ThroughputResult] = []
    try:
        for call in workloads.values():
            for _ in range(warmup):
                await _attempt(call, adapter)
        counting = True
        for name, call in workloads.items():
            for level in concurrency_levels:
                throughput.append(await _run_level(name, call, adapter, level, iterations, timer))
    finally:
        bus.unsubscribe(subscription)
    stats: dict[str, OpStats] = {}
    for (_broker, op, _start), bucket in recorder.pending.items():
        stats.setdefault(op, OpStats()).merge(bucket)
    results = {
        name: OperationResult(
            operation=name,
            calls=s.calls,
            failures=s.failures,
            errors_by_code=dict(sorted(s.errors.items())),
            latency=LatencySummary.from_histogram(s.histogram, s.sum_us),
        )
        for name, s in stats.items()
    }
    return BenchmarkReport(
        broker=adapter.name,
        adapter_id=adapter.adapter_id,
        started_at=started_at,
        iterations=iterations,
        operations=results,
        throughput=throughput,
        method=(
            "latency: call-pipeline durations (CallEvent), HdrHistogram 3 significant figures; throughput: "
            "completed calls / monotonic wall time, closed loop with N workers (no coordinated-omission "
            "correction)"
        ),
    )


async def _attempt(call: BenchmarkCall, adapter: BrokerAdapter) -> bool:
    try:
        await call(adapter)
    except BrokerError:
        return False
    return True


async def _run_level(
    name: str, call: BenchmarkCall, adapter: BrokerAdapter, workers: int, total: int, timer: Clock
) -> ThroughputResult:
    remaining = total
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            if not await _attempt(call, adapter):
                failures += 1

    start = timer.monotonic_ns()
    await asyncio.gather(*(worker() for _ in range(min(workers, total))))
    seconds = (timer.monotonic_ns() - start) / 1e9
    return ThroughputResult(name, workers, total, failures, seconds)
