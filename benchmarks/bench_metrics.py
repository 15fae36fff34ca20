"""Performance-metrics benchmarks: the cost of recording one call, and of comparing two brokers over 1M calls.

**Record cost** (target: at most 2 µs per call). The same 100,000 pre-built call events (durations
lognormal around 8 ms, 1 % failures, all in one minute) are fed to:

* floor: a bare ``HdrHistogram.record_value`` loop over the same durations in µs (the least any
  HdrHistogram-based recorder can do);
* ours, recorder: ``MetricsRecorder.record_call`` (histogram, counters, failure codes);
* ours, handler: the collector's bus handler (route by ``adapter_id``, then the recorder);
* ours, via bus: ``EventBus.publish`` with the collector subscribed (what an adapter call pays);
* peer: ``prometheus_client.Histogram.observe`` on a pre-resolved labelled child.

Each is timed with ``time.perf_counter_ns`` over the whole loop, best of ``--repeats``; the figure is
nanoseconds per call. Ratios are against the floor and the peer.

**Compare cost** (target: under 200 ms). 500,000 place-order calls per broker (lognormal latency, 2 %
and 1 % broker failures, fills with costs) in 60 one-minute buckets each, written to a SQLite store; then
``await collector.compare_brokers([...], LAST_HOUR)`` end to end (read 120 rows, decode and merge the
histograms, summarise, test, score, recommend), best and median of ``--repeats``.

Usage: ``python benchmarks/bench_metrics.py [--repeats 7]``; prints the figures and writes
``bench-results/bench_metrics.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import prometheus_client
from hdrh.histogram import HdrHistogram

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode, make_error
from broker_integration.events import CallEvent, EventBus
from broker_integration.metrics.buckets import BUCKET_SECONDS, BucketKey, OpStats, OrderStats, bucket_start
from broker_integration.metrics.histograms import HIGHEST_US, LOWEST_US, SIGNIFICANT_FIGURES
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.metrics.recorder import MetricsRecorder
from broker_integration.metrics.repository import StoreRepository
from broker_integration.performance_metrics import ComparisonPeriod, PerformanceMetricsCollector
from broker_integration.store import Store, sqlite_url
from broker_integration.testing import MockBrokerAdapter

RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_metrics.json"
START = datetime(2024, 1, 2, 14, 0, tzinfo=UTC)
EVENTS = 100_000
CALLS_PER_BROKER = 500_000
MINUTES = 60


def _events(adapter_id: str) -> list[CallEvent]:
    rng = np.random.default_rng(1)
    durations = (rng.lognormal(np.log(8e6), 0.6, EVENTS)).astype(np.int64)
    failures = rng.random(EVENTS) < 0.01
    error = make_error(StandardErrorCode.TIMEOUT, "bench", broker_name="bench")
    return [
        CallEvent(
            time=START,
            broker_name="bench",
            adapter_id=adapter_id,
            operation="get_current_price",
            duration_ns=int(d),
            success=not f,
            error=error if f else None,
        )
        for d, f in zip(durations, failures, strict=True)
    ]


def _best_ns_per_call(run: Callable[[], None], count: int, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        run()
        timings.append(time.perf_counter_ns() - started)
    return min(timings) / count


def bench_record(repeats: int) -> dict[str, float]:
    adapter = MockBrokerAdapter()
    events = _events(adapter.adapter_id)
    micros = [min(e.duration_ns // 1000, HIGHEST_US) for e in events]
    seconds = [e.duration_ns / 1e9 for e in events]

    def floor() -> None:
        hist = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
        record = hist.record_value
        for value in micros:
            record(value)

    def recorder() -> None:
        rec = MetricsRecorder(QuoteBook())
        record = rec.record_call
        for event in events:
            record("bench", event)

    bus = EventBus()
    collector = PerformanceMetricsCollector(clock=ManualClock(START))
    adapter.event_bus = bus
    collector.register_broker("bench", adapter)
    handler = collector._on_call  # the subscribed handler itself, without the bus loop

    def handler_only() -> None:
        for event in events:
            handler(event)

    def via_bus() -> None:
        publish = bus.publish
        for event in events:
            publish(event)

    registry = prometheus_client.CollectorRegistry()
    peer_hist = prometheus_client.Histogram(
        "bench_seconds", "bench", ["broker", "operation"], registry=registry
    ).labels("bench", "get_current_price")

    def peer() -> None:
        observe = peer_hist.observe
        for value in seconds:
            observe(value)

    return {
        "floor_hdrhistogram_record_value_ns": _best_ns_per_call(floor, EVENTS, repeats),
        "recorder_record_call_ns": _best_ns_per_call(recorder, EVENTS, repeats),
        "collector_handler_ns": _best_ns_per_call(handler_only, EVENTS, repeats),
        "collector_via_event_bus_ns": _best_ns_per_call(via_bus, EVENTS, repeats),
        "peer_prometheus_histogram_observe_ns": _best_ns_per_call(peer, EVENTS, repeats),
    }


def _bucket(rng: np.random.Generator, median_ms: float, fail: float, n: int) -> OpStats:
    stats = OpStats()
    micros = np.minimum(rng.lognormal(np.log(median_ms * 1000), 0.5, n).astype(np.int64), HIGHEST_US)
    values, counts = np.unique(micros, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        stats.histogram.record_value(value, count)
    failures = int(rng.binomial(n, fail))
    stats.calls, stats.failures, stats.sum_us = n, failures, int(micros.sum())
    stats.errors = {"SERVICE_UNAVAILABLE": failures} if failures else {}
    filled = n - failures
    orders = OrderStats(orders=n, filled=filled, rejected=failures, requested_qty=float(filled * 1000))
    orders.filled_qty = orders.requested_qty
    orders.notional = Decimal(filled) * Decimal("1100.1")
    orders.commission = Decimal(filled) * Decimal("0.05")
    rand = random.Random(int(rng.integers(1 << 30)))
    for cost in rng.normal(1.0 + fail * 50, 0.3, filled):
        orders.cost_bps.add(float(cost), rand)
    stats.orders = orders
    return stats


async def bench_compare(repeats: int) -> dict[str, float | int | str | None]:
    rng = np.random.default_rng(2)
    per_bucket = CALLS_PER_BROKER // MINUTES
    with tempfile.TemporaryDirectory() as folder:
        async with Store(sqlite_url(Path(folder) / "bench.sqlite3")) as store:
            repo = StoreRepository(store, "bench")
            records = []
            for broker, median_ms, fail in (("oanda", 6.0, 0.01), ("alpaca", 7.0, 0.02)):
                for minute in range(MINUTES):
                    key = BucketKey(
                        broker, "place_order", bucket_start(START.timestamp()) + minute * BUCKET_SECONDS
                    )
                    records.append(_bucket(rng, median_ms, fail, per_bucket).to_record(key))
            await repo.merge(records)
            clock = ManualClock(START + timedelta(minutes=MINUTES, seconds=-1))
            collector = PerformanceMetricsCollector(store=store, clock=clock)
            timings, comparison = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                comparison = await collector.compare_brokers(["oanda", "alpaca"], ComparisonPeriod.LAST_HOUR)
                timings.append((time.perf_counter() - started) * 1000)
    assert comparison is not None
    samples = sum(m.calls for m in comparison.metrics.values())
    return {
        "samples": samples,
        "buckets": len(records),
        "best_ms": min(timings),
        "median_ms": statistics.median(timings),
        "winner": comparison.winner,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    record = bench_record(args.repeats)
    compare = asyncio.run(bench_compare(args.repeats))
    floor = record["floor_hdrhistogram_record_value_ns"]
    peer = record["peer_prometheus_histogram_observe_ns"]
    print("Recording one call (ns per call, best of", args.repeats, "runs of", f"{EVENTS:,})")
    for name, value in record.items():
        print(f"  {name:42s} {value:8.0f}   x floor {value / floor:5.2f}   x peer {value / peer:5.2f}")
    print(f"Comparing two brokers over {compare['samples']:,} calls in {compare['buckets']} stored buckets:")
    print(
        f"  best {compare['best_ms']:.1f} ms, median {compare['median_ms']:.1f} ms; winner {compare['winner']}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "processor": platform.processor(),
                "repeats": args.repeats,
                "record": record,
                "record_targets": {"max_ns": 2000},
                "compare": compare,
                "compare_targets": {"max_ms": 200},
                "method": __doc__,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
