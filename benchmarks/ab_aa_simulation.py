"""A/A and A/B simulations of the A/B framework's decision test, read after every batch.

What it measures, at the statistics level (numpy draws, no brokers), with the framework's defaults:

* **A/A false-positive share**: two identical arms (lognormal order latency, median 50 ms, sigma 0.5), a
  read of the always-valid mSPRT after every batch of orders once each arm has the minimum sample, the test
  declared significant the first time p <= alpha (the running minimum the framework keeps). The share of
  simulated tests ever declared significant must stay at or below alpha. The same for a success rate
  (98 %), and, as the contrast that shows why, for a fixed-horizon Welch t-test read the same way.
* **A/B detection**: arm B 20 % slower (latency scaled by 1.2); the per-arm sample size at which the
  sequential test first declares the difference, and the share of tests that detect it by the cap.

Usage: ``python benchmarks/ab_aa_simulation.py [--tests 500] [--seed 0]``; prints the figures and writes
``bench-results/ab_aa_simulation.json``. ``tests/unit/stats/test_sequential_simulation.py`` runs a smaller
version of the same functions.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from broker_integration import stats

ALPHA = 0.05
MIN_PER_ARM = 100  # the framework's default minimum_sample_size
TUNING_N = 1000  # the framework's default sequential_tuning_n
BATCH = 25
MAX_PER_ARM = 2000
MEDIAN_MS = 50.0
SIGMA = 0.5
SUCCESS_RATE = 0.98

Reader = Callable[[np.ndarray, np.ndarray], float]


def sequential_means(a: np.ndarray, b: np.ndarray) -> float:
    return stats.always_valid_mean_difference(a, b, ALPHA, tuning_n=TUNING_N).p_value


def sequential_rates(a: np.ndarray, b: np.ndarray) -> float:
    return stats.always_valid_proportion_difference(
        int(a.sum()), a.size, int(b.sum()), b.size, ALPHA, tuning_n=TUNING_N
    ).p_value


def fixed_welch(a: np.ndarray, b: np.ndarray) -> float:
    return stats.welch_t_test(a, b).p_value


@dataclass(frozen=True)
class Run:
    """One simulation: how many tests were declared significant, and when (orders per arm)."""

    name: str
    tests: int
    significant: int
    share: float
    share_low: float
    share_high: float
    detection_n: list[int]

    @property
    def median_detection_n(self) -> float | None:
        return float(np.median(self.detection_n)) if self.detection_n else None


def first_significant(
    a: np.ndarray, b: np.ndarray, read: Reader, *, batch: int, min_per_arm: int
) -> int | None:
    """Orders per arm at the first read with p <= alpha, reading after every batch; None if never."""
    for n in range(batch, a.size + 1, batch):
        if n >= min_per_arm and read(a[:n], b[:n]) <= ALPHA:
            return n
    return None


def simulate(
    name: str,
    draw: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]],
    read: Reader,
    *,
    tests: int,
    seed: int,
    max_per_arm: int = MAX_PER_ARM,
    batch: int = BATCH,
    min_per_arm: int = MIN_PER_ARM,
) -> Run:
    """Run ``tests`` simulated experiments; ``draw`` gives both arms' full samples for one experiment."""
    rng = np.random.default_rng(seed)
    hits: list[int] = []
    for _ in range(tests):
        a, b = draw(rng, max_per_arm)
        n = first_significant(a, b, read, batch=batch, min_per_arm=min_per_arm)
        if n is not None:
            hits.append(n)
    interval = stats.wilson_interval(len(hits), tests)
    return Run(name, tests, len(hits), interval.estimate, interval.low, interval.high, hits)


def latencies(ratio: float) -> Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]:
    mu = np.log(MEDIAN_MS)
    return lambda rng, n: (rng.lognormal(mu, SIGMA, n), rng.lognormal(mu, SIGMA, n) * ratio)


def successes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return (rng.random(n) < SUCCESS_RATE).astype(float), (rng.random(n) < SUCCESS_RATE).astype(float)


def run_all(tests: int, seed: int, *, max_per_arm: int = MAX_PER_ARM) -> dict[str, Run]:
    kw = {"tests": tests, "max_per_arm": max_per_arm}
    return {
        "aa_latency_sequential": simulate(
            "aa_latency_sequential", latencies(1.0), sequential_means, seed=seed, **kw
        ),
        "aa_success_sequential": simulate(
            "aa_success_sequential", successes, sequential_rates, seed=seed + 1, **kw
        ),
        "aa_latency_fixed_peeking": simulate(
            "aa_latency_fixed_peeking", latencies(1.0), fixed_welch, seed=seed, **kw
        ),
        "ab_latency_20pct_sequential": simulate(
            "ab_latency_20pct_sequential", latencies(1.2), sequential_means, seed=seed + 2, **kw
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=500, help="simulated experiments per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench-results/ab_aa_simulation.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    runs = run_all(args.tests, args.seed)
    elapsed = time.perf_counter() - started
    cv = float(np.sqrt(np.exp(SIGMA**2) - 1))  # sd / mean of the lognormal: the test is scale-free
    fixed_n = stats.sample_size_for_means(cv, 0.2)
    print(
        f"Method: always-valid mSPRT (tuning {TUNING_N}), alpha {ALPHA}, read every {BATCH} orders per arm "
        f"from {MIN_PER_ARM} to {MAX_PER_ARM}; lognormal latency median {MEDIAN_MS:g} ms sigma {SIGMA}."
    )
    for run in runs.values():
        line = (
            f"{run.name:30s} {run.significant:4d}/{run.tests} significant = {run.share:.3f} "
            f"(95% Wilson {run.share_low:.3f}-{run.share_high:.3f})"
        )
        if run.name.startswith("ab_") and run.detection_n:
            q1, med, q3 = np.percentile(run.detection_n, [25, 50, 75])
            line += f"; detected at median {med:.0f} orders per arm (IQR {q1:.0f}-{q3:.0f})"
        print(line)
    print(f"Fixed-horizon sample size for the same 20% difference at 80% power: {fixed_n} per arm.")
    print(f"{elapsed:.1f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "method": {
            "test": "always_valid_mean_difference / always_valid_proportion_difference (mSPRT)",
            "alpha": ALPHA,
            "tuning_n": TUNING_N,
            "batch_per_arm": BATCH,
            "min_per_arm": MIN_PER_ARM,
            "max_per_arm": MAX_PER_ARM,
            "latency": {"distribution": "lognormal", "median_ms": MEDIAN_MS, "sigma": SIGMA},
            "success_rate": SUCCESS_RATE,
            "seed": args.seed,
        },
        "runs": {
            name: {**asdict(run), "detection_n": None, "median_detection_n": run.median_detection_n}
            for name, run in runs.items()
        },
        "ab_detection_n_quartiles": np.percentile(
            runs["ab_latency_20pct_sequential"].detection_n, [25, 50, 75]
        ).tolist()
        if runs["ab_latency_20pct_sequential"].detection_n
        else None,
        "fixed_horizon_n_for_20pct": fixed_n,
        "seconds": elapsed,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
