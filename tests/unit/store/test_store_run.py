"""``Store.run``: the statements sent with every order, each its own transaction (on PostgreSQL on asyncpg's
own connections), on both engines; flushed commits unless asked otherwise; errors as the store's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from broker_integration.store import (
    StatementError,
    Store,
    StoreError,
    StoreUnavailableError,
    is_unavailable,
    kv_table,
)
from store_engines import server_admin

_t = kv_table
_SET_VALUE = (
    update(_t)
    .where(_t.c.namespace == bindparam("ns"), _t.c.key == bindparam("k"))
    .values(value=bindparam("v"))
)
_SET_VALUE_RETURNING = _SET_VALUE.returning(_t.c.key, _t.c.value)


def _row(key: str, value: str = "1") -> dict[str, object]:
    return {"namespace": "n", "key": key, "value": value, "updated_at": datetime.now(UTC)}


async def test_an_insert_if_absent_inserts_once_and_commits_on_its_own(store: Store, store_url: str) -> None:
    assert (await store.run(store.if_absent(_t), _row("a"))).rowcount == 1
    assert (await store.run(store.if_absent(_t), _row("a", "2"))).rowcount == 0
    async with Store(store_url) as other:  # another session sees it: committed, not left in a transaction
        assert await other.get_state("n", "a") == 1


async def test_an_update_counts_its_rows_and_returns_what_it_is_asked_for(store: Store) -> None:
    for key in ("a", "b"):
        await store.run(store.if_absent(_t), _row(key))
    assert (await store.run(_SET_VALUE, {"ns": "n", "k": "a", "v": "5"})).rowcount == 1
    assert (await store.run(_SET_VALUE, {"ns": "n", "k": "missing", "v": "5"})).rowcount == 0
    returned = await store.run(_SET_VALUE_RETURNING, {"ns": "n", "k": "b", "v": "7"}, unflushed=True)
    assert (returned.rowcount, returned.rows) == (1, [("b", "7")])
    assert await store.list_state("n") == {"a": 5, "b": 7}


async def test_a_value_of_a_typed_column_goes_through_its_type(store: Store) -> None:
    """The store's UTC column refuses a naive time on the direct path as on SQLAlchemy's."""
    with pytest.raises(Exception, match="timezone-aware"):
        await store.run(store.if_absent(_t), {**_row("a"), "updated_at": datetime(2024, 1, 1)})
    await store.run(store.if_absent(_t), _row("a"))
    async with store.connect() as conn:
        stored = (await conn.execute(select(_t.c.updated_at))).scalar_one()
    assert stored.tzinfo is UTC


async def test_only_an_unflushed_statement_skips_waiting_for_the_disk(pg_database: str) -> None:
    """The journal's writes wait for the write-ahead log (``synchronous_commit`` as the database has it, on
    here); a rate limit's bucket does not (off for its statements alone)."""
    database = make_url(pg_database).database or ""
    server_admin(f"ALTER DATABASE {database} SET synchronous_commit = on")  # the test server's is off
    try:
        setting = (
            update(_t)
            .where(_t.c.namespace == bindparam("ns"), _t.c.key == bindparam("k"))
            .values(value=bindparam("v"))
            .returning(func.current_setting("synchronous_commit"))
        )
        async with Store(pg_database) as store:
            await store.run(store.if_absent(_t), _row("a"))
            flushed = await store.run(setting, {"ns": "n", "k": "a", "v": "2"})
            unflushed = await store.run(setting, {"ns": "n", "k": "a", "v": "3"}, unflushed=True)
            again = await store.run(setting, {"ns": "n", "k": "a", "v": "4"})
    finally:
        server_admin(f"ALTER DATABASE {database} RESET synchronous_commit")
    assert (flushed.rows, unflushed.rows, again.rows) == ([("on",)], [("off",)], [("on",)])


async def test_a_refused_statement_is_a_statement_error_in_one_line(pg_database: str) -> None:
    plain_insert = postgresql.insert(_t)
    async with Store(pg_database) as store:
        await store.run(plain_insert, _row("a"))
        with pytest.raises(StatementError) as caught:
            await store.run(plain_insert, _row("a"))
    message = str(caught.value)
    assert "duplicate key value violates unique constraint" in message
    assert "\n" not in message
    assert not is_unavailable(caught.value)


async def test_a_broken_connection_is_unavailable_and_the_next_statement_reconnects(
    pg_database: str,
) -> None:
    async with Store(pg_database) as store:
        await store.run(store.if_absent(_t), _row("a"))
        server_admin(  # the server ends every session of the database: the pooled connection is gone
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            database=make_url(pg_database).database or "",
        )
        error: StoreUnavailableError | None = None
        try:
            await store.run(_SET_VALUE, {"ns": "n", "k": "a", "v": "2"})
        except StoreUnavailableError as exc:  # unless asyncpg saw the connection close before it was used
            error = exc
        assert (await store.run(_SET_VALUE, {"ns": "n", "k": "a", "v": "3"})).rowcount == 1
    if error is not None:
        assert is_unavailable(error)
        assert str(make_url(pg_database).password) not in str(error)
    async with Store(pg_database) as store:
        assert await store.get_state("n", "a") == 3


async def test_a_closed_store_runs_nothing(store_url: str) -> None:
    store = Store(store_url)
    with pytest.raises(StoreError, match="not open"):
        await store.run(_SET_VALUE, {"ns": "n", "k": "a", "v": "2"})


async def test_many_statements_at_once_share_a_bounded_set_of_connections(pg_database: str) -> None:
    """More statements at once than connections: the rest wait for one to come back, and all run."""
    from broker_integration.store import direct

    slow = (
        update(_t)
        .where(_t.c.namespace == bindparam("ns"), _t.c.key == bindparam("k"))
        .values(value=bindparam("v"))
        .returning(func.pg_backend_pid(), func.pg_sleep(0.02))
    )
    async with Store(pg_database) as store:
        await store.run(store.if_absent(_t), _row("a"))
        results = await asyncio.gather(
            *(store.run(slow, {"ns": "n", "k": "a", "v": str(i)}) for i in range(3 * direct._POOL_SIZE))
        )
    assert all(result.rowcount == 1 for result in results)
    sessions = {result.rows[0][0] for result in results}
    assert 1 < len(sessions) <= direct._POOL_SIZE
