"""What can go wrong with the store, as exceptions that say it in one line (passwords hidden)."""

from __future__ import annotations

__all__ = ["SchemaError", "StoreError", "StoreUnavailableError", "StoreUrlError"]


class StoreError(RuntimeError):
    """The store cannot be opened or used: its URL, its server or its schema."""


class StoreUrlError(StoreError, ValueError):
    """A store URL that cannot be used, with the reason."""


class StoreUnavailableError(StoreError):
    """The database could not be reached (refused, down, restarting) or refused the credentials."""


class SchemaError(StoreError):
    """The database's schema is not one this release can use (newer, or of an unknown history)."""
