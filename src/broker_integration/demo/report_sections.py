"""The measured sections of the demo report: latency, rates, cost, routing, the experiment, the comparison,
errors and recommendations. Each takes the run's :class:`DemoResult` and the venues' colours.

Latency, error and cost figures per venue are the metrics collector's (every call each adapter made
during the order flow, probes included for errors); rates and costs with intervals are the A/B
framework's (each routed order's first attempt). Every table cell with a figure carries it in
``data-value``, and every figure a recommendation quotes is in one of these tables: the experiment's
comparisons (the two values each test compared, its difference, interval and adjusted p), the routing
table, the figures the broker comparison compared and its pairwise tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from html import escape

from broker_integration.ab_testing import METRICS, Metric
from broker_integration.demo.formatting import fmt, fmt_interval, fmt_ms, fmt_p, fmt_pct
from broker_integration.demo.report_charts import (
    CdfSeries,
    IntervalRow,
    cdf_chart,
    error_chart,
    interval_chart,
    share_chart,
)
from broker_integration.demo.report_html import figure, section, table, td
from broker_integration.demo.result import ORDER_OPERATION, DemoResult
from broker_integration.demo.verdicts import deference
from broker_integration.metrics.significance import DimensionTest

__all__ = [
    "comparison_parts",
    "comparison_section",
    "cost_section",
    "errors_section",
    "experiment_parts",
    "experiment_section",
    "latency_parts",
    "latency_section",
    "rates_section",
    "recommendation_lists",
    "recommendations_section",
    "routing_parts",
    "routing_section",
]

Colors = Mapping[str, str]


def _interval_rows(result: DemoResult, colors: Colors, metric: Metric) -> list[IntervalRow]:
    rows = []
    for arm in result.test_results.arms:
        interval = arm.metrics.get(metric)
        if interval is not None:
            rows.append(IntervalRow(arm.arm, colors[arm.arm], interval.estimate, interval.low, interval.high))
    return rows


def _metric_chart(result: DemoResult, colors: Colors, metric: Metric) -> str:
    spec = METRICS[metric]
    title = f"{spec.label}, {1 - result.test_results.significance_level:.0%} interval"
    return interval_chart(
        _interval_rows(result, colors, metric), title=title, unit=spec.unit, percent=spec.unit == ""
    )


def latency_section(result: DemoResult, colors: Colors) -> str:
    """CDF of ``place_order`` latency per venue with p50/p95/p99, and the collector's figures."""
    return section("latency", "Latency", *latency_parts(result, colors))


def latency_parts(result: DemoResult, colors: Colors) -> tuple[str, ...]:
    """The latency section's chart, table and note."""
    series = []
    rows = []
    for arm in result.arms:
        metrics = result.comparison.metrics[arm]
        op = metrics.operations.get(ORDER_OPERATION)
        if op is None:
            continue
        lat = op.latency
        marks = {"p50": lat.p50_ms, "p95": lat.p95_ms, "p99": lat.p99_ms}
        distribution = result.latency.get(arm)
        points = distribution.cdf() if distribution is not None else []
        series.append(CdfSeries(arm, colors[arm], points, marks))
        quantiles = result.test_results.arm(arm).latency_quantiles
        p99_ci = fmt_interval(quantiles.get("p99"), unit="ms")
        rows.append(
            [
                td(arm, cls="venue"),
                figure(arm, "place_order_calls", op.calls, f"{op.calls:,}"),
                figure(arm, "mean_ms", lat.mean_ms, fmt_ms(lat.mean_ms)),
                figure(arm, "p50_ms", lat.p50_ms, fmt_ms(lat.p50_ms)),
                figure(arm, "p95_ms", lat.p95_ms, fmt_ms(lat.p95_ms)),
                figure(arm, "p99_ms", lat.p99_ms, fmt_ms(lat.p99_ms)),
                figure(arm, "max_ms", lat.max_ms, fmt_ms(lat.max_ms)),
                td(p99_ci, numeric=True),
            ]
        )
    chart = cdf_chart(series, title="Cumulative distribution of place_order latency per venue")
    headers = ("venue", "calls", "mean", "p50", "p95", "p99", "max", "p99, 95% CI (A/B)")
    note = (
        "<p class='note'>Every <code>place_order</code> call during the order flow, timed by the adapter's "
        "call pipeline and recorded in the metrics collector's HdrHistogram (values within 0.1%). The "
        "interval is a bootstrap interval over the experiment's successful first attempts.</p>"
    )
    return chart, table(headers, rows, name="latency"), note


def rates_section(result: DemoResult, colors: Colors) -> str:
    """Success and fill rates with Wilson intervals, next to the collector's counts."""
    rows = []
    for arm in result.test_results.arms:
        m = result.comparison.metrics[arm.arm]
        success, fill = arm.metrics.get(Metric.SUCCESS_RATE), arm.metrics.get(Metric.FILL_RATE)
        rows.append(
            [
                td(arm.arm, cls="venue"),
                figure(arm.arm, "ab_orders", arm.orders, f"{arm.orders:,}"),
                figure(
                    arm.arm,
                    "success_rate",
                    success.estimate if success else None,
                    fmt_interval(success, percent=True),
                ),
                figure(
                    arm.arm,
                    "full_fill_rate_ab",
                    fill.estimate if fill else None,
                    fmt_interval(fill, percent=True),
                ),
                figure(arm.arm, "orders", m.fill.orders, f"{m.fill.orders:,}"),
                figure(arm.arm, "rejected", m.fill.rejected, f"{m.fill.rejected:,}"),
                figure(
                    arm.arm,
                    "unknown",
                    m.fill.unknown,
                    f"{m.fill.unknown:,}" + (f" ({m.fill.settled:,} found out)" if m.fill.settled else ""),
                ),
                figure(arm.arm, "fill_rate", m.fill.fill_rate, fmt_pct(m.fill.fill_rate)),
                figure(arm.arm, "error_rate", m.reliability.error_rate, fmt_pct(m.reliability.error_rate)),
                figure(
                    arm.arm, "availability", m.reliability.availability, fmt_pct(m.reliability.availability)
                ),
            ]
        )
    headers = (
        "venue",
        "A/B orders",
        "success (95% CI)",
        "fully filled (95% CI)",
        "orders placed",
        "refused",
        "answer lost",
        "quantity filled",
        "failed calls",
        "availability",
    )
    charts = "<div class='pair'>" + _metric_chart(result, colors, Metric.SUCCESS_RATE)
    charts += _metric_chart(result, colors, Metric.FILL_RATE) + "</div>"
    note = (
        "<p class='note'>Intervals: Wilson score intervals over each order's first attempt (a failed-over "
        "order counts against the venue it was routed to). Orders placed, refused, quantity filled, failed "
        "calls (all operations) and availability (health probes every second) are the collector's. "
        "Answer lost: orders whose outcome was unknown when the call returned, and how many of them the "
        "order journal has found out since (it looks them up again until the venue answers).</p>"
    )
    return section("rates", "Success and fill rates", charts, table(headers, rows, name="rates"), note)


def cost_section(result: DemoResult, colors: Colors) -> str:
    """Slippage, commission and all-in cost per venue: intervals from the experiment, totals from the collector."""
    charts = "<div class='pair'>"
    charts += "".join(
        _metric_chart(result, colors, m)
        for m in (Metric.SLIPPAGE_BPS, Metric.COMMISSION_BPS, Metric.TOTAL_COST_BPS)
    )
    charts += "</div>"
    rows = []
    for arm in result.arms:
        c = result.comparison.metrics[arm].cost
        rows.append(
            [
                td(arm, cls="venue"),
                figure(arm, "orders_with_fills", c.orders_with_fills, f"{c.orders_with_fills:,}"),
                figure(arm, "avg_slippage_bps", c.avg_slippage_bps, f"{fmt(c.avg_slippage_bps)} bps"),
                figure(arm, "commission_bps", c.commission_bps, f"{fmt(c.commission_bps)} bps"),
                figure(arm, "avg_cost_bps", c.avg_cost_bps, f"{fmt(c.avg_cost_bps)} bps"),
                figure(
                    arm, "avg_effective_to_quoted", c.avg_effective_to_quoted, fmt(c.avg_effective_to_quoted)
                ),
                figure(
                    arm,
                    "avg_price_improvement_bps",
                    c.avg_price_improvement_bps,
                    f"{fmt(c.avg_price_improvement_bps)} bps",
                ),
                figure(arm, "shortfall_bps", c.shortfall_bps, f"{fmt(c.shortfall_bps)} bps"),
                figure(arm, "commission", float(c.total_fees), f"{c.total_fees:,.2f}"),
                figure(arm, "notional", float(c.notional), f"{c.notional:,.0f}"),
            ]
        )
    headers = (
        "venue",
        "filled orders",
        "slippage",
        "commission",
        "all-in cost",
        "effective / quoted spread",
        "price improvement",
        "shortfall",
        "commission paid",
        "notional",
    )
    note = (
        "<p class='note'>Slippage is measured against the mid of a common reference quote taken as each order "
        "was sent (every venue quotes the same seeded market), so it includes the half spread each venue "
        "charges. Positive is a cost. Effective / quoted spread: twice the fill's distance from that mid "
        "over the reference quote's spread, averaged per order (below 1: better than the quote). Price "
        "improvement: how far each fill beat the reference quote's near side (ask for a buy, bid for a "
        "sell), averaged per order; negative is worse. Shortfall: implementation shortfall (execution cost, "
        "the opportunity cost of any unfilled part against the venue's quote from the collector's probe "
        "when the order ended, commission) over the orders' notional at the reference mid. Money is in the "
        "account currency (USD for the demo's venues).</p>"
    )
    return section("cost", "Slippage and cost", charts, table(headers, rows, name="cost"), note)


def routing_section(result: DemoResult, colors: Colors) -> str:
    """The routing share over the flow, and each arm's target, observed share and posterior."""
    return section("routing", "Routing share over time", *routing_parts(result, colors))


def routing_parts(result: DemoResult, colors: Colors) -> tuple[str, ...]:
    """The routing section's chart, table and note."""
    windows = result.shares()
    shares = {arm: [w.shares[arm] for w in windows] for arm in result.arms}
    chart = share_chart(
        [w.middle for w in windows],
        shares,
        colors,
        total=len(result.routed),
        title=f"Share of orders routed to each venue over the flow ({result.test_results.routing_strategy.value})",
    )
    rows = []
    for arm in result.test_results.arms:
        rows.append(
            [
                td(arm.arm + (" (control)" if arm.is_control else ""), cls="venue"),
                td(fmt_pct(arm.target_share, 1), numeric=True),
                figure(arm.arm, "observed_share", arm.observed_share, fmt_pct(arm.observed_share, 1)),
                figure(arm.arm, "randomised_orders", arm.randomised_orders, f"{arm.randomised_orders:,}"),
                figure(arm.arm, "p_best", arm.p_best, fmt(arm.p_best)),
                figure(
                    arm.arm,
                    "allocation",
                    arm.allocation,
                    fmt_pct(arm.allocation, 1) if arm.allocation is not None else "-",
                ),
                figure(arm.arm, "failovers_out", arm.failovers_out, f"{arm.failovers_out}"),
                figure(arm.arm, "failovers_in", arm.failovers_in, f"{arm.failovers_in}"),
                figure(arm.arm, "ambiguous", arm.ambiguous, f"{arm.ambiguous}"),
            ]
        )
    headers = (
        "venue",
        "split",
        "observed share",
        "routed at random",
        "P(best)",
        "final allocation",
        "failovers out",
        "failovers in",
        "unknown outcome",
    )
    note = (
        "<p class='note'>Routed at random: orders whose venue was drawn without looking at any outcome "
        "(every order under hash or random routing; the warm-up and the uniform share of performance "
        "routing). The experiment's comparisons read only these orders.</p>"
    )
    return chart, table(headers, rows, name="routing"), note


def experiment_section(result: DemoResult, colors: Colors) -> str:
    """Each challenger against the control on the primary metric and the guardrails: the two values each
    test compared, over how many orders, the difference with its interval, and the verdict."""
    return section("experiment", "A/B test against the control", *experiment_parts(result))


def experiment_parts(result: DemoResult) -> tuple[str, ...]:
    """The experiment section's table of comparisons and its method."""
    res = result.test_results
    level = f"{1 - res.significance_level:.0%}"
    rows = []
    for c in res.comparisons:
        verdict = "not readable yet" if not c.readable else "no significant difference"
        if c.significant:
            verdict = "better" if c.better else "worse"
        interval = c.test.interval
        low, high = (interval.low, interval.high) if interval is not None else (None, None)
        value = _metric_value(c.metric)
        name = c.metric.value
        rows.append(
            [
                td(c.arm, cls="venue"),
                td(f"{name} ({c.role})"),
                figure(c.arm, f"{name}.control_value", c.control_value, value(c.control_value)),
                figure(c.arm, f"{name}.n_control", c.test.n_a, f"{c.test.n_a:,}"),
                figure(c.arm, f"{name}.control_sd", c.control_sd, value(c.control_sd)),
                figure(c.arm, f"{name}.arm_value", c.arm_value, value(c.arm_value)),
                figure(c.arm, f"{name}.n_arm", c.test.n_b, f"{c.test.n_b:,}"),
                figure(c.arm, f"{name}.difference", c.test.effect, value(c.test.effect)),
                figure(c.arm, f"{name}.low", low, value(low)),
                figure(c.arm, f"{name}.high", high, value(high)),
                figure(
                    c.arm,
                    f"{name}.relative",
                    c.relative_effect,
                    fmt_pct(c.relative_effect, 1) if c.relative_effect is not None else "-",
                ),
                figure(c.arm, f"{name}.p_holm", c.adjusted_p_value, fmt_p(c.adjusted_p_value)),
                td(verdict, cls=f"verdict-{'better' if c.better else 'worse' if c.significant else 'none'}"),
            ]
        )
    headers = (
        "venue vs " + (res.arms[0].arm if res.arms else "control"),
        "metric",
        "control",
        "n",
        "control sd",
        "venue",
        "n",
        "difference",
        f"{level} CI from",
        "to",
        "relative",
        "p (Holm)",
        "verdict",
    )
    srm = res.srm
    lines = (
        f"<p>Method: {escape(res.method)}.</p>"
        f"<p>Sample ratio check: chi-square {fmt(srm.statistic)}, p = {fmt_p(srm.p_value)}"
        f"{' (mismatch: no verdict can be trusted)' if srm.mismatch else ' (no mismatch)'}.</p>"
    )
    return table(headers, rows, name="comparisons"), lines


def _metric_value(metric: Metric) -> Callable[[float | None], str]:
    """How a value of ``metric`` is shown: rates as percentages, others with their unit."""
    unit = METRICS[metric].unit
    if unit == "":
        return fmt_pct
    return lambda v: f"{fmt(v)} {unit}" if v is not None and math.isfinite(v) else "-"


def comparison_section(result: DemoResult, colors: Colors) -> str:
    """The collector's ranking: scores per dimension, the figures compared, the verdict and the pairwise
    tests (the comparison is observational: it says so)."""
    return section("comparison", "Broker comparison", *comparison_parts(result))


def comparison_parts(result: DemoResult) -> tuple[str, ...]:
    """The comparison section's verdict, scores, figures compared and tests."""
    c = result.comparison
    dimensions = ("latency", "reliability", "cost", "fill_quality")
    rows = []
    for rank, name in enumerate(c.ranking, start=1):
        by_dimension = c.scores[name]
        rows.append(
            [
                td(str(rank), numeric=True),
                td(name + (" (winner)" if name == c.winner else ""), cls="venue"),
                figure(name, "score", c.overall[name], fmt(c.overall[name])),
                *(td(fmt(by_dimension.get(d)), numeric=True) for d in dimensions),
            ]
        )
    weight_row = [
        td("", numeric=True),
        td("weight"),
        td("", numeric=True),
        *(
            figure("weights", d, c.settings.weights.of(d), f"{c.settings.weights.of(d):g}")
            for d in dimensions
        ),
    ]
    scores = table(("rank", "venue", "overall", *dimensions), [*rows, weight_row], name="scores")
    compared = table(
        (
            "venue",
            "p50",
            "p99",
            "broker error rate",
            "broker failures",
            "answered calls",
            "availability",
            "healthy checks",
            "health checks",
            "all-in cost",
            "filled in full",
            "filled",
            "accepted",
        ),
        [_compared_figures(result, name) for name in c.ranking],
        name="compared",
    )
    tests = [_test_row(t) for t in c.tests]
    tests_table = table(
        (
            "dimension",
            "pair (A vs B)",
            "figure",
            "A",
            "B",
            "effect",
            "CI from",
            "to",
            "test",
            "p (Holm)",
            "better",
        ),
        tests,
        name="tests",
    )
    verdict = (
        f"<p class='verdict'><strong>{escape(c.winner or 'No winner')}</strong>: {escape(c.verdict)}</p>"
    )
    weights = ", ".join(f"{d} {w:g}" for d, w in c.settings.weights.to_dict().items())
    note = (
        f"<p class='note'>Scores 0-100 per dimension (100 for the best venue), weighted {escape(weights)}. "
        "Observational: the venues' calls were not assigned at random, so the experiment above decides "
        "where it has a verdict. Latency: p50 and p99 are the collector's histogram figures (nearest rank); "
        "a venue is faster when its p99 is significantly lower, or, when the p99s cannot be told apart, "
        "when its calls are significantly faster more often than not (Mann-Whitney). Effects are B minus "
        "A, except Mann-Whitney's: the probability that a call at B is slower than one at A.</p>"
    )
    return (
        verdict,
        scores,
        "<h3>Figures compared</h3>",
        compared,
        note,
        "<h3>Tests</h3>",
        tests_table,
    )


def _test_row(t: DimensionTest) -> list[str]:
    """One pairwise test; its figures keyed ``<a>|<b>`` and ``<dimension>.<test>.<field>``."""
    pair, key = f"{t.broker_a}|{t.broker_b}", f"{t.dimension}.{t.result.name}"
    low, high = (t.interval.low, t.interval.high) if t.interval is not None else (None, None)
    return [
        td(t.dimension),
        td(f"{t.broker_a} vs {t.broker_b}"),
        td(t.metric),
        figure(pair, f"{key}.value_a", t.value_a, fmt(t.value_a)),
        figure(pair, f"{key}.value_b", t.value_b, fmt(t.value_b)),
        figure(pair, f"{key}.effect", t.result.effect, fmt(t.result.effect)),
        figure(pair, f"{key}.low", low, fmt(low)),
        figure(pair, f"{key}.high", high, fmt(high)),
        td(t.result.name),
        figure(pair, f"{key}.p_holm", t.adjusted_p_value, fmt_p(t.adjusted_p_value)),
        td(t.better or "-"),
    ]


def _compared_figures(result: DemoResult, name: str) -> list[str]:
    c = result.comparison
    m = c.metrics[name]
    op = m.operations.get(c.latency_operation or "")
    p50, p99 = (op.latency.p50_ms, op.latency.p99_ms) if op is not None else (None, None)
    r, f = m.reliability, m.fill
    return [
        td(name, cls="venue"),
        figure(name, "cmp.p50_ms", p50, fmt_ms(p50)),
        figure(name, "cmp.p99_ms", p99, fmt_ms(p99)),
        figure(name, "cmp.broker_error_rate", r.broker_error_rate, fmt_pct(r.broker_error_rate)),
        figure(name, "cmp.broker_failures", r.broker_failures, f"{r.broker_failures:,}"),
        figure(name, "cmp.calls", r.calls, f"{r.calls:,}"),
        figure(name, "cmp.availability", r.availability, fmt_pct(r.availability)),
        figure(name, "cmp.healthy_checks", r.healthy_checks, f"{r.healthy_checks:,}"),
        figure(name, "cmp.health_checks", r.health_checks, f"{r.health_checks:,}"),
        figure(name, "cmp.avg_cost_bps", m.cost.avg_cost_bps, f"{fmt(m.cost.avg_cost_bps)} bps"),
        figure(name, "cmp.full_fill_rate", f.full_fill_rate, fmt_pct(f.full_fill_rate)),
        figure(name, "cmp.filled", f.filled, f"{f.filled:,}"),
        figure(name, "cmp.accepted", f.accepted, f"{f.accepted:,}"),
    ]


def errors_section(result: DemoResult, colors: Colors) -> str:
    """Failed calls per venue by standard error code (every operation, probes included)."""
    errors = {arm: result.comparison.metrics[arm].reliability.errors_by_code for arm in result.arms}
    chart = error_chart(errors, title="Failed calls per venue by standard error code")
    rows = [
        [
            td(arm, cls="venue"),
            td(code),
            figure(arm, f"errors.{code}", n, f"{n:,}"),
        ]
        for arm, by_code in errors.items()
        for code, n in by_code.items()
    ]
    body = table(("venue", "code", "calls"), rows, name="errors") if rows else "<p>No call failed.</p>"
    cancelled = sum(result.comparison.metrics[arm].reliability.cancelled for arm in result.arms)
    note = (
        f"<p class='note'>Calls their caller cancelled ({cancelled} in this run: probes still running "
        "when collection stopped at the end of the flow) ended with no answer either way; they are not "
        "counted as any venue's errors.</p>"
    )
    alerts = "".join(
        f"<li>{escape(a.time.isoformat(timespec='seconds'))} {escape(a.state.value)} [{escape(a.severity.value)}] "
        f"{escape(a.rule)} at {escape(a.broker_name)}: {escape(a.message)}</li>"
        for a in result.alerts
    )
    listed = f"<ul data-list='alerts'>{alerts}</ul>" if alerts else "<p>No alert fired.</p>"
    return section("errors", "Errors by code", chart, body, note, "<h3>Alerts during the run</h3>", listed)


def recommendations_section(result: DemoResult, colors: Colors) -> str:
    """What the experiment and the comparison suggest doing; the experiment's verdict stands first."""
    return section("recommendations", "Recommendations", *recommendation_lists(result))


def recommendation_lists(result: DemoResult, prefix: str = "") -> tuple[str, ...]:
    """The experiment's recommendations and the comparison's (after the sentence on which verdict
    stands), as lists named ``<prefix>ab-recommendations`` and ``<prefix>comparison-recommendations``."""
    ab = "".join(f"<li>{escape(r)}</li>" for r in result.test_results.recommendations)
    notes = [deference(result.test_results, result.comparison), *result.comparison.recommendations]
    cmp = "".join(f"<li>{escape(r)}</li>" for r in notes)
    return (
        f"<h3>From the A/B test</h3><ul data-list='{prefix}ab-recommendations'>{ab}</ul>",
        f"<h3>From the broker comparison</h3><ul data-list='{prefix}comparison-recommendations'>{cmp}</ul>",
    )


SECTIONS: tuple[Callable[[DemoResult, Colors], str], ...] = (
    latency_section,
    rates_section,
    cost_section,
    routing_section,
    experiment_section,
    comparison_section,
    errors_section,
)
