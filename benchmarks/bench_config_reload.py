"""Hot-reload latency (write -> applied) and slow writers (how often a half-written file gets applied).

Latency. A temporary folder holds one YAML broker file; a ConfigManager watches it with the default
``ReloadSettings`` (batch step 50 ms) and records every version in a SQLite store. Each of N edits changes
one value and is saved like an editor saves (temporary file, then ``os.replace``). The clock starts when
``os.replace`` returns and stops in a ``ConfigChangedEvent`` subscriber, which runs right after the snapshot
swap; edits are sequential. Times are ``time.monotonic_ns``.

Compared in the same run:
* floor: the raw inotify notification (``IN_MOVED_TO`` read on the event loop) -- what the default pipeline
  starts from on Linux; it then waits one batch step (50 ms) for more events, reads, parses, validates,
  records and swaps;
* floor: the raw watchfiles notification (``awatch``, same step and debounce) -- what the portable fallback
  starts from (and what the watcher used before it read inotify itself);
* the same pipeline without the store (``persist=False``), to show what recording a version costs;
* the portable fallback (``force_polling=True``: watchfiles polling, then two equal reads ``settle_ms`` =
  1000 ms apart), over fewer edits because each takes over a second.

Slow writers. A writer truncates the file, writes its first half (up to a line boundary), pauses, writes the
rest and closes; the pipeline runs with default settings. Counted over T trials per pause: how many applied
the half (a version without the second half's keys) and how many applied the whole file in the end.

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
from broker_integration.config.inotify import IN_MOVED_TO, Inotify
from broker_integration.events import EventBus
from broker_integration.store import sqlite_url

BROKER = """\
broker_name: oanda
credentials: {{api_key: "${{OANDA_API_KEY}}", account_id: "101-001-1"}}
endpoints: {{base_url: "https://api-fxpractice.oanda.com"}}
settings: {{timeout_seconds: 30, retry_attempts: 3}}
options: {{edit: {edit}}}
"""

HEAD = 'broker_name: oanda\ncredentials: {api_key: "${OANDA_API_KEY}", account_id: "101-001-1"}\n'
TAIL = "settings:\n  timeout_seconds: {timeout}\n  retry_attempts: 7\n"
ENV = {"OANDA_API_KEY": "bench-token"}


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


async def pipeline(folder: Path, edits: int, *, persist: bool, settings: ReloadSettings) -> list[int]:
    """Write -> ConfigChangedEvent latency through the full reload pipeline."""
    file = folder / "oanda.yaml"
    file.write_text(BROKER.format(edit=0))
    bus = EventBus()
    manager = ConfigManager(
        env=ENV,
        event_bus=bus,
        persist=persist,
        store_url=sqlite_url(folder.parent / f"store-{folder.name}.sqlite3"),
    )
    applied: asyncio.Queue[int] = asyncio.Queue()
    bus.subscribe(ConfigChangedEvent, lambda _e: applied.put_nowait(time.monotonic_ns()))
    samples: list[int] = []
    async with manager.watch(folder, settings):
        applied.get_nowait()  # the initial load
        for edit in range(1, edits + 1):
            save_atomically(file, BROKER.format(edit=edit))
            start = time.monotonic_ns()
            samples.append(await asyncio.wait_for(applied.get(), 10) - start)
    return samples


async def inotify_floor(folder: Path, edits: int) -> list[int]:
    """Write -> the IN_MOVED_TO event read on the event loop: the notification alone."""
    file = folder / "oanda.yaml"
    file.write_text(BROKER.format(edit=0))
    loop = asyncio.get_running_loop()
    watch = Inotify(folder, IN_MOVED_TO)
    arrived: asyncio.Queue[int] = asyncio.Queue()

    def on_readable() -> None:
        if any(event.name == file.name for event in watch.read()):
            arrived.put_nowait(time.monotonic_ns())

    loop.add_reader(watch.fileno(), on_readable)
    samples: list[int] = []
    try:
        for edit in range(1, edits + 1):
            save_atomically(file, BROKER.format(edit=edit))
            start = time.monotonic_ns()
            samples.append(await asyncio.wait_for(arrived.get(), 10) - start)
    finally:
        loop.remove_reader(watch.fileno())
        watch.close()
    return samples


async def watchfiles_floor(folder: Path, edits: int) -> list[int]:
    """Write -> awatch yield latency: the notification alone, with the default step and debounce."""
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


async def slow_writer(folder: Path, pause_s: float, trial: int) -> tuple[bool, bool]:
    """One trial: (the half was applied, the whole file was applied in the end)."""
    file = folder / f"trial{trial}.yaml"
    file.write_text(HEAD + TAIL.format(timeout=30))
    bus = EventBus()
    manager = ConfigManager(env=ENV, event_bus=bus, persist=False)
    applied: list[int | None] = []  # retry_attempts of each applied version: 7 only in the whole file

    def on_change(_event: ConfigChangedEvent) -> None:
        config = manager.get_configuration("oanda")
        applied.append(config.settings.retry_attempts if config is not None else None)

    bus.subscribe(ConfigChangedEvent, on_change)
    final = 40 + trial % 50
    async with manager.watch(file, ReloadSettings(store_poll_s=None)):
        with file.open("w", encoding="utf-8") as handle:
            handle.write(HEAD)
            handle.flush()
            await asyncio.sleep(pause_s)
            handle.write(TAIL.format(timeout=final))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            config = manager.get_configuration("oanda")
            if config is not None and config.settings.timeout_seconds == final:
                break
            await asyncio.sleep(0.02)
    config = manager.get_configuration("oanda")
    return any(
        retries != 7 for retries in applied
    ), config is not None and config.settings.timeout_seconds == final


async def main(edits: int, fallback_edits: int, trials: int) -> dict[str, Any]:
    defaults = ReloadSettings()
    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        root = Path(tmp)
        folders = {
            name: root / name for name in ("inotify", "watchfiles", "store", "memory", "fallback", "slow")
        }
        for folder in folders.values():
            folder.mkdir()
        latency = {
            "floor: inotify notification": summary(await inotify_floor(folders["inotify"], edits)),
            "floor: watchfiles notification": summary(await watchfiles_floor(folders["watchfiles"], edits)),
            "reload, versions in SQLite (default)": summary(
                await pipeline(folders["store"], edits, persist=True, settings=defaults)
            ),
            "reload, versions in memory": summary(
                await pipeline(folders["memory"], edits, persist=False, settings=defaults)
            ),
            "fallback: polling + 1 s settle, SQLite": summary(
                await pipeline(
                    folders["fallback"],
                    fallback_edits,
                    persist=True,
                    settings=ReloadSettings(force_polling=True, store_poll_s=None),
                )
            ),
        }
        slow: dict[str, dict[str, int]] = {}
        for pause in (0.3, 0.8, 1.5, 2.0):
            outcomes = [await slow_writer(folders["slow"], pause, trial) for trial in range(trials)]
            slow[f"{pause:.1f} s"] = {
                "trials": trials,
                "half_applied": sum(half for half, _ in outcomes),
                "whole_applied": sum(whole for _, whole in outcomes),
            }
    print(
        f"config hot reload: write -> applied, sequential atomic saves, default settings "
        f"(step {defaults.step_ms} ms; fallback settle {defaults.settle_ms} ms)"
    )
    print(f"{'scenario':42} {'n':>4} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, row in latency.items():
        print(
            f"{name:42} {row['n']:4.0f} {row['p50_ms']:8.1f} {row['p90_ms']:8.1f} {row['p99_ms']:8.1f} "
            f"{row['max_ms']:8.1f}"
        )
    target = latency["reload, versions in SQLite (default)"]["p99_ms"]
    print(f"target p99 < 500 ms for a normal save: {'met' if target < 500 else 'MISSED'} ({target:.1f} ms)")
    print("slow writer (truncate, write half, pause, write the rest, close), default settings:")
    for pause, row in slow.items():
        print(
            f"  pause {pause}: half applied in {row['half_applied']}/{row['trials']} trials, "
            f"whole file applied in {row['whole_applied']}/{row['trials']}"
        )
    return {
        "benchmark": "config_reload",
        "method": __doc__,
        "edits": edits,
        "fallback_edits": fallback_edits,
        "settings": {
            "step_ms": defaults.step_ms,
            "debounce_ms": defaults.debounce_ms,
            "settle_ms": defaults.settle_ms,
            "hold_ms": defaults.hold_ms,
        },
        "results": latency,
        "slow_writers": slow,
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
    parser.add_argument("--fallback-edits", type=int, default=20)
    parser.add_argument("--trials", type=int, default=8, help="slow-writer trials per pause")
    parser.add_argument("--output", type=Path, default=Path("bench-results/config_reload.json"))
    args = parser.parse_args()
    report = asyncio.run(main(args.edits, args.fallback_edits, args.trials))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
