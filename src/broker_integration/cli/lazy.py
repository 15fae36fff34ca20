"""Command groups whose commands are imported only when they run.

A :class:`LazyGroup` knows its commands as ``name → "module:attribute"`` (a Typer app or a Typer command
function) and imports a module only when its command is invoked, or when the help has to ask the command
for its text. A group that gives a one-line summary per command (:meth:`LazyGroup.summary`) lists them in
its own ``--help`` without importing any, so ``broker-integration --help`` loads no command's engine. A
name the group does not know is a usage error that lists the known ones (exit code 2), never a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import typer
from typer import _click as click  # Typer's bundled Click: the Group API a lazy TyperGroup overrides
from typer.core import TyperCommand, TyperGroup

__all__ = ["LazyGroup", "command_group", "load_command"]

_LISTING = "broker_integration.cli.listing"


def command_group(name: str, help: str, *, cls: type[TyperGroup] | None = None) -> typer.Typer:
    """A command group as every group of ours is made: bare, it prints its help; it adds no shell-completion
    options. ``cls`` is a lazy group's class."""
    return typer.Typer(name=name, cls=cls, help=help, no_args_is_help=True, add_completion=False)


def load_command(ctx: click.Context, name: str, target: str, *, noun: str = "command") -> click.Command:
    """The command ``target`` (``module:attribute``) names: a Typer app becomes its group, a function the
    command Typer builds from its signature. A target that cannot be imported is a usage error."""
    module_name, _, attribute = target.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        ctx.fail(f"the {name} {noun} cannot be loaded ({target}): {exc}")
    if isinstance(found, typer.Typer):
        command = typer.main.get_command(found)
        command.name = name
        return command
    single = typer.Typer(add_completion=False)
    single.command(name)(found)
    return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """A group whose registered commands are loaded on first use; subclasses say which they are.

    Commands declared on the group itself (``@app.command()``) come first and are used as they are.
    """

    #: What the group's commands are called in messages ("command", "simulator").
    noun = "command"

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, click.Command] = {}

    def registry(self) -> Mapping[str, str]:
        """Command name → ``module:attribute`` of the commands loaded on first use."""
        return {}

    def summary(self, name: str) -> str | None:
        """The line the group's help shows for ``name`` without loading it (``None``: load it to ask)."""
        return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.registry()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = self.registry().get(cmd_name)
        if target is None:
            return None
        summary = self.summary(cmd_name)
        if summary is not None and ctx.meta.get(_LISTING):
            return TyperCommand(name=cmd_name, help=summary, short_help=summary)
        command = self._loaded.get(cmd_name)
        if command is None:
            command = self._loaded[cmd_name] = load_command(ctx, cmd_name, target, noun=self.noun)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta[_LISTING] = True  # list the commands by their summaries, without importing them
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx.meta[_LISTING] = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = ", ".join(self.list_commands(ctx))
            ctx.fail(f"no {self.noun} named {name!r}; the {self.noun}s are: {known}")
        return super().resolve_command(ctx, args)
