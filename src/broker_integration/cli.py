"""The ``broker-integration`` command."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from broker_integration import __version__
from broker_integration.ab_testing.cli import ab_app
from broker_integration.broker_factory import BrokerFactory
from broker_integration.config.cli import config_app
from broker_integration.error_cli import errors_app
from broker_integration.log import configure_logging
from broker_integration.metrics.cli import compare_command, metrics_app
from broker_integration.tour import TourReport, run_paper_tour
from broker_integration.unified_errors import BrokerError

app = typer.Typer(
    name="broker-integration",
    help="One interface to many brokers: trade, compare and A/B-test brokers; runs offline on a paper broker.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
app.add_typer(errors_app, name="errors")
app.add_typer(ab_app, name="ab")
app.add_typer(config_app, name="config")
app.add_typer(metrics_app, name="metrics")
app.command("compare")(compare_command)


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each broker call with timing.")
    ] = False,
) -> None:
    configure_logging(logging.DEBUG if verbose else logging.WARNING)


@app.command()
def version() -> None:
    """Print the package version."""
    console.print(__version__)


@app.command()
def brokers() -> None:
    """List the adapters this installation can create, plugins included."""
    factory = BrokerFactory()
    table = Table(title="Registered broker adapters")
    table.add_column("name")
    table.add_column("class")
    table.add_column("capabilities")
    for name in factory.list_adapters():
        cls = factory.get_adapter_class(name)
        caps = ", ".join(sorted(c.value for c in cls.declared_capabilities()))
        table.add_row(name, f"{cls.__module__}.{cls.__qualname__}", caps)
    console.print(table)
    for name, problem in factory.plugin_errors.items():
        console.print(f"[yellow]plugin {name} not loaded:[/] {problem}")


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the paper venue's price process.")] = 7,
) -> None:
    """Run the main job on the embedded paper broker: no account, no network."""
    try:
        report = asyncio.run(run_paper_tour(seed=seed))
    except BrokerError as exc:
        console.print(f"[red]demo failed:[/] {exc.error}\n  what to do: {exc.error.suggested_action}")
        raise typer.Exit(1) from exc
    _print_tour(report)
    failed = [r for r in report.orders + report.closed if not r.success]
    if failed:
        for result in failed:
            console.print(f"[red]order failed:[/] {result.error}")
        raise typer.Exit(1)


def _print_tour(report: TourReport) -> None:
    before, after = report.summary_before, report.summary_after
    if before is not None:
        console.print(
            f"[bold]Paper account[/] {before.account_id}: balance {before.balance} {before.currency}, "
            f"margin available {before.margin_available}"
        )
    quotes = Table(title="Quotes")
    for column in ("instrument", "bid", "ask", "spread", "open"):
        quotes.add_column(column)
    for q in report.quotes:
        quotes.add_row(
            q.instrument, str(q.bid), str(q.ask), str(q.spread), "yes" if q.tradeable else "closed"
        )
    console.print(quotes)
    orders = Table(title="Order actions")
    for column in ("client id", "broker id", "status", "filled", "avg price", "commission", "ms"):
        orders.add_column(column)
    for r in report.orders + report.closed:
        orders.add_row(
            (r.client_order_id or "")[:14],
            r.broker_order_id or "",
            r.status.value,
            str(r.filled_quantity),
            str(r.average_fill_price or ""),
            str(r.commission),
            f"{r.latency_ms:.2f}" if r.latency_ms is not None else "",
        )
    console.print(orders)
    for p in report.positions:
        console.print(
            f"position {p.instrument}: {p.quantity} @ {p.average_price}, unrealized {p.unrealized_pnl}"
        )
    if after is not None and before is not None:
        console.print(
            f"[bold]After closing:[/] balance {after.balance} {after.currency} "
            f"(change {after.balance - before.balance}), open positions {after.open_position_count}"
        )
    console.print(f"{len(report.calls)} broker calls, each timed and published as an event.")


def main() -> None:
    """Console-script entry point."""
    app()
