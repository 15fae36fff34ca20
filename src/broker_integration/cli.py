"""The ``broker-integration`` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from broker_integration import __version__
from broker_integration.ab_testing.cli import ab_app
from broker_integration.broker_factory import BrokerFactory
from broker_integration.capabilities.cli import discover_command
from broker_integration.config.cli import config_app
from broker_integration.demo.options import (
    DEFAULT_CONFIG,
    DEFAULT_REPORT,
    DemoError,
    DemoOptions,
    RoutingChoice,
)
from broker_integration.errors.cli import errors_app
from broker_integration.log import configure_logging
from broker_integration.metrics.cli import compare_command, metrics_app
from broker_integration.sim.cli import simulate_app

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
app.command("discover")(discover_command)
app.add_typer(simulate_app, name="simulate")


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
    orders: Annotated[int, typer.Option(help="Orders to route through the A/B test.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the venues' prices and faults and of the routing.")] = 42,
    routing: Annotated[
        RoutingChoice, typer.Option(help="How the A/B test assigns orders to venues.")
    ] = RoutingChoice.PERFORMANCE,
    report: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = DEFAULT_REPORT,
    store: Annotated[
        str | None,
        typer.Option(
            "--store", help="Store URL to keep the run in (default: a temporary file, deleted after)."
        ),
    ] = None,
    config: Annotated[
        Path, typer.Option(help="The example configuration folder the venues come from.")
    ] = DEFAULT_CONFIG,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the verdicts and the report path.")
    ] = False,
) -> None:
    """The main job, offline: simulated brokers discovered, A/B-tested and compared, with an HTML report."""
    from broker_integration.demo import ConsoleObserver, print_outcome, run_demo, write_report

    verbose = logging.getLogger("broker_integration").isEnabledFor(logging.DEBUG)
    try:
        options = DemoOptions(
            orders=orders, seed=seed, routing=routing, report_path=report, store_url=store, config_path=config
        )
        with _alert_log_muted(not verbose):  # the demo shows each alert itself
            result = asyncio.run(run_demo(options, None if quiet else ConsoleObserver(console)))
        written = write_report(result, options.report_path)
        errors_file = result.export_errors(written.with_name(f"{written.stem}-errors.jsonl"))
    except DemoError as exc:
        console.print(f"[red]demo failed:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    except Exception as exc:  # anything else is a bug or a broken environment: say so, then exit non-zero
        if verbose:
            console.print_exception()
        console.print(
            f"[red]demo failed unexpectedly:[/] {type(exc).__name__}: {exc} (run with -v for details)"
        )
        raise typer.Exit(1) from exc
    if not quiet:
        print_outcome(console, result)
    res, cmp = result.test_results, result.comparison
    for line in (
        f"A/B test winner: {res.winner or 'none'} ({res.status.value})",
        f"Broker comparison winner: {cmp.winner or 'none'} ({cmp.verdict})",
        f"Report: {written}",
        f"Errors of the run: {errors_file} (broker-integration errors analyze {errors_file})",
    ):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def _alert_log_muted(muted: bool) -> Iterator[None]:
    """Keep the alert engine's log lines off the terminal while ``muted``; restore the level after."""
    logger = logging.getLogger("broker_integration.alerts")
    level = logger.level
    if muted:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def main() -> None:
    """Console-script entry point. A store that cannot be used (a wrong URL or password, a server that is
    down) is a user's matter: one line naming it, password hidden, no traceback."""
    try:
        app()
    except Exception as exc:
        store_errors = sys.modules.get("broker_integration.store.errors")  # never imported: not a store error
        if store_errors is None or not isinstance(exc, store_errors.StoreError):
            raise
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
