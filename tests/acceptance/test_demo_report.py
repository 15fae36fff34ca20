"""The demo's HTML report, as a reader gets it: the real command writes it, headless Chromium renders it.

Chromium is driven over the DevTools protocol (``report_support.py``): the page is opened with the
Runtime and Log domains on, so every console message and uncaught exception is seen; then the rendered
DOM is asked for its charts. The report's figures are also checked against the metrics collector's,
read back from the run's store by a fresh collector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_support import REPORT_ORDERS as ORDERS
from report_support import page

from broker_integration.demo import read_figures
from broker_integration.performance_metrics import ComparisonPeriod, PerformanceMetricsCollector
from broker_integration.store import Store

#: What the page reports about itself once loaded: each chart's kind, drawn size and mark count.
_INSPECT = """JSON.stringify({
  charts: [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {kind: svg.dataset.chart, width: box.width, height: box.height,
            marks: svg.querySelectorAll('polyline, polygon, circle, rect').length};
  }),
  orders: JSON.parse(document.getElementById('demo-figures').textContent).orders_requested,
  sections: [...document.querySelectorAll('section')].map(s => s.id),
})"""


async def _render(base: str, report: Path) -> tuple[dict[str, Any], list[str]]:
    """Open ``report`` in the browser's page; return what the page says of itself, and any problem."""
    async with page(base) as tools:
        await tools.open(report.as_uri())
        found: dict[str, Any] = await tools.evaluate(_INSPECT)
        return found, tools.problems()


async def test_report_renders_its_charts_without_console_errors(
    demo_report: tuple[Path, str], browser: str
) -> None:
    page, problems = await _render(browser, demo_report[0])
    assert problems == []
    kinds = [chart["kind"] for chart in page["charts"]]
    fx = ["latency-cdf", "routing-share", "errors", *["interval"] * 5]
    assert sorted(kinds) == sorted([*fx, "latency-cdf", "routing-share"])  # the crypto part's two
    for chart in page["charts"]:
        assert chart["width"] > 100, chart
        assert chart["height"] > 50, chart
        assert chart["marks"] > 0, chart
    assert page["orders"] == ORDERS
    for section in (
        "latency",
        "rates",
        "cost",
        "routing",
        "errors",
        "capabilities",
        "recommendations",
        "crypto",
    ):
        assert section in page["sections"]


async def test_report_figures_are_the_collectors(demo_report: tuple[Path, str]) -> None:
    report, store_url = demo_report
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert figures["ab"]["total_orders"] == ORDERS
    async with Store(store_url) as store:
        collector = PerformanceMetricsCollector(store=store)
        for venue, metrics in figures["comparison"]["metrics"].items():
            place = (await collector.metrics(venue, ComparisonPeriod.ALL)).operations["place_order"]
            embedded = metrics["operations"]["place_order"]
            assert embedded["calls"] == place.calls
            assert embedded["latency"]["p50_ms"] == place.latency.p50_ms
            assert embedded["latency"]["p99_ms"] == place.latency.p99_ms
