"""Alpaca client throughput against the Alpaca simulator, with the floor and the peer, in one run.

What it measures:

* ``place_order`` of a one-share AAPL market order at concurrency 1, 16 and 64, every client against a
  simulator started afresh in its own process (loopback; client and server do not share an event loop),
  request limit off:
  (a) ``AlpacaAdapter.place_order`` through the whole call pipeline, returning once Alpaca's answer
  (``accepted``) is read (``fill_timeout_seconds=0``): the same work as the floor. Its requests go through
  the library's own HTTP/1.1 transport (``adapters/transport.py``), not aiohttp;
  (b) the same, waiting for the fill on ``trade_updates`` (the default; reports FILLED with its price);
  (c) **the floor**: a bare aiohttp POST of the same JSON the adapter sends, pre-encoded with only the
  client order id filled in from a counter, reading the answer's bytes;
  (d) **the peer**: alpaca-py's ``TradingClient.submit_order``, synchronous, one thread and client per caller.
  Each cell runs ``--seconds`` after a 0.3 s warm-up; the clients take turns (A, B, C, D, then rotated) for
  ``--rounds`` rounds. Throughput is completed calls per wall second; each round's ratio is taken between
  cells of that round, and the median and range of the rounds' ratios are reported, with this process's
  CPU per call (``time.process_time``: the client's own work, the simulator runs elsewhere).
* frames parsed per second of CPU, in process, over the same pre-built frames, interleaved round by round:
  quote frames (arrays of 20 quotes, as the market-data stream sends them) into validated ``PriceTick``
  objects with Decimal prices, and ``trade_updates`` fill frames into ``OrderUpdate`` objects, against
  **the floor**, a bare ``orjson.loads`` loop over the same frames. Three more rows say how close the target
  can get: **construction alone** (``orjson.loads`` and one model assembled per message from values made
  beforehand: no number, time or check); for quotes, **numbers and time alone** (``orjson.loads`` and each
  quote's four numbers and its time turned into ``Decimal`` and ``datetime`` by the adapter's own readers,
  remembered numbers included, and no object made: what any parser that hands out Decimal prices pays at
  least); and the adapter over frames whose every price and size is new (the adapter remembers recent
  market-data numbers; a stream repeats them, this shows the worst case).

Usage: ``.venv/bin/python benchmarks/bench_alpaca.py [--seconds 1.5] [--rounds 5] [--parts orders parsing]
[--concurrency 1 16 64]``; writes ``bench-results/bench_alpaca.json``. Needs alpaca-py (the dev extra).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from broker_integration.adapters.alpaca import AlpacaAdapter, parsing
from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerEndpoints,
    BrokerLimits,
)
from broker_integration.events import EventBus
from broker_integration.models import (
    OrderSide,
    OrderStatus,
    OrderUpdate,
    OrderUpdateKind,
    PriceTick,
    UnifiedOrder,
    assemble,
)

CONCURRENCY = (1, 16, 64)
CLIENTS = ("aiohttp floor", "adapter", "adapter+fill", "alpaca-py")
WARM_UP_SECONDS = 0.3
ORDER_TEMPLATE = b'{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day","client_order_id":"floor-%d"}'
RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_alpaca.json"


@dataclass
class Cell:
    client: str
    concurrency: int
    calls: int
    errors: int
    throughput: float
    #: This process's CPU per completed call, in microseconds.
    cpu_us: float


@dataclass(frozen=True)
class Venue:
    base_url: str
    stream_url: str
    key_id: str
    secret_key: str


def start_simulator() -> tuple[subprocess.Popen[bytes], Venue]:
    command = [sys.executable, "-m", "broker_integration.sim.alpaca", "--port", "0", "--json", "--always-open",
               "--rate-limit", "0", "--balance", "1000000000"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    d = json.loads(process.stdout.readline())
    return process, Venue(d["base_url"], d["stream_url"], d["key_id"], d["secret_key"])


def stop_simulator(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def configuration(venue: Venue, fill_timeout: float) -> BrokerConfiguration:
    return BrokerConfiguration(
        broker_name="alpaca",
        credentials=BrokerCredentials(api_key=venue.key_id, secret_key=venue.secret_key),
        endpoints=BrokerEndpoints(base_url=venue.base_url, stream_url=venue.stream_url),
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
        options={"fill_timeout_seconds": fill_timeout, "refuse_when_closed": False},
    )


async def async_cell(
    client: str, concurrency: int, seconds: float, call: Callable[[], Awaitable[bool]]
) -> Cell:
    calls = errors = 0
    measuring, stop_at = False, time.perf_counter() + WARM_UP_SECONDS
    cpu = 0.0

    async def worker() -> None:
        nonlocal calls, errors
        while time.perf_counter() < stop_at:
            ok = await call()
            if measuring:
                calls, errors = calls + ok, errors + (not ok)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measuring, begin, cpu = True, time.perf_counter(), time.process_time()
    stop_at = begin + seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu
    return Cell(client, concurrency, calls, errors, round(calls / elapsed, 1), per_call_us(cpu, calls))


def per_call_us(cpu: float, calls: int) -> float:
    return round(cpu / max(calls, 1) * 1e6, 1)


def peer_cell(venue: Venue, concurrency: int, seconds: float) -> Cell:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide as Side
    from alpaca.trading.enums import TimeInForce
    from alpaca.trading.requests import MarketOrderRequest

    clients = [
        TradingClient(venue.key_id, venue.secret_key, url_override=venue.base_url) for _ in range(concurrency)
    ]
    counts = [0, 0]
    lock = threading.Lock()
    state = {"measuring": False, "stop_at": time.perf_counter() + WARM_UP_SECONDS}

    def worker(client: Any) -> None:
        while time.perf_counter() < state["stop_at"]:
            try:
                client.submit_order(
                    MarketOrderRequest(symbol="AAPL", qty=1, side=Side.BUY, time_in_force=TimeInForce.DAY)
                )
                ok = True
            except Exception:
                ok = False
            if state["measuring"]:
                with lock:
                    counts[0 if ok else 1] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, clients))
        state["measuring"] = True
        begin, cpu = time.perf_counter(), time.process_time()
        state["stop_at"] = begin + seconds
        list(pool.map(worker, clients))
        elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu
    return Cell(
        "alpaca-py",
        concurrency,
        counts[0],
        counts[1],
        round(counts[0] / elapsed, 1),
        per_call_us(cpu, counts[0]),
    )


async def fresh_cell(client: str, concurrency: int, seconds: float) -> Cell:
    process, venue = start_simulator()
    try:
        if client == "alpaca-py":
            return await asyncio.to_thread(peer_cell, venue, concurrency, seconds)
        if client.startswith("adapter"):
            wait = 2.0 if client == "adapter+fill" else 0.0
            wanted = OrderStatus.FILLED if wait else OrderStatus.ACCEPTED
            async with AlpacaAdapter(configuration(venue, wait), event_bus=EventBus()) as adapter:

                async def through_adapter() -> bool:
                    order = UnifiedOrder(instrument="AAPL", side=OrderSide.BUY, quantity=Decimal(1))
                    return (await adapter.place_order(order)).status is wanted

                return await async_cell(client, concurrency, seconds, through_adapter)
        headers = {"APCA-API-KEY-ID": venue.key_id, "APCA-API-SECRET-KEY": venue.secret_key,
                   "Content-Type": "application/json"}  # fmt: skip
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64), headers=headers
        ) as session:
            sequence = itertools.count()
            url = f"{venue.base_url}/v2/orders"

            async def floor() -> bool:
                async with session.post(url, data=ORDER_TEMPLATE % next(sequence)) as response:
                    await response.read()
                    return response.status == 200

            return await async_cell(client, concurrency, seconds, floor)
    finally:
        stop_simulator(process)


# ------------------------------------------------------------------ where one order's client CPU goes

SPLIT_STEPS = ("aiohttp floor", "http client", "+ order built", "+ encoded", "+ result", "adapter")


async def split_rounds(orders: int, rounds: int) -> dict[str, Any]:
    """One simulator, one order at a time; each step adds one layer to the step before (as
    ``bench_order_cost`` does for OANDA): the floor; the adapter's ``AlpacaClient.request`` with the
    pre-encoded bytes; + a ``UnifiedOrder`` built per call (the user's part: its validation), the
    pre-encoded bytes still sent; + that order translated and encoded, and sent instead (the adapter's
    part); + the answer read into an ``OrderResult`` (the protocol code, no pipeline); the adapter's
    ``place_order`` through the pipeline. The steps take turns round by round; CPU and wall time per order,
    median of the rounds."""
    process, venue = start_simulator()
    sequence = itertools.count()
    try:
        headers = {"APCA-API-KEY-ID": venue.key_id, "APCA-API-SECRET-KEY": venue.secret_key,
                   "Content-Type": "application/json"}  # fmt: skip
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64), headers=headers) as session,
            AlpacaAdapter(configuration(venue, 0.0), event_bus=EventBus()) as adapter,
        ):
            client = adapter._client
            url = f"{venue.base_url}/v2/orders"

            def new_order() -> UnifiedOrder:
                return UnifiedOrder(instrument="AAPL", side=OrderSide.BUY, quantity=Decimal(1))

            async def floor() -> bool:
                async with session.post(url, data=ORDER_TEMPLATE % next(sequence)) as response:
                    await response.read()
                    return response.status == 200

            async def http_client() -> bool:
                _, body = await client.request("POST", "/v2/orders", encoded=ORDER_TEMPLATE % next(sequence))
                return bool(body["id"])

            async def order_built() -> bool:
                new_order()
                return await http_client()

            async def with_order() -> Any:
                encoded = orjson.dumps(parsing.order_request(new_order()))
                return (await client.request("POST", "/v2/orders", encoded=encoded))[1]

            async def with_result() -> bool:
                return adapter._order_result(await with_order()).status is OrderStatus.ACCEPTED

            async def whole() -> bool:
                return (await adapter.place_order(new_order())).status is OrderStatus.ACCEPTED

            steps: dict[str, Callable[[], Awaitable[Any]]] = dict(
                zip(
                    SPLIT_STEPS,
                    (floor, http_client, order_built, with_order, with_result, whole),
                    strict=True,
                )
            )
            for step in steps.values():
                for _ in range(200):
                    assert await step()
            cpu: dict[str, list[float]] = {name: [] for name in SPLIT_STEPS}
            wall: dict[str, list[float]] = {name: [] for name in SPLIT_STEPS}
            for number in range(rounds):
                shift = number % len(SPLIT_STEPS)
                for name in SPLIT_STEPS[shift:] + SPLIT_STEPS[:shift]:
                    step = steps[name]
                    began, began_cpu = time.perf_counter(), time.process_time()
                    for _ in range(orders):
                        await step()
                    cpu[name].append((time.process_time() - began_cpu) / orders * 1e6)
                    wall[name].append((time.perf_counter() - began) / orders * 1e6)
    finally:
        stop_simulator(process)
    return {
        name: {"cpu_us": round(statistics.median(cpu[name]), 1), "wall_us": round(statistics.median(wall[name]), 1),
               "cpu_us_range": [round(min(cpu[name]), 1), round(max(cpu[name]), 1)]}
        for name in SPLIT_STEPS
    }  # fmt: skip


# ------------------------------------------------------------------ frame parsing


QUOTE_SYMBOLS = ("AAPL", "MSFT", "SPY", "QQQ") * 5


def _quote_frames(count: int, *, fresh: bool = False) -> list[bytes]:
    """``count`` frames of 20 quotes; ``fresh``: no price or size is repeated anywhere in the frames."""
    frames = []
    for n in range(count):
        batch = []
        for k, symbol in enumerate(QUOTE_SYMBOLS):
            step = n * len(QUOTE_SYMBOLS) + k
            if fresh:
                prices = {
                    "bp": 100 + step / 10_000,
                    "bs": 100 + step,
                    "ap": 150 + step / 10_000,
                    "as": 200_000 + step,
                }
            else:
                prices = {"bp": 190.01 + (n % 50) / 100, "bs": 3, "ap": 190.05 + (n % 50) / 100, "as": 4}
            batch.append({"T": "q", "S": symbol, "bx": "V", "ax": "V", **prices,
                          "t": f"2024-06-03T14:{n % 60:02d}:{k:02d}.123456789Z", "c": ["R"], "z": "C"})  # fmt: skip
        frames.append(orjson.dumps(batch))
    return frames


def _fill_frames(count: int) -> list[bytes]:
    order = {"id": "fb61d316-2179-4df2-8b28-eb026c0dd78e", "client_order_id": "bench", "symbol": "SPY",
             "asset_class": "us_equity", "qty": "1", "filled_qty": "1", "filled_avg_price": "400.01",
             "type": "market", "side": "buy", "time_in_force": "day", "status": "filled",
             "created_at": "2024-06-03T14:00:00.123456789Z", "updated_at": "2024-06-03T14:00:00.223456789Z"}  # fmt: skip
    return [
        orjson.dumps(
            {
                "stream": "trade_updates",
                "data": {
                    "event": "fill",
                    "timestamp": "2024-06-03T14:00:00.223456789Z",
                    "price": "400.01",
                    "qty": "1",
                    "position_qty": str(n),
                    "order": order,
                },
            }
        )
        for n in range(count)
    ]


Frame = tuple[bytes, list[Any]]  # a frame and what "construction alone" assembles for each of its messages


def _quote_values(frame: bytes) -> list[Any]:
    """Each quote's PriceTick fields, made once: what construction alone starts from."""
    return [
        (m["S"], Decimal(repr(m["bp"])), Decimal(repr(m["ap"])), parsing.parse_time(m["t"]), Decimal(m["bs"]),
         Decimal(m["as"]))
        for m in orjson.loads(frame)
    ]  # fmt: skip


def _fill_values(frame: bytes) -> list[Any]:
    update = parsing.order_update(orjson.loads(frame)["data"], Decimal(0))
    assert update is not None
    return [dict(update.__dict__)]


def floor_quotes(item: Frame) -> int:
    return sum(1 for m in orjson.loads(item[0]) if m["T"] == "q")


def construct_quotes(item: Frame) -> int:
    done = 0
    for m, (symbol, bid, ask, when, bid_size, ask_size) in zip(orjson.loads(item[0]), item[1], strict=True):
        if m["T"] == "q":
            assemble(PriceTick, {"instrument": symbol, "bid": bid, "ask": ask, "time": when, "tradeable": True,
                                  "bid_size": bid_size, "ask_size": ask_size})  # fmt: skip
            done += 1
    return done


def convert_quotes(item: Frame) -> int:
    number, parse_time = parsing.number, parsing.parse_time
    done = 0
    for m in orjson.loads(item[0]):
        if m["T"] == "q":
            number(m["bp"]), number(m["ap"]), number(m["bs"]), number(m["as"]), parse_time(m["t"])
            done += 1
    return done


def adapter_quotes(item: Frame) -> int:
    parse_quote = parsing.parse_quote
    return sum(1 for m in orjson.loads(item[0]) if m["T"] == "q" and parse_quote(m["S"], m))


def floor_fills(item: Frame) -> int:
    return 1 if orjson.loads(item[0])["stream"] == "trade_updates" else 0


def construct_fills(item: Frame) -> int:
    if orjson.loads(item[0])["stream"] != "trade_updates":
        return 0
    assemble(OrderUpdate, dict(item[1][0]))
    return 1


def adapter_fills(item: Frame) -> int:
    update = parsing.order_update(orjson.loads(item[0])["data"], Decimal(0))
    return 1 if update is not None and update.kind is OrderUpdateKind.FILLED else 0


#: What each parsing row runs and over which frames: (kind, row, work, frames); a row's floor is the bare
#: orjson loop over the same frames.
PARSE_ROWS: tuple[tuple[str, str, Callable[[Frame], int], str], ...] = (
    ("quotes", "orjson floor", floor_quotes, "quotes"),
    ("quotes", "construction alone", construct_quotes, "quotes"),
    ("quotes", "numbers and time alone", convert_quotes, "quotes"),
    ("quotes", "adapter", adapter_quotes, "quotes"),
    ("quotes", "orjson floor, every number new", floor_quotes, "fresh quotes"),
    ("quotes", "adapter, every number new", adapter_quotes, "fresh quotes"),
    ("fills", "orjson floor", floor_fills, "fills"),
    ("fills", "construction alone", construct_fills, "fills"),
    ("fills", "adapter", adapter_fills, "fills"),
)


def cpu_rate(work: Callable[[Frame], int], items: list[Frame], seconds: float) -> float:
    """Messages handled per second of this process's CPU, over ``items`` again and again for ``seconds``."""
    done, begin = 0, time.process_time()
    while time.process_time() - begin < seconds:
        for item in items:
            done += work(item)
    return done / (time.process_time() - begin)


def parse_rates(seconds: float, rounds: int) -> dict[str, Any]:
    """Every parsing row's rate per round, the rows taking turns (rotated each round); each row's ratio to
    its floor is taken within the round."""
    frames = {
        "quotes": _quote_frames(500),
        "fresh quotes": _quote_frames(500, fresh=True),
        "fills": _fill_frames(500),
    }
    items = {
        name: [(frame, (_fill_values if name == "fills" else _quote_values)(frame)) for frame in found]
        for name, found in frames.items()
    }  # fmt: skip
    per_round: list[dict[str, float]] = []
    for number in range(rounds):
        shift = number % len(PARSE_ROWS)
        rates = {}
        for kind, row, work, source in PARSE_ROWS[shift:] + PARSE_ROWS[:shift]:
            rates[f"{kind}: {row}"] = cpu_rate(work, items[source], seconds)
        per_round.append(rates)
    floors = {
        source: f"{kind}: {row}"
        for kind, row, work, source in PARSE_ROWS
        if work in (floor_quotes, floor_fills)
    }
    summary: dict[str, Any] = {}
    for kind, row, _, source in PARSE_ROWS:
        key = f"{kind}: {row}"
        ratios = [r[key] / r[floors[source]] for r in per_round]
        summary[key] = {
            "per_second": round(statistics.median(r[key] for r in per_round)),
            "us_per_message": round(1e6 / statistics.median(r[key] for r in per_round), 3),
            "over_floor": spread(ratios),
        }
    return {"rounds": per_round, "summary": summary}


def spread(values: list[float]) -> dict[str, float]:
    """Median, least and most of ``values`` (each round's ratio)."""
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def shown(s: dict[str, float]) -> str:
    return f"{s['median']:.3f} [{s['min']:.3f}-{s['max']:.3f}]"


def order_rounds(seconds: float, rounds: int, concurrencies: list[int]) -> list[Cell]:
    every: list[Cell] = []
    for round_number in range(rounds):
        for concurrency in concurrencies:
            shift = round_number % len(CLIENTS)
            for client in CLIENTS[shift:] + CLIENTS[:shift]:
                every.append(asyncio.run(fresh_cell(client, concurrency, seconds)))
    return every


def order_summary(every: list[Cell], rounds: int, concurrencies: list[int]) -> list[dict[str, Any]]:
    """Per concurrency: each round's ratios (cells of one round), as median and range, and the medians of
    throughput and CPU per call."""
    rows = []
    for concurrency in concurrencies:
        cells = {
            name: [c for c in every if (c.client, c.concurrency) == (name, concurrency)] for name in CLIENTS
        }

        def ratios(a: str, b: str, cells: dict[str, list[Cell]] = cells) -> dict[str, float]:
            return spread([x.throughput / y.throughput for x, y in zip(cells[a], cells[b], strict=True)])

        rows.append({
            "concurrency": concurrency,
            "orders_per_second": {n: statistics.median(c.throughput for c in cells[n]) for n in CLIENTS},
            "cpu_us_per_call": {n: statistics.median(c.cpu_us for c in cells[n]) for n in CLIENTS},
            "errors": {n: sum(c.errors for c in cells[n]) for n in CLIENTS},
            "adapter_over_floor": ratios("adapter", "aiohttp floor"),
            "adapter_fill_over_floor": ratios("adapter+fill", "aiohttp floor"),
            "adapter_over_alpaca_py": ratios("adapter", "alpaca-py"),
            "adapter_fill_over_alpaca_py": ratios("adapter+fill", "alpaca-py"),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="per place_order cell")
    parser.add_argument("--parse-seconds", type=float, default=0.5, help="of CPU per parsing row and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--parts", nargs="+", choices=("orders", "split", "parsing"), default=["orders", "split", "parsing"]
    )
    parser.add_argument("--split-orders", type=int, default=1000, help="per split step and round")
    parser.add_argument("--concurrency", nargs="+", type=int, default=list(CONCURRENCY))
    args = parser.parse_args()
    results: dict[str, Any] = {"rounds": args.rounds}
    if "orders" in args.parts:
        every = order_rounds(args.seconds, args.rounds, args.concurrency)
        rows = order_summary(every, args.rounds, args.concurrency)
        results["cells"], results["orders"] = [asdict(c) for c in every], rows
        print(f"place_order, AAPL market order: {args.rounds} interleaved rounds of {args.seconds} s per client; "
              "ratios are per round, median [least-most]")  # fmt: skip
        print(f"{'client':<15}{'conc':>6}{'orders/s':>11}{'CPU µs/call':>13}{'errors':>8}")
        for row in rows:
            for name in CLIENTS:
                print(f"{name:<15}{row['concurrency']:>6}{row['orders_per_second'][name]:>11.1f}"
                      f"{row['cpu_us_per_call'][name]:>13.1f}{row['errors'][name]:>8}")  # fmt: skip
        for row in rows:
            print(f"  concurrency {row['concurrency']:>2}: adapter/floor {shown(row['adapter_over_floor'])} "
                  f"(target >= 0.9); with the fill {shown(row['adapter_fill_over_floor'])}; "
                  f"adapter/alpaca-py {shown(row['adapter_over_alpaca_py'])} (target 2 at 16)")  # fmt: skip
    if "split" in args.parts:
        split = asyncio.run(split_rounds(args.split_orders, args.rounds))
        results["split"] = split
        print(f"where one order's client CPU goes (concurrency 1, one simulator, {args.rounds} interleaved rounds of "
              f"{args.split_orders} orders; median, each step adds one layer to the one before)")  # fmt: skip
        before = None
        for name, row in split.items():
            added = "" if before is None else f"  (+{row['cpu_us'] - before:.1f})"
            print(f"  {name:<15} CPU {row['cpu_us']:>7.1f} µs/order [{row['cpu_us_range'][0]:.1f}-"
                  f"{row['cpu_us_range'][1]:.1f}]{added:<12} wall {row['wall_us']:>7.1f} µs/order")  # fmt: skip
            before = row["cpu_us"]
    if "parsing" in args.parts:
        parsed = parse_rates(args.parse_seconds, args.rounds)
        results["parsing"] = parsed
        print(f"frames parsed per CPU second, in process, the same frames: {args.rounds} interleaved rounds; "
              "ratio to the bare orjson floor per round, median [least-most] (target >= 0.85)")  # fmt: skip
        for key, row in parsed["summary"].items():
            print(f"  {key:<38}{row['per_second']:>12,}/s {row['us_per_message']:>8.3f} µs/message  "
                  f"over floor {shown(row['over_floor'])}")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
