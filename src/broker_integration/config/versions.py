"""The history of applied configurations: one numbered, hashed, secret-masked version per change.

:class:`StoreVersionLog` keeps versions in the store's ``config_versions`` table (they survive restarts);
:class:`MemoryVersionLog` keeps them in a list (``persist=False``). Both number versions per *scope* from
1 and record a document only when its content hash differs from the latest version's, so restarting on
unchanged files adds nothing and a process that loads what another process (the CLI) just recorded adopts
that version instead of writing a copy. Rollback is a roll-forward: it records the old content as a new
version with ``rollback_of`` set.

Several processes share one scope through one store: each records what it applies (a version another
process recorded first is adopted, not copied). On PostgreSQL, recording a version also notifies every
listener (``NOTIFY broker_integration_config``, delivered at commit), so a running watcher re-reads the
table at once instead of at its next poll (:meth:`StoreVersionLog.listen`); notifications are never
replayed, so the poll stays as the fallback.

Each log also holds the key secrets' fingerprints are made with (:meth:`VersionLog.fingerprint_key`):
random, made once per store and kept in its ``kv_state`` table, so every process sharing a store (the
service and the CLI) fingerprints a secret alike and their content hashes agree; a memory log makes its own.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson

from broker_integration.config.errors import ConfigError
from broker_integration.config.snapshot import ConfigChange, ConfigSource, diff_documents

if TYPE_CHECKING:
    from broker_integration.store import Store

__all__ = [
    "CONFIG_CHANNEL",
    "ConfigVersion",
    "MemoryVersionLog",
    "NewVersion",
    "StoreVersionLog",
    "VersionListener",
    "VersionLog",
    "run_blocking",
]

T = TypeVar("T")
_RETRIES = 5
_KEY_NAMESPACE = "config"
_KEY_NAME = "fingerprint_key"
_KEY_BYTES = 32
#: The PostgreSQL channel a recorded version is announced on (payload: ``<scope>:<version>``).
CONFIG_CHANNEL = "broker_integration_config"


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A version about to be recorded."""

    source: ConfigSource
    detail: str
    environment: str
    content_hash: str
    document: Mapping[str, Any]
    origins: Mapping[str, str]
    created_at: datetime
    rollback_of: int | None = None


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """A recorded version: when, from where, what (masked ``document``) and what changed since the one before."""

    version: int
    created_at: datetime
    source: ConfigSource
    detail: str
    environment: str
    content_hash: str
    document: Mapping[str, Any]
    changes: tuple[ConfigChange, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)
    rollback_of: int | None = None

    @property
    def changed_paths(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes)


class VersionLog(Protocol):
    """Where versions are kept."""

    @property
    def description(self) -> str: ...

    async def record(self, entry: NewVersion) -> ConfigVersion:
        """Record ``entry`` as the next version, or return the latest one if it has the same content."""
        ...

    async def latest(self) -> ConfigVersion | None: ...

    async def get(self, version: int) -> ConfigVersion:
        """The version numbered ``version``; :class:`ConfigError` if there is none."""
        ...

    async def history(self, limit: int | None = None) -> list[ConfigVersion]:
        """Versions, newest first."""
        ...

    async def fingerprint_key(self) -> bytes:
        """The key secrets' fingerprints are made with; the same for every caller of this log's store."""
        ...


def _next(latest: ConfigVersion | None, entry: NewVersion) -> ConfigVersion:
    return ConfigVersion(
        version=(latest.version if latest else 0) + 1,
        created_at=entry.created_at,
        source=entry.source,
        detail=entry.detail,
        environment=entry.environment,
        content_hash=entry.content_hash,
        document=entry.document,
        changes=diff_documents(latest.document if latest else None, entry.document),
        origins=entry.origins,
        rollback_of=entry.rollback_of,
    )


class MemoryVersionLog:
    """Versions in memory, for a manager created with ``persist=False``."""

    def __init__(self, scope: str = "default") -> None:
        self._scope = scope
        self._versions: list[ConfigVersion] = []
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(_KEY_BYTES)

    @property
    def description(self) -> str:
        return f"memory (scope {self._scope!r})"

    async def record(self, entry: NewVersion) -> ConfigVersion:
        with self._lock:
            latest = self._versions[-1] if self._versions else None
            if latest is not None and latest.content_hash == entry.content_hash:
                return latest
            version = _next(latest, entry)
            self._versions.append(version)
            return version

    async def latest(self) -> ConfigVersion | None:
        with self._lock:
            return self._versions[-1] if self._versions else None

    async def get(self, version: int) -> ConfigVersion:
        with self._lock:
            for item in self._versions:
                if item.version == version:
                    return item
        raise _no_version(version, self._scope)

    async def history(self, limit: int | None = None) -> list[ConfigVersion]:
        with self._lock:
            newest_first = list(reversed(self._versions))
        return newest_first if limit is None else newest_first[:limit]

    async def fingerprint_key(self) -> bytes:
        return self._key


class StoreVersionLog:
    """Versions in the store. Each call opens the store briefly, so no connection outlives it.

    SQLAlchemy is imported on first use, so importing the configuration API stays cheap.
    """

    def __init__(self, url: str | None = None, scope: str = "default") -> None:
        self._url = url
        self._scope = scope
        self._key: bytes | None = None

    @property
    def description(self) -> str:
        from broker_integration.store import Store

        return f"{Store(self._url).url} (scope {self._scope!r})"

    async def record(self, entry: NewVersion) -> ConfigVersion:
        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError, OperationalError

        from broker_integration.store import Store
        from broker_integration.store import config_versions_table as table

        for attempt in range(_RETRIES):
            try:
                async with Store(self._url) as store, store.begin() as conn:
                    row = (
                        await conn.execute(
                            select(table)
                            .where(table.c.scope == self._scope)
                            .order_by(table.c.version.desc())
                            .limit(1)
                        )
                    ).first()
                    latest = _from_row(row) if row is not None else None
                    if latest is not None and latest.content_hash == entry.content_hash:
                        return latest
                    version = _next(latest, entry)
                    await conn.execute(table.insert().values(**_to_row(self._scope, version)))
                    if store.is_postgresql:
                        from broker_integration.store.coordination import notify

                        await notify(conn, CONFIG_CHANNEL, f"{self._scope}:{version.version}")
                    return version
            except (IntegrityError, OperationalError):
                # Another process recorded a version (or held the write lock) between our read and write.
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def latest(self) -> ConfigVersion | None:
        rows = await self._select(limit=1)
        return rows[0] if rows else None

    async def listen(self, wake: Callable[[], None]) -> VersionListener | None:
        """On PostgreSQL, call ``wake()`` (on this event loop) whenever any process records a version of this
        scope; ``None`` on SQLite, which has no notifications (poll :meth:`latest` instead)."""
        from broker_integration.store import Store

        store = Store(self._url)
        if not store.is_postgresql:
            return None
        listener = VersionListener(store, self._scope, wake)
        await listener.check()
        return listener

    async def get(self, version: int) -> ConfigVersion:
        rows = await self._select(version=version)
        if not rows:
            raise _no_version(version, self._scope)
        return rows[0]

    async def history(self, limit: int | None = None) -> list[ConfigVersion]:
        return await self._select(limit=limit)

    async def fingerprint_key(self) -> bytes:
        """The store's key, made on first use: inserted only if absent, so two processes that start together
        agree on the one that was stored first."""
        if self._key is None:
            from sqlalchemy import select
            from sqlalchemy.exc import IntegrityError

            from broker_integration.clock import utc_now
            from broker_integration.store import Store, kv_table

            where = (kv_table.c.namespace == _KEY_NAMESPACE, kv_table.c.key == _KEY_NAME)
            async with Store(self._url) as store:
                try:
                    async with store.begin() as conn:
                        stored = (await conn.execute(select(kv_table.c.value).where(*where))).scalar()
                        if stored is None:
                            stored = orjson.dumps(secrets.token_hex(_KEY_BYTES)).decode()
                            await conn.execute(
                                kv_table.insert().values(
                                    namespace=_KEY_NAMESPACE,
                                    key=_KEY_NAME,
                                    value=stored,
                                    updated_at=utc_now(),
                                )
                            )
                except IntegrityError:  # another process stored its key between our read and our insert
                    async with store.connect() as conn:
                        stored = (await conn.execute(select(kv_table.c.value).where(*where))).scalar_one()
            self._key = bytes.fromhex(orjson.loads(stored))
        return self._key

    async def _select(self, *, version: int | None = None, limit: int | None = None) -> list[ConfigVersion]:
        from sqlalchemy import select

        from broker_integration.store import Store
        from broker_integration.store import config_versions_table as table

        query = select(table).where(table.c.scope == self._scope).order_by(table.c.version.desc())
        if version is not None:
            query = query.where(table.c.version == version)
        if limit is not None:
            query = query.limit(limit)
        async with Store(self._url) as store, store.connect() as conn:
            return [_from_row(row) for row in await conn.execute(query)]


class VersionListener:
    """A LISTEN on :data:`CONFIG_CHANNEL` on a dedicated connection of its own store session, calling
    ``wake`` for versions of ``scope``. :meth:`check` re-connects (and listens again) after the connection
    broke; what was recorded meanwhile is found by the caller's next read of the table."""

    def __init__(self, store: Store, scope: str, wake: Callable[[], None]) -> None:
        from broker_integration.store.coordination import DedicatedConnection

        self._store = store
        self._scope = scope
        self._wake = wake
        self._link = DedicatedConnection(store)
        self._listening = False

    def _on(self, payload: str) -> None:
        if payload.rpartition(":")[0] == self._scope:
            self._wake()

    async def check(self) -> None:
        """Listen if not listening (the first time, or after the connection broke)."""
        if self._listening and await self._link.check():
            return
        await self._store.open_unless_open()
        await self._link.listen(CONFIG_CHANNEL, self._on)
        self._listening = True

    async def close(self) -> None:
        self._listening = False
        await self._store.close()


def _to_row(scope: str, version: ConfigVersion) -> dict[str, Any]:
    return {
        "scope": scope,
        "version": version.version,
        "created_at": version.created_at,
        "source": version.source.value,
        "detail": version.detail,
        "rollback_of": version.rollback_of,
        "environment": version.environment,
        "content_hash": version.content_hash,
        "content": orjson.dumps(version.document, option=orjson.OPT_SORT_KEYS).decode(),
        "changes": orjson.dumps([c.to_dict() for c in version.changes]).decode(),
        "origins": orjson.dumps(dict(version.origins)).decode(),
    }


def _from_row(row: Any) -> ConfigVersion:
    return ConfigVersion(
        version=row.version,
        created_at=row.created_at,
        source=ConfigSource(row.source),
        detail=row.detail,
        environment=row.environment,
        content_hash=row.content_hash,
        document=orjson.loads(row.content),
        changes=tuple(ConfigChange.from_dict(c) for c in orjson.loads(row.changes)),
        origins=orjson.loads(row.origins),
        rollback_of=row.rollback_of,
    )


def _no_version(version: int, scope: str) -> ConfigError:
    return ConfigError(f"there is no configuration version {version} (scope {scope!r})")


def run_blocking(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory()`` makes to completion from synchronous code.

    With no event loop in this thread it runs here; inside a running loop (a sync API called from async
    code) it runs on a helper thread with its own loop while this thread waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="broker-config") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()
