"""The one persistence layer: schema, migrations and connections.

SQLite in one file by default (zero set-up), through SQLAlchemy 2 Core with an async driver. Nothing
here or in callers may assume SQLite: tables use portable types, and the same schema can be pointed at
PostgreSQL by URL. The schema has a version; each later feature adds its tables as a new migration at the
end of :data:`MIGRATIONS` and never edits an applied one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson
import platformdirs
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from broker_integration.clock import utc_now
from broker_integration.log import get_logger

__all__ = ["MIGRATIONS", "Migration", "Store", "StoreError", "UtcDateTime", "default_store_url", "metadata"]

_log = get_logger("broker_integration.store")

STORE_URL_ENV = "BROKER_INTEGRATION_STORE_URL"

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime column. Stores UTC; hands back aware UTC datetimes even from
    databases that keep no zone (SQLite), so no caller has to guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only takes timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


schema_version_table = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", UtcDateTime(), nullable=False),
)

kv_table = Table(
    "kv_state",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

order_journal_table = Table(
    "order_journal",
    metadata,
    Column("broker_name", String(64), primary_key=True),
    Column("client_order_id", String(64), primary_key=True),
    Column("instrument", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("intent", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("broker_order_id", String(64)),
    Column("filled_quantity", String(40)),
    Column("average_fill_price", String(40)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    #: The broker's history marker taken just before sending (``BrokerAdapter.history_marker``).
    Column("history_marker", String(64)),
)


#: One row per applied configuration version (``broker_integration.config``). ``content`` is the
#: secret-masked document: secrets appear only as ``${VAR}`` references, ``ENC[...]`` ciphertext or a mask.
config_versions_table = Table(
    "config_versions",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("source", String(20), nullable=False),
    Column("detail", Text, nullable=False),
    Column("rollback_of", Integer),
    Column("environment", String(40), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("changes", Text, nullable=False),
    Column("origins", Text, nullable=False),
)

#: Performance metrics (``broker_integration.metrics``): one row per broker, operation, minute and writing
#: collector. ``bucket_start`` is Unix seconds (UTC); ``histogram`` is an encoded HdrHistogram of latency in
#: microseconds; ``counters`` is JSON (calls, failures by code, orders, fills, costs, health checks).
metrics_buckets_table = Table(
    "metrics_buckets",
    metadata,
    Column("broker_name", String(64), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("bucket_start", BigInteger, primary_key=True, autoincrement=False, index=True),
    Column("source", String(40), primary_key=True),
    Column("bucket_seconds", Integer, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("histogram", Text, nullable=False),
    Column("counters", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


#: A/B tests (``broker_integration.ab_testing``): one row per experiment. ``config`` is the experiment's
#: configuration as JSON; ``state`` is JSON analysis state (running minima of always-valid p-values).
ab_experiments_table = Table(
    "ab_experiments",
    metadata,
    Column("test_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("config", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("ended_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: One row per order attempt in an A/B test: the routing decision (written before the order is sent) and
#: its measured outcome (filled in when the broker answered). Attempt 0 is the randomised assignment;
#: later attempts are failovers. Money and quantities are decimal strings; statistics are floats.
ab_orders_table = Table(
    "ab_orders",
    metadata,
    Column("test_id", String(64), primary_key=True),
    Column("client_order_id", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("arm", String(64), nullable=False),
    Column("propensity", Float, nullable=False),
    Column("probabilities", Text, nullable=False),
    Column("explore", Boolean, nullable=False),
    Column("sticky_key", String(200)),
    Column("failover_from", String(64)),
    Column("assigned_at", UtcDateTime(), nullable=False, index=True),
    Column("status", String(20)),
    Column("success", Boolean),
    Column("sent", Boolean),
    Column("error_code", String(40)),
    Column("latency_ms", Float),
    Column("quote_latency_ms", Float),
    Column("requested_quantity", String(40)),
    Column("filled_quantity", String(40)),
    Column("average_fill_price", String(40)),
    Column("arrival_bid", String(40)),
    Column("arrival_ask", String(40)),
    Column("commission", String(40)),
    Column("slippage_bps", Float),
    Column("spread_cost_bps", Float),
    Column("commission_bps", Float),
    Column("completed_at", UtcDateTime()),
    # transaction cost analysis (migration 8; ``broker_integration.tca``)
    Column("arrival_mid", String(40)),
    Column("arrival_source", String(16)),
    Column("quote_home_rate", String(40)),
    Column("price_improvement_bps", Float),
    Column("price_improvement", String(40)),
    Column("execution_cost", String(40)),
    Column("end_mid", String(40)),
    Column("opportunity_cost", String(40)),
    Column("shortfall", String(40)),
    Column("shortfall_bps", Float),
)

#: The ``ab_orders`` columns migration 8 added.
AB_ORDERS_TCA_COLUMNS = (
    "arrival_mid",
    "arrival_source",
    "quote_home_rate",
    "price_improvement_bps",
    "price_improvement",
    "execution_cost",
    "end_mid",
    "opportunity_cost",
    "shortfall",
    "shortfall_bps",
)


#: Capability profiles (``broker_integration.capability_discovery``): the newest profile per broker and test
#: type, as JSON, with when it was discovered and when it stops being served from the cache.
capability_profiles_table = Table(
    "capability_profiles",
    metadata,
    Column("broker_name", String(64), primary_key=True),
    Column("test_type", String(16), primary_key=True),
    Column("adapter_class", String(200), nullable=False),
    Column("discovered_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("profile", Text, nullable=False),
)


class StoreError(RuntimeError):
    """The store cannot be opened or its schema is not one this version understands."""


@dataclass(frozen=True)
class Migration:
    """One schema step; ``upgrade`` runs inside the migration's transaction on a sync connection."""

    version: int
    description: str
    upgrade: Callable[[Connection], None]


def _create(*tables: Table) -> Callable[[Connection], None]:
    def upgrade(conn: Connection) -> None:
        metadata.create_all(conn, tables=list(tables))

    return upgrade


def _add_columns(table: Table, *names: str) -> Callable[[Connection], None]:
    """Add ``names`` to an existing ``table`` (a table created at a later step has them already)."""

    def upgrade(conn: Connection) -> None:
        present = {column["name"] for column in inspect(conn).get_columns(table.name)}
        for name in names:
            if name not in present:
                column = table.c[name]
                type_ = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {type_}'))

    return upgrade


#: Every schema step in order. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "key-value state", _create(kv_table)),
    Migration(2, "order journal", _create(order_journal_table)),
    Migration(3, "configuration versions", _create(config_versions_table)),
    Migration(4, "performance metrics buckets", _create(metrics_buckets_table)),
    Migration(5, "A/B tests: experiments and order outcomes", _create(ab_experiments_table, ab_orders_table)),
    Migration(6, "capability profiles", _create(capability_profiles_table)),
    Migration(7, "order journal: history marker", _add_columns(order_journal_table, "history_marker")),
    Migration(
        8,
        "A/B order outcomes: effective spread, price improvement, shortfall",
        _add_columns(ab_orders_table, *AB_ORDERS_TCA_COLUMNS),
    ),
)


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


class Store:
    """An open database with the current schema. Use ``async with Store(url) as store``.

    ``url`` is a SQLAlchemy async URL; ``None`` means :func:`default_store_url`.
    """

    def __init__(self, url: str | None = None) -> None:
        self._url = url or default_store_url()
        self._engine: AsyncEngine | None = None

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return make_url(self._url).render_as_string(hide_password=True)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreError("the store is not open: use 'async with Store(...)' or await store.open()")
        return self._engine

    @property
    def is_open(self) -> bool:
        return self._engine is not None

    async def open_unless_open(self) -> bool:
        """Open the store if it is not open yet; true when this call opened it, so the caller closes it
        too (a store handed over already open stays its owner's to close)."""
        if self.is_open:
            return False
        await self.open()
        return True

    @property
    def is_sqlite(self) -> bool:
        return make_url(self._url).get_backend_name() == "sqlite"

    async def open(self) -> Self:
        """Connect and bring the schema up to date; idempotent."""
        if self._engine is not None:
            return self
        url = make_url(self._url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            # SQLite has one writer at a time; one shared connection avoids lock contention and
            # "database is locked" errors under concurrent writers, at no cost in throughput.
            options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        engine = create_async_engine(self._url, **options)
        if url.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        self._engine = engine
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits on success and rolls back on error."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads."""
        async with self.engine.connect() as conn:
            yield conn

    async def schema_version(self) -> int:
        async with self.connect() as conn:
            return await conn.run_sync(_current_version)

    async def _migrate(self) -> None:
        latest = MIGRATIONS[-1].version
        async with self.begin() as conn:
            await conn.run_sync(lambda c: metadata.create_all(c, tables=[schema_version_table]))
            current = await conn.run_sync(_current_version)
            if current > latest:
                raise StoreError(
                    f"the store at {self.url} has schema version {current}, newer than this "
                    f"broker_integration understands ({latest}); upgrade the package"
                )
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                await conn.run_sync(migration.upgrade)
                await conn.execute(
                    schema_version_table.insert().values(
                        version=migration.version, description=migration.description, applied_at=utc_now()
                    )
                )
                _log.info(
                    "store %s migrated to schema version %d (%s)",
                    self.url,
                    migration.version,
                    migration.description,
                )

    # ---------------------------------------------------------------- key-value state

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``namespace``/``key``, replacing any previous one."""
        payload = orjson.dumps(value).decode()
        async with self.begin() as conn:
            await conn.execute(
                kv_table.delete().where(kv_table.c.namespace == namespace, kv_table.c.key == key)
            )
            await conn.execute(
                kv_table.insert().values(namespace=namespace, key=key, value=payload, updated_at=utc_now())
            )

    async def get_state(self, namespace: str, key: str, default: Any = None) -> Any:
        async with self.connect() as conn:
            row = (
                await conn.execute(
                    select(kv_table.c.value).where(kv_table.c.namespace == namespace, kv_table.c.key == key)
                )
            ).first()
        return default if row is None else orjson.loads(row[0])

    async def list_state(self, namespace: str) -> dict[str, Any]:
        async with self.connect() as conn:
            rows = await conn.execute(
                select(kv_table.c.key, kv_table.c.value).where(kv_table.c.namespace == namespace)
            )
            return {key: orjson.loads(value) for key, value in rows}

    def __repr__(self) -> str:
        state = "open" if self._engine is not None else "closed"
        return f"Store({self.url!r}, {state})"


def _current_version(conn: Connection) -> int:
    value = conn.execute(select(func.max(schema_version_table.c.version))).scalar()
    return int(value or 0)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
