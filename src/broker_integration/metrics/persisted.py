"""Cumulative metrics read from the store, for an exporter in a process that collects nothing itself.

``broker-integration metrics serve`` runs next to the trading processes and exports what they have
flushed. Buckets older than ``settle`` (default five minutes, far beyond the collectors' flush
interval) are read once and kept merged; newer ones are re-read at every scrape because their writers
may still add to them. Counters therefore only grow, as Prometheus expects.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.metrics.buckets import BucketRecord, OpStats, bucket_start
from broker_integration.metrics.export import ExportSnapshot
from broker_integration.metrics.periods import TimeWindow
from broker_integration.metrics.repository import StoreRepository
from broker_integration.store import Store

__all__ = ["StoreSnapshotSource"]


def _merge(into: dict[tuple[str, str], OpStats], records: list[BucketRecord]) -> None:
    for record in records:
        key = (record.key.broker, record.key.operation)
        stats = OpStats.from_record(record)
        target = into.get(key)
        if target is None:
            into[key] = stats
        else:
            target.merge(stats)


class StoreSnapshotSource:
    """Snapshots of every broker's cumulative stats in ``store`` (all writers, all retained buckets)."""

    def __init__(
        self, store: Store, *, clock: Clock | None = None, settle: timedelta = timedelta(minutes=5)
    ) -> None:
        self._repo = StoreRepository(store, source="reader")
        self._clock = clock or SYSTEM_CLOCK
        self._settle = settle
        self._settled: dict[tuple[str, str], OpStats] = {}
        self._settled_until = 0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> ExportSnapshot:
        async with self._lock:
            now = self._clock.now()
            now_s = now.timestamp()
            cutoff = bucket_start(now_s - self._settle.total_seconds())
            if cutoff > self._settled_until:
                settled = await self._repo.load(TimeWindow(self._settled_until, cutoff))
                await asyncio.to_thread(_merge, self._settled, settled)
                self._settled_until = cutoff
            recent = await self._repo.load(TimeWindow(cutoff, int(now_s) + 1))
            merged = {key: stats.copy() for key, stats in self._settled.items()}
            await asyncio.to_thread(_merge, merged, recent)
        return ExportSnapshot(at=now, since=None, operations=merged)
