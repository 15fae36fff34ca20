"""Prometheus exposition through prometheus-client: conventional names, a ``broker`` label on everything.

A custom collector builds the families at scrape time from an :class:`ExportSnapshot`, so recording a
call never touches prometheus-client (no second histogram on the hot path). The snapshot is produced on
the asyncio loop that owns the data (``run_coroutine_threadsafe``), since the HTTP server answers from
its own thread.

Families (all prefixed ``broker_integration_``): ``calls_total{broker,operation,outcome}``,
``call_errors_total{broker,operation,code}``, ``call_duration_seconds{broker,operation}`` (histogram;
buckets counted from the HdrHistogram, sum exact), ``orders_total{broker,result}``,
``orders_settled_total{broker}``, ``order_commission_total``, ``order_fees_total``,
``order_notional_total``, ``order_spread_paid_total`` (account currency, see
:mod:`~broker_integration.metrics.recorder`), ``order_slippage_bps`` and ``order_time_to_fill_seconds``
(summaries: sum and count),
``health_checks_total{broker,result}``; live gauges ``up``, ``authenticated``,
``rate_limit_utilization_ratio``, ``circuit_breaker_state{state}``, ``price_feed_age_seconds``,
``uptime_seconds``, ``alerts_firing{rule,severity}``, ``collector_start_time_seconds`` (counters are
cumulative since then; a store-backed exporter counts everything retained and has no start time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from threading import Thread
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    SummaryMetricFamily,
)

from broker_integration.metrics.export import ExportSnapshot
from broker_integration.metrics.histograms import count_at_or_below
from broker_integration.models import HealthState

__all__ = ["LATENCY_BUCKETS_SECONDS", "PREFIX", "MetricsServer", "SnapshotCollector", "start_metrics_server"]

PREFIX = "broker_integration"
#: Upper bounds of the exported latency histogram buckets, in seconds.
LATENCY_BUCKETS_SECONDS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BREAKER_STATES = ("closed", "open", "half_open")

SnapshotSource = Callable[[], Coroutine[Any, Any, ExportSnapshot]]


class SnapshotCollector:
    """A prometheus-client collector over snapshots taken on ``loop`` (from any other thread)."""

    def __init__(
        self, source: SnapshotSource, loop: asyncio.AbstractEventLoop, timeout: float = 10.0
    ) -> None:
        self._source = source
        self._loop = loop
        self._timeout = timeout

    def collect(self) -> Iterator[Any]:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("scrape the metrics from another thread (the HTTP server does)")
        snapshot = asyncio.run_coroutine_threadsafe(self._source(), self._loop).result(self._timeout)
        yield from families(snapshot)


def families(s: ExportSnapshot) -> Iterator[Any]:
    """Every metric family of one snapshot."""
    yield from _call_families(s)
    yield from _order_families(s)
    yield from _health_families(s)


def _call_families(s: ExportSnapshot) -> Iterator[Any]:
    calls = CounterMetricFamily(
        f"{PREFIX}_calls", "Broker calls that ended.", labels=["broker", "operation", "outcome"]
    )
    errors = CounterMetricFamily(
        f"{PREFIX}_call_errors",
        "Failed broker calls by standard error code.",
        labels=["broker", "operation", "code"],
    )
    duration = HistogramMetricFamily(
        f"{PREFIX}_call_duration_seconds",
        "Duration of broker calls, from HdrHistograms (3 significant figures).",
        labels=["broker", "operation"],
    )
    for (broker, op), stats in sorted(s.operations.items()):
        if stats.calls == 0:
            continue
        calls.add_metric([broker, op, "success"], stats.calls - stats.failures)
        calls.add_metric([broker, op, "error"], stats.failures)
        for code, n in sorted(stats.errors.items()):
            errors.add_metric([broker, op, code], n)
        thresholds_us = [b * 1e6 for b in LATENCY_BUCKETS_SECONDS]
        cumulative = count_at_or_below(stats.histogram, thresholds_us)
        buckets = [(_le(b), float(c)) for b, c in zip(LATENCY_BUCKETS_SECONDS, cumulative, strict=True)]
        buckets.append(("+Inf", float(stats.calls)))
        duration.add_metric([broker, op], buckets, stats.sum_us / 1e6)
    yield calls
    yield errors
    yield duration


def _le(bound: float) -> str:
    return repr(float(bound))


def _order_families(s: ExportSnapshot) -> Iterator[Any]:
    orders = CounterMetricFamily(
        f"{PREFIX}_orders",
        "Placed orders by result (unknown: the answer was lost; once found out, an order is also counted "
        "under the result it had).",
        labels=["broker", "result"],
    )
    settled = CounterMetricFamily(
        f"{PREFIX}_orders_settled",
        "Unknown outcomes found out later; each is also counted under the result it turned out to have.",
        labels=["broker"],
    )
    money = {
        "commission": CounterMetricFamily(
            f"{PREFIX}_order_commission", "Commission charged.", labels=["broker"]
        ),
        "fees": CounterMetricFamily(f"{PREFIX}_order_fees", "Fees other than commission.", labels=["broker"]),
        "notional": CounterMetricFamily(f"{PREFIX}_order_notional", "Filled notional.", labels=["broker"]),
        "spread_paid": CounterMetricFamily(
            f"{PREFIX}_order_spread_paid", "Side-signed (fill - arrival mid) x quantity.", labels=["broker"]
        ),
    }
    slippage = SummaryMetricFamily(
        f"{PREFIX}_order_slippage_bps", "Slippage against the arrival mid, bps.", labels=["broker"]
    )
    fill_time = SummaryMetricFamily(
        f"{PREFIX}_order_time_to_fill_seconds", "Submit-to-fill time of filled orders.", labels=["broker"]
    )
    per_broker: dict[str, dict[str, float]] = {}
    for (broker, _op), stats in s.operations.items():
        o = stats.orders
        if o is None:
            continue
        acc = per_broker.setdefault(broker, {})
        for name, value in (
            ("filled", o.filled),
            ("partial", o.partial),
            ("unfilled", o.unfilled),
            ("rejected", o.rejected),
            ("unknown", o.unknown),
            ("settled", o.settled),
            ("commission", float(o.commission)),
            ("fees", float(o.fees)),
            ("notional", float(o.notional)),
            ("spread_paid", float(o.spread_paid)),
            ("slippage_n", o.slippage_orders),
            ("slippage_sum", o.slippage_bps_sum),
            ("fill_n", o.fills_timed),
            ("fill_sum", o.fill_ms_sum / 1000.0),
        ):
            acc[name] = acc.get(name, 0.0) + value
    for broker, acc in sorted(per_broker.items()):
        for result in ("filled", "partial", "unfilled", "rejected", "unknown"):
            orders.add_metric([broker, result], acc[result])
        settled.add_metric([broker], acc["settled"])
        for name, family in money.items():
            family.add_metric([broker], acc[name])
        slippage.add_metric([broker], int(acc["slippage_n"]), acc["slippage_sum"])
        fill_time.add_metric([broker], int(acc["fill_n"]), acc["fill_sum"])
    yield orders
    yield settled
    yield from money.values()
    yield slippage
    yield fill_time


def _health_families(s: ExportSnapshot) -> Iterator[Any]:
    checks = CounterMetricFamily(
        f"{PREFIX}_health_checks", "Health checks by result.", labels=["broker", "result"]
    )
    for (broker, _op), stats in sorted(s.operations.items()):
        if stats.health_checks:
            checks.add_metric([broker, "healthy"], stats.healthy_checks)
            checks.add_metric([broker, "unhealthy"], stats.health_checks - stats.healthy_checks)
    yield checks
    up = GaugeMetricFamily(
        f"{PREFIX}_up", "1 if the last health check found the broker healthy.", labels=["broker"]
    )
    auth = GaugeMetricFamily(
        f"{PREFIX}_authenticated", "1 if the adapter is authenticated.", labels=["broker"]
    )
    limit = GaugeMetricFamily(
        f"{PREFIX}_rate_limit_utilization_ratio",
        "Share of the request rate limit in use.",
        labels=["broker", "limit"],
    )
    breaker = GaugeMetricFamily(
        f"{PREFIX}_circuit_breaker_state", "1 for the breaker's current state.", labels=["broker", "state"]
    )
    feed = GaugeMetricFamily(
        f"{PREFIX}_price_feed_age_seconds", "Age of the newest quote seen.", labels=["broker"]
    )
    uptime = GaugeMetricFamily(
        f"{PREFIX}_uptime_seconds", "Time healthy since the last failed check.", labels=["broker"]
    )
    for broker, h in sorted(s.health.items()):
        if h.state is not None:
            up.add_metric([broker], 1.0 if h.state is HealthState.HEALTHY else 0.0)
        auth.add_metric([broker], 1.0 if h.authenticated else 0.0)
        if h.rate_limit_utilization is not None:
            limit.add_metric([broker, "requests"], h.rate_limit_utilization)
        if h.order_rate_limit_utilization is not None:
            limit.add_metric([broker, "orders"], h.order_rate_limit_utilization)
        if h.breaker_state is not None:
            for state in _BREAKER_STATES:
                breaker.add_metric([broker, state], 1.0 if h.breaker_state == state else 0.0)
        if h.feed_age_seconds is not None:
            feed.add_metric([broker], h.feed_age_seconds)
        if h.uptime_seconds is not None:
            uptime.add_metric([broker], h.uptime_seconds)
    alerts = GaugeMetricFamily(
        f"{PREFIX}_alerts_firing", "1 per alert now firing.", labels=["broker", "rule", "severity"]
    )
    for alert in s.firing:
        alerts.add_metric([alert.broker_name, alert.rule, alert.severity.value], 1.0)
    yield from (up, auth, limit, breaker, feed, uptime, alerts)
    if s.since is not None:
        yield GaugeMetricFamily(
            f"{PREFIX}_collector_start_time_seconds",
            "When the collector whose counts these are started (Unix seconds).",
            value=s.since.timestamp(),
        )


@dataclass
class MetricsServer:
    """A running exposition endpoint; ``close()`` stops it."""

    host: str
    port: int
    registry: CollectorRegistry
    _server: Any
    _thread: Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving (blocks up to half a second while the server thread notices)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(
    source: SnapshotSource, loop: asyncio.AbstractEventLoop, *, host: str = "127.0.0.1", port: int = 9464
) -> MetricsServer:
    """Serve ``/metrics`` on ``host:port`` (``port=0`` picks a free port) in a daemon thread."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source, loop))
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(host, int(server.server_port), registry, server, thread)
