"""Where flushed buckets live: the store (table ``metrics_buckets``) or, without a store, memory.

Each collector writes only rows tagged with its own ``source`` id and merges each flush into them
(read, add, write in one transaction), so two collectors sharing a database never overwrite each
other's counts; reading a window sums every source's rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from sqlalchemy import bindparam, delete, select

from broker_integration.clock import utc_now
from broker_integration.metrics.buckets import (
    BUCKET_SECONDS,
    BucketKey,
    BucketRecord,
    OpStats,
    dumps_counters,
    loads_counters,
)
from broker_integration.metrics.periods import TimeWindow
from broker_integration.store import Store, metrics_buckets_table

__all__ = ["BucketRepository", "MemoryRepository", "StoreRepository", "merge_records"]

_t = metrics_buckets_table


class BucketRepository(Protocol):
    """Persistence of bucket records."""

    async def merge(self, records: Sequence[BucketRecord]) -> None:
        """Add each record into the stored bucket with the same key (creating it if new)."""
        ...

    async def load(self, window: TimeWindow, brokers: Collection[str] | None = None) -> list[BucketRecord]:
        """Records of buckets in ``window`` (every source), optionally only for ``brokers``."""
        ...

    async def purge(self, before: int) -> int:
        """Delete buckets that start before ``before`` (Unix seconds); returns how many."""
        ...

    async def brokers(self) -> list[str]:
        """Broker names that have any stored bucket, sorted."""
        ...


def merge_records(a: BucketRecord, b: BucketRecord) -> BucketRecord:
    """One record holding both (same key)."""
    stats = OpStats.from_record(a)
    stats.merge(OpStats.from_record(b))
    return stats.to_record(a.key)


class MemoryRepository:
    """Buckets kept in this process only, encoded as in the store (a few hundred bytes each)."""

    def __init__(self) -> None:
        self._records: dict[BucketKey, BucketRecord] = {}

    async def merge(self, records: Sequence[BucketRecord]) -> None:
        for record in records:
            existing = self._records.get(record.key)
            self._records[record.key] = record if existing is None else merge_records(existing, record)

    async def load(self, window: TimeWindow, brokers: Collection[str] | None = None) -> list[BucketRecord]:
        wanted = None if brokers is None else set(brokers)
        return [
            r
            for k, r in self._records.items()
            if window.contains(k.start) and (wanted is None or k.broker in wanted)
        ]

    async def purge(self, before: int) -> int:
        old = [k for k in self._records if k.start < before]
        for key in old:
            del self._records[key]
        return len(old)

    async def brokers(self) -> list[str]:
        return sorted({k.broker for k in self._records})


class StoreRepository:
    """Buckets in the store's ``metrics_buckets`` table; ``source`` identifies this writer."""

    def __init__(self, store: Store, source: str) -> None:
        self._store = store
        self.source = source

    async def merge(self, records: Sequence[BucketRecord]) -> None:
        if not records:
            return
        starts = {r.key.start for r in records}
        names = {r.key.broker for r in records}
        async with self._store.begin() as conn:
            rows = await conn.execute(
                select(
                    _t.c.broker_name, _t.c.operation, _t.c.bucket_start, _t.c.histogram, _t.c.counters
                ).where(
                    _t.c.source == self.source,
                    _t.c.bucket_start.in_(starts),
                    _t.c.broker_name.in_(names),
                )
            )
            existing = {
                BucketKey(b, op, int(start)): BucketRecord(
                    BucketKey(b, op, int(start)), hist, loads_counters(c)
                )
                for b, op, start, hist, c in rows
            }
            merged = [merge_records(existing[r.key], r) if r.key in existing else r for r in records]
            replaced = [r.key for r in records if r.key in existing]
            if replaced:
                await conn.execute(
                    delete(_t).where(
                        _t.c.source == self.source,
                        _t.c.broker_name == bindparam("k_broker"),
                        _t.c.operation == bindparam("k_operation"),
                        _t.c.bucket_start == bindparam("k_start"),
                    ),
                    [
                        {"k_broker": k.broker, "k_operation": k.operation, "k_start": k.start}
                        for k in replaced
                    ],
                )
            now = utc_now()
            await conn.execute(
                _t.insert(),
                [
                    {
                        "broker_name": r.key.broker,
                        "operation": r.key.operation,
                        "bucket_start": r.key.start,
                        "source": self.source,
                        "bucket_seconds": BUCKET_SECONDS,
                        "calls": int(r.counters.get("calls", 0)),
                        "histogram": r.histogram,
                        "counters": dumps_counters(r.counters),
                        "updated_at": now,
                    }
                    for r in merged
                ],
            )

    async def load(self, window: TimeWindow, brokers: Collection[str] | None = None) -> list[BucketRecord]:
        query = select(
            _t.c.broker_name, _t.c.operation, _t.c.bucket_start, _t.c.histogram, _t.c.counters
        ).where(_t.c.bucket_start >= window.start, _t.c.bucket_start < window.end)
        if brokers is not None:
            query = query.where(_t.c.broker_name.in_(set(brokers)))
        async with self._store.connect() as conn:
            rows = await conn.execute(query)
            return [
                BucketRecord(BucketKey(b, op, int(start)), hist, loads_counters(c))
                for b, op, start, hist, c in rows
            ]

    async def purge(self, before: int) -> int:
        async with self._store.begin() as conn:
            result = await conn.execute(delete(_t).where(_t.c.bucket_start < before))
            return int(result.rowcount or 0)

    async def brokers(self) -> list[str]:
        async with self._store.connect() as conn:
            rows = await conn.execute(select(_t.c.broker_name).distinct())
            return sorted(str(r[0]) for r in rows)
