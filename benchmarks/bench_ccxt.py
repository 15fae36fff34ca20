"""The CCXT adapter's overhead over calling ccxt directly, and what ``import broker_integration`` costs with
the ``[ccxt]`` extra installed.

Orders: a 0.001 BTC/USDT market order (filled at once), alternately bought and sold, with a fresh client
order id, against the Binance spot simulator started in its own process on loopback (so client and server do
not share an event loop), its request and order limits off. At concurrency 1 and 16 for (a) **the peer and
floor**: ccxt's ``binance`` class called directly (``create_order``, ccxt's own limiter off, as the adapter
runs it), and (b) ``CcxtAdapter.place_order`` through the whole call pipeline (pre-trade checks, rate
limiter, breaker, deadline, events; no journal), building a ``UnifiedOrder`` per call as user code does. Each
cell runs ``--seconds`` after a 0.3 s warm-up against a freshly started simulator; the clients take turns
within each concurrency level (alternating which goes first) for ``--rounds`` rounds; each cell's median
round is reported, and the ratio is the median of the rounds' paired ratios (the machine is shared, and a
pair run back to back meets the same load). Throughput is completed orders per wall second; p50/p99 per
call. Because the wall figures move with the shared machine's load, each cell also measures this process's
CPU time per order over 300 orders one after another (``time.process_time``; the simulator's process is not
counted, waiting costs nothing): the ratio of those is the adapter's throughput relative to ccxt's when the
client is the bottleneck, whatever else runs. Then, the steadiest form of that ratio, every step from ccxt to
the adapter in this one process against one simulator, taking turns batch by batch (``--cpu-batches`` rounds
of 100 orders, this thread's CPU time): ccxt direct; ccxt with its round trip on the library's HTTP transport
instead of aiohttp (``adapters/ccxt/fetch.py``, as the adapter runs it: the step that shows what the
transport saves, and the base of the adapter's own overhead); + the adapter's client (``CcxtClient.call`` on
its exchange object); + a ``UnifiedOrder`` built per order (what user code does; sent by that client); + the
adapter's protocol code without the pipeline; + the pipeline without its stages; the whole adapter. Each
step's median and range, what it adds to the one before, and the CPU ratio ccxt direct / adapter round by
round: every step meets the same moments of the machine's load. The target (issue #18):
the adapter at 0.9x ccxt's throughput or better at both levels; the run ends by printing the three figures
it names (CPU ratio, wall-clock ratios at concurrency 1 and 16), each as median (range).

Import: ``import broker_integration`` in a fresh interpreter, ``--imports`` times each with ccxt installed
and with ccxt blocked (as if the extra were absent), taking turns; the median wall time of each and whether
ccxt was loaded.

Order safety (``--safety-orders``, 0 to skip): the order-safety fault suite
(``broker_integration.testing.order_safety``) with the CCXT adapter and its journal against the simulator
dealing its fault mix (503s, 429s, held and dropped requests, resets, lost answers, answers later than the
client's 0.5 s timeout); and the peer, the same adapter (same timeout, retries and breaker) without a
journal used as a careless caller would: an order whose call failed is sent again with the same client
order id. Binance takes a client order id again once its order has filled, so that resend executes a second
time: the figure counts those trades.

Usage: ``.venv/bin/python benchmarks/bench_ccxt.py [--seconds 1.5] [--rounds 5] [--imports 7]
[--safety-orders 2000] [--cpu-batches 16]`` (0 skips a part: ``--rounds 0 --imports 0 --safety-orders 0``
runs the CPU ladder alone); writes ``bench-results/bench_ccxt.json``. Needs ccxt
(``pip install 'broker-integration[ccxt]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_oanda import Call, Cell, async_cell, stop_simulator
from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.adapters.ccxt.fetch import TransportFetch
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.errors import BrokerError
from broker_integration.events import EventBus
from broker_integration.models import Delivery, OrderResult, OrderSide, OrderStatus, UnifiedOrder
from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings
from broker_integration.sim.binance.server import CCXT_OPTIONS
from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.records import OrderState
from broker_integration.store import Store, sqlite_url
from broker_integration.testing.order_safety import (
    FAULT_MIX,
    connect_for_faults,
    pace_for_faults,
    quick_to_give_up,
    run_order_safety,
)

CONCURRENCY = (1, 16)
CLIENTS = ("ccxt direct", "adapter")
QUANTITY = Decimal("0.001")
TARGET = 0.9
CPU_ORDERS = 300
RESULTS = Path(__file__).resolve().parent.parent / "bench-results" / "bench_ccxt.json"


def start_simulator() -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    command = [
        sys.executable, "-m", "broker_integration.sim.binance", "--port", "0", "--json",
        "--weight-limit", "0", "--order-limit", "0", "--balance", "100000000", "--hold", "BTC=100",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def configuration(venue: dict[str, Any]) -> BrokerConfiguration:
    return BrokerConfiguration.from_dict(
        {
            "broker_name": "binance",
            "adapter": "ccxt",
            "credentials": {
                "api_key": venue["api_key"],
                "secret_key": venue["secret"],
                "environment": "sandbox",
            },
            "endpoints": {"base_url": venue["base_url"], "stream_url": venue["stream_url"]},
            "limits": {"requests_per_second": 100_000, "max_orders_per_second": 100_000},
            "options": {"exchange": "binance", "exchange_options": CCXT_OPTIONS},
        }
    )


async def cpu_per_order(call: Call) -> float:
    """This process's CPU time per order over ``CPU_ORDERS`` orders one after another: what the client itself
    spends, which the shared machine's load does not change (waiting for the venue costs none)."""
    started = time.process_time()
    for _ in range(CPU_ORDERS):
        await call()
    return (time.process_time() - started) / CPU_ORDERS * 1e6


def direct_exchange(venue: dict[str, Any]) -> Any:
    """ccxt's ``binance`` for the simulator, as a user of ccxt sets it up (its own limiter off, as the adapter
    runs it)."""
    import ccxt.async_support as ccxt

    exchange = ccxt.binance(
        {
            "apiKey": venue["api_key"],
            "secret": venue["secret"],
            "enableRateLimit": False,
            "urls": {"api": venue["ccxt_urls"]},
            "options": dict(CCXT_OPTIONS),
        }
    )
    exchange.timeout_on_exit = 0
    return exchange


def adapter_call(adapter: CcxtAdapter) -> Call:
    """One order through the adapter, its ``UnifiedOrder`` built per call as user code does; sides alternate."""
    sides = itertools.cycle((OrderSide.BUY, OrderSide.SELL))

    async def through_adapter() -> bool:
        order = UnifiedOrder(instrument="BTC/USDT", side=next(sides), quantity=QUANTITY)
        result = await adapter.place_order(order)
        return result.status is OrderStatus.FILLED

    return through_adapter


def direct_call(exchange: Any) -> Call:
    """The same order sent with ccxt directly, with a fresh client order id; sides alternate."""
    sides = itertools.cycle((OrderSide.BUY, OrderSide.SELL))
    sequence = itertools.count()

    async def direct() -> bool:
        order = await exchange.create_order(
            "BTC/USDT",
            "market",
            next(sides).value,
            float(QUANTITY),
            None,
            {"clientOrderId": f"direct-{next(sequence)}"},
        )
        return bool(order["status"] == "closed")

    return direct


async def fresh_cell(client: str, concurrency: int, seconds: float) -> tuple[Cell, float]:
    """One cell against a simulator of its own, so no client meets a venue grown by another's orders."""
    process, venue = start_simulator()
    try:
        if client == "adapter":
            async with CcxtAdapter(configuration(venue), event_bus=EventBus()) as adapter:
                call = adapter_call(adapter)
                cell = await async_cell(client, concurrency, seconds, call)
                return cell, await cpu_per_order(call)
        exchange = direct_exchange(venue)
        try:
            await exchange.load_markets()
            call = direct_call(exchange)
            cell = await async_cell(client, concurrency, seconds, call)
            return cell, await cpu_per_order(call)
        finally:
            await exchange.close()
    finally:
        stop_simulator(process)


#: The steps of the in-process CPU ladder, each adding one layer to the step before (``ladder_calls``).
STEPS = (
    "ccxt direct",
    "ccxt, our transport",
    "+ client",
    "+ UnifiedOrder",
    "+ protocol code",
    "+ pipeline, no stages",
    "adapter",
)


def ladder_calls(
    exchange: Any, on_transport: Any, adapter: CcxtAdapter, bare: CcxtAdapter
) -> dict[str, Call]:
    """One order per call for each step of :data:`STEPS`: ccxt's ``create_order`` on an exchange of its own;
    the same on an exchange whose round trip is the library's transport; the same through the adapter's ``CcxtClient.call`` on the adapter's exchange object (error translation,
    the decimal context, the note that a request left); the same with a ``UnifiedOrder`` built per call and
    its side, units and client order id sent (what user code adds before the adapter's own code runs; it is
    no part of the protocol code, so the ladder shows it apart); the adapter's protocol code called without
    the pipeline (the market's checks, the request, the order's ids remembered, the ``OrderResult``); the
    pipeline without its stages (``bare``: boundary checks, result completion, the call event); the whole
    adapter (rate limit, breaker and deadline stages too)."""
    sides = itertools.cycle((OrderSide.BUY, OrderSide.SELL))
    sequence = itertools.count()
    protocol_code = CcxtAdapter.place_order.__wrapped__  # type: ignore[attr-defined]

    async def through_client() -> bool:
        params = {"clientOrderId": f"client-{next(sequence)}"}
        order = await adapter.client.call(
            adapter.exchange.create_order,
            "BTC/USDT",
            "market",
            next(sides).value,
            float(QUANTITY),
            None,
            params,
            changes_state=True,
        )
        return bool(order["status"] == "closed")

    async def with_unified_order() -> bool:
        order = UnifiedOrder(instrument="BTC/USDT", side=next(sides), quantity=QUANTITY)
        placed = await adapter.client.call(
            adapter.exchange.create_order,
            order.instrument,
            "market",
            order.side.value,
            float(order.units),
            None,
            {"clientOrderId": order.order_id},
            changes_state=True,
        )
        return bool(placed["status"] == "closed")

    async def through_protocol_code() -> bool:
        order = UnifiedOrder(instrument="BTC/USDT", side=next(sides), quantity=QUANTITY)
        result: OrderResult = await protocol_code(adapter, order)
        return result.status is OrderStatus.FILLED

    return {
        "ccxt direct": direct_call(exchange),
        "ccxt, our transport": direct_call(on_transport),
        "+ client": through_client,
        "+ UnifiedOrder": with_unified_order,
        "+ protocol code": through_protocol_code,
        "+ pipeline, no stages": adapter_call(bare),
        "adapter": adapter_call(adapter),
    }


async def cpu_ladder(rounds: int, size: int = 100) -> dict[str, list[float]]:
    """Each step's CPU time per order (this thread's, ``time.thread_time_ns``), all in this process against
    one simulator, taking turns batch by batch (``size`` orders each; which goes first rotates) for
    ``rounds`` rounds. The steps meet the same venue and the same moments of the machine's load, so ratios
    taken within a round hold still where wall-clock figures move with the load."""
    process, venue = start_simulator()
    exchange = direct_exchange(venue)
    on_transport = direct_exchange(venue)
    transport_fetch = on_transport.fetch = TransportFetch(on_transport)
    per_order: dict[str, list[float]] = {step: [] for step in STEPS}
    try:
        async with (
            CcxtAdapter(configuration(venue), event_bus=EventBus()) as adapter,
            CcxtAdapter(configuration(venue), event_bus=EventBus()) as bare,
        ):
            for stage in bare.interceptor_names:
                bare.remove_interceptor(stage)
            # Like with like: exactly one limiter per client, none of ccxt's (ours is set far above the pace).
            for client in (exchange, on_transport, adapter.exchange, bare.exchange):
                assert not client.enableRateLimit
            await exchange.load_markets()
            await on_transport.load_markets()
            calls = ladder_calls(exchange, on_transport, adapter, bare)
            for call in calls.values():  # warm-up: connections open, caches filled
                for _ in range(size // 2):
                    await call()
            for round_number in range(rounds):
                turn = round_number % len(STEPS)
                for step in STEPS[turn:] + STEPS[:turn]:
                    started = time.thread_time_ns()
                    for _ in range(size):
                        await calls[step]()
                    per_order[step].append((time.thread_time_ns() - started) / size / 1000)
    finally:
        await exchange.close()
        await transport_fetch.close()
        await on_transport.close()
        stop_simulator(process)
    return per_order


def spread(values: list[float], digits: int = 3) -> str:
    """The median and range of ``values``: ``0.85 (0.81-0.88)``."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _import_once(block_ccxt: bool) -> tuple[float, bool]:
    block = "sys.modules['ccxt'] = None\n" if block_ccxt else ""
    code = (
        f"import sys, time\n{block}t = time.perf_counter()\nimport broker_integration\n"
        "print(time.perf_counter() - t, any(sys.modules[m] is not None and m.split('.')[0] == 'ccxt' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, loaded = out.split()
    return float(seconds), loaded == "True"


def import_seconds(repeats: int) -> tuple[float, float, bool]:
    """Median wall times of ``import broker_integration`` in a fresh interpreter with ccxt installed and
    with it blocked (taking turns, so neither profits from the other's warm file cache), and whether ccxt
    was loaded."""
    installed: list[float] = []
    blocked: list[float] = []
    loaded = False
    for i in range(repeats):
        for block in (bool(i % 2), not i % 2):
            seconds, seen = _import_once(block)
            (blocked if block else installed).append(seconds)
            loaded |= seen
    return statistics.median(installed), statistics.median(blocked), loaded


def faulty_venue(folder: Path | None = None) -> tuple[BinanceSimulator, Store | None]:
    """The simulator with the fault mix, no request or order limits, and 100 BTC to sell from."""
    profile = VenueProfile(
        name="binance", enforce_trading_hours=False, seed=18, initial_balance=Decimal(10**9)
    )
    settings = SimulatorSettings(
        holdings=(("BTC", Decimal(100)),),
        request_weight_per_minute=None,
        orders_per_10s=None,
        orders_per_day=None,
        hang_seconds=0.2,
    )
    sim = BinanceSimulator(profile=profile.with_changes(**FAULT_MIX), settings=settings)
    return sim, (Store(sqlite_url(folder / "journal.sqlite3")) if folder is not None else None)


async def safety(orders: int) -> dict[str, Any]:
    """The order-safety suite with the journal, then the careless peer without one."""
    with tempfile.TemporaryDirectory() as folder:
        sim, store = faulty_venue(Path(folder))
        assert store is not None
        async with sim, store:
            config = sim.configuration(absence_grace_seconds=1.5, history_margin_seconds=0.5)
            for attempt in range(5):  # the faults reach authenticate too; a user would try again
                try:
                    factory, adapter, journal = await connect_for_faults("ccxt", config, store)
                    break
                except BrokerError:
                    if attempt == 4:
                        raise
            report = await run_order_safety(
                adapter,
                journal,
                sim.engine,
                sim.account_id,
                orders=orders,
                instrument="BTC/USDT",
                quantity=QUANTITY,
            )
            await factory.close_all()
    print(f"order safety, adapter with its journal: {report.summary()}", flush=True)
    sim, _ = faulty_venue()
    async with sim:
        adapter = CcxtAdapter(quick_to_give_up(sim.configuration()), event_bus=EventBus())
        for attempt in range(5):
            try:
                await adapter.authenticate()
                break
            except BrokerError:
                if attempt == 4:
                    raise
        pace_for_faults(adapter)  # the run with the journal's timeout, retries and breaker
        gate = asyncio.Semaphore(16)

        resent = 0
        resent_unknown = 0  # of those, the first attempt may have reached the venue

        async def place_resending(order: UnifiedOrder) -> None:
            nonlocal resent, resent_unknown
            async with gate:
                first = await adapter.place_order(order)
                if not first.success:
                    resent += 1
                    resent_unknown += first.delivery is not Delivery.NOT_SENT
                    await adapter.place_order(order)  # "it failed, send it again": the same client order id

        sides = itertools.cycle((OrderSide.BUY, OrderSide.SELL))
        intents = [
            UnifiedOrder(instrument="BTC/USDT", side=next(sides), quantity=QUANTITY) for _ in range(orders)
        ]
        await asyncio.gather(*(place_resending(order) for order in intents))
        await asyncio.sleep(1.0)  # let orders the client gave up on execute
        filled = Counter(
            view.client_order_id
            for view in sim.engine.orders(sim.account_id, include_closed=True)
            if view.state is OrderState.FILLED and view.client_order_id is not None
        )
        await adapter.disconnect()
    twice = sum(1 for n in filled.values() if n > 1)
    print(
        f"peer, no journal, a failed order sent again with its client order id: {resent} of {orders} sent "
        f"again ({resent_unknown} of them after a first attempt that may have reached the venue; the rest "
        f"had been turned away unsent, by the breaker or the venue's door), {twice} trades executed twice"
    )
    return {
        "orders": orders,
        "with_journal": {
            "duplicates": report.duplicates,
            "lost": report.lost,
            "unresolved_after_settling": report.unresolved,
            "disagreements": report.disagreements,
            "fault_share": round(report.fault_share, 3),
            "resolved_by_lookup": report.resolved_by_lookup,
            "unknown_when_returned": report.unknown_when_returned,
            "seconds": round(report.seconds, 1),
        },
        "peer_sent_again": resent,
        "peer_sent_again_after_maybe_sent": resent_unknown,
        "peer_trades_executed_twice": twice,
    }


async def wall_cells(
    seconds: float, rounds: int
) -> tuple[dict[tuple[str, int], Cell], dict[int, list[float]], dict[str, list[float]]]:
    """Both clients at each concurrency level, taking turns, for ``rounds`` rounds: each cell's median round,
    each level's paired throughput ratios (adapter / ccxt direct, round by round), and each client's CPU
    time per order in every cell."""
    cells: dict[tuple[str, int], list[Cell]] = {}
    cpu: dict[str, list[float]] = {client: [] for client in CLIENTS}
    paired: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
    for round_number in range(rounds):
        for concurrency in CONCURRENCY:
            order = (
                CLIENTS if round_number % 2 == 0 else tuple(reversed(CLIENTS))
            )  # neither always goes first
            ran = {client: await fresh_cell(client, concurrency, seconds) for client in order}
            for client, (cell, cpu_us) in ran.items():
                cells.setdefault((client, concurrency), []).append(cell)
                cpu[client].append(cpu_us)
            if ran["ccxt direct"][0].throughput:
                paired[concurrency].append(ran["adapter"][0].throughput / ran["ccxt direct"][0].throughput)
    medians = {
        key: sorted(found, key=lambda c: c.throughput)[len(found) // 2] for key, found in cells.items()
    }
    return medians, paired, cpu


async def main(
    seconds: float, rounds: int, imports: int, safety_orders: int, cpu_batches: int
) -> dict[str, Any]:
    import ccxt

    report: dict[str, Any] = {
        "benchmark": "bench_ccxt",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "ccxt": ccxt.__version__,
        "target": TARGET,
    }
    #: Each figure the target names: what it is, and its values round by round.
    summary: list[tuple[str, list[float]]] = []
    if rounds:
        medians, paired, cpu = await wall_cells(seconds, rounds)
        print(
            "place_order, 0.001 BTC/USDT market orders, Binance simulator in its own process "
            f"(median of {rounds} rounds, {seconds:g} s each)"
        )
        print(f"{'client':<12} {'conc':>4} {'orders/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
        for concurrency in CONCURRENCY:
            for client in CLIENTS:
                c = medians[(client, concurrency)]
                print(
                    f"{client:<12} {concurrency:>4} {c.throughput:>10.1f} {c.p50_ms:>8.3f} {c.p99_ms:>8.3f} "
                    f"{c.errors:>6}"
                )
            print(
                f"  adapter / ccxt direct at concurrency {concurrency}, median (range) of the rounds' paired "
                f"throughput ratios: {spread(paired[concurrency])}x"
            )
            summary.append((f"wall-clock throughput ratio at concurrency {concurrency}", paired[concurrency]))
        cpu_us = {client: min(values) for client, values in cpu.items()}
        print(
            f"client CPU per order (least of {len(cpu['adapter'])} runs of {CPU_ORDERS}): ccxt direct "
            f"{cpu_us['ccxt direct']:.0f} us, adapter {cpu_us['adapter']:.0f} us"
        )
        report.update(
            seconds_per_cell=seconds,
            rounds=rounds,
            cells=[asdict(c) for c in medians.values()],
            adapter_over_ccxt={str(k): round(statistics.median(v), 3) for k, v in paired.items()},
            paired_ratios={str(k): [round(r, 3) for r in v] for k, v in paired.items()},
            client_cpu_us_per_order={k: round(v, 1) for k, v in cpu_us.items()},
        )
    if cpu_batches:
        ladder = await cpu_ladder(cpu_batches)
        ratios = [p / a for p, a in zip(ladder["ccxt direct"], ladder["adapter"], strict=True)]
        print(
            f"client CPU per order, every step in one process against one simulator, taking turns "
            f"({cpu_batches} rounds of 100 orders each), in us: the least round (load only adds to it), what "
            "that adds to the step before, and the median (range) of the rounds"
        )
        previous: list[float] | None = None
        for step in STEPS:
            least = min(ladder[step])
            added = f"+{least - min(previous):.0f}" if previous is not None else ""
            print(f"  {step:<22} {least:>6.0f} {added:>6}   {spread(ladder[step], 0)}")
            previous = ladder[step]
        least_ratio = min(ladder["ccxt direct"]) / min(ladder["adapter"])
        print(f"  CPU ratio of the least rounds, ccxt direct / adapter: {least_ratio:.3f}x")
        own = [t / a for t, a in zip(ladder["ccxt, our transport"], ladder["adapter"], strict=True)]
        print(
            "  the adapter's own overhead, CPU ratio ccxt on our transport / adapter, median (range) of the "
            f"rounds: {spread(own)}x"
        )
        summary.insert(0, ("CPU ratio (ccxt direct / adapter, round by round)", ratios))
        report.update(
            cpu_ladder_us_per_order={k: [round(v, 1) for v in vs] for k, vs in ladder.items()},
            cpu_ratio_by_round=[round(r, 3) for r in ratios],
            cpu_ratio=round(statistics.median(ratios), 3),
            cpu_ratio_of_least_rounds=round(least_ratio, 3),
            cpu_ratio_same_transport_by_round=[round(r, 3) for r in own],
        )
    if imports:
        with_ccxt, without_ccxt, loaded = import_seconds(imports)
        print(
            f"import broker_integration: {with_ccxt * 1000:.1f} ms with ccxt {ccxt.__version__} installed "
            f"(ccxt loaded: {loaded}), {without_ccxt * 1000:.1f} ms with ccxt blocked (medians of {imports}, "
            "interleaved)"
        )
        report.update(
            import_ms={
                "with_ccxt": round(with_ccxt * 1000, 1),
                "ccxt_blocked": round(without_ccxt * 1000, 1),
            },
            import_loads_ccxt=loaded,
        )
    report["order_safety"] = await safety(safety_orders) if safety_orders else None
    print(f"issue #18's target: the adapter at {TARGET}x ccxt's throughput or better (median (range)):")
    for label, values in summary:
        verdict = "meets" if statistics.median(values) >= TARGET else "MISSES"
        print(f"  {label}: {spread(values)}x, {verdict} the target")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--imports", type=int, default=7)
    parser.add_argument("--safety-orders", type=int, default=2000)
    parser.add_argument("--cpu-batches", type=int, default=16)
    arguments = parser.parse_args()
    started = time.monotonic()
    report = asyncio.run(
        main(
            arguments.seconds,
            arguments.rounds,
            arguments.imports,
            arguments.safety_orders,
            arguments.cpu_batches,
        )
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS} in {time.monotonic() - started:.0f} s")
