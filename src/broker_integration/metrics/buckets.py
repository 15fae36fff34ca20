"""Time buckets: what is counted for one broker and operation in one minute, mergeable and serialisable.

An :class:`OpStats` holds a latency histogram plus counters (calls, failures by standard code, orders,
fills, costs, health checks). Buckets merge exactly (histograms add, counters sum), so any window is the
merge of the minutes it covers, and a bucket written by an earlier run merges with this run's. Per-order
cost and time-to-fill samples are kept in a bounded reservoir next to exact sums and counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from hdrh.histogram import HdrHistogram

from broker_integration.metrics.histograms import (
    copy_histogram,
    decode_histogram,
    encode_histogram,
    new_histogram,
)
from broker_integration.tca import ArrivalSource

__all__ = [
    "BUCKET_SECONDS",
    "RESERVOIR_SIZE",
    "BucketKey",
    "BucketRecord",
    "Counters",
    "OpStats",
    "OrderStats",
    "bucket_start",
    "from_epoch",
]

#: Width of one time bucket.
BUCKET_SECONDS = 60
#: Per-order samples (cost, time to fill) kept per bucket; sums and counts stay exact beyond it.
RESERVOIR_SIZE = 512


def bucket_start(epoch_seconds: float) -> int:
    """Start (Unix seconds) of the bucket holding ``epoch_seconds``."""
    return int(epoch_seconds // BUCKET_SECONDS) * BUCKET_SECONDS


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True, slots=True, order=True)
class BucketKey:
    """One broker, one operation, one bucket (start in Unix seconds, UTC)."""

    broker: str
    operation: str
    start: int


@dataclass(frozen=True, slots=True)
class BucketRecord:
    """A bucket as stored: the encoded histogram and the counters as JSON-ready data."""

    key: BucketKey
    histogram: str
    counters: dict[str, Any]


class Reservoir:
    """A uniform sample of at most ``cap`` values out of ``seen`` (Vitter's algorithm R).

    Merging is cheap: the other reservoir's sample is appended as a chunk, with how many values it
    stands for. Chunks are thinned into one sample only when read (:attr:`samples`, :meth:`to_data`)
    or when they hold four times ``cap`` values; thinning takes from each chunk in proportion to the
    values it stands for, at the coarsest chunk's resolution, so the result stays a uniform sample of
    everything merged.
    """

    __slots__ = ("_chunks", "cap")

    def __init__(self, samples: list[float] | None = None, seen: int = 0, cap: int = RESERVOIR_SIZE) -> None:
        self.cap = cap
        self._chunks: list[tuple[list[float], int]] = [(samples if samples is not None else [], seen)]

    @property
    def seen(self) -> int:
        return sum(n for _, n in self._chunks)

    @property
    def samples(self) -> list[float]:
        """The sample (read-only): at most ``cap`` values."""
        if len(self._chunks) > 1 or len(self._chunks[0][0]) > self.cap:
            self._compact()
        return self._chunks[0][0]

    def add(self, value: float, rng: random.Random) -> None:
        if len(self._chunks) > 1:
            self._compact()
        samples, seen = self._chunks[0]
        seen += 1
        self._chunks[0] = (samples, seen)
        if len(samples) < self.cap:
            samples.append(value)
            return
        slot = rng.randrange(seen)
        if slot < self.cap:
            samples[slot] = value

    def absorb(self, other: Reservoir, cap: int | None = None) -> None:
        """Add ``other``'s values (``other`` is unchanged); ``cap`` raises or lowers the size kept."""
        if cap is not None:
            self.cap = cap
        self._chunks.extend((list(samples), n) for samples, n in other._chunks if n)
        if sum(len(c) for c, _ in self._chunks) > 4 * self.cap:
            self._compact()

    def _compact(self) -> None:
        chunks = [(samples, n) for samples, n in self._chunks if n and samples]
        total = sum(n for _, n in chunks)
        if not chunks:
            self._chunks = [([], sum(n for _, n in self._chunks))]
            return
        # the largest k with k * n_i / total <= len_i for every chunk, and k <= cap
        size = min(float(self.cap), *(len(c) * total / n for c, n in chunks))
        rng = random.Random(total)  # deterministic: the same inputs thin the same way
        merged: list[float] = []
        for samples, n in chunks:
            take = min(len(samples), round(size * n / total))
            merged.extend(samples if take == len(samples) else rng.sample(samples, take))
        if len(merged) > self.cap:  # rounding up in several chunks
            merged = rng.sample(merged, self.cap)
        self._chunks = [(merged, sum(n for _, n in self._chunks))]

    def to_data(self) -> dict[str, Any]:
        return {"seen": self.seen, "samples": list(self.samples)}

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Reservoir:
        if not data:
            return cls()
        return cls([float(v) for v in data["samples"]], int(data["seen"]))


_ARRIVAL_COUNTERS = {
    ArrivalSource.CALL: "arrival_call",
    ArrivalSource.ORDER: "arrival_order",
    ArrivalSource.PROBE: "arrival_probe",
}


@dataclass(slots=True)
class OrderStats:
    """Orders and their execution: fills, costs in money (``Decimal``) and in basis points (floats).

    ``orders`` … ``rejected`` count placements; ``unknown`` those whose outcome was unknown when the call
    returned, and ``settled`` those of them found out later (counted, with their fill, when learned: a
    placement then counts in one of ``filled`` … ``rejected`` too). ``filled_later`` counts resting orders
    (counted ``unfilled`` when placed) that filled afterwards, in the minute the broker's update said so. ``notional``, ``commission``, ``fees`` and
    ``spread_paid`` count every order action with fills (closing a position costs too).
    ``spread_paid`` is s·(fill - arrival mid)·quantity; ``cost_bps`` samples are per-order all-in cost:
    commission and fees as bps of notional plus slippage against the arrival mid where it was known.

    The execution-quality sums (figures of :mod:`broker_integration.tca`) each have their count:
    ``commission_bps_sum`` over the orders with fills (``cost_bps.seen``); slippage and effective spread
    over ``slippage_orders``, split by where the arrival benchmark came from (``arrival_call``,
    ``arrival_order``, ``arrival_probe``); half spread and price improvement over ``quoted_orders`` (a bid
    and ask at arrival); effective/quoted over ``ratio_orders`` (a quoted spread above zero); shortfall
    (money, bps, and its paper notional ``intended_notional``) over ``shortfall_orders``.
    """

    orders: int = 0
    filled: int = 0
    partial: int = 0
    unfilled: int = 0
    rejected: int = 0
    unknown: int = 0
    settled: int = 0
    filled_later: int = 0
    requested_qty: float = 0.0
    filled_qty: float = 0.0
    notional: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    spread_paid: Decimal = Decimal(0)
    slippage_orders: int = 0
    slippage_bps_sum: float = 0.0
    fills_timed: int = 0
    fill_ms_sum: float = 0.0
    commission_bps_sum: float = 0.0
    effective_spread_bps_sum: float = 0.0
    arrival_call: int = 0
    arrival_order: int = 0
    arrival_probe: int = 0
    quoted_orders: int = 0
    spread_cost_bps_sum: float = 0.0
    price_improvement_bps_sum: float = 0.0
    price_improvement: Decimal = Decimal(0)
    ratio_orders: int = 0
    effective_to_quoted_sum: float = 0.0
    shortfall_orders: int = 0
    shortfall_bps_sum: float = 0.0
    shortfall: Decimal = Decimal(0)
    opportunity_cost: Decimal = Decimal(0)
    intended_notional: Decimal = Decimal(0)
    cost_bps: Reservoir = field(default_factory=Reservoir)
    fill_ms: Reservoir = field(default_factory=Reservoir)

    @property
    def accepted(self) -> int:
        """Placements the broker is known to have taken: the denominator of fill rates."""
        return self.filled + self.partial + self.unfilled

    def count_arrival(self, source: ArrivalSource) -> None:
        """Count one order measured against a benchmark from ``source``."""
        name = _ARRIVAL_COUNTERS[source]
        setattr(self, name, getattr(self, name) + 1)

    def arrival_sources(self) -> dict[str, int]:
        """How many orders were measured against each source of arrival benchmark (sources seen only)."""
        counts = {source.value: getattr(self, name) for source, name in _ARRIVAL_COUNTERS.items()}
        return {source: n for source, n in counts.items() if n}

    def merge(self, other: OrderStats, cap: int = RESERVOIR_SIZE) -> None:
        for name in _INT_FIELDS + _FLOAT_FIELDS + _DECIMAL_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost_bps.absorb(other.cost_bps, cap)
        self.fill_ms.absorb(other.fill_ms, cap)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in _INT_FIELDS + _FLOAT_FIELDS}
        data.update({name: str(getattr(self, name)) for name in _DECIMAL_FIELDS})
        data["cost_bps"] = self.cost_bps.to_data()
        data["fill_ms"] = self.fill_ms.to_data()
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> OrderStats:
        stats = cls()
        for name in _INT_FIELDS:
            setattr(stats, name, int(data.get(name, 0)))
        for name in _FLOAT_FIELDS:
            setattr(stats, name, float(data.get(name, 0.0)))
        for name in _DECIMAL_FIELDS:
            setattr(stats, name, Decimal(data.get(name, "0")))
        stats.cost_bps = Reservoir.from_data(data.get("cost_bps"))
        stats.fill_ms = Reservoir.from_data(data.get("fill_ms"))
        return stats


def _fields_of_type(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields(OrderStats) if f.type == kind)


#: The counters and sums of :class:`OrderStats` by type (each merges by addition; decimals are stored as
#: strings).
_INT_FIELDS = _fields_of_type("int")
_FLOAT_FIELDS = _fields_of_type("float")
_DECIMAL_FIELDS = _fields_of_type("Decimal")


class Counters:
    """The counters of one broker and operation over some span (a bucket, a window), no latency."""

    __slots__ = ("calls", "errors", "failures", "health_checks", "healthy_checks", "orders", "sum_us")

    def __init__(self) -> None:
        self.calls = 0
        self.failures = 0
        self.sum_us = 0
        self.errors: dict[str, int] = {}
        self.orders: OrderStats | None = None
        self.health_checks = 0
        self.healthy_checks = 0

    def merge(self, other: Counters, cap: int = RESERVOIR_SIZE) -> None:
        """Add ``other``'s counters into these (``other`` is unchanged)."""
        self.calls += other.calls
        self.failures += other.failures
        self.sum_us += other.sum_us
        for code, n in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + n
        if other.orders is not None:
            if self.orders is None:
                self.orders = OrderStats()
            self.orders.merge(other.orders, cap)
        self.health_checks += other.health_checks
        self.healthy_checks += other.healthy_checks

    def counters(self) -> dict[str, Any]:
        data: dict[str, Any] = {"calls": self.calls, "failures": self.failures, "sum_us": self.sum_us}
        if self.errors:
            data["errors"] = dict(self.errors)
        if self.orders is not None:
            data["orders"] = self.orders.to_data()
        if self.health_checks:
            data["health"] = {"checks": self.health_checks, "healthy": self.healthy_checks}
        return data

    def load_counters(self, data: dict[str, Any]) -> None:
        self.calls = int(data.get("calls", 0))
        self.failures = int(data.get("failures", 0))
        self.sum_us = int(data.get("sum_us", 0))
        self.errors = {str(k): int(v) for k, v in data.get("errors", {}).items()}
        orders = data.get("orders")
        self.orders = OrderStats.from_data(orders) if orders else None
        health = data.get("health") or {}
        self.health_checks = int(health.get("checks", 0))
        self.healthy_checks = int(health.get("healthy", 0))

    @classmethod
    def from_record(cls, record: BucketRecord) -> Counters:
        """The record's counters alone: no histogram is decoded."""
        counters = cls()
        counters.load_counters(record.counters)
        return counters

    def __repr__(self) -> str:
        return f"{type(self).__name__}(calls={self.calls}, failures={self.failures})"


class OpStats(Counters):
    """Counters plus the latency histogram (microseconds) of the calls they count."""

    __slots__ = ("histogram",)

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        super().__init__()
        self.histogram: HdrHistogram = histogram if histogram is not None else new_histogram()

    def merge(self, other: Counters, cap: int = RESERVOIR_SIZE) -> None:
        """Add ``other`` into this; its histogram too when it has one."""
        super().merge(other, cap)
        if isinstance(other, OpStats) and other.histogram.get_total_count():
            self.histogram.add(other.histogram)

    def copy(self) -> OpStats:
        twin = OpStats(copy_histogram(self.histogram))
        Counters.merge(twin, self)
        return twin

    def to_record(self, key: BucketKey) -> BucketRecord:
        return BucketRecord(key, encode_histogram(self.histogram), self.counters())

    @classmethod
    def from_record(cls, record: BucketRecord) -> OpStats:
        stats = cls(decode_histogram(record.histogram))
        stats.load_counters(record.counters)
        return stats


def dumps_counters(counters: dict[str, Any]) -> str:
    return orjson.dumps(counters).decode()


def loads_counters(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded
