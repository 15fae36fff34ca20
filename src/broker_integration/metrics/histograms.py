"""Latency histograms: the one HdrHistogram configuration the library uses, and what is read from it.

Latencies are recorded as integer microseconds from 1 µs to one hour with three significant figures:
2048 sub-buckets per power of two, so every reported value is within :data:`RELATIVE_ERROR` (1/1024,
about 0.1 %) of a recorded sample and memory stays constant whatever the sample count.

Quantiles follow HdrHistogram: the sample at nearest rank ``round(p/100 · n)`` (at least 1), reported as
the highest value equivalent to it in the histogram. With ``p·n/100`` a whole number this is numpy's
``method="inverted_cdf"`` up to the stated error. The mean is exact: callers keep the sum of the
recorded microseconds next to the histogram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram
from numpy.typing import NDArray

__all__ = [
    "HIGHEST_US",
    "LOWEST_US",
    "RELATIVE_ERROR",
    "SIGNIFICANT_FIGURES",
    "LatencySummary",
    "bucket_values",
    "copy_histogram",
    "count_at_or_below",
    "decode_histogram",
    "encode_histogram",
    "new_histogram",
    "quantiles_us",
    "representative_sample",
]

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_FIGURES = 3
#: Largest relative distance between a reported value and the sample it stands for.
RELATIVE_ERROR = 1 / 1024


def new_histogram() -> HdrHistogram:
    """An empty latency histogram (microseconds, 1 µs to 1 h, 3 significant figures)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def encode_histogram(hist: HdrHistogram) -> str:
    """The compressed base64 form (HdrHistogram V2) for the store."""
    encoded: bytes = hist.encode()
    return encoded.decode("ascii")


def decode_histogram(text: str) -> HdrHistogram:
    """Inverse of :func:`encode_histogram`."""
    return HdrHistogram.decode(text.encode("ascii"))


def copy_histogram(hist: HdrHistogram) -> HdrHistogram:
    """An independent copy (``add`` into a fresh histogram is a C array addition)."""
    fresh = new_histogram()
    if hist.get_total_count():
        fresh.add(hist)
    return fresh


def bucket_values(hist: HdrHistogram) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The non-empty buckets: (highest equivalent value in µs, count), ascending by value.

    Vectorised over the histogram's counts array with HdrHistogram's own index arithmetic, so reading a
    histogram of any size costs a few numpy passes instead of a Python loop over buckets.
    """
    counts = np.ctypeslib.as_array(hist.counts).astype(np.int64, copy=False)
    index = np.flatnonzero(counts)
    if index.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    half_mag = int(hist.sub_bucket_half_count_magnitude)
    half = int(hist.sub_bucket_half_count)
    unit = int(hist.unit_magnitude)
    bucket = (index >> half_mag) - 1
    sub = (index & (half - 1)) + half
    first = bucket < 0
    sub = np.where(first, sub - half, sub)
    bucket = np.where(first, 0, bucket)
    lowest = sub << (bucket + unit)
    highest = lowest + (np.int64(1) << (bucket + unit)) - 1
    return highest.astype(np.int64), counts[index]


def count_at_or_below(hist: HdrHistogram, thresholds_us: Sequence[float]) -> list[int]:
    """How many samples were at most each threshold (cumulative, for Prometheus ``le`` buckets)."""
    values, counts = bucket_values(hist)
    cumulative = np.cumsum(counts)
    positions = np.searchsorted(values, np.asarray(thresholds_us, dtype=np.float64), side="right")
    return [int(cumulative[p - 1]) if p > 0 else 0 for p in positions]


def quantiles_us(
    values: NDArray[np.int64], counts: NDArray[np.int64], percentiles: Sequence[float]
) -> list[float]:
    """Quantiles of :func:`bucket_values` output by HdrHistogram's rule (nearest rank, rounded)."""
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1]) if cumulative.size else 0
    if total == 0:
        return [0.0 for _ in percentiles]
    targets = [max(int(min(p, 100.0) * total / 100 + 0.5), 1) for p in percentiles]
    positions = np.searchsorted(cumulative, targets, side="left")
    return [float(values[i]) for i in positions]


def representative_sample(hist: HdrHistogram, max_size: int) -> NDArray[np.float64]:
    """The histogram's samples in milliseconds, or ``max_size`` of them at evenly spaced quantiles.

    Statistical tests take sample arrays; a histogram of a million calls becomes at most ``max_size``
    values that keep its shape (each the value at quantile ``(i + 0.5) / max_size``). Tests on the
    reduced sample are conservative: they see ``max_size`` observations, not all of them.
    """
    values, counts = bucket_values(hist)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.float64)
    if total <= max_size:
        return np.repeat(values, counts).astype(np.float64) / 1000.0
    cumulative = np.cumsum(counts)
    ranks = (np.arange(max_size, dtype=np.float64) + 0.5) * (total / max_size)
    picked = values[np.searchsorted(cumulative, ranks, side="left")]
    return picked.astype(np.float64) / 1000.0


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency of ``count`` calls in milliseconds: exact mean, histogram quantiles and extremes."""

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def from_histogram(cls, hist: HdrHistogram, sum_us: int) -> LatencySummary:
        values, counts = bucket_values(hist)
        total = int(counts.sum())
        if total == 0:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        p50, p95, p99 = quantiles_us(values, counts, (50.0, 95.0, 99.0))
        return cls(
            count=total,
            mean_ms=sum_us / total / 1000.0,
            p50_ms=p50 / 1000.0,
            p95_ms=p95 / 1000.0,
            p99_ms=p99 / 1000.0,
            min_ms=float(values[0]) / 1000.0,
            max_ms=float(values[-1]) / 1000.0,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean_ms": self.mean_ms,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
        }
