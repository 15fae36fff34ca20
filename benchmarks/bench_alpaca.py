"""Alpaca client throughput against the Alpaca simulator, with the floor and the peer, in one run.

What it measures:

* ``place_order`` of a one-share AAPL market order at concurrency 1, 16 and 64, every client against a
  simulator started afresh in its own process (loopback; client and server do not share an event loop),
  request limit off:
  (a) ``AlpacaAdapter.place_order`` through the whole call pipeline, returning once Alpaca's answer
  (``accepted``) is read (``fill_timeout_seconds=0``): the same work as the floor;
  (b) the same, waiting for the fill on ``trade_updates`` (the default; reports FILLED with its price);
  (c) **the floor**: a bare aiohttp POST of the same JSON the adapter sends, pre-encoded with only the
  client order id filled in from a counter, reading the answer's bytes;
  (d) **the peer**: alpaca-py's ``TradingClient.submit_order``, synchronous, one thread and client per caller.
  Each cell runs ``--seconds`` after a 0.3 s warm-up; the clients take turns for ``--rounds`` rounds and the
  median round is reported. Throughput is completed calls per wall second.
* frames parsed per second, in process, over the same pre-built frames: quote frames (arrays of 20 quotes,
  as the market-data stream sends them) into validated ``PriceTick`` objects with Decimal prices, and
  ``trade_updates`` fill frames into ``OrderUpdate`` objects, against the floor: a bare ``orjson.loads`` loop.

Usage: ``.venv/bin/python benchmarks/bench_alpaca.py [--seconds 1.5] [--rounds 3]``; writes
``bench-results/bench_alpaca.json``. Needs alpaca-py (the dev extra).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
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
from broker_integration.models import OrderSide, OrderStatus, UnifiedOrder

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

    async def worker() -> None:
        nonlocal calls, errors
        while time.perf_counter() < stop_at:
            ok = await call()
            if measuring:
                calls, errors = calls + ok, errors + (not ok)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measuring, begin = True, time.perf_counter()
    stop_at = begin + seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - begin
    return Cell(client, concurrency, calls, errors, round(calls / elapsed, 1))


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
        begin = time.perf_counter()
        state["stop_at"] = begin + seconds
        list(pool.map(worker, clients))
        elapsed = time.perf_counter() - begin
    return Cell("alpaca-py", concurrency, counts[0], counts[1], round(counts[0] / elapsed, 1))


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


# ------------------------------------------------------------------ frame parsing


def _quote_frames(count: int) -> list[bytes]:
    frames = []
    for n in range(count):
        batch = [
            {"T": "q", "S": symbol, "bx": "V", "bp": 190.01 + (n % 50) / 100, "bs": 3, "ax": "V",
             "ap": 190.05 + (n % 50) / 100, "as": 4, "t": f"2024-06-03T14:{n % 60:02d}:{k:02d}.123456789Z",
             "c": ["R"], "z": "C"}
            for k, symbol in enumerate(("AAPL", "MSFT", "SPY", "QQQ") * 5)
        ]  # fmt: skip
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


def parse_rates(seconds: float) -> dict[str, float]:
    quotes, fills = _quote_frames(500), _fill_frames(500)

    def rate(work: Callable[[bytes], int], frames: list[bytes]) -> float:
        done, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < seconds:
            for frame in frames:
                done += work(frame)
        return done / (time.perf_counter() - begin)

    def floor_quotes(frame: bytes) -> int:
        return sum(1 for m in orjson.loads(frame) if m["T"] == "q")

    def adapter_quotes(frame: bytes) -> int:
        return sum(1 for m in orjson.loads(frame) if m["T"] == "q" and parsing.parse_quote(m["S"], m))

    def floor_fills(frame: bytes) -> int:
        return 1 if orjson.loads(frame)["stream"] == "trade_updates" else 0

    def adapter_fills(frame: bytes) -> int:
        return 1 if parsing.order_update(orjson.loads(frame)["data"], Decimal(0)) is not None else 0

    return {
        "quotes_floor": round(rate(floor_quotes, quotes)),
        "quotes_adapter": round(rate(adapter_quotes, quotes)),
        "fills_floor": round(rate(floor_fills, fills)),
        "fills_adapter": round(rate(adapter_fills, fills)),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    every: list[Cell] = []
    for round_number in range(args.rounds):
        for concurrency in CONCURRENCY:
            shift = round_number % len(CLIENTS)
            for client in CLIENTS[shift:] + CLIENTS[:shift]:
                every.append(await fresh_cell(client, concurrency, args.seconds))
    cells = []
    for concurrency in CONCURRENCY:
        for client in CLIENTS:
            rounds = sorted(
                (c for c in every if (c.client, c.concurrency) == (client, concurrency)),
                key=lambda c: c.throughput,
            )
            cells.append(rounds[len(rounds) // 2])
    by = {(c.client, c.concurrency): c for c in cells}
    print(f"place_order, AAPL market order, median of {args.rounds} rounds of {args.seconds} s")
    print(f"{'client':<15}{'conc':>6}{'calls':>8}{'errors':>8}{'orders/s':>11}")
    for c in cells:
        print(f"{c.client:<15}{c.concurrency:>6}{c.calls:>8}{c.errors:>8}{c.throughput:>11.1f}")
    ratios = []
    for concurrency in CONCURRENCY:
        floor, adapter, filled, peer = (by[(name, concurrency)] for name in CLIENTS)
        row = {
            "concurrency": concurrency,
            "adapter_over_floor": round(adapter.throughput / floor.throughput, 3),
            "adapter_fill_over_floor": round(filled.throughput / floor.throughput, 3),
            "adapter_over_alpaca_py": round(adapter.throughput / peer.throughput, 2),
            "adapter_fill_over_alpaca_py": round(filled.throughput / peer.throughput, 2),
        }
        ratios.append(row)
        print(f"  concurrency {concurrency:>2}: adapter/floor {row['adapter_over_floor']:.3f} (floor target 0.9), "
              f"with the fill {row['adapter_fill_over_floor']:.3f}; adapter/alpaca-py {row['adapter_over_alpaca_py']:.2f} "
              f"(target 2 at 16), with the fill {row['adapter_fill_over_alpaca_py']:.2f}")  # fmt: skip
    rates = parse_rates(args.seconds)
    print("frames parsed per second (in process, the same frames)")
    print(f"  quotes: adapter {rates['quotes_adapter']:,}/s into PriceTick vs bare orjson {rates['quotes_floor']:,}/s "
          f"(ratio {rates['quotes_adapter'] / rates['quotes_floor']:.2f}, target 0.85)")  # fmt: skip
    print(f"  trade_updates fills: adapter {rates['fills_adapter']:,}/s into OrderUpdate vs bare orjson "
          f"{rates['fills_floor']:,}/s (ratio {rates['fills_adapter'] / rates['fills_floor']:.2f}, target 0.85)")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps({"cells": [asdict(c) for c in cells], "ratios": ratios, "parsing": rates}, indent=2)
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
