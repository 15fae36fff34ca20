"""Where one OANDA order's client time goes, step by step, against the OANDA simulator at concurrency 1.

``bench_oanda`` compares whole clients; this splits the adapter's cost per order into what each layer
adds, so a gap to the floor can be traced to its source. Every step sends the same one-unit EUR_USD market
order (a 201 with a fill) to one simulator in its own process, one order at a time; each adds one layer
to the step before:

1. **floor**: a bare aiohttp POST of pre-encoded bytes, reading the answer's bytes (as in ``bench_oanda``);
2. **http client**: the adapter's ``OandaClient.request`` with a ready-made body dict: its HTTP transport,
   JSON encoding of the request, decoding of the answer, the status check;
3. **+ order model**: a ``UnifiedOrder`` built per call (as user code does) and translated to the v20
   request body;
4. **+ result**: the answer read into an ``OrderResult`` (fill, price, commission, times): the adapter's
   protocol code as a whole, called without the pipeline;
5. **adapter**: ``OandaAdapter.place_order`` through the call pipeline (declared-capability check, rate
   limiter, breaker, timeout, result completion, call event).

The peer is oandapyV20 placing the same order, synchronously. Per order: wall time (what bounds
throughput at concurrency 1) and this process's CPU time (``time.process_time``: the client's own work;
the simulator runs in another process). The steps take turns for ``--rounds`` rounds of ``--orders``
orders (after a warm-up of each), and the median round is reported. Usage:
``.venv/bin/python benchmarks/bench_order_cost.py [--orders 2000] [--rounds 5]``; writes
``bench-results/bench_order_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench_oanda import (
    ORDER_TEMPLATE,
    Venue,
    configuration,
    point_oandapyv20_at,
    start_simulator,
    stop_simulator,
)
from broker_integration.adapters.oanda import OandaAdapter, parsing
from broker_integration.events import EventBus
from broker_integration.models import OrderSide, OrderStatus, UnifiedOrder

RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_order_cost.json"
WARM_UP_ORDERS = 200
STEPS = ("floor", "http client", "+ order model", "+ result", "adapter")
PEER = "oandapyV20"
#: Client order ids of the pre-encoded orders (floor, http client, peer): unique across the whole run.
SEQUENCE = itertools.count()

Step = Callable[[], Awaitable[bool]]


def new_order() -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1))


def filled(body: dict[str, Any]) -> bool:
    return "orderFillTransaction" in body


async def measure(step: Step, orders: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per order over ``orders`` sequential calls of ``step``."""
    for _ in range(WARM_UP_ORDERS):
        await step()
    wall, cpu = time.perf_counter(), time.process_time()
    failures = 0
    for _ in range(orders):
        failures += not await step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if failures:
        raise RuntimeError(f"{failures} of {orders} orders were not filled")
    return wall / orders * 1e6, cpu / orders * 1e6


def measure_peer(venue: Venue, orders: int) -> tuple[float, float]:
    from oandapyV20 import API
    from oandapyV20.endpoints.orders import OrderCreate

    point_oandapyv20_at(venue)
    api = API(access_token=venue.token, environment="simulator")

    def step() -> bool:
        request = OrderCreate(venue.account_id, data=orjson.loads(ORDER_TEMPLATE % next(SEQUENCE)))
        return filled(api.request(request))

    for _ in range(WARM_UP_ORDERS):
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    failures = sum(not step() for _ in range(orders))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    api.close()
    if failures:
        raise RuntimeError(f"{PEER}: {failures} of {orders} orders were not filled")
    return wall / orders * 1e6, cpu / orders * 1e6


async def run_steps(venue: Venue, orders: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in STEPS}
    headers = {"Authorization": f"Bearer {venue.token}", "Content-Type": "application/json"}
    path = f"/v3/accounts/{venue.account_id}/orders"
    async with (
        OandaAdapter(configuration(venue), event_bus=EventBus()) as adapter,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        client = adapter._client  # the adapter's own HTTP client, for the steps below the protocol code
        protocol_code = OandaAdapter.place_order.__wrapped__  # type: ignore[attr-defined]

        async def floor() -> bool:
            async with session.post(
                f"{venue.base_url}{path}", data=ORDER_TEMPLATE % next(SEQUENCE)
            ) as response:
                await response.read()
                return response.status == 201

        async def http_client() -> bool:
            body = orjson.loads(ORDER_TEMPLATE % next(SEQUENCE))
            _, answer = await client.request("POST", path, body=body)
            return filled(answer)

        async def with_order_model() -> bool:
            body = {"order": parsing.order_request(new_order())}
            _, answer = await client.request("POST", path, body=body)
            return filled(answer)

        async def with_result() -> bool:
            result = await protocol_code(adapter, new_order())
            return bool(result.status is OrderStatus.FILLED)

        async def through_adapter() -> bool:
            result = await adapter.place_order(new_order())
            return result.status is OrderStatus.FILLED

        steps: dict[str, Step] = dict(
            zip(STEPS, (floor, http_client, with_order_model, with_result, through_adapter), strict=True)
        )
        for round_number in range(rounds):
            shift = round_number % len(STEPS)
            for name in STEPS[shift:] + STEPS[:shift]:  # a different step goes first each round
                samples[name].append(await measure(steps[name], orders))
    return samples


def median_of(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in rounds), statistics.median(c for _, c in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders per step and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    args = parser.parse_args()
    process, venue = start_simulator()
    try:
        samples = asyncio.run(run_steps(venue, args.orders, args.rounds))
        peer = measure_peer(venue, args.orders)
    finally:
        stop_simulator(process)
    medians = {name: median_of(rounds) for name, rounds in samples.items()}
    floor_wall, floor_cpu = medians["floor"]
    print(f"one market order at a time, median of {args.rounds} rounds of {args.orders} orders")
    print(f"{'step':<16}{'wall µs':>9}{'cpu µs':>9}{'+cpu':>8}{'throughput vs floor':>22}")
    previous_cpu = floor_cpu
    rows = []
    for name in STEPS:
        wall, cpu = medians[name]
        print(f"{name:<16}{wall:>9.1f}{cpu:>9.1f}{cpu - previous_cpu:>+8.1f}{floor_wall / wall:>22.3f}")
        rows.append(
            {
                "step": name,
                "wall_us": round(wall, 1),
                "cpu_us": round(cpu, 1),
                "added_cpu_us": round(cpu - previous_cpu, 1),
                "throughput_vs_floor": round(floor_wall / wall, 3),
            }
        )
        previous_cpu = cpu
    peer_wall, peer_cpu = peer
    print(f"{PEER:<16}{peer_wall:>9.1f}{peer_cpu:>9.1f}{'':>8}{floor_wall / peer_wall:>22.3f}")
    adapter_wall, adapter_cpu = medians["adapter"]
    print(
        f"adapter over floor: +{adapter_cpu - floor_cpu:.0f} µs client CPU per order; "
        f"{PEER} over adapter: {peer_wall / adapter_wall:.2f}x the wall time"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    report = {
        "benchmark": "bench_order_cost",
        "method": __doc__,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "orders": args.orders,
        "rounds": args.rounds,
        "steps": rows,
        "every_round": {name: [{"wall_us": w, "cpu_us": c} for w, c in r] for name, r in samples.items()},
        "peer": {"client": PEER, "wall_us": round(peer_wall, 1), "cpu_us": round(peer_cpu, 1)},
    }
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
