"""``PerformanceMetricsCollector``: listens to registered adapters, probes them, keeps minute buckets.

* :meth:`~PerformanceMetricsCollector.register_broker` subscribes to the adapter's event bus (one
  subscription per bus, routed by ``adapter_id``); every call is counted at once, in memory.
* :meth:`~PerformanceMetricsCollector.start_collection` starts two background tasks: probes (a health
  check and a price request per probe instrument, every ``probe_interval`` seconds, then an alert
  evaluation) and flushes (pending buckets merged into the store every ``flush_interval`` seconds, and
  buckets older than ``retention`` purged). Each loop runs its steps one after another, so a slow probe
  delays the next instead of overlapping it. :meth:`~PerformanceMetricsCollector.stop_collection`
  cancels both, waits for them and flushes what is left.
* Queries (:meth:`~PerformanceMetricsCollector.metrics`, :meth:`~PerformanceMetricsCollector.compare_brokers`)
  read the stored buckets of the window plus those not flushed yet, so a comparison over the last day
  works after a restart. Without a store, buckets are kept in memory for the retention period.
* Several processes sharing a store (PostgreSQL) each write their own rows (``source``); comparisons, alerts
  and :meth:`~PerformanceMetricsCollector.pooled_snapshot` (``serve_prometheus(pooled=True)``) read every
  process's buckets, latency histograms merged bucket by bucket (never averaged). Another process's counts
  show once it has flushed them (every ``flush_interval``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors import BrokerError, StandardErrorCode, UnsupportedOperationError
from broker_integration.events import (
    CallEvent,
    EventBus,
    HealthEvent,
    OrderSettledEvent,
    OrderUpdateEvent,
    Subscription,
)
from broker_integration.feeds import OrderUpdateFeed
from broker_integration.log import get_logger
from broker_integration.metrics.aggregate import BrokerAggregate, aggregate
from broker_integration.metrics.alerts import AlertEngine, AlertEvent, AlertInputs, AlertRule
from broker_integration.metrics.buckets import BUCKET_SECONDS, BucketKey, BucketRecord, OpStats, bucket_start
from broker_integration.metrics.comparison import BrokerComparison, ComparisonSettings, compare_aggregates
from broker_integration.metrics.export import ExportSnapshot, metrics_document, to_json
from broker_integration.metrics.health import BrokerHealth, HealthTracker, snapshot_health
from broker_integration.metrics.periods import (
    ComparisonPeriod,
    CustomPeriod,
    Period,
    TimeWindow,
    resolve_period,
)
from broker_integration.metrics.persisted import StoreSnapshotSource
from broker_integration.metrics.prometheus import MetricsServer, start_metrics_server
from broker_integration.metrics.quotes import QuoteBook
from broker_integration.metrics.recorder import MetricsRecorder, PendingKey
from broker_integration.metrics.repository import BucketRepository, MemoryRepository, StoreRepository
from broker_integration.metrics.scoring import ComparisonWeights
from broker_integration.metrics.summary import BrokerMetrics, summarize
from broker_integration.models import HealthState, PriceTick
from broker_integration.pipeline import BrokerAdapter
from broker_integration.store import Store

__all__ = ["PerformanceMetricsCollector"]

_log = get_logger("broker_integration.metrics")

Sleep = Callable[[float], Awaitable[None]]
_PLACE = "place_order"


@dataclass
class _Registration:
    name: str
    adapter: BrokerAdapter
    instruments: tuple[str, ...]
    registered_at: datetime
    tracker: HealthTracker = field(default_factory=HealthTracker)


@dataclass
class _BusHook:
    bus: EventBus
    subscriptions: tuple[Subscription, ...]
    users: int = 0


class PerformanceMetricsCollector:
    """Collects latency, throughput, reliability, cost and fill quality per broker; compares brokers.

    ``store``: where minute buckets persist (``None``: memory only). ``event_bus``: where
    alert events are published (default: the global bus);
    adapters' own buses are read, whatever this is. ``probe_instruments``: instruments
    whose price is requested on every probe (their latency, the feed age and the arrival mid for
    slippage come from it); ``register_broker(..., instruments=...)`` overrides it per broker.
    ``sleep`` is how the background loops wait; tests pass one driven by a manual clock.
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        event_bus: EventBus | None = None,
        probe_interval: float = 30.0,
        probe_timeout: float = 10.0,
        flush_interval: float = 10.0,
        retention: timedelta = timedelta(days=31),
        probe_instruments: Sequence[str] = (),
        alert_rules: Sequence[AlertRule] | None = None,
        alert_window: timedelta = timedelta(minutes=5),
        order_baseline: timedelta = timedelta(hours=1),
        comparison: ComparisonSettings | None = None,
        quote_max_age: timedelta = timedelta(seconds=5),
        sleep: Sleep = asyncio.sleep,
        source: str | None = None,
    ) -> None:
        if probe_interval <= 0 or flush_interval <= 0 or probe_timeout <= 0:
            raise ValueError("probe_interval, probe_timeout and flush_interval must be positive")
        if retention < timedelta(minutes=1):
            raise ValueError("retention must be at least one minute")
        self._store = store
        self._clock = clock or SYSTEM_CLOCK
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.flush_interval = flush_interval
        self.retention = retention
        self.probe_instruments = tuple(probe_instruments)
        self.alert_window = alert_window
        self.order_baseline = order_baseline
        self.comparison = comparison or ComparisonSettings()
        self._sleep = sleep
        #: Identifies this collector's rows in a shared store.
        self.source = source or f"collector-{uuid.uuid4().hex[:12]}"
        self.alerts = AlertEngine(alert_rules, event_bus=event_bus, clock=self._clock)
        self.quotes = QuoteBook(quote_max_age)
        self._recorder = MetricsRecorder(self.quotes)
        self._recorder.order_observer = self.alerts.observe_order
        self._repo: BucketRepository = (
            StoreRepository(store, self.source) if store is not None else MemoryRepository()
        )
        self._store_ready = store is None
        self._owns_store = False
        self._registrations: dict[str, _Registration] = {}
        self._routes: dict[str, str] = {}  # adapter_id -> registered name
        self._hooks: dict[int, _BusHook] = {}
        self._in_flight: list[dict[PendingKey, OpStats]] = []
        self._totals: dict[tuple[str, str], OpStats] = {}
        self._started_at = self._clock.now()
        self._pooled: StoreSnapshotSource | None = None
        self._flush_lock = asyncio.Lock()
        self._ready_lock = asyncio.Lock()
        self._starting: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_purge: float | None = None
        self._config_watch: tuple[Subscription, ...] = ()
        #: How to let go of each followed order-update feed (by broker name).
        self._feeds: dict[str, Callable[[], Awaitable[None]]] = {}

    # ------------------------------------------------------------------ registration

    def register_broker(
        self, name: str, adapter: BrokerAdapter, *, instruments: Sequence[str] | None = None
    ) -> None:
        """Count every call of ``adapter`` under ``name`` from now on (and probe it while collecting)."""
        if name in self._registrations:
            raise ValueError(f"a broker is already registered as {name!r}")
        adapter_id = adapter.adapter_id
        if adapter_id in self._routes:
            raise ValueError(f"this adapter is already registered as {self._routes[adapter_id]!r}")
        chosen = self.probe_instruments if instruments is None else tuple(instruments)
        self._registrations[name] = _Registration(name, adapter, chosen, self._clock.now())
        self._routes[adapter_id] = name
        if self.is_collecting:
            self._follow_updates(name)
        bus = adapter.event_bus
        hook = self._hooks.get(id(bus))
        if hook is None:
            subs = (
                bus.subscribe(CallEvent, self._on_call),
                bus.subscribe(HealthEvent, self._on_health),
                bus.subscribe(OrderSettledEvent, self._on_settled),
                bus.subscribe(OrderUpdateEvent, self._on_update),
            )
            hook = self._hooks[id(bus)] = _BusHook(bus, subs)
        hook.users += 1

    def unregister_broker(self, name: str) -> None:
        """Stop counting ``name``'s calls; its stored buckets stay."""
        reg = self._registrations.pop(name, None)
        if reg is None:
            raise KeyError(f"no broker is registered as {name!r}")
        self._routes.pop(reg.adapter.adapter_id, None)
        bus = reg.adapter.event_bus
        hook = self._hooks.get(id(bus))
        if hook is not None:
            hook.users -= 1
            if hook.users == 0:
                for sub in hook.subscriptions:
                    bus.unsubscribe(sub)
                del self._hooks[id(bus)]
        self.quotes.forget(name)

    @property
    def brokers(self) -> list[str]:
        """Registered broker names, in registration order."""
        return list(self._registrations)

    def adapter(self, name: str) -> BrokerAdapter:
        return self._registration(name).adapter

    def _registration(self, name: str) -> _Registration:
        try:
            return self._registrations[name]
        except KeyError:
            raise KeyError(f"no broker is registered as {name!r}") from None

    # ------------------------------------------------------------------ event handlers (hot path)

    def _on_call(self, event: CallEvent) -> None:
        name = self._routes.get(event.adapter_id)
        if name is None:
            return
        self._recorder.record_call(name, event)
        error = event.error
        if error is not None and error.error_code is StandardErrorCode.AUTHENTICATION_FAILED:
            self._registrations[name].tracker.last_auth_failure = event.time

    def _on_settled(self, event: OrderSettledEvent) -> None:
        name = self._routes.get(event.adapter_id)
        if name is not None:
            self._recorder.record_settlement(name, event)

    def _on_update(self, event: OrderUpdateEvent) -> None:
        name = self._routes.get(event.adapter_id)
        if name is not None:
            self._recorder.record_update(name, event)

    def _on_health(self, event: HealthEvent) -> None:
        name = self._routes.get(event.adapter_id)
        if name is not None:
            self._observe_health(name, event.state, event.time, event.latency_ms, event.message)

    def _observe_health(
        self, name: str, state: HealthState, when: datetime, latency_ms: float | None, message: str
    ) -> None:
        self._registrations[name].tracker.observe(state, when, latency_ms, message)
        self._recorder.record_health(name, state is HealthState.HEALTHY, when)

    def record_tick(self, name: str, tick: PriceTick) -> None:
        """Report a quote seen for broker ``name`` (e.g. from your own price stream): feed age, arrival mid."""
        self._registration(name)
        self.quotes.note(name, tick)

    # ------------------------------------------------------------------ background collection

    @property
    def is_collecting(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start_collection(self) -> asyncio.Task[None]:
        """Start probing and flushing in the background; the first probe runs at once.

        Works with or without ``await`` (the seed calls it plainly): the loops are scheduled now, and the
        returned task, when awaited, waits until the store is open (and raises if it cannot be opened).
        """
        loop = asyncio.get_running_loop()
        if self.is_collecting and self._starting is not None:
            return self._starting
        self._loop = loop
        self._starting = loop.create_task(self._ready(), name="metrics-open-store")
        self._config_watch = self.alerts.watch_configuration()
        self._tasks = [
            loop.create_task(self._once_ready(self._probe_loop), name="metrics-probes"),
            loop.create_task(self._once_ready(self._flush_loop), name="metrics-flush"),
        ]
        for name in self._registrations:
            self._follow_updates(name)
        return self._starting

    def _follow_updates(self, name: str) -> None:
        """While collecting, keep ``name``'s order-update feed running, so fills of resting orders are
        counted when they happen (adapters without order updates: nothing to follow)."""
        adapter = self._registrations[name].adapter
        if name not in self._feeds and adapter.is_authenticated and OrderUpdateFeed.available(adapter):
            self._feeds[name] = OrderUpdateFeed.of(adapter).acquire()

    async def _once_ready(self, body: Callable[[], Awaitable[None]]) -> None:
        await self._ready()
        await body()

    async def stop_collection(self) -> None:
        """Cancel the background loops, wait for them to end, then flush the pending buckets."""
        tasks, self._tasks = self._tasks, []
        feeds, self._feeds = self._feeds, {}
        for release in feeds.values():
            await release()
        for subscription in self._config_watch:
            self.alerts.event_bus.unsubscribe(subscription)
        self._config_watch = ()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def close(self) -> None:
        """Stop collecting, flush, forget every registration, and close the store if this opened it."""
        await self.stop_collection()
        for name in list(self._registrations):
            self.unregister_broker(name)
        if self._owns_store and self._store is not None:
            await self._store.close()
            self._owns_store = self._store_ready = False

    async def _probe_loop(self) -> None:
        while True:
            try:
                await self.probe_once()
                await self.evaluate_alerts()
            except Exception:
                _log.exception("metrics probe round failed")
            await self._sleep(self.probe_interval)

    async def _flush_loop(self) -> None:
        while True:
            await self._sleep(self.flush_interval)
            try:
                await self.flush()
            except Exception:
                _log.exception("flushing metrics buckets failed; they are kept for the next flush")

    async def probe_once(self) -> dict[str, BrokerHealth]:
        """Health-check every registered broker and request its probe instruments' prices, concurrently."""
        registrations = list(self._registrations.values())
        await asyncio.gather(*(self._probe(reg) for reg in registrations))
        return self.health_all()

    async def _probe(self, reg: _Registration) -> None:
        adapter = reg.adapter
        state: HealthState | None
        latency: float | None = None
        message = ""
        try:
            async with asyncio.timeout(self.probe_timeout):
                status = await adapter.health_check()
            state, latency, message = status.state, status.latency_ms, status.message
        except UnsupportedOperationError:
            state = None
        except TimeoutError:
            state, message = HealthState.DOWN, f"health check timed out after {self.probe_timeout:g} s"
        except BrokerError as exc:
            state, message = HealthState.DOWN, str(exc.error)
        if state is not None and reg.name in self._registrations:
            self._observe_health(reg.name, state, self._clock.now(), latency, message)
        for instrument in reg.instruments:
            try:
                async with asyncio.timeout(self.probe_timeout):
                    tick = await adapter.get_current_price(instrument)
            except (BrokerError, TimeoutError) as exc:
                _log.debug("price probe of %s %s failed: %s", reg.name, instrument, exc)
                continue
            self.quotes.note(reg.name, tick)

    # ------------------------------------------------------------------ persistence

    async def _ready(self) -> None:
        if self._store_ready or self._store is None:
            return
        async with self._ready_lock:
            if not self._store_ready:
                self._owns_store = await self._store.open_unless_open()
                self._store_ready = True

    async def flush(self) -> int:
        """Merge the pending buckets into the store (or memory); returns how many buckets were written.

        On failure the buckets go back to pending, so nothing is lost or counted twice.
        """
        await self._ready()
        async with self._flush_lock:
            batch = self._recorder.take()
            written = 0
            if batch:
                self._in_flight.append(batch)
                try:
                    await self._repo.merge([s.to_record(BucketKey(*k)) for k, s in batch.items()])
                except BaseException:
                    self._restore(batch)
                    raise
                finally:
                    self._in_flight.remove(batch)
                for (broker, op, _start), stats in batch.items():
                    total = self._totals.get((broker, op))
                    if total is None:
                        self._totals[(broker, op)] = stats
                    else:
                        total.merge(stats)
                written = len(batch)
            await self._purge_if_due()
            return written

    def _restore(self, batch: dict[PendingKey, OpStats]) -> None:
        pending = self._recorder.pending
        for key, stats in batch.items():
            live = pending.get(key)
            if live is None:
                pending[key] = stats
            else:
                live.merge(stats)

    async def _purge_if_due(self) -> None:
        now = self._clock.now().timestamp()
        if self._last_purge is not None and now - self._last_purge < 3600:
            return
        self._last_purge = now
        removed = await self._repo.purge(bucket_start(now - self.retention.total_seconds()))
        if removed:
            _log.info("purged %d metrics buckets older than %s", removed, self.retention)

    async def _window_data(
        self, names: Sequence[str], window: TimeWindow
    ) -> tuple[list[BucketRecord], list[tuple[PendingKey, OpStats]]]:
        """Stored records and copies of unflushed buckets, read together under the flush lock so that a
        bucket is never seen both in flight and stored."""
        await self._ready()
        wanted = set(names)
        async with self._flush_lock:
            records = await self._repo.load(window, wanted)
            pending: list[tuple[PendingKey, OpStats]] = []
            for batch in (*self._in_flight, self._recorder.pending):
                for key, stats in batch.items():
                    if key[0] in wanted and window.contains(key[2]):
                        pending.append((key, stats.copy()))
        return records, pending

    async def _aggregates(self, names: Sequence[str], window: TimeWindow) -> dict[str, BrokerAggregate]:
        records, pending = await self._window_data(names, window)
        return await asyncio.to_thread(aggregate, window, names, records, pending)

    # ------------------------------------------------------------------ queries

    def _end_of(self, period: Period, now: datetime) -> float:
        if isinstance(period, CustomPeriod):
            return min(period.end, now).timestamp()
        return now.timestamp()

    async def metrics(self, name: str, period: Period = ComparisonPeriod.LAST_HOUR) -> BrokerMetrics:
        """Everything measured for broker ``name`` over ``period`` (registered or only stored)."""
        now = self._clock.now()
        window = resolve_period(period, now)
        aggs = await self._aggregates([name], window)
        tracker = self._registrations[name].tracker if name in self._registrations else None
        uptime = tracker.uptime_seconds(now) if tracker is not None else None
        return summarize(aggs[name], self._end_of(period, now), uptime_seconds=uptime)

    async def compare_brokers(
        self,
        names: Sequence[str],
        period: Period = ComparisonPeriod.LAST_HOUR,
        *,
        weights: ComparisonWeights | None = None,
        settings: ComparisonSettings | None = None,
    ) -> BrokerComparison:
        """Score, test and rank ``names`` over ``period``; ``winner`` is ``None`` unless the data separates them."""
        ordered = list(dict.fromkeys(names))
        if len(ordered) < 2:
            raise ValueError("compare at least two different brokers")
        chosen = settings or self.comparison
        if weights is not None:
            chosen = ComparisonSettings(
                weights=weights,
                alpha=chosen.alpha,
                min_calls=chosen.min_calls,
                min_orders=chosen.min_orders,
                max_test_samples=chosen.max_test_samples,
                latency_operation=chosen.latency_operation,
            )
        now = self._clock.now()
        window = resolve_period(period, now)
        aggs = await self._aggregates(ordered, window)
        uptimes = {
            n: self._registrations[n].tracker.uptime_seconds(now) for n in ordered if n in self._registrations
        }
        return await asyncio.to_thread(
            compare_aggregates,
            aggs,
            period=period.label,
            end=self._end_of(period, now),
            settings=chosen,
            uptimes=uptimes,
        )

    def health(self, name: str) -> BrokerHealth:
        """Connectivity, authentication, rate-limit use, breaker state and feed age of ``name`` now."""
        reg = self._registration(name)
        return snapshot_health(name, reg.adapter, reg.tracker, self.quotes, self._clock.now())

    def health_all(self) -> dict[str, BrokerHealth]:
        return {name: self.health(name) for name in self._registrations}

    # ------------------------------------------------------------------ alerts

    async def evaluate_alerts(self) -> list[AlertEvent]:
        """Run the alert rules on every registered broker now; returns the alerts that changed state."""
        names = list(self._registrations)
        if not names:
            return []
        now = self._clock.now()
        now_s = now.timestamp()
        end = int(now_s) + 1
        baseline = TimeWindow(bucket_start(now_s - self.order_baseline.total_seconds()), end)
        recent = TimeWindow(bucket_start(now_s - self.alert_window.total_seconds()), end)
        records, pending = await self._window_data(names, baseline)
        recent_aggs = aggregate(
            recent,
            names,
            (r for r in records if recent.contains(r.key.start)),
            ((k, s) for k, s in pending if recent.contains(k[2])),
        )
        current = bucket_start(now_s)
        inputs = []
        for name in names:
            reg = self._registrations[name]
            start = max(baseline.start, bucket_start(reg.registered_at.timestamp()))
            per_minute = _orders_per_minute(name, records, pending)
            earliest = min([start, *per_minute]) if per_minute else start
            history = tuple(per_minute.get(m, 0) for m in range(earliest, current, BUCKET_SECONDS))
            inputs.append(
                AlertInputs(
                    broker=name,
                    health=snapshot_health(name, reg.adapter, reg.tracker, self.quotes, now),
                    window=self.alert_window,
                    operations=recent_aggs[name].operations,
                    orders_per_minute=history,
                    orders_this_minute=per_minute.get(current, 0),
                )
            )
        return self.alerts.evaluate(inputs)

    def report_config_failure(self, broker: str, message: str) -> AlertEvent:
        """Shortcut for :meth:`AlertEngine.report_config_failure` on this collector's engine."""
        return self.alerts.report_config_failure(broker, message)

    # ------------------------------------------------------------------ exports

    async def snapshot(self) -> ExportSnapshot:
        """Cumulative stats since this collector started (flushed and pending), health, firing alerts."""
        merged: dict[tuple[str, str], OpStats] = {key: stats.copy() for key, stats in self._totals.items()}
        self._add_unflushed(merged)
        return ExportSnapshot(
            at=self._clock.now(),
            since=self._started_at,
            operations=merged,
            health=self.health_all(),
            firing=list(self.alerts.firing.values()),
        )

    def _add_unflushed(self, merged: dict[tuple[str, str], OpStats]) -> None:
        """Add the buckets not flushed yet (pending, and being flushed) to ``merged``, per broker and operation."""
        for batch in (*self._in_flight, self._recorder.pending):
            for (broker, op, _start), stats in batch.items():
                target = merged.get((broker, op))
                if target is None:
                    merged[(broker, op)] = stats.copy()
                else:
                    target.merge(stats)

    async def pooled_snapshot(self) -> ExportSnapshot:
        """Cumulative stats of every process writing to this collector's store (all retained buckets, this
        collector's not yet flushed ones included), with this process's health and firing alerts."""
        if self._store is None:
            raise ValueError("a pooled snapshot reads the store: create the collector with store=...")
        await self._ready()
        if self._pooled is None:
            self._pooled = StoreSnapshotSource(self._store, clock=self._clock)
        async with self._flush_lock:  # a batch is never both stored and pending
            stored = await self._pooled.snapshot()
            merged = dict(stored.operations)
            self._add_unflushed(merged)
        return ExportSnapshot(
            at=stored.at,
            since=None,
            operations=merged,
            health=self.health_all(),
            firing=list(self.alerts.firing.values()),
        )

    async def export_dict(self, period: Period = ComparisonPeriod.LAST_HOUR) -> dict[str, object]:
        """Per-broker metrics over ``period``, health and firing alerts, ready for JSON."""
        names = list(dict.fromkeys([*self._registrations, *await self._stored_brokers()]))
        now = self._clock.now()
        window = resolve_period(period, now)
        aggs = await self._aggregates(names, window)
        end = self._end_of(period, now)
        metrics = {
            n: summarize(
                a,
                end,
                uptime_seconds=self._registrations[n].tracker.uptime_seconds(now)
                if n in self._registrations
                else None,
            )
            for n, a in aggs.items()
        }
        return metrics_document(
            period.label, metrics, self.health_all(), list(self.alerts.firing.values()), now
        )

    async def export_json(self, period: Period = ComparisonPeriod.LAST_HOUR) -> str:
        return to_json(await self.export_dict(period))

    async def _stored_brokers(self) -> list[str]:
        await self._ready()
        return await self._repo.brokers()

    def serve_prometheus(
        self, *, host: str = "127.0.0.1", port: int = 9464, pooled: bool = False
    ) -> MetricsServer:
        """Serve Prometheus metrics of this collector at ``http://host:port/metrics`` (call on the loop);
        ``pooled``: of every process sharing its store (:meth:`pooled_snapshot`)."""
        source = self.pooled_snapshot if pooled else self.snapshot
        return start_metrics_server(source, asyncio.get_running_loop(), host=host, port=port)

    def __repr__(self) -> str:
        state = "collecting" if self.is_collecting else "idle"
        return f"PerformanceMetricsCollector(brokers={self.brokers}, {state})"


def _orders_per_minute(
    name: str, records: Iterable[BucketRecord], pending: Iterable[tuple[PendingKey, OpStats]]
) -> dict[int, int]:
    counts: dict[int, int] = {}
    for record in records:
        key = record.key
        if key.broker == name and key.operation == _PLACE:
            counts[key.start] = counts.get(key.start, 0) + int(record.counters.get("calls", 0))
    for (broker, op, start), stats in pending:
        if broker == name and op == _PLACE:
            counts[start] = counts.get(start, 0) + stats.calls
    return counts
