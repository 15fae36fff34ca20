"""``broker-integration demo``: the main job on the embedded defaults, offline, with an HTML report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from broker_integration.cli.options import store_url
from broker_integration.cli.output import command_console, print_error
from broker_integration.demo.options import (
    DEFAULT_CONFIG,
    DEFAULT_REPORT,
    DemoError,
    DemoOptions,
    RoutingChoice,
)

__all__ = ["demo_command"]


def demo_command(
    orders: Annotated[
        int,
        typer.Option(
            help="Orders to route through the FX A/B test; the crypto A/B test routes a third as many "
            "(at least 150)."
        ),
    ] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the venues' prices and faults and of the routing.")] = 42,
    routing: Annotated[
        RoutingChoice, typer.Option(help="How the A/B test assigns orders to venues.")
    ] = RoutingChoice.PERFORMANCE,
    report: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = DEFAULT_REPORT,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            callback=store_url,
            help="Keep the run in this store: a SQLite file path or a SQLAlchemy URL "
            "(default: a temporary file, deleted after).",
        ),
    ] = None,
    config: Annotated[
        Path,
        typer.Option(
            help="The configuration folder the venues come from (default: the one shipped with the package)."
        ),
    ] = DEFAULT_CONFIG,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the verdicts and the report path.")
    ] = False,
) -> None:
    """The main job, offline: simulated brokers discovered, A/B-tested and compared, with an HTML report.

    Two parts: FX across OANDA and paper venues, then BTC/USD across Alpaca, Binance via CCXT and paper."""
    from broker_integration.demo import ConsoleObserver, print_outcome, run_demo, write_report

    console = command_console()
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
        print_error(f"demo failed: {exc}")
        raise typer.Exit(1) from exc
    if not quiet:
        print_outcome(console, result)
    res, cmp = result.test_results, result.comparison
    crypto = result.crypto
    for line in (
        f"A/B test winner: {res.winner or 'none'} ({res.status.value})",
        f"Broker comparison winner: {cmp.winner or 'none'} ({cmp.verdict})",
        *(
            (
                f"Crypto A/B test winner: {crypto.test_results.winner or 'none'} "
                f"({crypto.test_results.status.value})",
                f"Crypto broker comparison winner: {crypto.comparison.winner or 'none'} "
                f"({crypto.comparison.verdict})",
            )
            if crypto is not None
            else ()
        ),
        *(f"note: {note}" for note in result.notes if quiet),  # the run's observer showed them otherwise
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
