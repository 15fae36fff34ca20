"""The price process: deterministic, consistent across sampling paths, realistic in scale."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from broker_integration.sim import DEFAULT_INSTRUMENTS, InstrumentSpec, PricePath, step_of
from broker_integration.sim.rng import derive_key, exponential, hash64, normals, uniform, uniforms

SPECS = {spec.symbol: spec for spec in DEFAULT_INSTRUMENTS}
EURUSD = SPECS["EUR/USD"]
T0 = step_of(datetime(2024, 1, 2, 15, 0, tzinfo=UTC))


def test_counter_based_draws_are_pure_and_agree_between_scalar_and_array() -> None:
    key = derive_key(7, "test")
    assert key == derive_key(7, "test") != derive_key(8, "test")
    counters = np.arange(-5, 1_000, dtype=np.int64)
    assert uniforms(key, counters).tolist() == [uniform(key, int(c)) for c in counters]
    assert 0 <= hash64(key, 3) < 2**64
    draws = normals(key, np.arange(200_000, dtype=np.int64))
    assert abs(draws.mean()) < 0.01
    assert abs(draws.std() - 1) < 0.01
    assert np.array_equal(normals(key, np.arange(10, dtype=np.int64)), draws[:10])
    assert abs(np.mean([exponential(key, i) for i in range(20_000)]) - 1) < 0.03


def test_same_seed_same_prices_other_seed_other_prices() -> None:
    steps = np.arange(T0, T0 + 3_600, dtype=np.int64)
    a, b, c = PricePath(EURUSD, 1), PricePath(EURUSD, 1), PricePath(EURUSD, 2)
    assert np.array_equal(a.quotes(steps)[0], b.quotes(steps)[0])
    assert not np.array_equal(a.quotes(steps)[0], c.quotes(steps)[0])
    assert PricePath(SPECS["GBP/USD"], 1).log_mids(steps[:5]).tolist() != a.log_mids(steps[:5]).tolist()


def test_single_seconds_match_vectorized_ranges() -> None:
    path = PricePath(EURUSD, 3)
    steps = np.arange(T0 - 7_200, T0 + 7_200, dtype=np.int64)
    bid, ask = path.quotes(steps)
    fresh = PricePath(EURUSD, 3)  # empty caches: each second is computed on its own
    singles = [fresh.quote_at(int(s)) for s in steps[::97]]
    assert singles == list(zip(bid[::97].tolist(), ask[::97].tolist(), strict=True))


@pytest.mark.parametrize("resolution", [60, 3_600, 86_400])
def test_coarse_samples_are_exact_values_of_the_fine_path(resolution: int) -> None:
    path = PricePath(SPECS["BTC/USD"], 5)
    start = (T0 // 86_400 - 40) * 86_400
    steps = np.arange(start, start + 200 * resolution, resolution, dtype=np.int64)
    assert np.array_equal(path.log_mids(steps, resolution), path.log_mids(steps, 1))
    with pytest.raises(ValueError, match="multiples"):
        path.log_mids(steps + 1, resolution)


@pytest.mark.parametrize("spec", DEFAULT_INSTRUMENTS, ids=lambda s: s.symbol)
def test_quotes_are_on_ticks_with_a_realistic_spread_and_volatility(spec: InstrumentSpec) -> None:
    path = PricePath(spec, 11)
    steps = np.arange(T0, T0 + 5 * 86_400, dtype=np.int64)
    bid, ask = path.quotes(steps)
    assert (ask > bid).all()
    assert (bid > 0).all()
    typical = float(spec.spread / spec.tick_size)
    assert abs((ask - bid).mean() - typical) <= max(0.15 * typical, 0.5)
    minute_returns = np.diff(path.log_mids(steps[::60], 60))
    annualized = minute_returns.std() * np.sqrt(365 * 1_440)
    assert 0.8 * spec.annual_volatility < annualized < 1.2 * spec.annual_volatility
    bid_price, tick_bid = path.price(int(bid[0])), int(bid[0])
    assert path.ticks(bid_price) == tick_bid
    assert path.ticks(bid_price + spec.tick_size / 10) is None
    assert bid_price.as_tuple().exponent == spec.tick_size.as_tuple().exponent


def test_spread_multiplier_widens_the_spread() -> None:
    steps = np.arange(T0, T0 + 86_400, dtype=np.int64)
    narrow = PricePath(EURUSD, 4, spread_multiplier=1.0).quotes(steps)
    wide = PricePath(EURUSD, 4, spread_multiplier=2.5).quotes(steps)
    ratio = (wide[1] - wide[0]).mean() / (narrow[1] - narrow[0]).mean()
    assert 2.3 < ratio < 2.7
    mids_narrow = narrow[0] + narrow[1]
    mids_wide = wide[0] + wide[1]
    assert np.abs(mids_wide - mids_narrow).max() <= 1  # same mid path, within rounding


def test_prices_revert_to_the_reference_over_decades() -> None:
    path = PricePath(EURUSD, 9)
    days = np.arange(0, 40 * 365, dtype=np.int64) * 86_400
    prices = np.exp(path.log_mids(days, 86_400))
    assert 0.6 * EURUSD.base_price < prices.min()
    assert prices.max() < 1.6 * EURUSD.base_price
    assert abs(np.median(prices) / EURUSD.base_price - 1) < 0.15


def test_price_helpers_convert_exactly() -> None:
    path = PricePath(SPECS["USD/JPY"], 1)
    assert path.price(148_512) == Decimal("148.512")
    assert path.ticks(Decimal("148.512")) == 148_512
    with pytest.raises(ValueError, match="positive"):
        PricePath(EURUSD, 1, spread_multiplier=0)
