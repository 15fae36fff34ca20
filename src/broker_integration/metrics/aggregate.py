"""Merge the buckets of a window into one :class:`BrokerAggregate` per broker (per operation inside)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from broker_integration.metrics.buckets import BucketRecord, Counters, OpStats
from broker_integration.metrics.periods import TimeWindow

__all__ = ["AGGREGATE_RESERVOIR", "BrokerAggregate", "aggregate"]

#: Per-order samples kept when merging a window (sums and counts stay exact).
AGGREGATE_RESERVOIR = 20_000


@dataclass
class BrokerAggregate:
    """One broker's merged buckets over ``window``; ``first_bucket`` is the earliest with data."""

    broker: str
    window: TimeWindow
    operations: dict[str, OpStats] = field(default_factory=dict)
    first_bucket: int | None = None

    def add(self, operation: str, start: int, stats: Counters) -> None:
        target = self.operations.get(operation)
        if target is None:
            target = self.operations[operation] = OpStats()
        target.merge(stats, AGGREGATE_RESERVOIR)
        if self.first_bucket is None or start < self.first_bucket:
            self.first_bucket = start

    def totals(self) -> Counters:
        """The counters of all operations together (no latency: operations differ too much to pool)."""
        merged = Counters()
        for stats in self.operations.values():
            merged.merge(stats, AGGREGATE_RESERVOIR)
        return merged

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.operations.values())


def aggregate(
    window: TimeWindow,
    brokers: Collection[str],
    records: Iterable[BucketRecord],
    pending: Iterable[tuple[tuple[str, str, int], OpStats]] = (),
) -> dict[str, BrokerAggregate]:
    """Merge stored ``records`` and not-yet-flushed ``pending`` buckets inside ``window``.

    Every broker in ``brokers`` gets an aggregate, empty if it has no data.
    """
    result = {name: BrokerAggregate(name, window) for name in brokers}
    for record in records:
        key = record.key
        target = result.get(key.broker)
        if target is None or not window.contains(key.start):
            continue
        target.add(key.operation, key.start, OpStats.from_record(record))
    for (broker, operation, start), live in pending:
        target = result.get(broker)
        if target is None or not window.contains(start):
            continue
        target.add(operation, start, live)
    return result
