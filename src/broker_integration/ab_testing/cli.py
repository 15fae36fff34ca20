"""``broker-integration ab``: create, inspect, read and stop A/B tests kept in the store.

The trading process registers the brokers and routes orders; these commands work on the same store
(``--store``, a file path or URL, or ``$BROKER_INTEGRATION_STORE_URL``), so tests can be defined and read
from a shell.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from broker_integration.ab_testing.framework import BrokerABTestingFramework
from broker_integration.ab_testing.models import (
    METRICS,
    ABTestError,
    Experiment,
    Metric,
    RoutingStrategy,
    TestResults,
    TrafficSplit,
)
from broker_integration.ab_testing.recommendations import format_p, format_value
from broker_integration.cli.lazy import command_group
from broker_integration.cli.options import StoreOption
from broker_integration.cli.output import command_console, fail
from broker_integration.stats import Interval
from broker_integration.store import Store

__all__ = ["ab_app"]

ab_app = command_group("ab", "A/B tests of brokers: create a test, watch it, read its results, stop it.")
console = command_console()

T = TypeVar("T")


def _run(store_url: str | None, action: Callable[[BrokerABTestingFramework], Awaitable[T]]) -> T:
    async def main() -> T:
        async with BrokerABTestingFramework(Store(store_url)) as ab:
            return await action(ab)

    try:
        return asyncio.run(main())
    except ABTestError as exc:
        fail(str(exc))


def _split(text: str) -> TrafficSplit:
    name, sep, share = text.partition("=")
    if not sep:
        raise typer.BadParameter(f"{text!r}: write a split as BROKER=PERCENT, e.g. oanda=50")
    try:
        return TrafficSplit(name.strip(), float(share))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: {exc}") from exc


@ab_app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="Test name.")],
    split: Annotated[
        list[str], typer.Option("--split", help="BROKER=PERCENT, once per arm (first is the control).")
    ],
    description: Annotated[str, typer.Option(help="What the test is for.")] = "",
    strategy: Annotated[
        RoutingStrategy, typer.Option(help="How orders are assigned.")
    ] = RoutingStrategy.HASH_BASED,
    primary_metric: Annotated[Metric, typer.Option(help="The metric that decides.")] = Metric.LATENCY_MS,
    guardrail: Annotated[
        list[Metric] | None, typer.Option(help="Metrics that must not get worse (repeatable).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    min_samples: Annotated[int, typer.Option(help="Orders per arm before any verdict.")] = 100,
    sticky_key: Annotated[
        str, typer.Option(help="What hash routing hashes: order_id, account_id, or a metadata key.")
    ] = "order_id",
    fixed_horizon: Annotated[
        bool, typer.Option(help="Fixed-horizon tests instead of always-valid ones.")
    ] = False,
    failover: Annotated[
        bool, typer.Option(help="Send an order to the next arm if its broker refused it unsent.")
    ] = True,
    start: Annotated[bool, typer.Option(help="Start the test right away.")] = False,
    store: StoreOption = None,
) -> None:
    """Create a test; brokers are registered later by the process that routes orders."""
    splits = [_split(s) for s in split]
    guardrails = guardrail if guardrail is not None else [Metric.SUCCESS_RATE, Metric.FILL_RATE]

    async def action(ab: BrokerABTestingFramework) -> str:
        test_id = ab.create_ab_test(
            name,
            description,
            splits,
            strategy,
            primary_metric=primary_metric,
            guardrail_metrics=guardrails,
            significance_level=alpha,
            minimum_sample_size=min_samples,
            sticky_key=sticky_key,
            sequential=not fixed_horizon,
            failover=failover,
            require_registered=False,
            start=start,
        )
        return test_id

    console.print(_run(store, action), highlight=False)


@ab_app.command()
def start(test_id: str, store: StoreOption = None) -> None:
    """Start or resume a test."""

    async def action(ab: BrokerABTestingFramework) -> str:
        return ab.start_test(test_id).value

    console.print(f"{test_id}: {_run(store, action)}", markup=False, highlight=False)


@ab_app.command()
def stop(
    test_id: str,
    complete: Annotated[
        bool, typer.Option(help="Mark the test completed (ended as planned) instead of stopped.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """End a test; its results stay readable."""

    async def action(ab: BrokerABTestingFramework) -> str:
        return (ab.complete_test(test_id) if complete else ab.stop_test(test_id)).value

    console.print(f"{test_id}: {_run(store, action)}", markup=False, highlight=False)


@ab_app.command()
def status(
    test_id: Annotated[str | None, typer.Argument(help="One test; all tests when left out.")] = None,
    store: StoreOption = None,
) -> None:
    """List tests with their state and orders per arm."""

    async def action(ab: BrokerABTestingFramework) -> list[tuple[Experiment, TestResults]]:
        tests = [ab.get_test(test_id)] if test_id else ab.list_tests()
        return [(t, ab.get_test_results(t.test_id)) for t in tests]

    rows = _run(store, action)
    table = Table(title="A/B tests")
    table.add_column("test id", no_wrap=True)
    for column in ("name", "state", "orders per arm", "verdict"):
        table.add_column(column)
    for experiment, results in rows:
        per_arm = ", ".join(f"{a.arm} {a.orders}" for a in results.arms)
        verdict = results.status.value + (f": {results.winner}" if results.winner else "")
        table.add_row(experiment.test_id, experiment.name, experiment.status.value, per_arm, verdict)
    console.print(table)


def _interval(metric: Metric, interval: Interval | None) -> str:
    if interval is None or math.isnan(interval.estimate):
        return ""
    text = format_value(metric, interval.estimate)
    if math.isfinite(interval.width):
        text += f" [{format_value(metric, interval.low)}, {format_value(metric, interval.high)}]"
    return text


@ab_app.command()
def results(
    test_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full results as JSON.")] = False,
    store: StoreOption = None,
) -> None:
    """Per-arm figures, comparisons with the control, the verdict and recommendations."""

    async def action(ab: BrokerABTestingFramework) -> TestResults:
        return ab.get_test_results(test_id)

    res = _run(store, action)
    if as_json:
        print(orjson.dumps(res.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    console.print(
        f"[bold]{escape(res.test_name)}[/] ({res.test_id}) — {res.experiment_status}, {res.total_orders} orders"
    )
    metrics = [c.metric for c in res.comparisons if c.arm == res.comparisons[0].arm] or [res.primary_metric]
    arms = Table(title=f"Arms ({1 - res.significance_level:.0%} intervals)")
    arms.add_column("arm")
    arms.add_column("orders")
    arms.add_column("share (target)")
    for metric in metrics:
        arms.add_column(METRICS[metric].label)
    arms.add_column("p95 / p99 latency")
    for a in res.arms:
        quantiles = " / ".join(
            format_value(Metric.LATENCY_MS, a.latency_quantiles[q].estimate)
            for q in ("p95", "p99")
            if q in a.latency_quantiles
        )
        arms.add_row(
            a.arm + (" (control)" if a.is_control else ""),
            str(a.orders),
            f"{a.observed_share:.1%} ({a.target_share:.0%})",
            *(_interval(m, a.corrected.get(m) or a.metrics.get(m)) for m in metrics),
            quantiles,
        )
    console.print(arms)
    comparisons = Table(title=f"Against the control — {res.method}")
    for column in (
        "arm",
        "metric",
        "role",
        "control / arm",
        "difference",
        "relative",
        "p (adjusted)",
        "significant",
    ):
        comparisons.add_column(column)
    for c in res.comparisons:
        relative = f"{c.relative_effect:+.1%}" if c.relative_effect is not None else ""
        p = f"{c.adjusted_p_value:.3g}" if c.readable else "not yet"
        verdict = "" if not c.significant else ("better" if c.better else "worse")
        compared = f"{format_value(c.metric, c.control_value)} / {format_value(c.metric, c.arm_value)}"
        comparisons.add_row(
            c.arm,
            c.metric.value,
            c.role,
            compared,
            _interval(c.metric, c.test.interval),
            relative,
            p,
            verdict,
        )
    console.print(comparisons)
    srm = res.srm
    console.print(
        f"Sample ratio check: chi-square {srm.statistic:.2f}, p = {srm.p_value:.3g} "
        + ("[red]MISMATCH[/]" if srm.mismatch else "ok")
    )
    verdict = f"[bold]{res.status.value}[/]"
    if res.winner is not None and res.winner_p_value is not None:
        verdict += f": winner {res.winner} (Holm-adjusted p {format_p(res.winner_p_value)})"
    console.print(verdict)
    for note in res.recommendations:
        console.print(f"- {note}", markup=False, highlight=False)
