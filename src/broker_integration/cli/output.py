"""How commands print: consoles that do not cut tables when piped, JSON as plain text, one-line failures.

Rich sizes a console to the terminal, and to 80 columns when the output is not one, so a table piped to a
file or ``grep`` came out squeezed, its headers and cells cut or wrapped mid-word. A
:func:`command_console` is as wide as the terminal when there is one (or ``$COLUMNS`` when set), and as
wide as the content when there is none.
"""

from __future__ import annotations

import json
import os
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

__all__ = ["PIPED_WIDTH", "command_console", "echo_json", "fail", "print_error"]

#: The width a console assumes when its output is not a terminal: wide enough for any table we print at
#: its natural width (tables and text take only the width they need).
PIPED_WIDTH = 1000


class _CommandConsole(Console):
    """A console as wide as its terminal, or :data:`PIPED_WIDTH` when its output is not a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or os.environ.get("COLUMNS", "").isdigit():
            return size
        return ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


def command_console(*, stderr: bool = False) -> Console:
    """A console for a command's output (``stderr`` for its messages) that never cuts a table to fit."""
    return _CommandConsole(stderr=stderr)


def echo_json(document: Any) -> None:
    """Print ``document`` as indented JSON, plain text: no colours, no wrapping, whatever the output."""
    typer.echo(json.dumps(document, indent=2, default=str))


def print_error(message: str) -> None:
    """Print ``message`` on standard error after a red ``error:`` (the message is never read as markup)."""
    command_console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """End the command with ``message`` on standard error and exit ``code``."""
    print_error(message)
    raise typer.Exit(code)
