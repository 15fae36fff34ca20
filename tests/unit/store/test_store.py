"""The store on both engines: schema by Alembic at open, a release-0.1 SQLite file migrated, statements that
differ by engine, and one clear line for a URL or server that cannot be used."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from broker_integration.journal import OrderJournal
from broker_integration.models import OrderStatus
from broker_integration.store import (
    MIGRATIONS,
    SchemaError,
    Store,
    StoreError,
    StoreUnavailableError,
    StoreUrlError,
    default_store_url,
    is_unavailable,
    kv_table,
    metadata,
    sqlite_url,
)
from broker_integration.store import migrate as store_migrate
from store_engines import NO_SERVER, PG_SERVER, database_url, server_admin

RELEASE_0_1 = Path(__file__).with_name("release_0_1.sql")
HEAD = MIGRATIONS[-1].revision


def release_0_1_file(path: Path) -> Path:
    """A SQLite file as release 0.1 left it (hand-kept schema version 8, one journal entry in flight)."""
    with sqlite3.connect(path) as conn:
        conn.executescript(RELEASE_0_1.read_text())
    return path


async def test_default_url_follows_environment(tmp_path: Path) -> None:
    assert default_store_url() == f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"


async def test_open_creates_the_file_and_the_newest_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "db.sqlite3"
    async with Store(sqlite_url(path)) as store:
        assert await store.schema_version() == HEAD
    tables = {
        row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master where type='table'")
    }
    assert {"alembic_version", "kv_state", "order_journal", "rate_limits"} <= tables
    assert "schema_version" not in tables


def test_the_revision_files_are_alembics_chain() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(store_migrate.MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    chain = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert chain == [m.revision for m in MIGRATIONS]
    assert scripts.get_current_head() == HEAD


async def test_the_migrated_schema_is_the_declared_one(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def differences(conn: object) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with store.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_state_survives_reopen(store_url: str) -> None:
    async with Store(store_url) as store:
        await store.put_state("ns", "a", {"x": [1, 2]})
        await store.put_state("ns", "a", {"x": [3]})
        await store.put_state("ns", "b", 5)
    async with Store(store_url) as store:
        assert await store.get_state("ns", "a") == {"x": [3]}
        assert await store.list_state("ns") == {"a": {"x": [3]}, "b": 5}
        assert await store.get_state("ns", "missing", "dflt") == "dflt"


async def test_of_concurrent_inserts_of_one_key_exactly_one_inserts(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(4)]
    for each in stores:
        await each.open()
    try:

        async def insert(each: Store) -> bool:
            async with each.begin() as conn:
                return await each.insert_if_absent(
                    conn,
                    kv_table,
                    {"namespace": "n", "key": "k", "value": "1", "updated_at": datetime.now(UTC)},
                )

        assert sorted(await asyncio.gather(*(insert(each) for each in stores))) == [False, False, False, True]
    finally:
        for each in stores:
            await each.close()


async def test_a_release_0_1_file_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    path = release_0_1_file(tmp_path / "r01.sqlite3")
    async with Store(sqlite_url(path)) as store:
        assert await store.schema_version() == HEAD
        entry = await OrderJournal(store).get("paper", "ord-1")
        assert entry is not None
        assert entry.status is OrderStatus.UNKNOWN
        assert entry.history_marker == "41"
        assert await store.get_state("config", "fingerprint_key") == "00ff"
    tables = {
        row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master where type='table'")
    }
    assert "schema_version" not in tables
    assert "rate_limits" in tables


async def test_a_file_older_than_release_0_1_gets_the_tables_and_columns_it_lacks(tmp_path: Path) -> None:
    path = release_0_1_file(tmp_path / "r0.sqlite3")
    with sqlite3.connect(
        path
    ) as conn:  # as version 6 left it: no history marker, no TCA columns, no profiles
        conn.execute("ALTER TABLE order_journal DROP COLUMN history_marker")
        conn.execute("ALTER TABLE ab_orders DROP COLUMN shortfall_bps")
        conn.execute("DROP TABLE capability_profiles")
        conn.execute("DELETE FROM schema_version WHERE version > 5")
    async with Store(sqlite_url(path)) as store:
        entry = await OrderJournal(store).get("paper", "ord-1")
        assert entry is not None
        assert entry.history_marker is None
        async with store.connect() as conn:
            await conn.execute(text("SELECT shortfall_bps FROM ab_orders"))
            await conn.execute(text("SELECT profile FROM capability_profiles"))


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    async with Store(sqlite_url(path)):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaError, match="schema revision 9999, newer than"):
        await Store(sqlite_url(path)).open()


async def test_a_newer_hand_kept_schema_is_refused(tmp_path: Path) -> None:
    path = release_0_1_file(tmp_path / "legacy.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("insert into schema_version values (999, 'from the future', '2030-01-01 00:00:00')")
    with pytest.raises(SchemaError, match="schema version 999"):
        await Store(sqlite_url(path)).open()


@pytest.mark.skipif(not PG_SERVER, reason=NO_SERVER)
async def test_processes_opening_a_new_database_at_once_migrate_it_once() -> None:
    name = f"bi_fresh_{uuid.uuid4().hex[:8]}"
    server_admin(f"CREATE DATABASE {name}")
    try:
        stores = [Store(database_url(name)) for _ in range(4)]
        await asyncio.gather(*(each.open() for each in stores))
        for each in stores:
            assert await each.schema_version() == HEAD
            await each.close()
    finally:
        server_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_engine_before_open_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="not open"):
        _ = Store("sqlite+aiosqlite:///:memory:").engine


def test_repr_hides_password() -> None:
    store = Store("postgresql+asyncpg://user:hunter2@db.example/trading")
    assert "hunter2" not in repr(store)
    assert "hunter2" not in store.url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "is not a database URL"),
        ("mysql://me:hunter2@db.example/trading", "is for 'mysql'"),
        ("postgresql+psycopg2://me:hunter2@db.example/trading", "needs an asyncio driver"),
        ("postgresql://me:hunter2@db.example", "names no database"),
    ],
)
async def test_an_unusable_url_is_one_line_without_the_password(url: str, says: str) -> None:
    with pytest.raises(StoreUrlError) as caught:
        await Store(url).open()
    message = str(caught.value)
    assert says in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_plain_urls_get_the_async_drivers() -> None:
    assert Store("postgresql://me:pw@db.example/trading").target.drivername == "postgresql+asyncpg"
    assert Store("postgres://me:pw@db.example/trading").target.drivername == "postgresql+asyncpg"
    assert Store("sqlite:////tmp/x.sqlite3").target.drivername == "sqlite+aiosqlite"


async def test_a_server_that_is_not_there_is_one_line_naming_the_url() -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        await Store("postgresql://me:hunter2@127.0.0.1:1/trading").open()
    message = str(caught.value)
    assert message.startswith("cannot open the store at postgresql://me:***@127.0.0.1:1/trading: ")
    assert "hunter2" not in message
    assert "\n" not in message


@pytest.mark.skipif(not PG_SERVER, reason=NO_SERVER)
async def test_wrong_credentials_are_one_line_with_the_password_masked() -> None:
    from sqlalchemy.engine import make_url

    assert PG_SERVER is not None
    wrong = make_url(PG_SERVER).set(password="not-the-password").render_as_string(hide_password=False)
    with pytest.raises(StoreUnavailableError) as caught:
        await Store(wrong).open()
    message = str(caught.value)
    assert "password authentication failed" in message
    assert "not-the-password" not in message
    assert ":***@" in message
    assert "\n" not in message


async def test_times_come_back_timezone_aware_and_naive_ones_are_refused(store: Store) -> None:
    eastern = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    async with store.begin() as conn:
        await conn.execute(kv_table.insert().values(namespace="n", key="k", value="1", updated_at=eastern))
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


def test_the_command_line_says_a_bad_store_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "broker_integration",
            "config",
            "history",
            "--store",
            "postgresql://me:hunter2@127.0.0.1:1/db",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    (line,) = (done.stdout + done.stderr).strip().splitlines()  # one line, no traceback
    assert line.startswith("error: cannot open the store at postgresql://me:***@127.0.0.1:1/db: ")
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("asyncpg_error", "unavailable"),
    [
        ("CannotConnectNowError", True),  # 57P03: the database system is starting up
        ("AdminShutdownError", True),  # 57P01
        ("ConnectionDoesNotExistError", True),  # 08003
        ("UniqueViolationError", False),  # 23505: a statement the database refused
    ],
)
def test_a_server_starting_up_or_gone_is_unavailable_a_refused_statement_is_not(
    asyncpg_error: str, unavailable: bool
) -> None:
    """As SQLAlchemy's asyncpg adapter raises them: a DBAPIError whose ``orig`` is the adapter's own error,
    caused by asyncpg's (the restart test meets "the database system is starting up" this way)."""
    import asyncpg.exceptions
    from sqlalchemy.exc import DBAPIError

    cause = getattr(asyncpg.exceptions, asyncpg_error)("the server said no")
    adapted = RuntimeError(str(cause))
    adapted.__cause__ = cause
    error = DBAPIError("SELECT 1", {}, adapted)
    assert is_unavailable(error) is unavailable
    assert is_unavailable(cause) is unavailable  # as the store's direct statements meet it, unwrapped
