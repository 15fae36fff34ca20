"""Candles from the price process: selection, ordering, OHLC validity, agreement with quotes, cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from broker_integration.clock import ManualClock
from broker_integration.models import Granularity
from broker_integration.sim import Bar, CandleRequestError, VenueEngine
from broker_integration.sim.candles import candle_resolution


def check_bars(bars: list[Bar], granularity: Granularity) -> None:
    """Oldest first, one per bar, valid OHLC, only the last one may be incomplete."""
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.volume >= 1
    for earlier, later in pairwise(bars):
        assert later.time > earlier.time
        if granularity not in (Granularity.MONTH,):
            assert (later.time - earlier.time).total_seconds() % granularity.seconds == 0
    assert all(bar.complete for bar in bars[:-1])


@pytest.mark.parametrize("granularity", list(Granularity))
def test_count_returns_the_latest_bars_ending_with_the_current_one(
    engine: VenueEngine, granularity: Granularity
) -> None:
    bars = engine.candles("EUR/USD", granularity, count=25)
    assert len(bars) == 25
    check_bars(bars, granularity)
    now = engine.clock.now()
    last = bars[-1]
    assert last.time <= now
    assert not last.complete
    assert last.close == engine.quote("EUR/USD").mid  # the current bar ends at the live quote


def test_bars_are_aligned(engine: VenueEngine) -> None:
    assert {b.time.minute for b in engine.candles("EUR/USD", Granularity.M15, count=10)} <= {0, 15, 30, 45}
    assert all(b.time.hour % 4 == 0 for b in engine.candles("EUR/USD", Granularity.H4, count=10))
    assert all(
        b.time == b.time.replace(hour=0, minute=0) for b in engine.candles("EUR/USD", Granularity.D, count=10)
    )
    assert all(b.time.weekday() == 0 for b in engine.candles("EUR/USD", Granularity.W, count=10))
    months = engine.candles("EUR/USD", Granularity.MONTH, count=14)
    assert all(b.time.day == 1 for b in months)
    assert months[-1].time == datetime(2024, 1, 1, tzinfo=UTC)
    assert months[0].time == datetime(2022, 12, 1, tzinfo=UTC)


def test_from_to_and_one_sided_bounds(engine: VenueEngine) -> None:
    start = datetime(2023, 12, 30, 10, 17, tzinfo=UTC)
    end = datetime(2023, 12, 30, 14, 0, tzinfo=UTC)
    bars = engine.candles("EUR/USD", Granularity.H1, start=start, end=end)
    assert [b.time.hour for b in bars] == [11, 12, 13]  # bars starting in [start, end)
    assert all(b.complete for b in bars)
    after = engine.candles("EUR/USD", Granularity.H1, start=start, count=5)
    assert after[0].time == bars[0].time
    assert len(after) == 5
    before = engine.candles("EUR/USD", Granularity.H1, end=end, count=2)
    assert [b.time.hour for b in before] == [12, 13]
    assert engine.candles("EUR/USD", Granularity.H1, start=engine.clock.now() + timedelta(days=1)) == []
    assert len(engine.candles("EUR/USD", Granularity.H1)) == 500  # OANDA's default count


def test_bad_queries_are_refused(engine: VenueEngine) -> None:
    now = engine.clock.now()
    with pytest.raises(CandleRequestError):
        engine.candles("EUR/USD", Granularity.M1, count=5_001)
    with pytest.raises(CandleRequestError):
        engine.candles("EUR/USD", Granularity.M1, count=0)
    with pytest.raises(CandleRequestError):
        engine.candles("EUR/USD", Granularity.M1, count=2, start=now - timedelta(hours=1), end=now)
    with pytest.raises(CandleRequestError):
        engine.candles("EUR/USD", Granularity.M1, start=now, end=now - timedelta(hours=1))
    with pytest.raises(CandleRequestError, match="at most"):
        engine.candles("EUR/USD", Granularity.S5, start=now - timedelta(days=2), end=now)


def test_second_resolution_bars_match_the_quotes_exactly(engine: VenueEngine) -> None:
    assert candle_resolution(Granularity.S5) == 1
    bars = engine.candles("BTC/USD", Granularity.S30, count=4)
    for bar in bars[:-1]:
        mids = [engine.quote_at("BTC/USD", bar.time + timedelta(seconds=s)).mid for s in range(30)]
        assert (bar.open, bar.high, bar.low, bar.close) == (mids[0], max(mids), min(mids), mids[-1])


def test_coarse_bars_open_at_the_quote_of_their_first_second(engine: VenueEngine) -> None:
    for granularity in (Granularity.H1, Granularity.D, Granularity.W):
        for bar in engine.candles("USD/JPY", granularity, count=3):
            assert bar.open == engine.quote_at("USD/JPY", bar.time).mid


def test_current_bar_grows_and_completes_as_time_passes(engine: VenueEngine, clock: ManualClock) -> None:
    first = engine.candles("EUR/USD", Granularity.M1, count=1)[0]
    clock.advance(30)
    same = engine.candles("EUR/USD", Granularity.M1, count=2)
    assert same[-1].time == first.time
    assert same[-1].volume >= first.volume
    clock.advance(31)
    later = engine.candles("EUR/USD", Granularity.M1, count=2)
    assert later[0].time == first.time
    assert later[0].complete
    assert not later[1].complete


def test_five_thousand_daily_candles_are_cheap_and_deterministic(
    engine: VenueEngine, clock: ManualClock
) -> None:
    bars = engine.candles("BTC/USD", Granularity.D, count=5_000)
    assert len(bars) == 5_000
    check_bars(bars, Granularity.D)
    # Cheap by construction: a daily bar samples the path hourly, not every second (24 points, not 86,400).
    # Speed itself is measured by benchmarks, not asserted here.
    assert candle_resolution(Granularity.D) >= 3_600
    twin = VenueEngine(engine.profile, clock=clock)
    assert twin.candles("BTC/USD", Granularity.D, count=5_000) == bars
