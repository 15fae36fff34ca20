"""A/A and A/B simulations of the A/B framework's decision test, read after every batch.

What it measures, first through the framework's own routing and analysis for **every routing strategy**
(hash, random, performance-based): two identical arms (lognormal latency, median 50 ms, sigma 0.5; 98 %
success), each order routed by the strategy's real router (which learns from every outcome under
performance-based routing), the test read with ``ab_testing.results.decide`` after every ``--read-every``
orders exactly as ``get_test_results`` reads it (running sequential state, Holm over latency, success and
fill), and the test counted as a false positive the first time any comparison is significant. The share
of A/A tests ever declared significant, with its 95 % Wilson interval, must stay at or below alpha. As the
contrast that shows the harness can see inflation: the method performance-based routing used before
(a fixed-horizon z-test on inverse-propensity means of every order), read the same way.

Then, at the statistics level (numpy draws, no brokers), with the framework's defaults:

* **A/A false-positive share**: two identical arms (lognormal order latency, median 50 ms, sigma 0.5), a
  read of the always-valid mSPRT after every batch of orders once each arm has the minimum sample, the test
  declared significant the first time p <= alpha (the running minimum the framework keeps). The share of
  simulated tests ever declared significant must stay at or below alpha. The same for a success rate
  (98 %), and, as the contrast that shows why, for a fixed-horizon Welch t-test read the same way.
* **A/B detection**: arm B 20 % slower (latency scaled by 1.2); the per-arm sample size at which the
  sequential test first declares the difference, and the share of tests that detect it by the cap.

Usage: ``python benchmarks/ab_aa_simulation.py [--tests 500] [--strategy-tests 200] [--seed 0]``; prints
the figures and writes ``bench-results/ab_aa_simulation.json``.
``tests/unit/stats/test_sequential_simulation.py`` runs a smaller version of the same functions.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from broker_integration import stats
from broker_integration.ab_testing.models import (
    Experiment,
    ExperimentConfig,
    ExperimentStatus,
    RoutingStrategy,
    TrafficSplit,
)
from broker_integration.ab_testing.outcomes import Assignment, OrderRecord
from broker_integration.ab_testing.results import Tally, decide
from broker_integration.ab_testing.routing import make_router
from broker_integration.models import OrderSide, OrderStatus, UnifiedOrder
from broker_integration.tca import Execution

ALPHA = 0.05
MIN_PER_ARM = 100  # the framework's default minimum_sample_size
TUNING_N = stats.DEFAULT_SEQUENTIAL_TUNING_N  # the framework's default sequential_tuning_n
BATCH = 25
#: Orders per simulated experiment routed by a strategy, and how often it is read.
STRATEGY_ORDERS = 4000
READ_EVERY = 50
T0 = datetime(2024, 1, 2, tzinfo=UTC)
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


# ------------------------------------------------------------------ through the framework's routing and analysis


def _execution(latency_ms: float, success: bool) -> Execution:
    return Execution(
        status=OrderStatus.FILLED if success else OrderStatus.REJECTED,
        success=success,
        sent=True,
        error_code=None if success else "SERVICE_UNAVAILABLE",
        latency_ms=latency_ms,
        quote_latency_ms=None,
        requested_quantity=Decimal(1),
        filled_quantity=Decimal(1) if success else Decimal(0),
        average_fill_price=Decimal(1) if success else None,
        arrival_bid=None,
        arrival_ask=None,
        commission=Decimal(0),
        slippage_bps=None,
        spread_cost_bps=None,
        commission_bps=0.0 if success else None,
        completed_at=T0,
    )


def _ipw_z_significant(records: list[OrderRecord], minimum: int) -> bool:
    """The method performance-based routing used before: a fixed-horizon z-test on the inverse-propensity
    (Hajek) means of every order's latency, read like any other."""
    means, variances = [], []
    for arm in ("a", "b"):
        rows = [(r.execution.latency_ms, r.assignment.propensity) for r in records if r.assignment.arm == arm]
        if len(rows) < minimum:
            return False
        values, propensities = zip(*rows, strict=True)
        interval = stats.ipw_mean(values, propensities)
        means.append(interval.estimate)
        variances.append((interval.width / 2 / 1.959963984540054) ** 2)
    z = abs(means[1] - means[0]) / math.sqrt(sum(variances))
    return bool(math.erfc(z / math.sqrt(2.0)) <= ALPHA)


def simulate_strategy(
    strategy: RoutingStrategy,
    *,
    tests: int,
    seed: int,
    orders: int = STRATEGY_ORDERS,
    read_every: int = READ_EVERY,
    minimum_sample_size: int = MIN_PER_ARM,
    contrast: bool = False,
    ratio: float = 1.0,
) -> Run:
    """A/A experiments routed by ``strategy``'s router and read with the framework's ``decide`` after every
    ``read_every`` orders; a test counts once, at the first read with any significant comparison, and its
    ``detection_n`` is the orders routed by then (both arms).

    ``contrast`` reads the fixed-horizon inverse-propensity z-test instead (performance routing's method
    before the verdict moved to the randomised orders). ``ratio`` above 1 makes arm b that much slower: an
    A/B test, whose detection share and orders measure what each strategy's verdict costs.
    """
    rng = np.random.default_rng(seed)
    mu = np.log(MEDIAN_MS)
    hashed = strategy is RoutingStrategy.HASH_BASED
    hits: list[int] = []
    for i in range(tests):
        config = ExperimentConfig(
            test_name="A/A",
            traffic_splits=(TrafficSplit("a", 50.0), TrafficSplit("b", 50.0)),
            routing_strategy=strategy,
            salt=f"aa-{seed}-{i}",
            minimum_sample_size=minimum_sample_size,
        )
        experiment = Experiment(f"aa-{i}", config, ExperimentStatus.RUNNING, created_at=T0)
        router = make_router(config, seed=int(rng.integers(2**32)))
        latencies = rng.lognormal(mu, SIGMA, orders)  # by order, not by arm: the arms are identical
        successes = rng.random(orders) < SUCCESS_RATE
        records: list[OrderRecord] = []
        tally = Tally(config, config.decision_metrics)
        template = UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1))
        for n in range(orders):
            # only hash routing reads the order (its id); the others draw without it
            order = template.model_copy(update={"order_id": f"order-{i}-{n}"}) if hashed else template
            decision = router.route(order)
            latency = float(latencies[n]) * (ratio if decision.arm == "b" else 1.0)
            execution = _execution(latency, bool(successes[n]))
            router.observe(decision.arm, execution)
            assignment = Assignment(
                test_id=experiment.test_id,
                client_order_id=f"order-{i}-{n}",
                attempt=0,
                arm=decision.arm,
                propensity=decision.propensity,
                probabilities=dict(decision.probabilities),
                explore=decision.explore,
                sticky_key=decision.sticky_key,
                assigned_at=T0,
            )
            records.append(OrderRecord(assignment, execution))
            tally.add(records[-1])
            if (n + 1) % read_every:
                continue
            if contrast:
                significant = _ipw_z_significant(records, minimum_sample_size)
            else:
                decision_now = decide(experiment, tally)
                experiment.sequential_state = decision_now.state
                significant = any(c.significant for c in decision_now.comparisons)
            if significant:
                hits.append(n + 1)
                break
    interval = stats.wilson_interval(len(hits), tests)
    kind = "aa" if ratio == 1.0 else f"ab_latency_{round((ratio - 1) * 100)}pct"
    name = f"{kind}_{strategy.value}" + ("_ipw_z_contrast" if contrast else "")
    return Run(name, tests, len(hits), interval.estimate, interval.low, interval.high, hits)


def run_strategies(
    tests: int,
    seed: int,
    *,
    orders: int = STRATEGY_ORDERS,
    read_every: int = READ_EVERY,
    minimum_sample_size: int = MIN_PER_ARM,
) -> dict[str, Run]:
    """Every routing strategy's A/A share, and the inverse-propensity z-test contrast."""
    kw = {
        "tests": tests,
        "orders": orders,
        "read_every": read_every,
        "minimum_sample_size": minimum_sample_size,
    }
    runs = {
        f"aa_{s.value}": simulate_strategy(s, seed=seed + 10 + k, **kw)  # type: ignore[arg-type]
        for k, s in enumerate(RoutingStrategy)
    }
    contrast = simulate_strategy(
        RoutingStrategy.PERFORMANCE_BASED,
        seed=seed + 20,
        contrast=True,
        **kw,  # type: ignore[arg-type]
    )
    runs[contrast.name] = contrast
    return runs


def run_strategy_detection(
    tests: int, seed: int, *, orders: int = STRATEGY_ORDERS, read_every: int = READ_EVERY
) -> dict[str, Run]:
    """Arm b 20 % slower under every strategy: how often, and after how many orders, the verdict finds it."""
    runs = [
        simulate_strategy(s, tests=tests, seed=seed + 30 + k, orders=orders, read_every=read_every, ratio=1.2)
        for k, s in enumerate(RoutingStrategy)
    ]
    return {run.name: run for run in runs}


# ------------------------------------------------------------------ at the statistics level


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


def _line(run: Run) -> str:
    return (
        f"{run.name:40s} {run.significant:4d}/{run.tests} significant = {run.share:.3f} "
        f"(95% Wilson {run.share_low:.3f}-{run.share_high:.3f}; alpha {ALPHA})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--tests", type=int, default=500, help="simulated experiments per statistics scenario"
    )
    parser.add_argument(
        "--strategy-tests", type=int, default=200, help="simulated A/A experiments per routing strategy"
    )
    parser.add_argument("--orders", type=int, default=STRATEGY_ORDERS, help="orders per routed experiment")
    parser.add_argument("--read-every", type=int, default=READ_EVERY, help="orders between two reads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench-results/ab_aa_simulation.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    strategies = run_strategies(
        args.strategy_tests, args.seed, orders=args.orders, read_every=args.read_every
    )
    detection = run_strategy_detection(
        max(1, args.strategy_tests // 2), args.seed, orders=args.orders, read_every=args.read_every
    )
    strategy_seconds = time.perf_counter() - started
    print(
        f"A/A through each router and the framework's analysis: {args.orders} orders per test, read every "
        f"{args.read_every} orders from {MIN_PER_ARM} per arm; always-valid mSPRT (tuning {TUNING_N}), Holm "
        f"over latency, success and fill; performance-based reads only its orders routed at random."
    )
    for run in strategies.values():
        verdict = (
            "" if run.name.endswith("contrast") else ("  <= alpha" if run.share <= ALPHA else "  ABOVE alpha")
        )
        print(_line(run) + verdict)
    for run in detection.values():
        line = _line(run)
        if run.detection_n:
            q1, med, q3 = np.percentile(run.detection_n, [25, 50, 75])
            line += f"; found after a median {med:.0f} orders in all (IQR {q1:.0f}-{q3:.0f})"
        print(line)
    print(f"{strategy_seconds:.1f} s")
    started = time.perf_counter()
    runs = run_all(args.tests, args.seed)
    elapsed = time.perf_counter() - started
    cv = float(np.sqrt(np.exp(SIGMA**2) - 1))  # sd / mean of the lognormal: the test is scale-free
    fixed_n = stats.sample_size_for_means(cv, 0.2)
    print(
        f"\nStatistics level: always-valid mSPRT (tuning {TUNING_N}), alpha {ALPHA}, read every {BATCH} orders "
        f"per arm from {MIN_PER_ARM} to {MAX_PER_ARM}; lognormal latency median {MEDIAN_MS:g} ms sigma {SIGMA}."
    )
    for run in runs.values():
        line = _line(run)
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
            "strategy_orders": args.orders,
            "strategy_read_every": args.read_every,
        },
        "strategies": {
            name: {**asdict(run), "detection_n": None, "median_detection_n": run.median_detection_n}
            for name, run in {**strategies, **detection}.items()
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
        "seconds": elapsed + strategy_seconds,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
