"""What can go wrong with the store, as exceptions that say it in one line (passwords hidden)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

__all__ = [
    "SchemaError",
    "StatementError",
    "StoreError",
    "StoreUnavailableError",
    "StoreUrlError",
    "is_unavailable",
]


class StoreError(RuntimeError):
    """The store cannot be opened or used: its URL, its server or its schema."""


class StoreUrlError(StoreError, ValueError):
    """A store URL that cannot be used, with the reason."""


class StoreUnavailableError(StoreError):
    """The database could not be reached (refused, down, restarting) or refused the credentials."""


class StatementError(StoreError):
    """The database refused a statement (not a connection that failed: that is
    :class:`StoreUnavailableError`)."""


class SchemaError(StoreError):
    """The database's schema is not one this release can use (newer, or of an unknown history)."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not be reached or the connection broke (a server
    restarting, a network cut), as opposed to a statement the database refused: the store's own
    :class:`StoreUnavailableError`, SQLAlchemy's error over the driver's, or the driver's own (the
    statements of :mod:`broker_integration.store.direct` run on asyncpg directly)."""
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc.orig, OSError) or _is_asyncpg_gone(exc.orig)
    return isinstance(exc, (StoreUnavailableError, OSError, TimeoutError)) or _is_asyncpg_gone(exc)


def _is_asyncpg_gone(orig: BaseException | None) -> bool:
    """asyncpg's own words for a connection that is gone or a server that is shutting down or starting up:
    its exception classes, or the SQLSTATE (class 08, connection exception; 57P01-57P03, admin shutdown,
    crash shutdown, cannot connect now — PostgreSQL's "Error Codes" appendix), on the error SQLAlchemy's
    adapter raised or on the asyncpg error it wraps."""
    for error in (orig, orig.__cause__ if orig is not None else None):
        if error is None:
            continue
        if type(error).__name__ in _GONE_CLASSES or "connection is closed" in str(error):
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and (state.startswith("08") or state in _GONE_STATES):
            return True
    return False


_GONE_CLASSES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "InterfaceError",
        "AdminShutdownError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "CrashShutdownError",
    }
)
_GONE_STATES = frozenset({"57P01", "57P02", "57P03"})
