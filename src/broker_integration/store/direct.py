"""The statements sent with every order, on PostgreSQL run on asyncpg's own connections.

SQLAlchemy's path costs the client a few hundred microseconds of CPU per statement beyond the driver's own
(its pool checkout and return, the greenlet hand-over, the compiled-statement cache lookup, the result
wrapping): more than the statement costs the server. On a machine whose cores the client processes share
with the server, that CPU is what bounds journaled orders per second. So the few statements on the order
path (the journal's intent and outcome, a shared rate limit's take) are written once as SQLAlchemy Core,
compiled once here for asyncpg, prepared by asyncpg once per connection, and each sent in autocommit: one
round trip, the statement its own transaction, committed before its answer arrives.

Two small asyncpg pools, opened from the store's URL with the same connection arguments as its engine:
*flushed* (each commit waits for the write-ahead log to reach the disk, as every commit of the store does)
and *unflushed* (connections with ``synchronous_commit`` off, PostgreSQL's "Asynchronous Commit": a commit
is atomic and at once visible to every session, but a server crash may forget the last few hundred
milliseconds of such commits; only for what may be forgotten, such as a rate limit's bucket).

A connection is handed back as it is (no reset round trip): these statements change no session state, and
asyncpg rolls back a transaction left open. Errors come out as the store's: :class:`StoreUnavailableError`
when the server cannot be reached or the connection broke (the statement may have committed), else
:class:`StatementError` (the statement was refused).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from broker_integration.log import get_logger
from broker_integration.store.errors import StatementError, StoreError, StoreUnavailableError, is_unavailable

__all__ = ["DirectPools", "StatementResult"]

_log = get_logger("broker_integration.store.direct")

#: Connections each pool may open (on demand) and how long one may stay idle before it is closed.
_POOL_SIZE = 10
_IDLE_SECONDS = 60.0
_ACQUIRE_TIMEOUT_S = 30.0
_CLOSE_TIMEOUT_S = 5.0
#: SQLAlchemy's own connection options in a URL's query, which asyncpg does not take.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


@dataclass(frozen=True)
class StatementResult:
    """What a statement run by :meth:`~broker_integration.store.Store.run` did: the rows it changed (or
    returned) and the rows of its ``RETURNING`` clause, as plain tuples of the driver's values."""

    rowcount: int
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class _Compiled:
    statement: UpdateBase  # held so that its id, the cache key, stays its own
    compiled: SQLCompiler
    sql: str
    #: Per positional parameter: its name and the function turning a Python value into the driver's.
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    returns_rows: bool


async def _keep(_connection: Any) -> None:
    """A pool's reset: nothing to reset (see the module's notes)."""


class DirectPools:
    """The flushed and unflushed asyncpg pools of one PostgreSQL store, and its compiled statements."""

    def __init__(
        self,
        target: URL,
        dialect: Dialect,
        connect_args: Mapping[str, Any],
        unavailable: Callable[[BaseException, str], StoreUnavailableError],
    ) -> None:
        self._target = target
        self._dialect = dialect
        self._connect_args = dict(connect_args)
        self._unavailable = unavailable
        self._pools: dict[bool, Any] = {}  # unflushed? -> asyncpg.Pool
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}

    async def open(self) -> None:
        """Make both pools (no connection is opened until a statement needs one)."""
        import asyncpg

        _, options = self._dialect.create_connect_args(self._target)
        for name in _SQLALCHEMY_ONLY:
            options.pop(name, None)
        settings = dict(self._connect_args.get("server_settings", {}))
        for unflushed in (False, True):
            server_settings = {**settings, "synchronous_commit": "off"} if unflushed else settings
            pool = asyncpg.create_pool(
                **options,
                **{**self._connect_args, "server_settings": server_settings},
                min_size=0,
                max_size=_POOL_SIZE,
                max_inactive_connection_lifetime=_IDLE_SECONDS,
                reset=_keep,
            )
            self._pools[unflushed] = await pool

    async def close(self) -> None:
        """Close both pools; a connection still busy after a few seconds is cut."""
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            try:
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await pool.close()
            except (TimeoutError, OSError) as exc:
                _log.debug("closing a direct pool: %s; terminating it", type(exc).__name__)
                pool.terminate()

    def _compile(self, statement: UpdateBase, params: Mapping[str, Any]) -> _Compiled:
        key = (id(statement), *params)
        found = self._compiled.get(key)
        if found is not None:
            return found
        compiled = statement.compile(dialect=self._dialect, column_keys=list(params))
        assert isinstance(compiled, SQLCompiler)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError(
                "a statement run directly must be given every column's value (no Python defaults)"
            )
        names = compiled.positiontup or []
        made = _Compiled(
            statement=statement,
            compiled=compiled,
            sql=compiled.string,
            binds=tuple((name, compiled.binds[name].type.bind_processor(self._dialect)) for name in names),
            # the statement's own RETURNING list: its memoised column collections (and the compiler's view of
            # them) may be copies of the statement it was derived from
            returns_rows=bool(statement._returning),
        )
        self._compiled[key] = made
        return made

    async def run(
        self, statement: UpdateBase, params: Mapping[str, Any], *, unflushed: bool = False
    ) -> StatementResult:
        """Run ``statement`` with ``params`` in autocommit on a pooled connection."""
        if not self._pools:
            raise StoreError("the store is not open: use 'async with Store(...)' or await store.open()")
        made = self._compile(statement, params)
        values = made.compiled.construct_params(params)
        args = [values[name] if process is None else process(values[name]) for name, process in made.binds]
        try:
            async with self._pools[unflushed].acquire(timeout=_ACQUIRE_TIMEOUT_S) as conn:
                if made.returns_rows:
                    records = await conn.fetch(made.sql, *args)
                    return StatementResult(len(records), [tuple(r) for r in records])
                status = await conn.execute(made.sql, *args)
        except Exception as exc:
            raise self._error(exc) from exc
        return StatementResult(_rowcount(status), [])

    def _error(self, exc: Exception) -> StoreError:
        if is_unavailable(exc):
            return self._unavailable(exc, "the statement could not be run")
        reason = (str(exc).splitlines() or [""])[0].strip() or type(exc).__name__
        return StatementError(f"the database refused a statement: {reason}")


def _rowcount(status: str) -> int:
    """The row count of a command tag such as ``INSERT 0 1`` or ``UPDATE 3`` (0 when it has none)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
