"""The report's SVG charts: well-formed, one mark per datum, axes that cover the data."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest

from broker_integration.demo.report_charts import (
    CdfSeries,
    IntervalRow,
    cdf_chart,
    error_chart,
    interval_chart,
    linear_ticks,
    log_ticks,
    share_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The chart as XML: a chart that does not parse would not render."""
    return ET.fromstring(svg)


def test_log_ticks_are_one_two_five_within_the_range() -> None:
    assert log_ticks(1, 1000) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert log_ticks(0.1, 2) == [0.1, 0.2, 0.5, 1, 2]


@pytest.mark.parametrize(("low", "high"), [(0.344, 1.47), (-0.1, 0.08), (0.0, 0.0), (12.0, 980.0)])
def test_linear_ticks_cover_the_data_with_round_steps(low: float, high: float) -> None:
    start, stop, ticks = linear_ticks(low, high)
    assert start <= low
    assert stop >= high
    assert stop > start
    assert ticks[0] == start
    assert math.isclose(ticks[-1], stop)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0)
    assert 2 <= len(ticks) <= 11


def test_cdf_marks_each_venues_quantiles_where_they_are() -> None:
    series = [
        CdfSeries("a", "#111", [(1.0, 0.5), (2.0, 0.95), (3.0, 1.0)], {"p50": 1.0, "p95": 2.0, "p99": 3.0}),
        CdfSeries("b", "#222", [(10.0, 0.5), (20.0, 1.0)], {"p50": 10.0, "p95": 20.0, "p99": 20.0}),
        CdfSeries("c", "#333", []),  # a venue without calls draws nothing and breaks nothing
    ]
    root = parse(cdf_chart(series, title="latency"))
    assert root.get("data-chart") == "latency-cdf"
    assert [p.get("data-series") for p in root.iter(f"{SVG}polyline")] == ["a", "b"]
    marks = {
        (c.get("data-series"), c.get("data-quantile")): float(c.get("data-value", "nan"))
        for c in root.iter(f"{SVG}circle")
    }
    assert marks == {
        ("a", "p50"): 1.0,
        ("a", "p95"): 2.0,
        ("a", "p99"): 3.0,
        ("b", "p50"): 10.0,
        ("b", "p95"): 20.0,
        ("b", "p99"): 20.0,
    }


def test_interval_chart_draws_a_dot_per_row_and_a_whisker_per_bounded_interval() -> None:
    rows = [
        IntervalRow("a", "#111", 0.99, 0.97, 1.0),
        IntervalRow("b", "#222", 0.9, -math.inf, math.inf),  # not bounded yet: a dot, no whisker
    ]
    root = parse(interval_chart(rows, title="success", unit="", percent=True))
    assert [c.get("data-series") for c in root.iter(f"{SVG}circle")] == ["a", "b"]
    whiskers = [line for line in root.iter(f"{SVG}line") if line.get("stroke") == "#111"]
    assert len(whiskers) == 1
    assert len([line for line in root.iter(f"{SVG}line") if line.get("stroke") == "#222"]) == 0


def test_share_chart_stacks_one_area_per_arm() -> None:
    svg = share_chart(
        [50.0, 150.0],
        {"a": [0.5, 0.2], "b": [0.5, 0.8]},
        {"a": "#111", "b": "#222"},
        total=200,
        title="share",
    )
    polygons = list(parse(svg).iter(f"{SVG}polygon"))
    assert [p.get("data-series") for p in polygons] == ["a", "b"]
    top_of_b = [float(point.split(",")[1]) for point in polygons[1].get("points", "").split()][:2]
    assert top_of_b[0] == pytest.approx(top_of_b[1])  # a + b is 100 % everywhere


def test_error_chart_splits_bars_by_code_and_says_when_nothing_failed() -> None:
    root = parse(error_chart({"a": {"RATE_LIMITED": 2, "SERVICE_UNAVAILABLE": 3}, "b": {}}, title="errors"))
    bars = {
        (r.get("data-series"), r.get("data-code")): r.get("data-value")
        for r in root.iter(f"{SVG}rect")
        if r.get("data-code")
    }
    assert bars == {("a", "RATE_LIMITED"): "2", ("a", "SERVICE_UNAVAILABLE"): "3"}
    assert "no failed calls" in error_chart({"a": {}}, title="errors")
