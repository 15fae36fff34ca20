"""The error mapping tables that ship with the library, one module per broker, as data.

:mod:`broker_integration.unified_errors` registers :data:`BUILTIN_ERROR_TABLES` the first time a table is
looked up; an adapter may also import its table from here and register it explicitly (a no-op when it
is the same table). To extend a table, build a new :class:`~broker_integration.unified_errors.ErrorMappingTable`
(``dataclasses.replace`` works) and register it with ``replace=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from broker_integration.error_tables.alpaca import ALPACA_ERROR_TABLE
from broker_integration.error_tables.http import HTTP_ERROR_TABLE
from broker_integration.error_tables.oanda import OANDA_ERROR_TABLE
from broker_integration.unified_errors import GENERIC_TABLE_NAME, ErrorMappingTable

__all__ = ["ALPACA_ERROR_TABLE", "BUILTIN_ERROR_TABLES", "HTTP_ERROR_TABLE", "OANDA_ERROR_TABLE"]

#: Every shipped table by the broker name it is registered under.
BUILTIN_ERROR_TABLES: Mapping[str, ErrorMappingTable] = MappingProxyType(
    {
        GENERIC_TABLE_NAME: HTTP_ERROR_TABLE,
        "oanda": OANDA_ERROR_TABLE,
        "alpaca": ALPACA_ERROR_TABLE,
    }
)
