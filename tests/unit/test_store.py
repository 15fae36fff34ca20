from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, Table

from broker_integration import store as store_module
from broker_integration.store import MIGRATIONS, Migration, Store, StoreError, default_store_url, sqlite_url


async def test_default_url_follows_environment(tmp_path: Path) -> None:
    assert default_store_url() == f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"


async def test_open_creates_file_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "db.sqlite3"
    async with Store(sqlite_url(path)) as store:
        assert await store.schema_version() == MIGRATIONS[-1].version
    assert path.exists()
    tables = {
        row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master where type='table'")
    }
    assert {"schema_version", "kv_state"} <= tables


async def test_state_survives_reopen(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "s.sqlite3")
    async with Store(url) as store:
        await store.put_state("ns", "a", {"x": [1, 2]})
        await store.put_state("ns", "a", {"x": [3]})
        await store.put_state("ns", "b", 5)
    async with Store(url) as store:
        assert await store.get_state("ns", "a") == {"x": [3]}
        assert await store.list_state("ns") == {"a": {"x": [3]}, "b": 5}
        assert await store.get_state("ns", "missing", "dflt") == "dflt"


async def test_migrations_apply_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_url(tmp_path / "m.sqlite3")
    async with Store(url):
        pass
    applied: list[int] = []
    extra = Table("extra_thing", store_module.metadata, Column("id", Integer, primary_key=True))

    def upgrade(conn: object) -> None:
        applied.append(2)
        store_module.metadata.create_all(conn, tables=[extra])  # type: ignore[arg-type]

    monkeypatch.setattr(
        store_module, "MIGRATIONS", (*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "extra", upgrade))
    )
    async with Store(url) as store:
        assert await store.schema_version() == len(MIGRATIONS) + 1
    async with Store(url):
        pass
    assert applied == [2]
    store_module.metadata.remove(extra)


async def test_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    async with Store(sqlite_url(path)):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("insert into schema_version values (999, 'from the future', '2030-01-01 00:00:00')")
    with pytest.raises(StoreError, match="schema version 999"):
        await Store(sqlite_url(path)).open()


async def test_engine_before_open_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="not open"):
        _ = Store("sqlite+aiosqlite:///:memory:").engine


def test_repr_hides_password() -> None:
    store = Store("postgresql+asyncpg://user:hunter2@db.example/trading")
    assert "hunter2" not in repr(store)
    assert "hunter2" not in store.url


async def test_times_come_back_timezone_aware_and_naive_ones_are_refused(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import select

    from broker_integration.store import kv_table

    async with Store(sqlite_url(tmp_path / "t.sqlite3")) as store:
        eastern = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
        async with store.begin() as conn:
            await conn.execute(
                kv_table.insert().values(namespace="n", key="k", value="1", updated_at=eastern)
            )
        async with store.connect() as conn:
            stored = (await conn.execute(select(kv_table.c.updated_at))).scalar_one()
        assert stored == datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
        assert stored.tzinfo is UTC
        with pytest.raises(Exception, match="timezone-aware"):
            async with store.begin() as conn:
                await conn.execute(
                    kv_table.insert().values(
                        namespace="n", key="naive", value="1", updated_at=datetime(2024, 1, 1)
                    )
                )
