"""The ``broker-integration`` command: the root group, its registry of sub-commands, ``--version``.

Every sub-command lives in its own module and is imported only when it runs (:data:`COMMANDS`), so
``--help``, ``--version`` and ``version`` start without numpy, scipy, SQLAlchemy or aiohttp. A failure a
command did not handle is reported in one line by :func:`broker_integration.cli.failures.explain`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer import _click as click

from broker_integration import __version__
from broker_integration.cli.failures import explain
from broker_integration.cli.lazy import LazyGroup, command_group
from broker_integration.cli.output import command_console, print_error

__all__ = ["COMMANDS", "CommandEntry", "app", "main"]


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """A sub-command: ``target`` is the ``module:attribute`` of its Typer app or function, ``summary`` the
    line ``--help`` shows for it without importing it."""

    target: str
    summary: str


COMMANDS: Mapping[str, CommandEntry] = {
    "ab": CommandEntry(
        "broker_integration.ab_testing.cli:ab_app",
        "A/B tests of brokers: create a test, watch it, read its results, stop it.",
    ),
    "brokers": CommandEntry(
        "broker_integration.cli.brokers:brokers_command",
        "List the adapters this installation can create, plugins included.",
    ),
    "compare": CommandEntry(
        "broker_integration.metrics.cli:compare_command",
        "Compare brokers on latency, reliability, cost and fill quality from the stored metrics.",
    ),
    "config": CommandEntry(
        "broker_integration.config.cli:config_app",
        "Validate, show, version, roll back and encrypt broker configuration.",
    ),
    "demo": CommandEntry(
        "broker_integration.cli.demo:demo_command",
        "The main job, offline: simulated brokers discovered, A/B-tested and compared, with an HTML report.",
    ),
    "discover": CommandEntry(
        "broker_integration.capabilities.cli:discover_command",
        "Discover what a broker can really do, and print its capability profile.",
    ),
    "errors": CommandEntry(
        "broker_integration.errors.cli:errors_app",
        "Broker error codes: how a broker's error maps, the mapping tables, analysis of a run.",
    ),
    "metrics": CommandEntry(
        "broker_integration.metrics.cli:metrics_app",
        "Broker performance metrics from the store: serve them to Prometheus or export them as JSON.",
    ),
    "simulate": CommandEntry(
        "broker_integration.sim.cli:simulate_app",
        "Run a broker's wire-protocol simulator on this machine (loopback).",
    ),
}


class _Root(LazyGroup):
    """The root group: :data:`COMMANDS` loaded on first use, and one line for any failure they raise."""

    def registry(self) -> Mapping[str, str]:
        return {name: entry.target for name, entry in COMMANDS.items()}

    def summary(self, name: str) -> str | None:
        entry = COMMANDS.get(name)
        return entry.summary if entry is not None else None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            failure = explain(exc)
            if not failure.expected and logging.getLogger("broker_integration").isEnabledFor(logging.DEBUG):
                command_console(stderr=True).print_exception()
            print_error(failure.message)
            raise typer.Exit(failure.code) from exc


app = command_group(
    "broker-integration",
    "One interface to many brokers: trade, compare and A/B-test brokers; runs offline on a paper broker.",
    cls=_Root,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each broker call with timing; tracebacks of bugs.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    from broker_integration.log import configure_logging

    configure_logging(logging.DEBUG if verbose else logging.WARNING)


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
