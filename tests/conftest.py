"""Shared test set-up: keep every test's store in a temporary folder, never in the user's data dir; the
fixtures many test modules use: a manual clock, a private event bus, an open store (on each engine). A
package's own ``conftest.py`` may override one (a clock at a chosen start, say).

Store-backed tests run on both engines: SQLite (a file of the test's own) and PostgreSQL (a database of the
test's own on the server ``$BROKER_INTEGRATION_TEST_PG_URL`` names; ``make test`` starts a throw-away one).
Without that variable the PostgreSQL runs are skipped, saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from broker_integration import log
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.store import Store, metadata, sqlite_url
from store_engines import NO_SERVER, PG_SERVER, database_url, migrated_database, server_admin

ENGINES = ("sqlite", "postgresql")


def pytest_report_header() -> str:
    if PG_SERVER:
        return (
            f"store engines: sqlite, postgresql ({make_url(PG_SERVER).render_as_string(hide_password=True)})"
        )
    return f"store engines: sqlite only ({NO_SERVER})"


@pytest.fixture(scope="session", autouse=True)
def _session_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A store for what runs before any test's own (module- and session-scoped fixtures), so nothing a test
    session does ever reaches the user's data folder."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("session-store")
        patch.setenv("BROKER_INTEGRATION_STORE_URL", f"sqlite+aiosqlite:///{folder / 'store.sqlite3'}")
        yield


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_INTEGRATION_STORE_URL", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")


@pytest.fixture(autouse=True)
def _isolated_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered by one test (fuzzed configs register arbitrary values) must not redact another's text."""
    monkeypatch.setattr(log, "_secrets", set(log._secrets))


@pytest.fixture(scope="session")
def pg_session_database() -> Iterator[str | None]:
    """One migrated database the session's tests share, emptied before each (creating a database per test
    would cost more than most tests)."""
    if not PG_SERVER:
        yield None
        return
    name = f"bi_tests_{uuid.uuid4().hex[:8]}"
    migrated_database(name)
    yield name
    server_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_database(pg_session_database: str | None) -> str:
    """The URL of the session's database, with no rows and no connection left by an earlier test (so no
    advisory lock either)."""
    if pg_session_database is None:
        pytest.skip(NO_SERVER)
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    server_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid();"
        f"TRUNCATE {tables};",
        database=pg_session_database,
    )
    return database_url(pg_session_database)


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL of the test's own, on each engine in turn (a SQLite file; a PostgreSQL database)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "journal.sqlite3")
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open store of the test's own, on each engine in turn."""
    async with Store(store_url) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when the test advances it."""
    return ManualClock()


@pytest.fixture
def bus() -> EventBus:
    """An event bus of the test's own (the global one is shared by the whole process)."""
    return EventBus()
