"""How long the command line takes to start, against starting Python itself.

Each command is run as a fresh process (``python -c ...`` for the floor, ``python -m broker_integration ...``
for ours) ``--runs`` times; the figure is the median wall time in milliseconds, and the best run next to it.

* floor: ``python -c pass`` — the interpreter, nothing imported;
* peer: ``python -c "import typer"`` — the CLI framework alone, what any Typer command pays;
* ours: ``--version``, ``--help``, ``version``; ``errors map oanda MARKET_HALTED`` (a sub-command that runs);
* reference: ``python -c "import broker_integration"`` (the package root, every name lazy).

Usage: ``python benchmarks/bench_cli_start.py [--runs 15]``; prints the figures and writes
``bench-results/bench_cli_start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_cli_start.json"

CASES: dict[str, list[str]] = {
    "floor: python -c pass": ["-c", "pass"],
    "peer: python -c 'import typer'": ["-c", "import typer"],
    "import broker_integration": ["-c", "import broker_integration"],
    "broker-integration --version": ["-m", "broker_integration", "--version"],
    "broker-integration --help": ["-m", "broker_integration", "--help"],
    "broker-integration version": ["-m", "broker_integration", "version"],
    "broker-integration errors map oanda MARKET_HALTED": [
        "-m",
        "broker_integration",
        "errors",
        "map",
        "oanda",
        "MARKET_HALTED",
    ],
}


def _time(args: list[str], runs: int) -> list[float]:
    env = {**os.environ, "COLUMNS": "100"}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=True, env=env)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for case in CASES.values():  # warm the file cache and the bytecode
        _time(case, 1)
    figures: dict[str, dict[str, float]] = {}
    print(f"Start-up time, ms (median and best of {args.runs} fresh processes)")
    floor = None
    for name, case in CASES.items():
        times = _time(case, args.runs)
        median = statistics.median(times)
        floor = median if floor is None else floor
        figures[name] = {"median_ms": median, "best_ms": min(times)}
        print(f"  {name:52s} {median:7.1f}  (best {min(times):6.1f})  x floor {median / floor:5.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "runs": args.runs,
                "figures": figures,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "processor": platform.processor(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
