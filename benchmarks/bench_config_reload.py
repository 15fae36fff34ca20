"""Hot-reload latency: time from an atomic file write to the new configuration being applied.

Method. A temporary folder holds one YAML broker file; a ConfigManager watches it with the default
``ReloadSettings`` (step 50 ms, settle 100 ms) and records every version in a SQLite store. Each of N edits
changes one value and is saved like an editor saves (temporary file, then ``os.replace``). The clock starts
when ``os.replace`` returns and stops in a ``ConfigChangedEvent`` subscriber, which runs right after the
snapshot swap; edits are sequential. Times are ``time.monotonic_ns``.

Compared in the same run:
* floor: raw watchfiles notification latency (``awatch`` on the same folder, same step/debounce) -- the time
  before our pipeline can even start;
* the same pipeline without the store (``persist=False``), to show what recording a version costs.
The settle wait (one ``settle_ms`` between two reads) is deliberate: it is what keeps a half-written file
from being applied.

Run: ``.venv/bin/python benchmarks/bench_config_reload.py [--edits 100]``; writes bench-results/config_reload.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from watchfiles import awatch

from broker_integration.config import ConfigChangedEvent, ConfigManager, ReloadSettings
from broker_integration.events import EventBus
from broker_integration.store import sqlite_url

BROKER = """\
broker_name: oanda
credentials: {{api_key: "${{OANDA_API_KEY}}", account_id: "101-001-1"}}
endpoints: {{base_url: "https://api-fxpractice.oanda.com"}}
settings: {{timeout_seconds: 30, retry_attempts: 3}}
options: {{edit: {edit}}}
"""


def save_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def summary(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "n": len(ms),
        "p50_ms": q[49],
        "p90_ms": q[89],
        "p99_ms": q[98],
        "max_ms": ms[-1],
        "mean_ms": statistics.fmean(ms),
    }


async def pipeline(folder: Path, edits: int, *, persist: bool) -> list[int]:
    """Write -> ConfigChangedEvent latency through the full reload pipeline."""
    file = folder / "oanda.yaml"
    file.write_text(BROKER.format(edit=0))
    bus = EventBus()
    manager = ConfigManager(
        env={"OANDA_API_KEY": "bench-token"},
        event_bus=bus,
        persist=persist,
        store_url=sqlite_url(folder.parent / f"store-{folder.name}.sqlite3"),
    )
    applied: asyncio.Queue[int] = asyncio.Queue()
    bus.subscribe(ConfigChangedEvent, lambda _e: applied.put_nowait(time.monotonic_ns()))
    samples: list[int] = []
    async with manager.watch(folder, ReloadSettings()):
        applied.get_nowait()  # the initial load
        for edit in range(1, edits + 1):
            save_atomically(file, BROKER.format(edit=edit))
            start = time.monotonic_ns()
            samples.append(await asyncio.wait_for(applied.get(), 10) - start)
    return samples


async def floor(folder: Path, edits: int) -> list[int]:
    """Write -> awatch yield latency: the notification alone, with the same step and debounce."""
    defaults = ReloadSettings()
    file = folder / "oanda.yaml"
    file.write_text(BROKER.format(edit=0))
    stop = asyncio.Event()
    changes = awatch(
        folder,
        debounce=defaults.debounce_ms,
        step=defaults.step_ms,
        stop_event=stop,
        recursive=False,
        watch_filter=lambda _c, p: Path(p).name == file.name,
    )
    samples: list[int] = []
    pending = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0.05)
    for edit in range(1, edits + 1):
        save_atomically(file, BROKER.format(edit=edit))
        start = time.monotonic_ns()
        await asyncio.wait_for(pending, 10)
        samples.append(time.monotonic_ns() - start)
        pending = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0)
    stop.set()
    with contextlib.suppress(StopAsyncIteration):
        await pending
    return samples


async def main(edits: int) -> dict[str, Any]:
    defaults = ReloadSettings()
    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        root = Path(tmp)
        folders = {name: root / name for name in ("floor", "store", "memory")}
        for folder in folders.values():
            folder.mkdir()
        results = {
            "floor: watchfiles notification": summary(await floor(folders["floor"], edits)),
            "reload, versions in SQLite (default)": summary(
                await pipeline(folders["store"], edits, persist=True)
            ),
            "reload, versions in memory": summary(await pipeline(folders["memory"], edits, persist=False)),
        }
    floor_p50 = results["floor: watchfiles notification"]["p50_ms"]
    print(
        f"config hot reload: write -> applied, {edits} sequential atomic edits, default settings "
        f"(step {defaults.step_ms} ms, settle {defaults.settle_ms} ms)"
    )
    print(f"{'scenario':40} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p50/floor':>10}")
    for name, row in results.items():
        print(
            f"{name:40} {row['p50_ms']:8.1f} {row['p90_ms']:8.1f} {row['p99_ms']:8.1f} {row['max_ms']:8.1f} "
            f"{row['p50_ms'] / floor_p50:10.2f}"
        )
    target = results["reload, versions in SQLite (default)"]["p99_ms"]
    print(f"target p99 < 500 ms: {'met' if target < 500 else 'MISSED'} ({target:.1f} ms)")
    return {
        "benchmark": "config_reload",
        "method": __doc__,
        "edits": edits,
        "settings": {
            "step_ms": defaults.step_ms,
            "debounce_ms": defaults.debounce_ms,
            "settle_ms": defaults.settle_ms,
        },
        "results": results,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--output", type=Path, default=Path("bench-results/config_reload.json"))
    args = parser.parse_args()
    report = asyncio.run(main(args.edits))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
