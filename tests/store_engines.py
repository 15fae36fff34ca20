"""The test server for the store's PostgreSQL runs: where it is, and running statements on it.

Tests import this as ``store_engines`` (``tests/`` is on the path, as for the shared ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import make_url

from broker_integration.store import Store
from broker_integration.testing.postgres import TEST_SERVER_ENV

__all__ = ["NO_SERVER", "PG_SERVER", "database_url", "migrated_database", "server_admin"]

PG_SERVER = os.environ.get(TEST_SERVER_ENV)
NO_SERVER = f"no PostgreSQL server for the tests: set {TEST_SERVER_ENV} (make test starts a throw-away one)"


def server_admin(sql: str, database: str = "postgres", server: str | None = PG_SERVER) -> None:
    """Run ``sql`` on a database of the test server (outside any test's event loop)."""
    assert server is not None, NO_SERVER

    async def run() -> None:
        import asyncpg

        url = make_url(server).set(drivername="postgresql", database=database)
        conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def database_url(name: str, server: str | None = PG_SERVER) -> str:
    assert server is not None, NO_SERVER
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def migrated_database(name: str) -> str:
    """Create database ``name`` on the test server with the newest schema; returns its URL."""
    server_admin(f"CREATE DATABASE {name}")

    async def migrate() -> None:
        async with Store(database_url(name)):
            pass

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return database_url(name)
