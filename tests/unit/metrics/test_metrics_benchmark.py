"""run_benchmark: latency per operation, throughput per concurrency level, error rates, JSON."""

from __future__ import annotations

import orjson
import pytest
from metrics_helpers import TimedBroker

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.performance_metrics import run_benchmark
from broker_integration.pipeline import BrokerAdapter


async def test_benchmark_reports_latency_throughput_and_errors() -> None:
    clock = ManualClock()
    broker = TimedBroker(clock, EventBus(), latency_ms=4.0)
    await broker.authenticate()

    async def flaky_price(adapter: BrokerAdapter) -> object:
        return await adapter.get_current_price("EUR/USD")

    broker.fail_next("get_account_summary", StandardErrorCode.INVALID_INSTRUMENT, times=2)
    report = await run_benchmark(
        broker,
        operations={"price": flaky_price, "summary": lambda a: a.get_account_summary()},
        iterations=20,
        concurrency_levels=(1, 2),
        warmup=0,
        clock=clock,
    )
    price = report.operations["get_current_price"]
    assert price.calls == 40  # 20 calls at each of two levels
    assert price.latency.p50_ms == pytest.approx(4.0, rel=1e-3)
    summary = report.operations["get_account_summary"]
    assert (summary.calls, summary.failures) == (40, 2)
    assert summary.errors_by_code == {"INVALID_INSTRUMENT": 2}
    assert summary.error_rate == pytest.approx(0.05)
    levels = [(t.workload, t.concurrency, t.calls) for t in report.throughput]
    assert levels == [("price", 1, 20), ("price", 2, 20), ("summary", 1, 20), ("summary", 2, 20)]
    # each price call takes 4 ms of the manual clock, whatever the concurrency: 250 calls/s
    assert report.throughput[0].calls_per_second == pytest.approx(250.0)
    document = orjson.loads(report.to_json())
    assert document["operations"]["get_current_price"]["latency"]["count"] == 40
    assert "closed loop" in document["method"]


async def test_default_workloads_are_read_only() -> None:
    clock = ManualClock()
    broker = TimedBroker(clock, EventBus())
    await broker.authenticate()
    report = await run_benchmark(broker, iterations=3, concurrency_levels=(1,), warmup=1, clock=clock)
    assert set(report.operations) == {
        "health_check",
        "get_current_price",
        "get_account_summary",
        "get_positions",
        "get_orders",
    }
    assert not any(op[0] == "place_order" for op in broker.calls)


async def test_benchmark_arguments_are_checked() -> None:
    broker = TimedBroker(ManualClock(), EventBus())
    with pytest.raises(ValueError, match="at least 1"):
        await run_benchmark(broker, concurrency_levels=(0,))
