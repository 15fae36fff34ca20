"""``broker-integration metrics ...`` and ``broker-integration compare``, over the metrics in the store.

``metrics_app`` is a Typer sub-application (``app.add_typer(metrics_app, name="metrics")``) with
``serve`` (Prometheus endpoint) and ``export`` (JSON). :func:`compare_command` is a plain command the
main CLI mounts as ``compare`` (``app.command("compare")(compare_command)``). All of them read the
buckets that collectors flushed to the store (``--store``, default the usual store). Each command
imports the metrics engine it needs when it runs, so the help costs nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from broker_integration.cli.lazy import command_group
from broker_integration.cli.options import StoreOption
from broker_integration.cli.output import command_console, fail

if TYPE_CHECKING:
    from broker_integration.metrics.comparison import BrokerComparison
    from broker_integration.metrics.periods import Period
    from broker_integration.metrics.scoring import ComparisonWeights

__all__ = ["compare_command", "metrics_app", "parse_weights", "print_comparison"]

metrics_app = command_group(
    "metrics",
    "Broker performance metrics from the store: serve them to Prometheus or export them as JSON.",
)

PeriodOption = Annotated[
    str, typer.Option("--period", "-p", help="last-hour, last-day, last-week, last-month or all.")
]
StartOption = Annotated[
    str | None,
    typer.Option("--start", help="Custom period start, ISO 8601 with offset (overrides --period)."),
]
EndOption = Annotated[str | None, typer.Option("--end", help="Custom period end, ISO 8601 with offset.")]


def _period(period: str, start: str | None, end: str | None) -> Period:
    from broker_integration.metrics.periods import CustomPeriod, parse_period

    if start is None and end is None:
        try:
            return parse_period(period)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    if start is None or end is None:
        raise typer.BadParameter("give both --start and --end for a custom period")
    try:
        return CustomPeriod(datetime.fromisoformat(start), datetime.fromisoformat(end))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def parse_weights(text: str) -> ComparisonWeights:
    """``"latency=0.5,cost=0.5"``: dimensions not named weigh 0."""
    from broker_integration.metrics.scoring import DIMENSIONS, ComparisonWeights

    values: dict[str, float] = dict.fromkeys(DIMENSIONS, 0.0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, number = part.partition("=")
        if not sep or name.strip() not in DIMENSIONS:
            raise typer.BadParameter(
                f"{part!r}: use dimension=weight with dimensions {', '.join(DIMENSIONS)}"
            )
        try:
            values[name.strip()] = float(number)
        except ValueError:
            raise typer.BadParameter(f"{part!r}: {number!r} is not a number") from None
    try:
        return ComparisonWeights(**values)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@metrics_app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 9464,
    store: StoreOption = None,
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
) -> None:
    """Serve /metrics for Prometheus from the buckets collectors flushed to the store."""
    try:
        asyncio.run(_serve(host, port, store, seconds))
    except KeyboardInterrupt:
        command_console().print("stopped")


async def _serve(host: str, port: int, store_url: str | None, seconds: float | None) -> None:
    from broker_integration.metrics.persisted import StoreSnapshotSource
    from broker_integration.metrics.prometheus import start_metrics_server
    from broker_integration.store import Store

    async with Store(store_url) as store:
        source = StoreSnapshotSource(store)
        server = start_metrics_server(source.snapshot, asyncio.get_running_loop(), host=host, port=port)
        command_console().print(f"serving {server.url} from {store.url}", highlight=False, soft_wrap=True)
        try:
            if seconds is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(seconds)
        finally:
            await asyncio.to_thread(server.close)


@metrics_app.command("export")
def export_command(
    period: PeriodOption = "last-hour",
    start: StartOption = None,
    end: EndOption = None,
    store: StoreOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print (or write) every stored broker's metrics over a period as JSON."""
    chosen = _period(period, start, end)

    from broker_integration.metrics.collector import PerformanceMetricsCollector
    from broker_integration.store import Store

    async def run() -> str:
        async with Store(store) as opened:
            return await PerformanceMetricsCollector(store=opened).export_json(chosen)

    document = asyncio.run(run())
    if output is None:
        typer.echo(document)
    else:
        output.write_text(document + "\n", encoding="utf-8")
        command_console().print(f"wrote {output}", highlight=False, soft_wrap=True)


def compare_command(
    brokers: Annotated[
        list[str], typer.Argument(help="Two or more broker names, as the collector registered them.")
    ],
    period: PeriodOption = "last-day",
    start: StartOption = None,
    end: EndOption = None,
    store: StoreOption = None,
    weights: Annotated[
        str | None, typer.Option(help="e.g. latency=0.4,reliability=0.3,cost=0.2,fill_quality=0.1")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level (family-wise, Holm).")] = 0.05,
    min_calls: Annotated[int, typer.Option(help="Calls each broker needs before a winner is named.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full comparison as JSON.")] = False,
) -> None:
    """Compare brokers on latency, reliability, cost and fill quality; print a table and recommendations."""
    from broker_integration.metrics.collector import PerformanceMetricsCollector
    from broker_integration.metrics.comparison import ComparisonSettings
    from broker_integration.metrics.repository import StoreRepository
    from broker_integration.metrics.scoring import ComparisonWeights
    from broker_integration.store import Store

    chosen = _period(period, start, end)
    if len(set(brokers)) < 2:
        raise typer.BadParameter("name at least two different brokers")
    settings = ComparisonSettings(
        weights=parse_weights(weights) if weights else ComparisonWeights(), alpha=alpha, min_calls=min_calls
    )

    async def run() -> BrokerComparison | list[str]:
        async with Store(store) as opened:
            known = await StoreRepository(opened, source="compare").brokers()
            if not set(brokers) <= set(known):
                return known
            collector = PerformanceMetricsCollector(store=opened)
            return await collector.compare_brokers(brokers, chosen, settings=settings)

    comparison = asyncio.run(run())
    if isinstance(comparison, list):
        missing = ", ".join(b for b in dict.fromkeys(brokers) if b not in comparison)
        stored = ", ".join(comparison) or "none (no collector has flushed metrics to this store)"
        fail(f"no metrics stored for {missing}; the brokers with stored metrics are: {stored}")
    if as_json:
        typer.echo(comparison.to_json())
    else:
        print_comparison(comparison, command_console())


def print_comparison(c: BrokerComparison, console: Console) -> None:
    """The comparison as two tables (scores, figures), the verdict and the recommendations."""
    from broker_integration.metrics.scoring import DIMENSIONS

    span = f"{c.start:%Y-%m-%d %H:%M} to {c.end:%Y-%m-%d %H:%M} UTC"
    scores = Table(title=f"Broker comparison, {c.period}", caption=span)
    for column in ("rank", "broker", "score", "latency", "reliability", "cost", "fill"):
        scores.add_column(column, justify="left" if column == "broker" else "right")
    for rank, name in enumerate(c.ranking, start=1):
        by_dimension = c.scores[name]
        scores.add_row(
            str(rank),
            name + (" *" if name == c.winner else ""),
            f"{c.overall[name]:.0f}",
            *(f"{by_dimension[d]:.0f}" if d in by_dimension else "-" for d in DIMENSIONS),
        )
    console.print(scores)
    op = c.latency_operation
    figures = Table(title=f"Figures (latency: {op or 'none compared'})")
    for column in ("broker", "calls", "p50 ms", "p99 ms", "errors", "cost bps", "full fills"):
        figures.add_column(column, justify="left" if column == "broker" else "right")
    for name in c.ranking:
        m = c.metrics[name]
        latency = m.operations[op].latency if op is not None and op in m.operations else None
        figures.add_row(
            name,
            f"{m.calls:,}",
            f"{latency.p50_ms:.2f}" if latency is not None else "-",
            f"{latency.p99_ms:.2f}" if latency is not None else "-",
            f"{m.reliability.error_rate:.2%}" if m.reliability.error_rate is not None else "-",
            f"{m.cost.avg_cost_bps:.2f}" if m.cost.avg_cost_bps is not None else "-",
            f"{m.fill.full_fill_rate:.1%}" if m.fill.full_fill_rate is not None else "-",
        )
    console.print(figures)
    if c.winner is not None:
        console.print(f"[bold green]Winner:[/] {c.winner} ({c.verdict})")
    else:
        console.print(f"[bold yellow]No winner:[/] {c.verdict}")
    for sentence in c.recommendations:
        console.print(f"- {sentence}", highlight=False)
    console.print(
        "Scores: 0-100 per dimension, 100 for the best broker; tests are Holm-corrected "
        f"at alpha {c.settings.alpha:g} (see --json for every test)."
    )
