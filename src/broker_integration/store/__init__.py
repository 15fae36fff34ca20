"""The one persistence layer: the schema, its migrations and connections, on SQLite or PostgreSQL.

SQLite in one file by default (zero set-up); PostgreSQL by URL (``$BROKER_INTEGRATION_STORE_URL``, a
``--store`` option, or ``Store(url)``) when several processes or hosts share brokers. One schema for both,
migrated by Alembic when a store opens (:mod:`~broker_integration.store.migrate`).

* :mod:`~broker_integration.store.schema`: the tables;
* :mod:`~broker_integration.store.engine`: :class:`Store`;
* :mod:`~broker_integration.store.direct`: the statements sent with every order, on asyncpg's own
  connections on PostgreSQL (:meth:`Store.run`);
* :mod:`~broker_integration.store.urls`: the default URL and what a user may write;
* :mod:`~broker_integration.store.coordination`: what only PostgreSQL offers several processes
  (session advisory locks on a dedicated connection, LISTEN/NOTIFY).
"""

from broker_integration.store.direct import StatementResult
from broker_integration.store.engine import Store, is_unavailable
from broker_integration.store.errors import (
    SchemaError,
    StatementError,
    StoreError,
    StoreUnavailableError,
    StoreUrlError,
)
from broker_integration.store.migrate import MIGRATIONS, Migration
from broker_integration.store.schema import (
    AB_ORDERS_TCA_COLUMNS,
    UtcDateTime,
    ab_experiments_table,
    ab_orders_table,
    capability_profiles_table,
    config_versions_table,
    kv_table,
    metadata,
    metrics_buckets_table,
    order_journal_table,
    rate_limits_table,
)
from broker_integration.store.urls import STORE_URL_ENV, default_store_url, sqlite_url

__all__ = [
    "AB_ORDERS_TCA_COLUMNS",
    "MIGRATIONS",
    "STORE_URL_ENV",
    "Migration",
    "SchemaError",
    "StatementError",
    "StatementResult",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoreUrlError",
    "UtcDateTime",
    "ab_experiments_table",
    "ab_orders_table",
    "capability_profiles_table",
    "config_versions_table",
    "default_store_url",
    "is_unavailable",
    "kv_table",
    "metadata",
    "metrics_buckets_table",
    "order_journal_table",
    "rate_limits_table",
    "sqlite_url",
]
