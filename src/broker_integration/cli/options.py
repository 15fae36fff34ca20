"""Options several commands share, spelled and checked the same way everywhere.

* ``--store``: where a command keeps or reads its data — a SQLite file path (``run.sqlite3``) or a
  SQLAlchemy async URL (``sqlite+aiosqlite:///...``, ``postgresql+asyncpg://...``); left out, the usual
  store (``$BROKER_INTEGRATION_STORE_URL`` or a file in the user data folder).
* ``--env``: the configuration environment; a name that is not one is blamed on the flag.

Both are checked when the command runs, so importing this module costs nothing (no SQLAlchemy, no config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["EnvOption", "StoreOption", "environment_name", "store_url"]


def store_url(value: str | None) -> str | None:
    """The store URL ``--store`` stands for: a URL as given, a file path as the SQLite store there."""
    if value is None or "://" in value:
        return value
    path = Path(value).expanduser().resolve()
    if path.is_dir():
        raise typer.BadParameter(f"{value} is a folder: give the store's file, e.g. {path / 'store.sqlite3'}")
    if not path.parent.is_dir():
        raise typer.BadParameter(f"the folder {path.parent} does not exist")
    from broker_integration.store import sqlite_url

    return sqlite_url(path)


def environment_name(value: str | None) -> str | None:
    """``--env`` checked against the configuration environments; ``None`` leaves the choice to the loader."""
    if value is None:
        return None
    from broker_integration.config.parsing import DeploymentEnvironment

    try:
        return DeploymentEnvironment(value.strip().lower()).value
    except ValueError:
        known = ", ".join(e.value for e in DeploymentEnvironment)
        raise typer.BadParameter(f"{value!r} is not an environment; use one of: {known}") from None


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        callback=store_url,
        help="The store: a SQLite file path or a SQLAlchemy URL "
        "(default: $BROKER_INTEGRATION_STORE_URL or a file in the user data folder).",
    ),
]

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        callback=environment_name,
        help="Configuration environment: development, staging or production "
        "(default: $BROKER_INTEGRATION_ENV, else development).",
    ),
]
