"""Store URLs: the default, SQLite files, and what a user may write for PostgreSQL.

The store runs on SQLAlchemy's asyncio extension, so it needs an async driver: ``sqlite+aiosqlite`` (the
default) or ``postgresql+asyncpg``. The plain forms users copy from elsewhere (``postgresql://``,
``postgres://``, ``sqlite:///``) are taken to mean those drivers; a synchronous driver named explicitly
(``postgresql+psycopg2``) is refused with a message saying which to use. Messages show a URL only with its
password hidden.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from broker_integration.store.errors import StoreUrlError

__all__ = ["STORE_URL_ENV", "default_store_url", "masked", "normalise", "sqlite_url"]

STORE_URL_ENV = "BROKER_INTEGRATION_STORE_URL"

#: What each plain or accepted scheme becomes.
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def default_store_url() -> str:
    """``$BROKER_INTEGRATION_STORE_URL`` if set, else a SQLite file in the user data directory."""
    configured = os.environ.get(STORE_URL_ENV)
    if configured:
        return configured
    folder = Path(platformdirs.user_data_dir("broker_integration", appauthor=False))
    return f"sqlite+aiosqlite:///{folder / 'broker_integration.sqlite3'}"


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The store URL for a SQLite file at ``path``."""
    return f"sqlite+aiosqlite:///{Path(path)}"


def masked(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``; text that is not a URL is shown up to its ``@``."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        text = str(url)
        return f"***@{text.rsplit('@', 1)[1]}" if "@" in text else text
    return parsed.render_as_string(hide_password=True)


def normalise(url: str) -> URL:
    """The URL to open for what the user wrote; :class:`StoreUrlError` when it cannot be a store."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUrlError(
            f"the store URL {masked(url)!r} is not a database URL; use postgresql+asyncpg://user:password@host/"
            "database or sqlite+aiosqlite:///path/to/file.sqlite3"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        if parsed.get_backend_name() in ("postgresql", "sqlite"):
            wanted = _DRIVERS[parsed.get_backend_name()]
            raise StoreUrlError(
                f"the store URL {masked(parsed)!r} names the driver {parsed.get_driver_name()!r}; the store "
                f"needs an asyncio driver: write {wanted}://..."
            )
        raise StoreUrlError(
            f"the store URL {masked(parsed)!r} is for {parsed.get_backend_name()!r}; the store runs on "
            "PostgreSQL (postgresql+asyncpg://...) or SQLite (sqlite+aiosqlite:///...)"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("postgresql") and not parsed.database:
        raise StoreUrlError(f"the store URL {masked(parsed)!r} names no database (…/database at its end)")
    return parsed
