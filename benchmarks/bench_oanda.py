"""OANDA client throughput and latency against the OANDA simulator, with the floor and the peer, in one run.

What it measures (every client against the same simulator, started in its own process on loopback, so
client and server do not share an event loop):

* ``place_order`` of a one-unit EUR_USD market order (201 with a fill), at concurrency 1, 16 and 64,
  for (a) ``OandaAdapter.place_order`` through the whole call pipeline (pre-trade checks, rate limiter,
  breaker, timeout, events; no journal), building a ``UnifiedOrder`` per call as user code does;
  (b) **the floor**: a bare aiohttp POST of the same JSON the adapter sends, pre-encoded with only the
  client order id filled in from a counter (so the venue does the same work for every client), reading the
  answer's bytes and nothing else; (c) **the peer**: ``oandapyV20``, the client users would otherwise pick, synchronous, so one
  thread per concurrent caller, each with its own ``API`` object. Each cell runs ``--seconds`` after a
  0.3 s warm-up against a freshly started simulator (so no client meets a venue grown by another's
  orders); the three clients take turns within each concurrency level, for ``--rounds`` rounds, and the
  median round is reported (the machine is shared; a round can be disturbed). Throughput is
  completed calls per wall second; p50/p99 are per call (``time.perf_counter_ns`` around the call); a
  failed call counts as an error, not a completion. Two scenarios: the simulator answering at once
  (loopback: the worst case for a client's own overhead), and with 2 ms median added latency
  (lognormal, sigma 0.3), closer to a network. These are **closed-loop** figures: each worker sends its
  next order only when the previous answer is in, so a stalled call also holds back the calls that would
  have queued behind it, and those are never timed (coordinated omission, Gil Tene, "How NOT to Measure
  Latency"): their p50/p99 are service times, not what a steady flow of orders would see.
* ``place_order`` **open loop**, in both scenarios, for the adapter and the floor: orders sent at a fixed
  rate whatever the answers (``--open-loop`` fractions of the adapter's closed-loop throughput at
  concurrency 16 in the same scenario, so the rate suits the machine), each timed from the moment the
  schedule says it should have been sent, so time spent waiting behind a slow call is counted. A rate the
  client cannot keep up with shows as a growing p99, which is the point.
* price-stream lines parsed per second over ``--seconds``, with the simulator sending every price every
  window (a firehose, so the client is the bottleneck): (a) ``OandaAdapter.stream_prices`` yielding
  validated ``PriceTick`` objects with Decimal prices, (b) the floor: aiohttp ``readline`` +
  ``orjson.loads``, (c) oandapyV20's ``PricingStream`` (dicts from ``json.loads``) in a thread; one simulator for the three.

The simulator's per-connection request limit is off (it would throttle every client alike) and the
adapter's client-side limits are out of the way. Ratios printed: adapter over floor and adapter over
oandapyV20. Usage: ``.venv/bin/python benchmarks/bench_oanda.py [--seconds 1.5] [--rounds 3]``; writes
``bench-results/bench_oanda.json``. Needs oandapyV20 and its undeclared dependencies (requests, six).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import orjson

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerEndpoints,
    BrokerLimits,
)
from broker_integration.events import EventBus
from broker_integration.models import OrderSide, OrderStatus, UnifiedOrder

CONCURRENCY = (1, 16, 64)
CLIENTS = ("aiohttp floor", "adapter", "oandapyV20")
WARM_UP_SECONDS = 0.3
NETWORK_LATENCY_MS = 2.0
STREAM_INSTRUMENTS = ("EUR_USD", "USD_JPY", "GBP_USD", "AUD_USD")
#: The floor sends the same request the adapter sends (so the venue does the same work for both), pre-encoded;
#: only the client order id changes, by formatting a counter into the bytes.
ORDER_TEMPLATE = (
    b'{"order":{"type":"MARKET","instrument":"EUR_USD","units":"1","timeInForce":"FOK",'
    b'"positionFill":"DEFAULT","clientExtensions":{"id":"floor-%d"}}}'
)
RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_oanda.json"

Call = Callable[[], Awaitable[bool]]


@dataclass
class Cell:
    """One measured cell. ``mode`` is ``closed`` (``concurrency`` workers back to back: service times)
    or ``open`` (orders at ``target_rate`` per second, timed from their scheduled send time)."""

    client: str
    concurrency: int
    calls: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    mode: str = "closed"
    target_rate: float | None = None


@dataclass
class StreamCell:
    client: str
    lines: int
    seconds: float
    lines_per_second: float


@dataclass(frozen=True)
class Venue:
    base_url: str
    stream_url: str
    account_id: str
    token: str


# ================================================================== the simulator process


def start_simulator(latency_ms: float = 0.0) -> tuple[subprocess.Popen[bytes], Venue]:
    command = [
        sys.executable, "-m", "broker_integration.sim.oanda", "--port", "0", "--json", "--always-open",
        "--rate-limit", "0", "--price-interval", "0", "--every-window", "--balance", "100000000",
        "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    details = json.loads(process.stdout.readline())
    return process, Venue(details["base_url"], details["stream_url"], details["account_id"], details["token"])


def stop_simulator(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def configuration(venue: Venue) -> BrokerConfiguration:
    return BrokerConfiguration(
        broker_name="oanda",
        credentials=BrokerCredentials(api_key=venue.token, account_id=venue.account_id),
        endpoints=BrokerEndpoints(base_url=venue.base_url, stream_url=venue.stream_url),
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
    )


def point_oandapyv20_at(venue: Venue) -> None:
    """oandapyV20 picks its hosts from a table by environment name; add one for the simulator."""
    from oandapyV20 import oandapyV20

    oandapyV20.TRADING_ENVIRONMENTS["simulator"] = {"api": venue.base_url, "stream": venue.stream_url}


# ================================================================== place_order cells


def summarise(client: str, concurrency: int, latencies: list[int], errors: int, seconds: float) -> Cell:
    ms = np.asarray(latencies, dtype=np.float64) / 1e6 if latencies else np.asarray([np.nan])
    return Cell(
        client=client,
        concurrency=concurrency,
        calls=len(latencies),
        errors=errors,
        seconds=round(seconds, 3),
        throughput=round(len(latencies) / seconds, 1),
        p50_ms=round(float(np.percentile(ms, 50)), 3),
        p99_ms=round(float(np.percentile(ms, 99)), 3),
    )


@dataclass
class Timings:
    """The nanoseconds of the calls that succeeded, and how many failed."""

    latencies: list[int] = field(default_factory=list)
    errors: int = 0

    def record(self, ok: bool, elapsed_ns: int) -> None:
        if ok:
            self.latencies.append(elapsed_ns)
        else:
            self.errors += 1


async def open_loop_cell(client: str, rate: float, seconds: float, call: Call) -> Cell:
    """Orders sent at ``rate`` per second whatever the answers, after a warm-up at the same rate.

    Order i is due at ``start + i / rate``; it is launched then (or at once when the loop is behind) and
    its latency runs from that due time to its answer, so time lost waiting behind slow calls counts. Every
    launched order is awaited, so the slowest are in the figures too.
    """
    timings = Timings()

    async def one(due_ns: int, measured: bool) -> None:
        ok = await call()
        if measured:
            timings.record(ok, time.perf_counter_ns() - due_ns)

    async def schedule(duration: float, measured: bool) -> float:
        start = time.perf_counter_ns()
        tasks = []
        for i in range(max(1, int(duration * rate))):
            due = start + int(i * 1e9 / rate)
            wait = (due - time.perf_counter_ns()) / 1e9
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.ensure_future(one(due, measured)))
        await asyncio.gather(*tasks)
        return (time.perf_counter_ns() - start) / 1e9

    await schedule(WARM_UP_SECONDS, measured=False)
    elapsed = await schedule(seconds, measured=True)
    cell = summarise(client, 0, timings.latencies, timings.errors, elapsed)
    cell.mode, cell.target_rate = "open", round(rate, 1)
    return cell


async def async_cell(client: str, concurrency: int, seconds: float, call: Call) -> Cell:
    """``concurrency`` tasks calling ``call`` back to back: a warm-up, then ``seconds`` measured."""
    timings = Timings()
    measuring = False
    stop_at = 0.0

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter_ns()
            ok = await call()
            if measuring:
                timings.record(ok, time.perf_counter_ns() - started)

    stop_at = time.perf_counter() + WARM_UP_SECONDS
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measuring = True
    begin = time.perf_counter()
    stop_at = begin + seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summarise(client, concurrency, timings.latencies, timings.errors, time.perf_counter() - begin)


def peer_cell(venue: Venue, concurrency: int, seconds: float) -> Cell:
    """oandapyV20 in ``concurrency`` threads, each with its own ``API`` (a requests.Session)."""
    from oandapyV20 import API
    from oandapyV20.endpoints.orders import OrderCreate

    sequence = itertools.count()
    clients = [API(access_token=venue.token, environment="simulator") for _ in range(concurrency)]
    latencies: list[int] = []
    errors = [0]
    lock = threading.Lock()
    state = {"measuring": False, "stop_at": 0.0}

    def worker(api: API) -> None:
        while time.perf_counter() < state["stop_at"]:
            started = time.perf_counter_ns()
            try:
                order = orjson.loads(ORDER_TEMPLATE % next(sequence))  # the same request the others send
                api.request(OrderCreate(venue.account_id, data=order))
                ok = True
            except Exception:
                ok = False
            elapsed = time.perf_counter_ns() - started
            if state["measuring"]:
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        state["stop_at"] = time.perf_counter() + WARM_UP_SECONDS
        list(pool.map(worker, clients))
        state["measuring"] = True
        begin = time.perf_counter()
        state["stop_at"] = begin + seconds
        list(pool.map(worker, clients))
        elapsed = time.perf_counter() - begin
    for api in clients:
        api.close()
    return summarise("oandapyV20", concurrency, latencies, errors[0], elapsed)


async def fresh_cell(
    client: str, concurrency: int, seconds: float, latency_ms: float, rate: float | None = None
) -> Cell:
    """One cell against a simulator of its own, so no client meets a venue grown by another's orders;
    closed loop at ``concurrency``, or open loop at ``rate`` orders per second when it is given."""
    process, venue = start_simulator(latency_ms)

    async def measure(call: Call) -> Cell:
        if rate is not None:
            return await open_loop_cell(client, rate, seconds, call)
        return await async_cell(client, concurrency, seconds, call)

    try:
        if client == "oandapyV20":
            if rate is not None:
                raise ValueError("the open-loop cells time the asyncio clients only")
            point_oandapyv20_at(venue)
            return await asyncio.to_thread(peer_cell, venue, concurrency, seconds)
        if client == "adapter":
            async with OandaAdapter(configuration(venue), event_bus=EventBus()) as adapter:

                async def through_adapter() -> bool:
                    order = UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1))
                    result = await adapter.place_order(order)
                    return result.status is OrderStatus.FILLED

                return await measure(through_adapter)
        headers = {"Authorization": f"Bearer {venue.token}", "Content-Type": "application/json"}
        url = f"{venue.base_url}/v3/accounts/{venue.account_id}/orders"
        connector = aiohttp.TCPConnector(limit=max(CONCURRENCY))
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            sequence = itertools.count()

            async def floor() -> bool:
                async with session.post(url, data=ORDER_TEMPLATE % next(sequence)) as response:
                    await response.read()
                    return response.status == 201

            return await measure(floor)
    finally:
        stop_simulator(process)


async def place_order_suite(
    seconds: float, rounds: int, latency_ms: float = 0.0
) -> tuple[list[Cell], list[Cell]]:
    """Every client at every concurrency, taking turns, ``rounds`` times; (median cells, every cell)."""
    every: list[Cell] = []
    for round_number in range(rounds):
        for concurrency in CONCURRENCY:
            shift = round_number % len(CLIENTS)
            for client in CLIENTS[shift:] + CLIENTS[:shift]:  # a different client goes first each round
                every.append(await fresh_cell(client, concurrency, seconds, latency_ms))
    return [median_cell(every, client, c) for c in CONCURRENCY for client in CLIENTS], every


OPEN_LOOP_CLIENTS = ("aiohttp floor", "adapter")
#: The concurrency whose closed-loop adapter throughput sets the open-loop rates.
OPEN_LOOP_BASE_CONCURRENCY = 16


async def open_loop_suite(
    closed: list[Cell], fractions: list[float], seconds: float, latency_ms: float = 0.0
) -> list[Cell]:
    """The floor and the adapter at each fraction of the adapter's closed-loop throughput."""
    base = next(c for c in closed if (c.client, c.concurrency) == ("adapter", OPEN_LOOP_BASE_CONCURRENCY))
    cells = []
    for fraction in fractions:
        for client in OPEN_LOOP_CLIENTS:
            cells.append(await fresh_cell(client, 0, seconds, latency_ms, rate=fraction * base.throughput))
    return cells


def median_cell(cells: list[Cell], client: str, concurrency: int) -> Cell:
    """The round with the median throughput (its own latencies, so p50 and p99 stay one run's)."""
    rounds = sorted(
        (c for c in cells if (c.client, c.concurrency) == (client, concurrency)), key=lambda c: c.throughput
    )
    return rounds[len(rounds) // 2]


# ================================================================== price stream


async def adapter_stream(venue: Venue, seconds: float) -> StreamCell:
    async with OandaAdapter(configuration(venue), event_bus=EventBus()) as adapter:
        symbols = [name.replace("_", "/") for name in STREAM_INSTRUMENTS]
        count, begin = 0, 0.0
        stream = adapter.stream_prices(symbols)
        async for _ in stream:
            if count == 0:
                begin = time.perf_counter()
            count += 1
            if time.perf_counter() - begin >= seconds and count > 1:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - begin
    return StreamCell("adapter", count - 1, round(elapsed, 3), round((count - 1) / elapsed, 1))


async def floor_stream(venue: Venue, seconds: float) -> StreamCell:
    headers = {"Authorization": f"Bearer {venue.token}"}
    url = f"{venue.stream_url}/v3/accounts/{venue.account_id}/pricing/stream"
    count = 0
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(url, params={"instruments": ",".join(STREAM_INSTRUMENTS)}) as response,
    ):
        begin = time.perf_counter()
        while time.perf_counter() - begin < seconds:
            message = orjson.loads(await response.content.readline())
            count += message["type"] == "PRICE"
        elapsed = time.perf_counter() - begin
    return StreamCell("aiohttp floor", count, round(elapsed, 3), round(count / elapsed, 1))


def peer_stream(venue: Venue, seconds: float) -> StreamCell:
    from oandapyV20 import API
    from oandapyV20.endpoints.pricing import PricingStream
    from oandapyV20.exceptions import StreamTerminated

    point_oandapyv20_at(venue)
    api = API(access_token=venue.token, environment="simulator")
    request = PricingStream(venue.account_id, params={"instruments": ",".join(STREAM_INSTRUMENTS)})
    count = 0
    begin = time.perf_counter()
    try:
        for message in api.request(request):
            count += message["type"] == "PRICE"
            if time.perf_counter() - begin >= seconds:
                request.terminate(
                    "benchmark over"
                )  # oandapyV20's documented way out: raises StreamTerminated
    except StreamTerminated:
        pass
    elapsed = time.perf_counter() - begin
    api.close()
    return StreamCell("oandapyV20", count, round(elapsed, 3), round(count / elapsed, 1))


async def stream_suite(venue: Venue, seconds: float) -> list[StreamCell]:
    return [
        await floor_stream(venue, seconds),
        await adapter_stream(venue, seconds),
        await asyncio.to_thread(peer_stream, venue, seconds),
    ]


# ================================================================== report


def ratios(cells: list[Cell]) -> list[dict[str, Any]]:
    by = {(c.client, c.concurrency): c for c in cells}
    rows = []
    for concurrency in CONCURRENCY:
        floor, adapter, peer = (by[(name, concurrency)] for name in CLIENTS)
        rows.append(
            {
                "concurrency": concurrency,
                "adapter_over_floor_throughput": round(adapter.throughput / floor.throughput, 3),
                "adapter_over_oandapyV20_throughput": round(adapter.throughput / peer.throughput, 3),
                "adapter_p50_over_floor_p50": round(adapter.p50_ms / floor.p50_ms, 3),
            }
        )
    return rows


def print_open_loop(title: str, cells: list[Cell], closed: list[Cell]) -> None:
    print(
        f"\nplace_order, {title}, OPEN LOOP: orders at a fixed rate whatever the answers; latency from each "
        "order's scheduled send time (no coordinated omission)"
    )
    print(f"{'client':<15}{'rate/s':>9}{'calls':>9}{'errors':>8}{'orders/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for c in cells:
        print(
            f"{c.client:<15}{c.target_rate:>9.0f}{c.calls:>9}{c.errors:>8}{c.throughput:>11.1f}"
            f"{c.p50_ms:>9.3f}{c.p99_ms:>9.3f}"
        )
    base = next(c for c in closed if (c.client, c.concurrency) == ("adapter", OPEN_LOOP_BASE_CONCURRENCY))
    print(
        f"  closed loop at concurrency {base.concurrency} for comparison: adapter p50 {base.p50_ms:.3f} ms, "
        f"p99 {base.p99_ms:.3f} ms at {base.throughput:.0f} orders/s (service times)"
    )


def print_orders(title: str, cells: list[Cell], rows: list[dict[str, Any]]) -> None:
    print(f"\nplace_order, {title}, CLOSED LOOP: workers send back to back; p50/p99 are service times")
    print(f"{'client':<15}{'conc':>6}{'calls':>9}{'errors':>8}{'orders/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for c in sorted(cells, key=lambda c: (CLIENTS.index(c.client), c.concurrency)):
        print(
            f"{c.client:<15}{c.concurrency:>6}{c.calls:>9}{c.errors:>8}{c.throughput:>11.1f}{c.p50_ms:>9.3f}{c.p99_ms:>9.3f}"
        )
    for row in rows:
        print(
            f"  concurrency {row['concurrency']:>2}: adapter/floor {row['adapter_over_floor_throughput']:.3f}, "
            f"adapter/oandapyV20 {row['adapter_over_oandapyV20_throughput']:.2f}, "
            f"p50 adapter/floor {row['adapter_p50_over_floor_p50']:.2f}"
        )


def print_streams(streams: list[StreamCell]) -> dict[str, float]:
    print(
        f"\nprice stream: lines parsed per second ({len(STREAM_INSTRUMENTS)} instruments, every price every window)"
    )
    for s in streams:
        print(
            f"  {s.client:<15}{s.lines:>10} lines in {s.seconds:.2f} s = {s.lines_per_second:>10.1f} lines/s"
        )
    rate = {s.client: s.lines_per_second for s in streams}
    stream_ratios = {
        "adapter_over_floor": round(rate["adapter"] / rate["aiohttp floor"], 3),
        "adapter_over_oandapyV20": round(rate["adapter"] / rate["oandapyV20"], 3),
    }
    print(
        f"  adapter/floor {stream_ratios['adapter_over_floor']:.3f}, adapter/oandapyV20 {stream_ratios['adapter_over_oandapyV20']:.2f}"
    )
    return stream_ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="measured seconds per cell")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the loopback place_order suite")
    parser.add_argument(
        "--open-loop",
        default="0.5,0.8",
        help="open-loop rates as fractions of the adapter's closed-loop throughput at concurrency 16",
    )
    args = parser.parse_args()
    fractions = [float(f) for f in args.open_loop.split(",") if f.strip()]
    started = time.perf_counter()
    cells, every = asyncio.run(place_order_suite(args.seconds, args.rounds))
    network_cells, network_every = asyncio.run(place_order_suite(args.seconds, 1, NETWORK_LATENCY_MS))
    open_cells = asyncio.run(open_loop_suite(cells, fractions, args.seconds))
    network_open = asyncio.run(open_loop_suite(network_cells, fractions, args.seconds, NETWORK_LATENCY_MS))
    process, venue = start_simulator()
    try:
        streams = asyncio.run(stream_suite(venue, args.seconds))
    finally:
        stop_simulator(process)
    rows, network_rows = ratios(cells), ratios(network_cells)
    print_orders(f"loopback, simulator answering at once, median of {args.rounds} rounds", cells, rows)
    print_open_loop("loopback, simulator answering at once", open_cells, cells)
    print_orders(
        f"simulator adding {NETWORK_LATENCY_MS:g} ms median latency, 1 round", network_cells, network_rows
    )
    print_open_loop(f"simulator adding {NETWORK_LATENCY_MS:g} ms median latency", network_open, network_cells)
    stream_ratios = print_streams(streams)
    print(
        f"\ntarget: adapter >= 0.9 of the floor's throughput, well ahead of oandapyV20 ({time.perf_counter() - started:.0f} s)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    report = {
        "benchmark": "bench_oanda",
        "method": __doc__,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "seconds_per_cell": args.seconds,
        "rounds": args.rounds,
        "place_order_loopback": [asdict(c) for c in cells],
        "place_order_loopback_ratios": rows,
        "place_order_loopback_every_round": [asdict(c) for c in every],
        "place_order_network": [asdict(c) for c in network_cells],
        "place_order_network_ratios": network_rows,
        "place_order_network_every_round": [asdict(c) for c in network_every],
        "latency_modes": {
            "closed": "workers send back to back: p50/p99 are service times (coordinated omission)",
            "open": "orders at a fixed rate, latency from the scheduled send time",
        },
        "place_order_loopback_open_loop": [asdict(c) for c in open_cells],
        "place_order_network_open_loop": [asdict(c) for c in network_open],
        "stream": [asdict(s) for s in streams],
        "stream_ratios": stream_ratios,
    }
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
