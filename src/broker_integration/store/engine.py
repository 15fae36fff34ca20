"""``Store``: an open database with the newest schema, on SQLite (one file, the default) or PostgreSQL.

Everything is written as SQLAlchemy 2 Core with an async driver, so callers write one SQL for both engines.
The few statements that differ by engine live here: insert-if-absent and upsert (``INSERT … ON CONFLICT``,
which both engines have). The statements sent with every order go through :meth:`Store.run`, which on
PostgreSQL runs them on asyncpg's own connections (:mod:`broker_integration.store.direct`: a fraction of
SQLAlchemy's CPU per statement) and on SQLite on the engine's connection. PostgreSQL is what several
processes or hosts share: unique intents, advisory-lock leadership, shared rate limits and LISTEN/NOTIFY
(:mod:`broker_integration.store.coordination`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson
from sqlalchemy import Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import UpdateBase

from broker_integration.clock import utc_now
from broker_integration.log import get_logger
from broker_integration.store import migrate
from broker_integration.store.direct import DirectPools, StatementResult
from broker_integration.store.errors import StoreError, StoreUnavailableError, StoreUrlError, is_unavailable
from broker_integration.store.schema import kv_table
from broker_integration.store.urls import default_store_url, masked, normalise

__all__ = ["Store", "is_unavailable"]

_log = get_logger("broker_integration.store")

#: Connections a PostgreSQL store keeps, and how many more it may open under load.
_PG_POOL = {"pool_size": 10, "max_overflow": 20, "pool_timeout": 30}
#: asyncpg's connection arguments for every connection a PostgreSQL store opens.
PG_CONNECT_ARGS: dict[str, Any] = {
    "timeout": 10.0,
    "server_settings": {"application_name": "broker_integration"},
}


class Store:
    """An open database with the current schema. Use ``async with Store(url) as store``.

    ``url`` is a database URL (see :mod:`broker_integration.store.urls`); ``None`` means
    :func:`~broker_integration.store.urls.default_store_url`.
    """

    def __init__(self, url: str | None = None) -> None:
        self._url = url or default_store_url()
        self._target: URL | None = None
        self._engine: AsyncEngine | None = None
        self._direct: DirectPools | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._if_absent: dict[str, Any] = {}

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return masked(self._url)

    @property
    def target(self) -> URL:
        """The URL the store opens (normalised to its async driver); :class:`StoreUrlError` if unusable."""
        if self._target is None:
            self._target = normalise(self._url)
        return self._target

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
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.target.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        """Whether several processes or hosts can share this store's journal, limits and leadership."""
        return self.backend == "postgresql"

    async def open(self) -> Self:
        """Connect and bring the schema up to date; idempotent. :class:`StoreError` in one line when the
        URL, the server or the schema is wrong."""
        if self._engine is not None:
            return self
        url = self.target
        self._engine = self._create_engine(url)
        try:
            async with self._engine.begin() as conn:
                applied = await conn.run_sync(migrate.upgrade, self.url)
        except BaseException as exc:
            await self.close()
            if is_unavailable(exc) or isinstance(exc, DBAPIError):
                raise self.unavailable(exc, "cannot open the store") from None
            raise
        for revision in applied:
            _log.info("store %s migrated to schema revision %s", self.url, revision)
        if self.is_postgresql:
            self._direct = DirectPools(url, self._engine.dialect, PG_CONNECT_ARGS, self.unavailable)
            await self._direct.open()
        return self

    def _create_engine(self, url: URL) -> AsyncEngine:
        options: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            if url.database not in (None, "", ":memory:"):
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLite has one writer at a time; one shared connection avoids lock contention and
            # "database is locked" errors under concurrent writers, at no cost in throughput.
            options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        else:
            options = {**_PG_POOL, "connect_args": PG_CONNECT_ARGS}
        try:
            engine = create_async_engine(url, **options)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise StoreUrlError(
                f"the store at {self.url} needs the {url.get_driver_name()} driver, which is not installed "
                f"({exc}); install it with: pip install 'broker-integration[postgres]'"
            ) from None
        if url.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine

    def unavailable(self, exc: BaseException, doing: str) -> StoreUnavailableError:
        """A one-line error for ``exc`` met while ``doing``: the URL with its password hidden and the
        driver's first line (never the password, even if a driver echoed it)."""
        original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = (str(original).splitlines() or [""])[0].strip() or type(original).__name__
        password = self.target.password if self._parses() else None
        if password:
            reason = reason.replace(str(password), "***")
        return StoreUnavailableError(f"{doing} at {self.url}: {reason}")

    def _parses(self) -> bool:
        try:
            normalise(self._url)
        except StoreUrlError:
            return False
        return True

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Call ``closer`` when the store closes, before its connections go (what holds a connection of its
        own, such as a dedicated connection for advisory locks, closes with the store)."""
        if closer not in self._closers:
            self._closers.append(closer)

    async def close(self) -> None:
        closers, self._closers = self._closers, []
        for closer in closers:
            try:
                await closer()
            except Exception as exc:  # closing goes on: what failed to close is gone with the process
                _log.warning("store %s: closing %r failed: %s", self.url, closer, type(exc).__name__)
        if self._direct is not None:
            direct, self._direct = self._direct, None
            await direct.close()
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

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which each statement commits by itself: one round trip for a statement that is
        atomic on its own (an insert-if-absent, a conditional update), instead of three with BEGIN and
        COMMIT."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def run(
        self, statement: UpdateBase, params: Mapping[str, Any], *, unflushed: bool = False
    ) -> StatementResult:
        """Run one statement that is atomic on its own (an insert-if-absent, a conditional update) as its
        own transaction, committed when this returns: one round trip. For the statements sent with every
        order; build ``statement`` once (bound parameters by name in ``params``) and run it many times.

        ``unflushed``: the commit may be forgotten by a server crash but never half-done (a rate limit's
        bucket; never an order journal's): on PostgreSQL it does not wait for the write-ahead log to reach
        the disk (``synchronous_commit`` off, PostgreSQL's "Asynchronous Commit"; still atomic and at once
        visible to every process). On SQLite every commit is flushed.
        """
        if self._direct is not None:
            return await self._direct.run(statement, params, unflushed=unflushed)
        async with self.autocommit() as conn:
            result = await conn.execute(statement, dict(params))
            if result.returns_rows:
                rows = [tuple(row) for row in result]
                return StatementResult(len(rows), rows)
            return StatementResult(result.rowcount, [])

    async def schema_version(self) -> str | None:
        """The Alembic revision the database is at."""
        async with self.connect() as conn:
            return await conn.run_sync(migrate.current_revision)

    # ---------------------------------------------------------------- statements that differ by engine

    def insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """The engine's own INSERT for ``table``, which has ``on_conflict_do_nothing``/``…_do_update``."""
        return (sqlite.insert if self.is_sqlite else postgresql.insert)(table)

    async def insert_if_absent(self, conn: AsyncConnection, table: Table, values: Mapping[str, Any]) -> bool:
        """Insert ``values`` unless a row with the same primary key exists; true when this call inserted.

        One statement (``ON CONFLICT DO NOTHING``): of processes inserting the same key at once, exactly one
        inserts and none fails.
        """
        result = await conn.execute(self.if_absent(table), dict(values))
        return bool(result.rowcount)

    def if_absent(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """``table``'s insert-if-absent (``ON CONFLICT DO NOTHING`` on its primary key), built once: values
        are bound per call (the hot path of every journaled order, through :meth:`run` too)."""
        statement = self._if_absent.get(table.name)
        if statement is None:
            keys = [c.name for c in table.primary_key.columns]
            statement = self._if_absent[table.name] = self.insert(table).on_conflict_do_nothing(
                index_elements=keys
            )
        return statement

    async def upsert(
        self, conn: AsyncConnection, table: Table, values: Mapping[str, Any], *, update: Mapping[str, Any]
    ) -> None:
        """Insert ``values``, or set ``update`` on the row with the same primary key, in one statement."""
        keys = [c.name for c in table.primary_key.columns]
        await conn.execute(
            self.insert(table).values(**values).on_conflict_do_update(index_elements=keys, set_=dict(update))
        )

    # ---------------------------------------------------------------- key-value state

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``namespace``/``key``, replacing any previous one."""
        payload, now = orjson.dumps(value).decode(), utc_now()
        async with self.begin() as conn:
            await self.upsert(
                conn,
                kv_table,
                {"namespace": namespace, "key": key, "value": payload, "updated_at": now},
                update={"value": payload, "updated_at": now},
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
