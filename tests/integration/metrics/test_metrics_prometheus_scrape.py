"""Scrape the Prometheus endpoint over real HTTP on 127.0.0.1 and parse it with prometheus-client's parser."""

from __future__ import annotations

import asyncio
import urllib.request
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.metrics.cli import metrics_app
from broker_integration.metrics.persisted import StoreSnapshotSource
from broker_integration.models import OrderResult, OrderSide, PriceTick, UnifiedOrder
from broker_integration.performance_metrics import PerformanceMetricsCollector, start_metrics_server
from broker_integration.store import Store
from broker_integration.testing import MockBrokerAdapter


class SteadyBroker(MockBrokerAdapter):
    """Orders take ``ms`` of manual-clock time and pay ``commission``."""

    def __init__(self, clock: ManualClock, bus: EventBus, ms: float, commission: str = "0") -> None:
        super().__init__(clock=clock, event_bus=bus)
        self._manual, self._ms, self._commission = clock, ms, Decimal(commission)

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self._manual.advance(self._ms / 1000)
        result = await super().place_order(order)
        return result.model_copy(update={"commission": self._commission}) if result.success else result

    async def get_current_price(self, instrument: str) -> PriceTick:
        self._manual.advance(self._ms / 1000)
        return await super().get_current_price(instrument)


def _scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


async def _traffic(clock: ManualClock, bus: EventBus) -> tuple[SteadyBroker, SteadyBroker]:
    oanda, alpaca = SteadyBroker(clock, bus, 3.0, "0.25"), SteadyBroker(clock, bus, 40.0)
    for broker in (oanda, alpaca):
        await broker.authenticate()
    return oanda, alpaca


async def _orders(broker: SteadyBroker, count: int) -> None:
    for _ in range(count):
        await broker.place_order(
            UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1000))
        )


async def test_live_collector_is_scraped_over_http() -> None:
    clock, bus = ManualClock(), EventBus()
    clock_start_seconds = clock.now().timestamp()
    oanda, alpaca = await _traffic(clock, bus)
    collector = PerformanceMetricsCollector(clock=clock, event_bus=bus, probe_instruments=["EUR/USD"])
    collector.register_broker("oanda", oanda)
    collector.register_broker("alpaca", alpaca)
    await _orders(oanda, 8)
    await collector.flush()  # some counts flushed, some pending: the scrape sees both
    oanda.fail_next("place_order", StandardErrorCode.SERVICE_UNAVAILABLE)
    await _orders(oanda, 3)
    await _orders(alpaca, 5)
    await collector.probe_once()
    collector.report_config_failure("alpaca", "limits.requests_per_second must be positive")
    server = collector.serve_prometheus(port=0)
    try:
        samples = await asyncio.to_thread(_scrape, server.url)
    finally:
        await asyncio.to_thread(server.close)

    calls = samples["broker_integration_calls_total"]
    assert calls[_labels(broker="oanda", operation="place_order", outcome="success")] == 10
    assert calls[_labels(broker="oanda", operation="place_order", outcome="error")] == 1
    assert calls[_labels(broker="alpaca", operation="place_order", outcome="success")] == 5
    errors = samples["broker_integration_call_errors_total"]
    assert errors[_labels(broker="oanda", operation="place_order", code="SERVICE_UNAVAILABLE")] == 1
    buckets = samples["broker_integration_call_duration_seconds_bucket"]
    alpaca_place = {
        dict(k)["le"]: v
        for k, v in buckets.items()
        if ("broker", "alpaca") in k and ("operation", "place_order") in k
    }
    assert alpaca_place["0.025"] == 0
    assert alpaca_place["0.05"] == 5
    assert alpaca_place["+Inf"] == 5
    sums = samples["broker_integration_call_duration_seconds_sum"]
    assert sums[_labels(broker="alpaca", operation="place_order")] == pytest.approx(0.2)
    assert samples["broker_integration_order_commission_total"][_labels(broker="oanda")] == pytest.approx(2.5)
    # the 503 came after the order was sent: its outcome is unknown, not a refusal
    assert samples["broker_integration_orders_total"][_labels(broker="oanda", result="unknown")] == 1
    assert samples["broker_integration_orders_total"][_labels(broker="oanda", result="rejected")] == 0
    assert samples["broker_integration_orders_settled_total"][_labels(broker="oanda")] == 0
    assert samples["broker_integration_up"][_labels(broker="oanda")] == 1
    assert samples["broker_integration_authenticated"][_labels(broker="alpaca")] == 1
    assert samples["broker_integration_circuit_breaker_state"][_labels(broker="oanda", state="closed")] == 1
    assert samples["broker_integration_price_feed_age_seconds"][_labels(broker="oanda")] >= 0
    assert samples["broker_integration_collector_start_time_seconds"][()] == clock_start_seconds
    firing = samples["broker_integration_alerts_firing"]
    assert firing == {_labels(broker="alpaca", rule="config_validation", severity="critical"): 1}


async def test_store_backed_exporter_serves_what_collectors_flushed(store_url: str) -> None:
    clock, bus = ManualClock(), EventBus()
    oanda, alpaca = await _traffic(clock, bus)
    async with Store(store_url) as store:
        for source in ("proc-a", "proc-b"):  # two writers share the database
            collector = PerformanceMetricsCollector(store=store, clock=clock, source=source)
            collector.register_broker("oanda", oanda)
            await _orders(oanda, 4)
            await collector.close()
        clock.advance(600)  # the first rows are now settled, later ones are re-read each scrape
        reader = PerformanceMetricsCollector(store=store, clock=clock, source="proc-c")
        reader.register_broker("alpaca", alpaca)
        await _orders(alpaca, 2)
        await reader.close()
        exporter = StoreSnapshotSource(store, clock=clock)
        server = start_metrics_server(exporter.snapshot, asyncio.get_running_loop(), port=0)
        try:
            first = await asyncio.to_thread(_scrape, server.url)
            second = await asyncio.to_thread(_scrape, server.url)
        finally:
            await asyncio.to_thread(server.close)
    for samples in (first, second):
        calls = samples["broker_integration_calls_total"]
        assert calls[_labels(broker="oanda", operation="place_order", outcome="success")] == 8
        assert calls[_labels(broker="alpaca", operation="place_order", outcome="success")] == 2


async def test_a_process_exports_every_processs_buckets_with_histograms_merged(store_url: str) -> None:
    """Two trading processes (a store session and a collector each) trade one broker at different speeds;
    either one's pooled export and queries see both, latency quantiles from the merged histogram."""
    clock = ManualClock()
    async with Store(store_url) as one_store, Store(store_url) as other_store:
        fast_bus, slow_bus = EventBus(), EventBus()
        fast, slow = SteadyBroker(clock, fast_bus, 3.0), SteadyBroker(clock, slow_bus, 40.0)
        one = PerformanceMetricsCollector(store=one_store, clock=clock, source="proc-one")
        other = PerformanceMetricsCollector(store=other_store, clock=clock, source="proc-other")
        one.register_broker("oanda", fast)
        other.register_broker("oanda", slow)
        for broker in (fast, slow):
            await broker.authenticate()
        await _orders(fast, 30)
        await _orders(slow, 70)
        await other.flush()  # the other process's buckets are in the store; this one's are still pending
        server = one.serve_prometheus(port=0, pooled=True)
        try:
            samples = await asyncio.to_thread(_scrape, server.url)
        finally:
            await asyncio.to_thread(server.close)
        pooled = await one.metrics("oanda")
        await one.close()
        await other.close()
    calls = samples["broker_integration_calls_total"]
    assert calls[_labels(broker="oanda", operation="place_order", outcome="success")] == 100
    buckets = {
        dict(k)["le"]: v
        for k, v in samples["broker_integration_call_duration_seconds_bucket"].items()
        if ("operation", "place_order") in k
    }
    assert (buckets["0.005"], buckets["0.05"]) == (30, 100)  # bucket counts added, process by process
    latency = pooled.operations["place_order"].latency
    assert latency.count == 100
    # quantiles of all 100 calls: 70 of them took 40 ms. Averaging each process's p50 would say 21.5 ms.
    assert latency.p50_ms == pytest.approx(40.0, rel=0.01)
    assert latency.mean_ms == pytest.approx((30 * 3 + 70 * 40) / 100, rel=0.01)


def test_metrics_serve_command_starts_and_stops() -> None:
    result = CliRunner().invoke(metrics_app, ["serve", "--port", "0", "--seconds", "0.2"])
    assert result.exit_code == 0, result.output
    assert "serving http://127.0.0.1:" in result.output
