"""A whole demo run, checked against what it stored: the experiment, the metrics, the discovery."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from demo_support import ORDERS, VENUES, FinishedRun

from broker_integration.ab_testing import BrokerABTestingFramework, Metric, RoutingStrategy
from broker_integration.capabilities.profile import CapabilityStatus, CapabilityTestType
from broker_integration.demo.discovery import DISCOVERY_DEPTHS
from broker_integration.performance_metrics import ComparisonPeriod, PerformanceMetricsCollector
from broker_integration.store import Store


def test_every_configured_venue_is_an_arm_with_oanda_as_control(demo_run: FinishedRun) -> None:
    result = demo_run.result
    assert set(result.arms) == VENUES
    assert result.arms[0] == "oanda"
    assert result.test_results.arms[0].is_control
    assert result.test_results.routing_strategy is RoutingStrategy.PERFORMANCE_BASED
    assert {v.name: v.adapter_type for v in result.venues} == {
        "oanda": "oanda",
        "paper-ecn": "paper",
        "paper-flaky": "paper",
        "paper-retail": "paper",
    }


def test_every_order_was_routed_once_and_recorded(demo_run: FinishedRun) -> None:
    result = demo_run.result
    assert [r.index for r in result.routed] == list(range(ORDERS))
    assert result.test_results.total_orders == ORDERS
    assert sum(a.orders + a.in_flight for a in result.test_results.arms) == ORDERS
    # performance routing's warm-up gives every arm orders before it learns
    assert all(a.orders >= 20 for a in result.test_results.arms)


async def test_stored_experiment_matches_the_reported_one(demo_run: FinishedRun) -> None:
    async with Store(demo_run.store_url) as store, BrokerABTestingFramework(store) as ab:
        stored = ab.get_test_results(demo_run.result.test_id)
    reported = demo_run.result.test_results
    assert stored.total_orders == reported.total_orders == ORDERS
    assert {a.arm: a.orders for a in stored.arms} == {a.arm: a.orders for a in reported.arms}
    assert stored.experiment_status == "completed"


async def test_collector_figures_are_those_stored_for_the_run(demo_run: FinishedRun) -> None:
    """A fresh collector on the run's store reads the same latency and order figures as the run did."""
    result = demo_run.result
    async with Store(demo_run.store_url) as store:
        collector = PerformanceMetricsCollector(store=store)
        for venue in result.arms:
            stored = await collector.metrics(venue, ComparisonPeriod.ALL)
            seen = result.comparison.metrics[venue]
            assert stored.operations["place_order"].latency == seen.operations["place_order"].latency
            assert stored.fill.orders == seen.fill.orders
            assert stored.reliability.errors_by_code == seen.reliability.errors_by_code
    placed = sum(result.comparison.metrics[v].fill.orders for v in result.arms)
    failovers = sum(a.failovers_in for a in result.test_results.arms)
    assert placed == ORDERS + failovers


def test_latency_distributions_are_the_collectors_histograms(demo_run: FinishedRun) -> None:
    result = demo_run.result
    for venue in result.arms:
        distribution = result.latency[venue]
        summary = result.comparison.metrics[venue].operations["place_order"].latency
        assert distribution.summary == summary
        assert sum(distribution.counts) == summary.count
        cdf = distribution.cdf()
        assert cdf[-1][1] == 1.0
        assert [ms for ms, _ in cdf] == sorted(ms for ms, _ in cdf)
        # the CDF first reaches 50 % at the collector's p50 (HdrHistogram's nearest-rank rule)
        assert next(ms for ms, share in cdf if share >= 0.5) == summary.p50_ms


def test_venues_differ_as_their_profiles_say(demo_run: FinishedRun) -> None:
    """Spread and commission are structural, not timing: the retail venue's wide spread costs more
    slippage than the ECN's tight one, and only the ECN charges commission."""
    arms = {a.arm: a for a in demo_run.result.test_results.arms}
    slippage = {name: arm.metrics[Metric.SLIPPAGE_BPS].estimate for name, arm in arms.items()}
    assert slippage["paper-retail"] > slippage["oanda"] > slippage["paper-ecn"]
    commission = {name: arm.metrics[Metric.COMMISSION_BPS].estimate for name, arm in arms.items()}
    assert commission["paper-ecn"] > 0
    assert commission["oanda"] == commission["paper-retail"] == 0
    cost = demo_run.result.comparison.metrics
    assert cost["paper-ecn"].cost.commission_bps is not None
    assert cost["paper-ecn"].cost.commission_bps > 0


def test_faults_of_the_flaky_venue_show_in_its_errors_only(demo_run: FinishedRun) -> None:
    metrics = demo_run.result.comparison.metrics
    flaky = metrics["paper-flaky"].reliability
    assert flaky.broker_failures > 0
    assert {"SERVICE_UNAVAILABLE", "RATE_LIMITED"} & set(flaky.errors_by_code)
    assert metrics["oanda"].reliability.broker_failures == 0
    assert metrics["paper-ecn"].reliability.broker_failures == 0


def test_every_venue_is_discovered_at_every_depth(demo_run: FinishedRun) -> None:
    runs = demo_run.result.discovery
    assert [(r.broker, r.test_type) for r in runs] == [
        (venue, depth) for venue in sorted(VENUES) for depth in DISCOVERY_DEPTHS
    ]
    for run in runs:
        assert run.profile.broker_name == run.broker
        assert run.profile.test_type is run.test_type
    static = demo_run.result.profiles(CapabilityTestType.STATIC)
    synthetic = demo_run.result.profiles(CapabilityTestType.SYNTHETIC)
    for venue in VENUES:
        assert not static[venue].profile.verified  # static discovery makes no call
        assert synthetic[venue].profile.supports("limit_orders")
        assert synthetic[venue].profile.supports("market_orders")
    for venue in ("oanda", "paper-ecn"):  # no faults: every test order settles its capability
        assert synthetic[venue].profile.status("limit_orders") is CapabilityStatus.VERIFIED
        assert synthetic[venue].profile.status("cancel_orders") is CapabilityStatus.VERIFIED
    # the adapters' declarations, confirmed: OANDA has no trailing stops here, paper no attached exits
    assert synthetic["oanda"].profile.status("trailing_stop_orders") is CapabilityStatus.UNSUPPORTED
    assert synthetic["paper-ecn"].profile.status("take_profit_stop_loss") is CapabilityStatus.UNSUPPORTED


def test_the_run_exports_its_errors_for_the_errors_command(demo_run: FinishedRun, tmp_path: Path) -> None:
    from broker_integration.errors import ErrorAnalyzer

    path = demo_run.result.export_errors(tmp_path / "errors.jsonl")
    loaded, read = ErrorAnalyzer.from_jsonl(path)
    assert read.skipped == 0
    window = timedelta(hours=1)
    original = demo_run.result.errors.report(window)
    again = loaded.report(window)
    assert again.calls == original.calls > 0
    assert again.errors == original.errors
    flaky = next(b for b in again.brokers if b.broker_name == "paper-flaky")
    assert flaky.errors > 0  # the flaky venue's outages are in it
