"""Which table maps which broker's errors: built-in tables found by module path, and run-time registrations.

A built-in table lives in its broker's folder (``adapters/<broker>/errors.py``) and is named here by a
``"module:attribute"`` string, as the factory names its built-in adapters: it is imported the first time
that broker's table is looked up. Mapping an OANDA error therefore imports the OANDA table and nothing else
of the adapter (no HTTP client), and this package imports no adapter. Third parties register their tables
at run time with :func:`register_error_table`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from types import MappingProxyType

from broker_integration.errors._table import ErrorMappingTable

__all__ = [
    "BUILTIN_ERROR_TABLES",
    "GENERIC_TABLE_NAME",
    "get_error_table",
    "register_error_table",
    "registered_error_tables",
    "table_key",
    "unregister_error_table",
]

#: The registered name of the generic HTTP table every lookup falls back to.
GENERIC_TABLE_NAME = "http"

#: The shipped tables: the broker name each is registered under, and where it is (``module:attribute``).
BUILTIN_ERROR_TABLES: Mapping[str, str] = MappingProxyType(
    {
        GENERIC_TABLE_NAME: "broker_integration.errors._http_table:HTTP_ERROR_TABLE",
        "oanda": "broker_integration.adapters.oanda.errors:OANDA_ERROR_TABLE",
        "alpaca": "broker_integration.adapters.alpaca.errors:ALPACA_ERROR_TABLE",
        "ccxt": "broker_integration.adapters.ccxt.errors:CCXT_ERROR_TABLE",
    }
)

_tables: dict[str, ErrorMappingTable] = {}
_not_loaded: dict[str, str] = dict(BUILTIN_ERROR_TABLES)  # built-ins whose module was not imported yet
_lock = threading.RLock()


def table_key(broker_name: object) -> str:
    """The registry key for a broker name: names are trimmed and case-insensitive."""
    return str(broker_name).strip().lower()


def _load_builtin(key: str) -> None:
    """Register the built-in table for ``key`` on its first lookup (a no-op for any other name)."""
    target = _not_loaded.get(key)
    if target is None:
        return
    # Imported outside the lock: an import takes Python's module lock, and holding ours too could deadlock.
    module_name, _, attribute = target.partition(":")
    table = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(table, ErrorMappingTable):
        raise TypeError(f"the built-in error table {target} is a {type(table).__name__}")
    with _lock:
        if _not_loaded.pop(key, None) is not None:
            _tables.setdefault(key, table)


def register_error_table(broker_name: str, table: ErrorMappingTable, *, replace: bool = False) -> None:
    """Use ``table`` to map ``broker_name``'s errors (names are case-insensitive).

    Registering the same table again is a no-op; a different table for a registered name, built-in
    names included, needs ``replace=True``. Registering under :data:`GENERIC_TABLE_NAME` replaces the
    generic fallback.
    """
    if not isinstance(table, ErrorMappingTable):
        raise TypeError(f"expected an ErrorMappingTable, got {type(table).__name__}")
    key = table_key(broker_name)
    if not key:
        raise ValueError("broker_name must not be empty")
    _load_builtin(key)
    with _lock:
        existing = _tables.get(key)
        if existing is not None and not replace and existing is not table and existing != table:
            raise ValueError(f"an error table for {key!r} is registered already; pass replace=True")
        _tables[key] = table


def unregister_error_table(broker_name: str) -> ErrorMappingTable | None:
    """Remove and return ``broker_name``'s table (``None`` if it had none); a built-in stays removed."""
    key = table_key(broker_name)
    _load_builtin(key)
    with _lock:
        return _tables.pop(key, None)


def get_error_table(broker_name: str) -> ErrorMappingTable | None:
    """The table registered for ``broker_name``, or ``None``."""
    key = table_key(broker_name)
    _load_builtin(key)
    with _lock:
        return _tables.get(key)


def registered_error_tables() -> dict[str, ErrorMappingTable]:
    """A snapshot of every registered table by broker name, sorted by name (built-ins are imported)."""
    for key in list(_not_loaded):
        _load_builtin(key)
    with _lock:
        return dict(sorted(_tables.items()))
