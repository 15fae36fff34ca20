"""The statements sent with every order, on PostgreSQL run on asyncpg's own connections.

SQLAlchemy's path costs the client a few hundred microseconds of CPU per statement beyond the driver's own
(its pool checkout and return, the greenlet hand-over, the compiled-statement cache lookup, the result
wrapping): more than the statement costs the server. On a machine whose cores the client processes share
with the server, that CPU is what bounds journaled orders per second. So the few statements on the order
path (the journal's intent and outcome, a shared rate limit's take) are written once as SQLAlchemy Core,
compiled once here for asyncpg, prepared by asyncpg once per connection, and each sent in autocommit: one
round trip, the statement its own transaction, committed before its answer arrives.

Two small sets of asyncpg connections, opened from the store's URL with the same connection arguments as
its engine: *flushed* (each commit waits for the write-ahead log to reach the disk, as every commit of the
store does) and *unflushed* (connections with ``synchronous_commit`` off, PostgreSQL's "Asynchronous
Commit": a commit is atomic and at once visible to every session, but a server crash may forget the last
few hundred milliseconds of such commits; only for what may be forgotten, such as a rate limit's bucket).

The connections are kept by :class:`_Connections`, not by asyncpg's pool: its acquire and release (a
proxy object, a timer re-armed per release, timeout scopes) measured about 80 us of CPU per statement here,
as much as the statement itself. A connection goes back idle as it is (these statements change no session
state); one whose statement did not end with the server's answer (cancelled, connection lost) is closed,
never reused. Errors come out as the store's: :class:`StoreUnavailableError` when the server cannot be
reached or the connection broke (the statement may have committed), else :class:`StatementError` (the
statement was refused).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from broker_integration.log import get_logger
from broker_integration.store.errors import StatementError, StoreError, StoreUnavailableError, is_unavailable

__all__ = ["DirectPools", "StatementResult"]

_log = get_logger("broker_integration.store.direct")

#: Connections each set may open (on demand, kept open once made), and how long a statement may wait for one.
_POOL_SIZE = 10
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


class _Connections:
    """Up to ``size`` connections made by ``connect`` on demand; idle ones are handed out last-in first-out
    (the warmest first), and a caller finding all busy waits for one to come back (a bounded wait)."""

    def __init__(self, connect: Callable[[], Awaitable[Any]], size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: list[Any] = []  # asyncpg.Connection
        self._open = 0  # connections open or being opened
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def acquire(self) -> Any:
        while True:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._open -= 1  # closed while idle (the server went away): forget it
            if self._open < self._size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            ready = asyncio.get_running_loop().create_future()
            self._waiting.append(ready)
            try:
                async with asyncio.timeout(_ACQUIRE_TIMEOUT_S):
                    await ready
            except BaseException:
                if ready in self._waiting:
                    self._waiting.remove(ready)
                elif ready.done() and not ready.cancelled():
                    self._wake()  # woken but leaving (timed out, cancelled): pass the turn on
                raise

    def release(self, conn: Any, *, reusable: bool) -> None:
        """Take ``conn`` back: idle again if ``reusable`` and still open, else closed for good."""
        if reusable and not conn.is_closed() and not self._closed:
            self._idle.append(conn)
        else:
            self._open -= 1
            if not conn.is_closed():
                conn.terminate()
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            ready = self._waiting.popleft()
            if not ready.done():
                ready.set_result(None)
                return

    async def close(self) -> None:
        """Close the idle connections; one still busy is closed when it comes back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            try:
                await conn.close(timeout=_CLOSE_TIMEOUT_S)
            except Exception as exc:  # a connection that cannot close politely is cut
                _log.debug("closing a direct connection: %s", type(exc).__name__)
                conn.terminate()


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
        self._pools: dict[bool, _Connections] = {}  # unflushed? -> its connections
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        self._server_error: type[Exception] = Exception  # asyncpg's PostgresError once open

    async def open(self) -> None:
        """Make both sets of connections (none is opened until a statement needs one)."""
        import asyncpg

        _, options = self._dialect.create_connect_args(self._target)
        for name in _SQLALCHEMY_ONLY:
            options.pop(name, None)
        settings = dict(self._connect_args.get("server_settings", {}))
        for unflushed in (False, True):
            server_settings = {**settings, "synchronous_commit": "off"} if unflushed else settings
            connect = functools.partial(
                asyncpg.connect, **options, **{**self._connect_args, "server_settings": server_settings}
            )
            self._pools[unflushed] = _Connections(connect, _POOL_SIZE)
        self._server_error = asyncpg.PostgresError

    async def close(self) -> None:
        """Close both sets of connections."""
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            await pool.close()

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
        pool = self._pools[unflushed]
        try:
            conn = await pool.acquire()
        except Exception as exc:
            raise self._error(exc) from exc
        answered = False  # whether the server answered (the connection is in step and can be reused)
        try:
            if made.returns_rows:
                records = await conn.fetch(made.sql, *args)
                answered = True
                return StatementResult(len(records), [tuple(r) for r in records])
            status = await conn.execute(made.sql, *args)
            answered = True
        except Exception as exc:
            # an error the server answered with (a statement refused) leaves the connection in step
            answered = isinstance(exc, self._server_error) and not is_unavailable(exc)
            raise self._error(exc) from exc
        finally:
            pool.release(conn, reusable=answered)
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
