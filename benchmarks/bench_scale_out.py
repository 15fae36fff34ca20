"""Scale-out on PostgreSQL: journaled orders per second, and what the journal costs each order, for 1, 2 and 4
processes sharing one PostgreSQL journal, against one process on SQLite — in one run.

Method. Each process is this script run as a worker: an in-process broker that fills every order at once
(so what is measured is the pipeline and the journal, not a venue) with the order journal attached, its store
on the database under test; all processes start together and place orders for D seconds. Per order the
worker times ``place_order`` (the intent written before sending, the outcome after: two statements).
Latency: one order at a time per process (p50/p99 of every order's time, no queueing in it). Throughput: C
orders in flight per process, every process's orders over D. CPU per order, from the throughput runs:
the client's (each worker's ``time.process_time`` over its orders) and the server's (every process of
the PostgreSQL cluster, from ``/proc``, when the server runs on this host) — on two cores shared by the
clients and the server, their sum is what bounds orders per second.
Rounds: the whole set runs ``--rounds`` times, interleaved (floor, peer, 1, 2, 4 processes, then again),
and the figures the targets name are given as the median and the range over the rounds.
Compared in the same run:
* floor: one process, the same adapter without a journal (the pipeline alone);
* peer: one process journaling to SQLite (a file), the zero-set-up default.
Targets (issue #19): PostgreSQL adds at most 2 ms to the p50 of a journaled order (PostgreSQL p50 minus the
floor's); four processes reach at least 1.6x one process's throughput on two cores; four processes sharing
one account's limit (``limits.shared``, 200 orders/s) place orders within 5 % of it after the first second's
burst.

The server: ``$BROKER_INTEGRATION_TEST_PG_URL`` (a superuser URL; a database is created and dropped), else a
throw-away cluster started here (``broker_integration.testing.postgres``). Run:
``.venv/bin/python benchmarks/bench_scale_out.py [--seconds 8] [--concurrency 8] [--rounds 3]``; writes
bench-results/scale_out.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from broker_integration.broker_config import BrokerCredentials
from broker_integration.journal import OrderJournal
from broker_integration.models import OrderResult, OrderSide, OrderStatus, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter, attach
from broker_integration.store import Store, sqlite_url
from broker_integration.testing.postgres import TEST_SERVER_ENV, ClusterError, ThrowawayCluster

PROCESSES = (1, 2, 4)
#: Orders per second for one account, shared by four processes through the store.
SHARED_LIMIT = 200.0


# ------------------------------------------------------------------ worker


class InstantBroker(BrokerAdapter):
    """Fills every order at once, keeping nothing: the cost of a call is the pipeline's (and the journal's)."""

    broker_name = "bench"
    absence_grace_seconds = 0.0

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        return self.completed_result(
            success=True,
            broker_order_id=order.order_id,
            status=OrderStatus.FILLED,
            filled_quantity=order.quantity,
            average_fill_price=Decimal("1.1"),
        )


async def work(url: str | None, seconds: float, concurrency: int, limit: float = 0.0) -> dict[str, Any]:
    """One process's run; ``limit`` > 0: orders per second shared by every process through the store.

    Once connected and ready it says ``ready`` on stdout and reads from stdin the wall-clock time at which
    every worker starts (a worker slow to import would otherwise start late, and run on alone)."""
    limits: dict[str, Any] = {"requests_per_second": 100_000, "max_orders_per_second": 100_000}
    if limit:
        limits = {"requests_per_second": 2 * limit, "max_orders_per_second": limit, "shared": True}
    adapter = InstantBroker(
        {"broker_name": "bench", "credentials": {"account_id": "acc-1"}, "limits": limits}
    )
    store = Store(url) if url else None
    if store is not None:
        await store.open()
        attach(adapter, journal=OrderJournal(store), store=store)
    await adapter.authenticate()
    print("ready", flush=True)
    start_at = float(await asyncio.to_thread(sys.stdin.readline))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    end = time.perf_counter() + seconds
    latencies: list[float] = []
    cpu_began = time.process_time()

    on_time = 0  # orders done within the run (one still waiting for its slot at the end does not count)

    async def loop() -> None:
        nonlocal on_time
        while time.perf_counter() < end:
            order = UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1000))
            began = time.perf_counter()
            result = await adapter.place_order(order)
            done = time.perf_counter()
            latencies.append(done - began)
            on_time += done <= end
            assert result.success, result.error

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    cpu = time.process_time() - cpu_began
    if store is not None:
        journal = adapter.journal
        if journal is not None:
            await journal.aclose()
        await store.close()
    return {
        "orders": on_time,
        "placed": len(latencies),
        "cpu_s": cpu,
        "latencies_ms": [round(x * 1000, 4) for x in latencies],
    }


# ------------------------------------------------------------------ driver


def _run(
    url: str | None,
    processes: int,
    seconds: float,
    concurrency: int,
    limit: float = 0.0,
    server: ServerCpu | None = None,
) -> tuple[int, np.ndarray, dict[str, float]]:
    """(orders, every order's latency in ms, CPU ms per order of the clients and of the server) of
    ``processes`` workers started together."""
    args = [
        sys.executable,
        __file__,
        "--worker",
        url or "",
        str(seconds),
        str(concurrency),
        str(limit),
    ]
    children = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    for child in children:  # every worker connected and ready, then all start together
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise SystemExit(f"a worker failed before it was ready ({child.wait()})")
    server_began = server.seconds() if server is not None else None
    start_at = f"{time.time() + 0.2}\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write(start_at)
        child.stdin.flush()
    reports = []
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        if child.returncode != 0:
            raise SystemExit(f"a worker failed ({child.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    latencies = np.concatenate([np.asarray(r["latencies_ms"]) for r in reports])
    placed = max(1, sum(r["placed"] for r in reports))
    cpu = {"client_cpu_ms": 1000 * sum(r["cpu_s"] for r in reports) / placed}
    if server is not None and server_began is not None:
        cpu["server_cpu_ms"] = 1000 * (server.seconds() - server_began) / placed
    return sum(r["orders"] for r in reports), latencies, cpu


def run_processes(
    url: str | None, processes: int, seconds: float, concurrency: int, server: ServerCpu | None
) -> dict[str, Any]:
    """Latency with one order at a time per process, then throughput (and CPU per order) with
    ``concurrency`` in flight."""
    _, latencies, _ = _run(url, processes, seconds, 1)
    orders, _, cpu = _run(url, processes, seconds, concurrency, server=server)
    return {
        "processes": processes,
        "orders": orders,
        "orders_per_s": orders / seconds,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        **cpu,
    }


class ServerCpu:
    """CPU seconds used so far by every process of a PostgreSQL cluster on this host: the postmaster (its
    pid is the first line of ``postmaster.pid`` in the data directory), its children, and its children
    that ended (a session's backend ends with it), from ``/proc``."""

    def __init__(self, data_directory: Path) -> None:
        self.pid_file = data_directory / "postmaster.pid"
        self.tick = os.sysconf("SC_CLK_TCK")

    @classmethod
    def of(cls, server: str) -> ServerCpu | None:
        """The cluster ``server`` names, when it runs on this host and its files can be read; else None."""
        try:
            found = cls(Path(admin(server, "SHOW data_directory")[0]))
            found.seconds()
        except (OSError, ValueError, IndexError):
            return None
        return found

    def seconds(self) -> float:
        postmaster = int(self.pid_file.read_text().split()[0])
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(entry.name) == postmaster or int(fields[1]) == postmaster:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
            if int(entry.name) == postmaster:  # and those of its children that ended (sessions closed)
                ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
        return ticks / self.tick


def server_url() -> tuple[str, ThrowawayCluster | None]:
    given = os.environ.get(TEST_SERVER_ENV)
    if given:
        return given, None
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-out-pg-"))
    folder.chmod(0o755)
    try:
        cluster = ThrowawayCluster(folder / "cluster")
        cluster.create()
        cluster.start(durable=True)  # as a production server: every commit flushed to disk
    except ClusterError as exc:
        raise SystemExit(
            f"bench_scale_out needs PostgreSQL: set {TEST_SERVER_ENV} to a server, or install its server "
            f"programs (scripts/ensure-postgresql.sh): {exc}"
        ) from None
    return cluster.url, cluster


def admin(server: str, sql: str) -> list[Any]:
    """Run ``sql`` on the server's ``postgres`` database; the first column of each row it returns."""

    async def run() -> list[Any]:
        import asyncpg
        from sqlalchemy.engine import make_url

        conn = await asyncpg.connect(make_url(server).set(drivername="postgresql").render_as_string(False))
        try:
            return [row[0] for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    seconds, concurrency, rounds = options.seconds, options.concurrency, max(1, options.rounds)
    server, cluster = server_url()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    admin(server, f"CREATE DATABASE {database}")
    from sqlalchemy.engine import make_url

    pg = make_url(server).set(database=database).render_as_string(hide_password=False)
    durability = {name: admin(server, f"SHOW {name}")[0] for name in ("fsync", "synchronous_commit")}
    server_cpu = ServerCpu.of(server)
    setups: list[tuple[str, str | None, int]] = [("none (floor)", None, 1), ("sqlite (peer)", "", 1)]
    setups += [("postgresql", pg, processes) for processes in PROCESSES]
    runs: list[list[dict[str, Any]]] = []  # per round, one row per setup
    try:
        with tempfile.TemporaryDirectory() as folder:
            lite = sqlite_url(Path(folder) / "journal.sqlite3")
            asyncio.run(_migrate(lite))
            asyncio.run(_migrate(pg))
            for _ in range(rounds):
                runs.append(
                    [
                        {
                            "engine": engine,
                            **run_processes(
                                lite if url == "" else url,
                                processes,
                                seconds,
                                concurrency,
                                server_cpu if url == pg else None,
                            ),
                        }
                        for engine, url, processes in setups
                    ]
                )
            limited, _, _ = _run(pg, 4, seconds, concurrency, SHARED_LIMIT)
    finally:
        admin(server, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        if cluster is not None:
            cluster.remove()
            with contextlib.suppress(OSError):  # server_url's mkdtemp around it, empty by now
                cluster.folder.parent.rmdir()
    cores = os.cpu_count() or 1
    print(
        f"scale-out on PostgreSQL: {cores} cores ({platform.processor() or platform.machine()}), load "
        f"{os.getloadavg()[0]:.1f}; server fsync={durability['fsync']}, "
        f"synchronous_commit={durability['synchronous_commit']}; SQLite in WAL mode, synchronous=FULL"
    )
    print(
        f"latency: 1 order in flight per process; throughput and CPU per order: {concurrency} in flight; "
        f"{seconds:g} s per run; {rounds} rounds interleaved, medians shown"
    )
    print(
        f"{'journal':<16}{'processes':>10}{'orders/s':>12}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'client CPU ms/order':>22}{'server CPU ms/order':>22}"
    )
    for index, (engine, _, processes) in enumerate(setups):
        row = {key: _median([r[index].get(key) for r in runs]) for key in runs[0][index] if key != "engine"}
        print(
            f"{engine:<16}{processes:>10}{row['orders_per_s']:>12.0f}{row['p50_ms']:>10.2f}"
            f"{row['p99_ms']:>10.2f}{_figure(row.get('client_cpu_ms')):>22}{_figure(row.get('server_cpu_ms')):>22}"
        )
    floor, one, four = 0, setups.index(("postgresql", pg, 1)), setups.index(("postgresql", pg, 4))
    added = [r[one]["p50_ms"] - r[floor]["p50_ms"] for r in runs]
    scaling = [r[four]["orders_per_s"] / r[one]["orders_per_s"] for r in runs]
    print(
        f"PostgreSQL adds {_spread(added, 'ms')} to the p50 of a journaled order (target <= 2 ms): "
        f"{'met' if _median(added) <= 2.0 else 'NOT met'}"
    )
    print(
        f"4 processes: {_spread(scaling, 'x')} one process's throughput (target >= 1.6x on 2 cores): "
        f"{'met' if _median(scaling) >= 1.6 else 'NOT met'}"
    )
    split = {key: _median([r[one].get(key) for r in runs]) for key in ("client_cpu_ms", "server_cpu_ms")}
    if split["client_cpu_ms"] is not None and split["server_cpu_ms"] is not None:
        total = split["client_cpu_ms"] + split["server_cpu_ms"]
        busy = _median([r[one]["orders_per_s"] for r in runs]) * total / 1000
        print(
            f"CPU per journaled order (1 process, {concurrency} in flight): client {split['client_cpu_ms']:.3f} ms "
            f"+ server {split['server_cpu_ms']:.3f} ms = {total:.3f} ms; one process keeps {busy:.2f} of "
            f"{cores} cores busy, so {cores} cores hold at most {cores / busy:.2f}x its throughput"
        )
    # GCRA with a burst of one second's worth: the first second may take up to twice the rate
    sustained = (limited - SHARED_LIMIT) / seconds
    print(
        f"shared limit of {SHARED_LIMIT:g} orders/s for one account, 4 processes: {limited} orders in "
        f"{seconds:g} s, {sustained:.1f}/s after the first burst ({sustained / SHARED_LIMIT - 1:+.1%}; "
        f"target within 5 %): {'met' if abs(sustained / SHARED_LIMIT - 1) <= 0.05 else 'NOT met'}"
    )
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    figures = {
        "cores": cores,
        "server": durability,
        "seconds": seconds,
        "concurrency": concurrency,
        "rounds": runs,
        "postgresql_added_p50_ms": added,
        "four_process_scaling": scaling,
        "shared_limit": {"orders_per_s": SHARED_LIMIT, "orders": limited, "sustained_per_s": sustained},
    }
    (out / "scale_out.json").write_text(json.dumps(figures, indent=2))


def _median(values: list[Any]) -> Any:
    """The median of ``values``; None when any is missing (a figure not measured)."""
    return None if any(v is None for v in values) else float(np.median(values))


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _spread(values: list[float], unit: str) -> str:
    """``median unit (min-max over n rounds)``."""
    gap = " " if unit == "ms" else ""
    return (
        f"{_median(values):.2f}{gap}{unit} (range {min(values):.2f}-{max(values):.2f}{gap}{unit} over "
        f"{len(values)} rounds)"
    )


async def _migrate(url: str) -> None:
    async with Store(url):
        pass


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, seconds, concurrency, limit = sys.argv[2:6]
        report = asyncio.run(work(url or None, float(seconds), int(concurrency), float(limit)))
        print(json.dumps(report))
    else:
        main()
