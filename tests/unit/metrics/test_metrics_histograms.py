"""Latency histograms: quantiles against numpy on the same samples, within the stated relative error."""

from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_integration.metrics.histograms import (
    HIGHEST_US,
    RELATIVE_ERROR,
    LatencySummary,
    bucket_values,
    count_at_or_below,
    decode_histogram,
    encode_histogram,
    new_histogram,
    quantiles_us,
    representative_sample,
)


def _filled(samples: np.ndarray) -> HdrHistogram:
    hist = new_histogram()
    for value in samples:
        hist.record_value(int(value))
    return hist


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_match_numpy_within_relative_error(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = np.rint(rng.lognormal(mean=np.log(8_000), sigma=0.8, size=10_000)).astype(np.int64)
    hist = _filled(samples)
    summary = LatencySummary.from_histogram(hist, int(samples.sum()))
    for p, reported_ms in ((50, summary.p50_ms), (95, summary.p95_ms), (99, summary.p99_ms)):
        # p * n / 100 is a whole number, so every rank rule picks the same sample
        expected_us = float(np.percentile(samples, p, method="inverted_cdf"))
        assert abs(reported_ms * 1000 - expected_us) <= RELATIVE_ERROR * expected_us + 1
    assert summary.mean_ms == pytest.approx(samples.mean() / 1000)
    assert summary.count == samples.size
    assert abs(summary.max_ms * 1000 - samples.max()) <= RELATIVE_ERROR * samples.max() + 1
    assert abs(summary.min_ms * 1000 - samples.min()) <= RELATIVE_ERROR * samples.min() + 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=HIGHEST_US), min_size=1, max_size=300),
    st.sampled_from([50.0, 90.0, 95.0, 99.0, 99.9]),
)
def test_quantiles_agree_with_hdrhistogram_itself(values: list[int], p: float) -> None:
    hist = _filled(np.asarray(values))
    ours = quantiles_us(*bucket_values(hist), (p,))[0]
    assert ours == hist.get_value_at_percentile(p)


def test_bucket_values_agree_with_the_recorded_iterator() -> None:
    rng = np.random.default_rng(5)
    hist = _filled(rng.integers(1, 5_000_000, size=2_000))
    values, counts = bucket_values(hist)
    expected = [
        (item.value_iterated_to, item.count_at_value_iterated_to) for item in hist.get_recorded_iterator()
    ]
    assert list(zip(values.tolist(), counts.tolist(), strict=True)) == expected


def test_encode_decode_round_trip_keeps_counts_and_quantiles() -> None:
    rng = np.random.default_rng(7)
    hist = _filled(rng.integers(100, 900_000, size=5_000))
    back = decode_histogram(encode_histogram(hist))
    assert back.get_total_count() == 5_000
    assert back.get_value_at_percentile(99) == hist.get_value_at_percentile(99)
    assert [list(a) for a in bucket_values(back)] == [list(a) for a in bucket_values(hist)]


def test_representative_sample_keeps_small_histograms_whole_and_big_ones_in_shape() -> None:
    small = _filled(np.array([1000, 2000, 3000]))
    assert representative_sample(small, 10).tolist() == pytest.approx([1.0, 2.0, 3.0], rel=RELATIVE_ERROR)
    rng = np.random.default_rng(9)
    samples = rng.integers(1_000, 100_000, size=50_000)
    reduced = representative_sample(_filled(samples), 1_000)
    assert reduced.size == 1_000
    for q in (0.1, 0.5, 0.9):
        assert np.quantile(reduced, q) == pytest.approx(np.quantile(samples, q) / 1000, rel=0.01)


def test_count_at_or_below_is_cumulative() -> None:
    hist = _filled(np.array([500, 1_500, 1_500, 20_000]))
    assert count_at_or_below(hist, [400, 1_000, 2_000, 1e9]) == [0, 1, 3, 4]


def test_empty_histogram_summary_is_zero() -> None:
    assert LatencySummary.from_histogram(new_histogram(), 0).count == 0
    assert representative_sample(new_histogram(), 10).size == 0
