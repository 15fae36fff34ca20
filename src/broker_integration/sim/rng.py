"""Counter-based random numbers: the same (key, counter) always gives the same number.

The venue draws every random number as a pure function of a key (derived from the seed and a purpose)
and a counter (a second, an order id ...), so its prices at any moment and its fills for a given sequence
of requests never depend on what was asked before or in which order. The mixer is SplitMix64's output
function (Steele, Lea and Flood, 2014): the counter-th output of a SplitMix64 generator seeded with the
key. It is fast in pure Python for single draws and vectorizes in numpy for whole price paths.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt

__all__ = ["derive_key", "exponential", "hash64", "normals", "uniform", "uniforms"]

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB
_TWO_POW_53 = float(1 << 53)
_TWO_POW_32 = float(1 << 32)


def derive_key(seed: int, *labels: object) -> int:
    """A 64-bit key for one purpose of one seed (``derive_key(7, "price", "EUR/USD")``).

    Uses BLAKE2b of the labels' repr, so keys are stable across processes (unlike ``hash()``).
    """
    digest = hashlib.blake2b(repr((seed, *labels)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def hash64(key: int, counter: int) -> int:
    """The ``counter``-th SplitMix64 output for ``key``, as a Python int in [0, 2**64)."""
    z = (key + counter * _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK
    return z ^ (z >> 31)


def uniform(key: int, counter: int) -> float:
    """A uniform float in [0, 1) for (key, counter); equal to ``uniforms(key, [counter])[0]``."""
    return (hash64(key, counter) >> 11) / _TWO_POW_53


def exponential(key: int, counter: int) -> float:
    """A standard exponential draw (mean 1) for (key, counter)."""
    return -math.log1p(-uniform(key, counter))


def _hash_array(key: int, counters: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    # Unsigned array arithmetic wraps modulo 2**64 without warnings, exactly as the scalar version masks.
    z = np.uint64(key) + counters.astype(np.uint64) * np.uint64(_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MUL1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MUL2)
    result: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return result


def uniforms(key: int, counters: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Uniform floats in [0, 1), one per counter (any shape)."""
    bits = _hash_array(key, counters) >> np.uint64(11)
    return bits.astype(np.float64) / _TWO_POW_53


def normals(key: int, counters: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Standard normal floats, one per counter, by Box-Muller on the two 32-bit halves of each hash."""
    bits = _hash_array(key, counters)
    u1 = ((bits >> np.uint64(32)).astype(np.float64) + 1.0) / _TWO_POW_32  # (0, 1]: log is finite
    u2 = (bits & np.uint64(0xFFFFFFFF)).astype(np.float64) / _TWO_POW_32
    result: npt.NDArray[np.float64] = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return result
