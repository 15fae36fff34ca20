"""The HTML report of a run: its numbers are the collector's and the experiment's, its charts are there."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from demo_support import ORDERS, SEED, VENUES, FinishedRun

from broker_integration.ab_testing import BrokerABTestingFramework, Metric
from broker_integration.demo import read_figures
from broker_integration.performance_metrics import ComparisonPeriod, PerformanceMetricsCollector
from broker_integration.store import Store


class _Report(HTMLParser):
    """Table cells carrying figures, chart kinds, CDF markers and every resource reference."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], float] = {}
        self.charts: list[str] = []
        self.markers: dict[tuple[str, str], float] = {}
        self.resources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "td" and "data-metric" in a and "data-value" in a:
            self.cells[(a["data-broker"], a["data-metric"])] = float(a["data-value"])
        if tag == "svg" and "data-chart" in a:
            self.charts.append(a["data-chart"])
        if tag == "circle" and "data-quantile" in a:
            self.markers[(a["data-series"], a["data-quantile"])] = float(a["data-value"])
        self.resources += [a[k] for k in ("src", "href") if k in a]


@pytest.fixture(scope="module")
def report(demo_run: FinishedRun) -> tuple[str, _Report]:
    text = demo_run.report.read_text(encoding="utf-8")
    parsed = _Report()
    parsed.feed(text)
    return text, parsed


async def test_latency_figures_equal_the_stored_collector_figures(
    demo_run: FinishedRun, report: tuple[str, _Report]
) -> None:
    text, parsed = report
    figures = read_figures(text)
    async with Store(demo_run.store_url) as store:
        collector = PerformanceMetricsCollector(store=store)
        for venue in VENUES:
            place = (await collector.metrics(venue, ComparisonPeriod.ALL)).operations["place_order"]
            embedded = figures["comparison"]["metrics"][venue]["operations"]["place_order"]
            assert embedded["calls"] == place.calls
            assert embedded["latency"] == place.latency.to_dict()
            for quantile in ("p50", "p95", "p99"):
                expected = getattr(place.latency, f"{quantile}_ms")
                assert parsed.cells[(venue, f"{quantile}_ms")] == expected  # the visible table
                assert parsed.markers[(venue, quantile)] == expected  # the chart's marker
            assert parsed.cells[(venue, "place_order_calls")] == place.calls


async def test_order_counts_equal_the_stored_experiment(
    demo_run: FinishedRun, report: tuple[str, _Report]
) -> None:
    text, parsed = report
    figures = read_figures(text)
    async with Store(demo_run.store_url) as store, BrokerABTestingFramework(store) as ab:
        stored = ab.get_test_results(figures["test_id"])
    assert figures["ab"]["total_orders"] == stored.total_orders == ORDERS
    for arm in stored.arms:
        assert parsed.cells[(arm.arm, "ab_orders")] == arm.orders
        assert parsed.cells[(arm.arm, "success_rate")] == arm.metrics[Metric.SUCCESS_RATE].estimate
    assert figures["seed"] == SEED
    assert figures["orders_requested"] == ORDERS
    assert sum(w["last"] - w["first"] + 1 for w in figures["routing_shares"]) == ORDERS


def test_every_chart_is_in_the_report(report: tuple[str, _Report]) -> None:
    _, parsed = report
    assert parsed.charts.count("latency-cdf") == 2  # the FX part's and the crypto part's
    assert parsed.charts.count("interval") == 5  # success, fill, slippage, commission, all-in cost
    assert parsed.charts.count("routing-share") == 2
    assert parsed.charts.count("errors") == 1


def test_report_needs_nothing_from_the_network(report: tuple[str, _Report]) -> None:
    text, parsed = report
    assert parsed.resources == ["data:,"]  # only the empty inline favicon
    assert "<script src" not in text
    assert not re.search(r"url\((?!#)", text)  # no CSS fetches


def test_figures_cover_every_discovery(report: tuple[str, _Report]) -> None:
    figures = read_figures(report[0])
    assert set(figures["capabilities"]) == {
        f"{venue}/{depth}" for venue in VENUES for depth in ("static", "dynamic", "synthetic")
    }
    assert set(figures["venues"]) == VENUES


async def test_cost_figures_equal_the_stored_collector_figures(
    demo_run: FinishedRun, report: tuple[str, _Report]
) -> None:
    _, parsed = report
    async with Store(demo_run.store_url) as store:
        collector = PerformanceMetricsCollector(store=store)
        for venue in VENUES:
            cost = (await collector.metrics(venue, ComparisonPeriod.ALL)).cost
            assert cost.arrival_sources == {
                "call": cost.slippage_orders
            }  # the reference quote, on every call
            for name in (
                "avg_slippage_bps",
                "avg_effective_to_quoted",
                "avg_price_improvement_bps",
                "shortfall_bps",
            ):
                assert parsed.cells[(venue, name)] == getattr(cost, name), name
