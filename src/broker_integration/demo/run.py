"""The demo run: venues, capability discovery, an A/B test of thousands of orders, and the comparison.

1. Start the simulators and create every venue of the example configuration (:mod:`.venues`).
2. Discover each venue's capabilities at the three depths (:mod:`.discovery`).
3. Register the venues with a :class:`PerformanceMetricsCollector` (probing once a second) and a
   :class:`BrokerABTestingFramework` on one store, start an experiment with the chosen routing, and route
   the orders with bounded concurrency (:mod:`.flow`). The OANDA venue is the control: the incumbent
   broker the paper venues are measured against. Discovery runs before registration, so its probes and
   test orders are not in the figures. Alerts the collector raises meanwhile are kept and reported.
4. Read the experiment's results and the collector's comparison over the run's window.
5. The crypto part: steps 2 to 4 again for one crypto pair across the crypto venues (Alpaca, Binance
   through CCXT, a paper venue; the first is the control), with a third of the orders; it is the run's
   ``DemoResult.crypto``. Venues the demo could not create (a CCXT venue without ccxt) are left out with
   a note; with fewer than two venues left the part is skipped, saying so.

The store is a fresh SQLite file in a temporary folder, deleted afterwards, unless ``store_url`` names
one. The adapters are created without an order journal: the journal's writes run inside each timed call,
and on one shared SQLite connection they would queue behind the experiment's own writes and show up as
broker latency; the experiment records every order anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broker_integration.ab_testing import (
    ABTestError,
    BrokerABTestingFramework,
    Metric,
    PerformanceRouting,
    TestResults,
    TrafficSplit,
)
from broker_integration.demo.discovery import discover_venues
from broker_integration.demo.flow import RoutedOrder, run_order_flow
from broker_integration.demo.market import ReferenceFeed, order_intents
from broker_integration.demo.observer import RunObserver
from broker_integration.demo.options import DemoError, DemoOptions
from broker_integration.demo.result import ORDER_OPERATION, DemoResult, LatencyDistribution
from broker_integration.demo.venues import DemoVenues, open_venues
from broker_integration.errors import ErrorAnalyzer
from broker_integration.events import EventBus
from broker_integration.metrics.alerts import AlertEvent
from broker_integration.performance_metrics import (
    BrokerComparison,
    ComparisonPeriod,
    PerformanceMetricsCollector,
)
from broker_integration.store import Store, sqlite_url

__all__ = ["MINIMUM_SAMPLE", "run_demo"]

#: Orders per arm before the experiment reads a verdict (the collector's minimum calls per broker, too).
MINIMUM_SAMPLE = 30
#: Performance routing's warm-up per venue: the broker comparison needs ``MINIMUM_SAMPLE`` calls at every
#: venue, and Thompson sampling soon starves the slowest, so each venue first gets this many orders routed
#: at random (with a margin for orders that never reach a venue: refused before sending, failed over).
WARMUP_PER_VENUE = MINIMUM_SAMPLE + 10
#: Seconds between the collector's probes (a health check and a quote per instrument, per venue).
PROBE_INTERVAL = 1.0


class _Clock:
    """Wall-clock seconds per phase of the run."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._mark = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = now - self._mark
        self._mark = now


def _fx_arms(venues: DemoVenues, options: DemoOptions) -> list[str]:
    """The FX part's venues, OANDA first: it is the experiment's control."""
    names = [name for name in venues.adapters if name not in options.crypto_venues]
    return sorted(names, key=lambda name: (venues.info[name].adapter_type != "oanda", name))


def _crypto_arms(venues: DemoVenues, options: DemoOptions) -> tuple[list[str], list[str]]:
    """The crypto part's venues in the configured order (the first is the control), and notes on the
    venues left out and on a part too small to run."""
    arms = [name for name in options.crypto_venues if name in venues.adapters]
    notes = []
    missing = {name: why for name, why in venues.left_out.items() if name in options.crypto_venues}
    for reason in dict.fromkeys(missing.values()):
        names = ", ".join(name for name, why in missing.items() if why == reason)
        notes.append(f"{reason}: the crypto part runs without {names}")
    if len(arms) < 2:
        notes.append(
            f"the crypto part is skipped: it needs two venues and has {len(arms)} ({', '.join(arms) or 'none'})"
        )
    return arms, notes


def _create_test(ab: BrokerABTestingFramework, options: DemoOptions, arms: Sequence[str], title: str) -> str:
    share = 100.0 / len(arms)
    test_id = ab.create_ab_test(
        f"{title}: {len(arms)} venues, {options.routing.value} routing, seed {options.seed}",
        f"{options.orders} market orders on {', '.join(options.instruments)}; {arms[0]} is the control",
        [TrafficSplit(arm, share) for arm in arms],
        options.routing.strategy,
        primary_metric=Metric.LATENCY_MS,
        guardrail_metrics=(Metric.SUCCESS_RATE, Metric.FILL_RATE, Metric.TOTAL_COST_BPS),
        minimum_sample_size=MINIMUM_SAMPLE,
        performance=PerformanceRouting(warmup_per_arm=WARMUP_PER_VENUE),
    )
    return test_id


async def _route(
    ab: BrokerABTestingFramework, test_id: str, options: DemoOptions, observer: RunObserver
) -> list[RoutedOrder]:
    intents = order_intents(options.seed, options.orders, options.instruments)
    try:
        return await run_order_flow(
            ab,
            test_id,
            intents,
            ReferenceFeed(options.seed),
            concurrency=options.concurrency,
            on_order=observer.order_done,
        )
    except ABTestError as exc:
        raise DemoError(f"the A/B test stopped routing orders: {exc}") from exc


def _check(routed: Sequence[RoutedOrder], total_orders: int) -> None:
    if total_orders == 0 or not routed:
        raise DemoError("the A/B test recorded no orders")
    if not any(r.success for r in routed):
        codes = sorted({r.error_code or r.status for r in routed})
        raise DemoError(f"no order succeeded at any venue (errors: {', '.join(codes)})")


@dataclass(frozen=True)
class _Experiment:
    """What the order flow produced and what was read from it afterwards."""

    test_id: str
    routed: list[RoutedOrder]
    results: TestResults
    comparison: BrokerComparison
    latency: dict[str, LatencyDistribution]


async def _experiment(
    venues: DemoVenues,
    arms: Sequence[str],
    store: Store,
    bus: EventBus,
    options: DemoOptions,
    observer: RunObserver,
    clock: _Clock,
    title: str,
) -> _Experiment:
    """Route the orders through an A/B test across ``arms`` while the collector measures; then read both."""
    window_start = datetime.now(UTC)
    collector = PerformanceMetricsCollector(
        store=store, event_bus=bus, probe_interval=PROBE_INTERVAL, probe_instruments=options.instruments
    )
    ab = BrokerABTestingFramework(store, seed=options.seed)
    for name in arms:
        collector.register_broker(name, venues.adapters[name])
        ab.register_broker_adapter(name, venues.adapters[name])
    try:
        test_id = _create_test(ab, options, arms, title)
        observer.orders_started(options.orders, arms)
        await collector.start_collection()
        try:
            routed = await _route(ab, test_id, options, observer)
        finally:
            await collector.stop_collection()
            observer.orders_finished()
        clock.lap("orders")
        observer.phase("Analysing the experiment and comparing the venues")
        ab.complete_test(test_id)
        results = ab.get_test_results(test_id)
        _check(routed, results.total_orders)
        period = ComparisonPeriod.custom(window_start, datetime.now(UTC) + timedelta(seconds=1))
        comparison = await collector.compare_brokers(arms, period)
        snapshot = await collector.snapshot()
    finally:
        await ab.close()
        await collector.close()
    latency = {
        name: LatencyDistribution.of(name, stats)
        for (name, operation), stats in snapshot.operations.items()
        if operation == ORDER_OPERATION
    }
    return _Experiment(test_id, routed, results, comparison, latency)


@dataclass
class _Run:
    """What both parts of a run share: the venues, the store, the bus, the errors and alerts seen so far."""

    venues: DemoVenues
    store: Store
    store_label: str
    bus: EventBus
    observer: RunObserver
    errors: ErrorAnalyzer
    alerts: list[AlertEvent]
    started_at: datetime


async def _part(
    run: _Run, arms: Sequence[str], options: DemoOptions, clock: _Clock, title: str
) -> DemoResult:
    """Discover ``arms`` and route ``options.orders`` across them in an A/B test named ``title``; the
    part's result."""
    venues, observer = run.venues, run.observer
    observer.phase("Discovering capabilities: static, dynamic, synthetic")
    discovery = await discover_venues({n: venues.adapters[n] for n in arms}, run.store, options.instruments)
    clock.lap("discovery")
    observer.discovery_done(discovery)
    first_alert = len(run.alerts)
    measured = await _experiment(venues, arms, run.store, run.bus, options, observer, clock, title)
    clock.lap("analysis")
    return DemoResult(
        options=options,
        started_at=run.started_at,
        environment=venues.environment,
        config_files=venues.loaded.files,
        store=run.store_label,
        test_id=measured.test_id,
        venues=tuple(venues.info[name] for name in arms),
        discovery=tuple(discovery),
        routed=tuple(measured.routed),
        test_results=measured.results,
        comparison=measured.comparison,
        latency=measured.latency,
        alerts=tuple(run.alerts[first_alert:]),
        phases=clock.phases,
        errors=run.errors,
    )


async def _run(options: DemoOptions, store: Store, store_label: str, observer: RunObserver) -> DemoResult:
    started_at = datetime.now(UTC)
    clock = _Clock()
    bus = EventBus()
    errors = ErrorAnalyzer(bus).attach()
    alerts: list[AlertEvent] = []

    def on_alert(event: AlertEvent) -> None:
        alerts.append(event)
        observer.alert(event)

    bus.subscribe(AlertEvent, on_alert)
    observer.phase("Starting the OANDA, Alpaca and Binance simulators and creating the configured venues")
    async with open_venues(options, bus) as venues:
        clock.lap("set-up")
        observer.venues_ready(venues)
        run = _Run(venues, store, store_label, bus, observer, errors, alerts, started_at)
        fx = await _part(run, _fx_arms(venues, options), options, clock, "demo")
        crypto_arms, notes = _crypto_arms(venues, options)
        for note in notes:
            observer.note(note)
        crypto = None
        if len(crypto_arms) >= 2:
            crypto_options = options.crypto_part()
            observer.phase(
                f"Crypto part: {crypto_options.orders:,} orders on {options.crypto_instrument} across "
                f"{', '.join(crypto_arms)} ({crypto_arms[0]} is the control)"
            )
            crypto = await _part(run, crypto_arms, crypto_options, _Clock(), "demo crypto")
            clock.lap("crypto")
        errors.detach()
        return dataclasses.replace(fx, phases=clock.phases, crypto=crypto, notes=tuple(notes))


async def run_demo(options: DemoOptions, observer: RunObserver | None = None) -> DemoResult:
    """Run the demo; raises :class:`DemoError` with a clear message when it cannot complete."""
    observer = observer or RunObserver()
    folder: str | None = None
    if options.store_url is None:
        folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="broker-integration-demo-")
    store = Store(options.store_url or sqlite_url(Path(folder or ".") / "demo.sqlite3"))
    label = "temporary (deleted after the run)" if folder is not None else store.url
    try:
        try:
            await store.open()
        except Exception as exc:
            raise DemoError(f"the store {store.url} could not be opened: {exc}") from exc
        try:
            return await _run(options, store, label, observer)
        finally:
            await store.close()
    finally:
        if folder is not None:
            await asyncio.to_thread(shutil.rmtree, folder, True)
