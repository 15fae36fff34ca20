"""Bringing a database to the newest schema with Alembic, when a store opens.

A database already at the newest revision costs one catalog query and one read: Alembic itself is imported
only when there is something to apply. On PostgreSQL the migration runs under a transaction-level advisory
lock, so processes that open a new database at the same moment apply it once (PostgreSQL's DDL is
transactional: the others then find it done). A SQLite file of release 0.1 (hand-kept ``schema_version``
up to 8, no ``alembic_version``) is migrated by the idempotent baseline revision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import column, func, inspect, select, table, text
from sqlalchemy.engine import Connection

from broker_integration.store.errors import SchemaError

__all__ = ["MIGRATIONS", "MIGRATIONS_DIR", "Migration", "current_revision", "head", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The highest hand-kept schema version a release before Alembic wrote (release 0.1).
LEGACY_HEAD = 8
#: Key of the transaction-level advisory lock migrations run under on PostgreSQL ("bi-migr").
_MIGRATION_LOCK = 0x62692D6D
_REVISION_FILE = re.compile(r"^(\d{4})_(\w+)\.py$")


@dataclass(frozen=True)
class Migration:
    """One Alembic revision of the store: its id (``0001``...) and what it does (from its file name)."""

    revision: str
    description: str


def _scan() -> tuple[Migration, ...]:
    found = []
    for path in MIGRATIONS_DIR.joinpath("versions").iterdir():
        match = _REVISION_FILE.match(path.name)
        if match:
            found.append(Migration(match.group(1), match.group(2).replace("_", " ")))
    return tuple(sorted(found, key=lambda m: m.revision))


#: Every revision in order (each revises the one before; a test checks Alembic agrees).
MIGRATIONS: tuple[Migration, ...] = _scan()


def head() -> str:
    """The newest revision."""
    return MIGRATIONS[-1].revision


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, ``None`` for a database Alembic has not touched."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    version = table("alembic_version", column("version_num"))
    return conn.execute(select(version.c.version_num)).scalar()


def _legacy_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    legacy = table("schema_version", column("version"))
    return int(conn.execute(select(func.max(legacy.c.version))).scalar() or 0)


def upgrade(conn: Connection, where: str) -> tuple[str, ...]:
    """Bring the database on ``conn`` (inside a transaction) to :func:`head`; returns the revisions applied.

    ``where`` names the store in errors (its URL with the password hidden).
    """
    current = current_revision(conn)
    if current == head():
        return ()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        current = current_revision(conn)  # another process may have migrated while we waited
        if current == head():
            return ()
    known = [m.revision for m in MIGRATIONS]
    if current is not None and current not in known:
        raise SchemaError(
            f"the store at {where} has schema revision {current}, newer than this broker_integration "
            f"understands ({head()}); upgrade the package"
        )
    if current is None:
        legacy = _legacy_version(conn)
        if legacy is not None and legacy > LEGACY_HEAD:
            raise SchemaError(
                f"the store at {where} has schema version {legacy}, newer than this broker_integration "
                f"understands; upgrade the package"
            )
    _alembic_upgrade(conn)
    return tuple(known[known.index(current) + 1 :] if current is not None else known)


def _alembic_upgrade(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
