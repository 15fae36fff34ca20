"""What several processes sharing a PostgreSQL store coordinate with: session advisory locks held on a
dedicated connection, and LISTEN/NOTIFY.

PostgreSQL documents both ("Advisory Locks", "NOTIFY"): a session-level advisory lock is held until it is
released or its session ends — so a process that dies, or whose connection breaks, frees what it held, and
the others can take it over. That makes a lock on a dedicated connection (outside the pool, in autocommit,
so no transaction stays open) both a liveness token and a leadership token. A notification is delivered only
at commit and never replayed, so a listener re-reads the table it is about rather than trusting the payload.
Connection poolers in transaction mode break both (pgbouncer #655): point the store at PostgreSQL itself.

Keys are pairs of 32-bit integers (``pg_try_advisory_lock(int4, int4)``): a *class* naming what is locked
(:data:`LIVENESS`, :data:`LEADERSHIP`) and a key within it.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from broker_integration.log import get_logger
from broker_integration.store.engine import PG_CONNECT_ARGS, Store, is_unavailable

__all__ = ["LEADERSHIP", "LIVENESS", "DedicatedConnection", "live_keys", "lock_key", "notify"]

_log = get_logger("broker_integration.store.coordination")

#: Lock class of journal instances that are alive (one lock per instance: its key).
LIVENESS = 0x62694C56  # "biLV"
#: Lock class of leaderships (one lock per thing led, e.g. a broker's reconciliation).
LEADERSHIP = 0x62694C44  # "biLD"


def lock_key(name: str) -> int:
    """A stable positive 31-bit key for ``name`` (CRC-32, so every process and host agrees)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


async def live_keys(conn: AsyncConnection, lock_class: int) -> set[int]:
    """Keys of ``lock_class`` some session of this database holds now (from ``pg_locks``)."""
    rows = await conn.execute(
        text(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid = CAST(:lock_class AS oid) "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"lock_class": lock_class},
    )
    return {int(row[0]) for row in rows}


async def notify(conn: AsyncConnection, channel: str, payload: str) -> None:
    """Queue a notification on ``channel``, delivered when ``conn``'s transaction commits."""
    await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload})


class DedicatedConnection:
    """One connection of ``store``'s database outside its pool, in autocommit, for session advisory locks
    and LISTEN. Locks taken here last until released, until :meth:`close`, or until the connection breaks:
    :meth:`check` says whether it still stands (and opens a new one if not: the locks are then gone)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._held: set[tuple[int, int]] = set()
        self._listeners: dict[str, Callable[[str], None]] = {}
        self._lock = asyncio.Lock()

    @property
    def held(self) -> frozenset[tuple[int, int]]:
        """The (class, key) locks this connection holds."""
        return frozenset(self._held)

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            self._store.on_close(self.close)
            if self._engine is None:
                self._engine = create_async_engine(
                    self._store.target,
                    poolclass=NullPool,
                    connect_args=PG_CONNECT_ARGS,
                )
            conn = await self._engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._held.clear()
            raw = await self._conn.get_raw_connection()
            for channel, callback in self._listeners.items():
                await _add_listener(raw.driver_connection, channel, callback)
        return self._conn

    async def check(self) -> bool:
        """True when the connection (and so every lock it held) still stands; otherwise drop it, so the next
        call connects afresh. False also when the database cannot be reached now."""
        async with self._lock:
            if self._conn is None:
                return False
            try:
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                await self._drop()
                return False

    async def try_lock(self, lock_class: int, key: int) -> bool:
        """Take the session lock (``lock_class``, ``key``) if free; true when this connection holds it
        (taking a lock it already holds is a no-op)."""
        async with self._lock:
            if (lock_class, key) in self._held:
                return True
            conn = await self._run_or_drop(self._connection)
            got = await self._run_or_drop(
                lambda: _scalar(conn, "SELECT pg_try_advisory_lock(:c, :k)", c=lock_class, k=key)
            )
            if got:
                self._held.add((lock_class, key))
            return bool(got)

    async def unlock(self, lock_class: int, key: int) -> None:
        async with self._lock:
            if (lock_class, key) not in self._held or self._conn is None:
                return
            self._held.discard((lock_class, key))
            conn = self._conn
            await self._run_or_drop(
                lambda: _scalar(conn, "SELECT pg_advisory_unlock(:c, :k)", c=lock_class, k=key)
            )

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(payload)`` on the event loop for each notification on ``channel`` (from now on,
        and again after a reconnection: notifications sent while disconnected are lost, so re-read)."""
        async with self._lock:
            self._listeners[channel] = callback
            conn = await self._run_or_drop(self._connection)
            raw = await conn.get_raw_connection()
            await _add_listener(raw.driver_connection, channel, callback)

    async def _run_or_drop(self, call: Callable[[], Any]) -> Any:
        try:
            return await call()
        except Exception as exc:
            if is_unavailable(exc):
                await self._drop()
            raise

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception as exc:  # a broken connection may fail to close: it is gone either way
                _log.debug("closing a broken dedicated connection: %s", type(exc).__name__)

    async def close(self) -> None:
        """Close the connection (releasing its locks) and its engine."""
        async with self._lock:
            conn, self._conn = self._conn, None
            self._held.clear()
            if conn is not None:
                try:
                    await conn.close()
                except Exception as exc:
                    _log.debug("closing the dedicated connection: %s", type(exc).__name__)
            engine, self._engine = self._engine, None
            if engine is not None:
                await engine.dispose()


async def _scalar(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).scalar()


async def _add_listener(driver_connection: Any, channel: str, callback: Callable[[str], None]) -> None:
    """asyncpg's ``add_listener``: its callback gets (connection, pid, channel, payload)."""
    await driver_connection.add_listener(channel, lambda _conn, _pid, _channel, payload: callback(payload))
