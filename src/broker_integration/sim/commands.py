"""What every ``broker-integration simulate <broker>`` command shares: the options that set up the venue and
where it listens, reading them into a :class:`~broker_integration.sim.profile.VenueProfile`, serving until
Ctrl-C and printing the connection details.

Each simulator's own command (``sim/<broker>/cli.py``) adds its venue's options (credentials, limits,
streams) and what it prints; a bad value is a usage error naming the option (exit code 2), never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.console import Console

from broker_integration.sim.profile import PRESETS, VenueProfile

__all__ = [
    "Host",
    "JsonOutput",
    "LatencyMs",
    "Port",
    "Preset",
    "Seed",
    "amount",
    "announce",
    "serve",
    "serve_until_stopped",
    "usage_errors",
    "venue_profile",
]

Port = Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.", min=0, max=65535)]
Host = Annotated[str, typer.Option(help="Address to listen on (keep it on loopback).")]
Seed = Annotated[int, typer.Option(help="Seed of the venue's price process and faults.")]
Preset = Annotated[str | None, typer.Option(help=f"Venue preset: {', '.join(sorted(PRESETS))}.")]
LatencyMs = Annotated[float, typer.Option(help="Median added response latency in ms.", min=0.0)]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print the connection details as one JSON line.")]

_console = Console()


class _Served(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


_S = TypeVar("_S", bound=_Served)


def amount(text: str, option: str) -> Decimal:
    """``text`` as a Decimal amount, or a usage error naming ``option``."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option) from None


@contextmanager
def usage_errors() -> Iterator[None]:
    """A ``ValueError`` raised inside (a setting out of range) becomes a usage error with its message."""
    try:
        yield
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def venue_profile(
    options: dict[str, Any], *, preset: str | None, always_open: bool | None, latency_ms: float
) -> VenueProfile:
    """The venue's profile from ``options`` and the common options (unset ones leave the preset's or the
    profile's choice); an invalid one is a usage error."""
    if preset is not None:
        options["preset"] = preset
    if always_open is not None:
        options["enforce_trading_hours"] = not always_open
    if latency_ms:
        options["latency"] = {"median_ms": latency_ms, "sigma": 0.3}
    with usage_errors():
        return VenueProfile.from_options(options)


def serve(sim: _S, announce: Callable[[_S], None], *, name: str | None = None) -> None:
    """Serve ``sim`` until interrupted (see :func:`serve_until_stopped`), ``announce`` telling where."""
    asyncio.run(serve_until_stopped(sim, functools.partial(announce, sim), name=name))


async def serve_until_stopped(sim: _Served, announce: Callable[[], None], *, name: str | None = None) -> None:
    """Start ``sim``, ``announce`` it, and serve until SIGINT or SIGTERM. With ``name``, a ``ValueError``
    starting it (a setting the venue cannot honour) is printed as one line and exits with code 2."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await sim.start()
    except ValueError as exc:
        if name is None:
            raise
        _console.print(f"[red]cannot start the {name}:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        announce()
        await stop.wait()
    finally:
        await sim.stop()


def announce(
    details: Mapping[str, Any],
    *,
    json_output: bool,
    title: str,
    url: str,
    rows: Sequence[tuple[str, str]],
    hints: Sequence[str],
) -> None:
    """Print the connection details: ``details`` as one JSON line, or for a person ``title`` listening on
    ``url``, then the labelled ``rows`` and the ``hints`` (lines to try)."""
    if json_output:
        print(json.dumps(details), flush=True)
        return
    _console.print(f"[bold]{title}[/] listening on {url} (Ctrl-C to stop)")
    for label, value in rows:
        _console.print(f"  {label:<11} {value}")
    for hint in hints:
        _console.print(f"  {hint}", soft_wrap=True)
