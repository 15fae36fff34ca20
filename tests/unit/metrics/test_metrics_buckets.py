"""Buckets merge exactly and survive serialisation; windows cover whole minutes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from broker_integration.metrics.buckets import (
    RESERVOIR_SIZE,
    BucketKey,
    Counters,
    OpStats,
    OrderStats,
    Reservoir,
    bucket_start,
)
from broker_integration.metrics.periods import (
    ComparisonPeriod,
    CustomPeriod,
    TimeWindow,
    parse_period,
    resolve_period,
)

NOW = datetime(2024, 1, 2, 14, 30, 20, tzinfo=UTC)


def _stats(latencies_us: list[int], errors: dict[str, int] | None = None) -> OpStats:
    stats = OpStats()
    for us in latencies_us:
        stats.histogram.record_value(us)
        stats.calls += 1
        stats.sum_us += us
    for code, n in (errors or {}).items():
        stats.errors[code] = n
        stats.failures += n
    return stats


def test_merge_adds_histograms_and_counters() -> None:
    a = _stats([1_000, 2_000], {"TIMEOUT": 1})
    b = _stats([3_000], {"TIMEOUT": 1, "RATE_LIMITED": 1})
    b.orders = OrderStats(orders=2, filled=1, commission=Decimal("1.5"))
    a.merge(b)
    assert a.calls == 3
    assert a.failures == 3
    assert a.sum_us == 6_000
    assert a.errors == {"TIMEOUT": 2, "RATE_LIMITED": 1}
    assert a.histogram.get_total_count() == 3
    assert a.orders is not None
    assert a.orders.commission == Decimal("1.5")
    assert b.calls == 1  # the source is unchanged


def test_record_round_trip_keeps_everything() -> None:
    stats = _stats([1_500, 2_500, 80_000], {"SERVICE_UNAVAILABLE": 1})
    stats.orders = OrderStats(orders=3, filled=2, partial=1, notional=Decimal("2200.1"), fees=Decimal("0.01"))
    stats.orders.cost_bps.add(1.25, random.Random(0))
    stats.health_checks, stats.healthy_checks = 4, 3
    key = BucketKey("oanda", "place_order", 1_704_205_800)
    back = OpStats.from_record(stats.to_record(key))
    assert back.counters() == stats.counters()
    assert back.histogram.get_value_at_percentile(99) == stats.histogram.get_value_at_percentile(99)
    counters_only = Counters.from_record(stats.to_record(key))
    assert counters_only.counters() == stats.counters()


def test_copy_is_independent() -> None:
    stats = _stats([1_000])
    twin = stats.copy()
    twin.histogram.record_value(5_000)
    twin.calls += 1
    assert stats.histogram.get_total_count() == 1
    assert stats.calls == 1


def test_reservoir_is_bounded_and_merges_in_proportion() -> None:
    rng = random.Random(1)
    big, small = Reservoir(), Reservoir()
    for _ in range(10_000):
        big.add(1.0, rng)
    for _ in range(RESERVOIR_SIZE):
        small.add(0.0, rng)
    assert len(big.samples) == RESERVOIR_SIZE
    assert big.seen == 10_000
    big.absorb(small)
    assert big.seen == 10_000 + RESERVOIR_SIZE
    assert len(big.samples) == RESERVOIR_SIZE
    share_of_big = sum(big.samples) / len(big.samples)
    assert share_of_big == pytest.approx(10_000 / (10_000 + RESERVOIR_SIZE), abs=0.01)
    assert small.seen == RESERVOIR_SIZE  # absorbing leaves the other unchanged


def test_reservoirs_of_whole_populations_concatenate_up_to_the_cap() -> None:
    a, b = Reservoir([1.0, 2.0], 2, cap=10), Reservoir([3.0], 1, cap=10)
    a.absorb(b)
    assert sorted(a.samples) == [1.0, 2.0, 3.0]
    a.absorb(Reservoir([0.0] * 20, 20), cap=10)
    assert len(a.samples) == 10
    assert a.seen == 23
    assert Reservoir.from_data(a.to_data()).samples == a.samples


def test_bucket_start_floors_to_the_minute() -> None:
    assert bucket_start(NOW.timestamp()) == int(datetime(2024, 1, 2, 14, 30, tzinfo=UTC).timestamp())


def test_relative_periods_reach_back_and_include_the_current_minute() -> None:
    hour = resolve_period(ComparisonPeriod.LAST_HOUR, NOW)
    assert hour.start == int(datetime(2024, 1, 2, 13, 30, tzinfo=UTC).timestamp())
    assert hour.contains(bucket_start(NOW.timestamp()))
    assert not hour.contains(hour.start - 60)
    day = resolve_period(ComparisonPeriod.LAST_DAY, NOW)
    assert day.start == int((NOW - timedelta(days=1)).replace(second=0).timestamp())
    assert resolve_period(ComparisonPeriod.ALL, NOW).start == 0


def test_custom_period_is_half_open() -> None:
    start = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    window = resolve_period(ComparisonPeriod.custom(start, start + timedelta(minutes=2)), NOW)
    assert window == TimeWindow(int(start.timestamp()), int(start.timestamp()) + 120)
    assert window.contains(int(start.timestamp()) + 60)
    assert not window.contains(int(start.timestamp()) + 120)


def test_custom_period_validation() -> None:
    start = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="end after"):
        CustomPeriod(start, start)
    with pytest.raises(ValueError, match="timezone"):
        CustomPeriod(datetime(2024, 1, 1), datetime(2024, 1, 2))


def test_parse_period_accepts_cli_spellings() -> None:
    assert parse_period("last-day") is ComparisonPeriod.LAST_DAY
    assert parse_period("LAST_WEEK") is ComparisonPeriod.LAST_WEEK
    with pytest.raises(ValueError, match="last-hour"):
        parse_period("yesterday")
