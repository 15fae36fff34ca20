"""Run every benchmark in turn (``make bench`` / ``python -m benchmarks``).

Each script prints its figures next to its named peer and floor and writes JSON to ``bench-results/``.
Pass script names to run only those: ``python -m benchmarks bench_metrics``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name != "__main__.py" and (not wanted or p.stem in wanted)
    )
    failed: list[str] = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(script)], check=False)
        print(f"--- {script.stem}: exit {done.returncode} in {time.monotonic() - started:.1f} s", flush=True)
        if done.returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
