"""``broker-integration simulate <broker>``: run one of the wire-protocol simulators on this machine.

``simulate_app`` is the Typer group the main CLI mounts as ``simulate``. The simulators it knows are
registered in :data:`SIMULATORS` by module path, each a Typer command function in its own
``sim/<broker>/cli.py``, imported only when it runs or when the help lists it. A name the registry does not
know is a usage error that lists the known ones (exit code 2), never a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import typer
from typer import _click as click  # Typer's bundled Click: the Group API a lazy TyperGroup overrides
from typer.core import TyperGroup

__all__ = ["SIMULATORS", "simulate_app"]

#: Simulator name → ``module:function`` of its command (a Typer command function).
SIMULATORS: Mapping[str, str] = {
    "binance": "broker_integration.sim.binance.cli:binance_command",
    "oanda": "broker_integration.sim.oanda.cli:oanda_command",
}


class _Simulators(TyperGroup):
    """The ``simulate`` group: its commands are the registry's, loaded on first use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SIMULATORS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SIMULATORS:
            return None
        command = self._loaded.get(cmd_name)
        if command is None:
            command = self._loaded[cmd_name] = _load(ctx, cmd_name, SIMULATORS[cmd_name])
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in SIMULATORS:
            ctx.fail(f"no simulator named {name!r}; the simulators are: {', '.join(sorted(SIMULATORS))}")
        return super().resolve_command(ctx, args)


def _load(ctx: click.Context, name: str, target: str) -> click.Command:
    """The command ``module:function`` names, as Typer builds it from the function's signature."""
    module_name, _, attribute = target.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        ctx.fail(f"the {name} simulator cannot be loaded ({target}): {exc}")
    single = typer.Typer(add_completion=False)
    single.command(name)(function)
    return typer.main.get_command(single)


simulate_app = typer.Typer(
    name="simulate",
    cls=_Simulators,
    help="Run a broker's wire-protocol simulator on this machine (loopback), over the simulated venue.",
    no_args_is_help=True,
    add_completion=False,
)


@simulate_app.callback()
def _simulate() -> None:
    """Wire-protocol simulators: point a real client at them instead of the broker."""
