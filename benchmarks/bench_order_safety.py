"""Order safety under faults: duplicates, lost intents and outcomes left unknown, counted at the venue.

Method. The OANDA simulator on loopback, every fifth request or so misbehaving (503s, 429s, held requests
dropped, connections reset before the request is read, orders executed whose answer is lost, answers so
late that the client gives up first and the order executes anyway). The OANDA adapter, created by the
factory with a SQLite store, places N market orders at C in flight; a tenth are sent again as a careless
caller would; the journal settles what is unknown from the account's transaction history; then the
venue's own record is compared with the journal (``broker_integration.testing.order_safety``).

Compared in the same run, on the same venue and fault plan:
* peer: the same adapter without a journal, used as a caller without one would — when an order's call
  fails, a new order for the same trade is sent (once) — counting the trades the venue then executed
  twice (OANDA refuses a reused client order id, so the naive retry is a new order).

Run: ``.venv/bin/python benchmarks/bench_order_safety.py [--orders 10000] [--concurrency 16]``; writes
bench-results/order_safety.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.broker_config import BrokerSettings
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import EventBus
from broker_integration.models import OrderSide, UnifiedOrder, new_client_order_id
from broker_integration.pipeline import CircuitBreaker, RetryPolicy
from broker_integration.sim import VenueProfile
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.records import OrderState
from broker_integration.store import Store, sqlite_url
from broker_integration.testing.order_safety import run_order_safety

FAULTY = VenueProfile(
    name="oanda",
    enforce_trading_hours=False,
    seed=17,
    initial_balance=Decimal(10_000_000_000),
    error_rate=0.06,
    rate_limit_rate=0.02,
    timeout_rate=0.03,
    response_lost_rate=0.08,
    latency_spike_rate=0.02,
    latency_spike_ms=700.0,
    retry_after_s=0.0,
)
TIMEOUT_S = 0.5
GRACE_S = 1.5


def configured(sim: OandaSimulator) -> Any:
    return sim.configuration(absence_grace_seconds=GRACE_S).model_copy(
        update={"settings": BrokerSettings(timeout_seconds=TIMEOUT_S, retry_attempts=3)}
    )


def tune(adapter: OandaAdapter) -> None:
    assert adapter.resilience is not None
    adapter.resilience.retry = RetryPolicy(max_retries=3, base_delay=0.002, max_delay=0.02)
    adapter.resilience.breaker = CircuitBreaker(
        consecutive_failures=8, failure_rate=0.9, window=20, minimum_calls=20, recovery_timeout=0.3
    )


async def with_journal(orders: int, concurrency: int, folder: Path) -> dict[str, Any]:
    settings = SimulatorSettings(max_requests_per_second=None, hang_seconds=0.2)
    async with (
        OandaSimulator(profile=FAULTY, settings=settings) as sim,
        Store(sqlite_url(folder / "journal.sqlite3")) as store,
    ):
        factory = BrokerFactory(event_bus=EventBus(), store=store, discover_plugins=False)
        adapter = await factory.create_adapter("oanda", configured(sim))
        assert isinstance(adapter, OandaAdapter)
        tune(adapter)
        journal = factory.journal
        assert journal is not None
        journal.lookup_delays = (0.005, 0.01, 0.02, 0.04, 0.08)
        journal.settle_delays = (0.2, 0.5, 1.0, 1.0, 2.0, 2.0, 5.0)
        report = await run_order_safety(
            adapter, journal, sim.engine, sim.account_id, orders=orders, concurrency=concurrency
        )
        await factory.close_all()
    print(f"with the journal: {report.summary()}", flush=True)
    return {
        "orders": report.orders,
        "fault_share": report.fault_share,
        "faults": {kind.value: n for kind, n in report.faults.items()},
        "duplicates": report.duplicates,
        "lost": report.lost,
        "unresolved_after_settling": report.unresolved,
        "disagreements": report.disagreements,
        "resolved_by_lookup": report.resolved_by_lookup,
        "unknown_when_returned": report.unknown_when_returned,
        "seconds": report.seconds,
    }


async def without_journal(orders: int, concurrency: int) -> dict[str, Any]:
    settings = SimulatorSettings(max_requests_per_second=None, hang_seconds=0.2)
    async with OandaSimulator(profile=FAULTY, settings=settings) as sim:
        factory = BrokerFactory(event_bus=EventBus(), discover_plugins=False)
        adapter = await factory.create_adapter("oanda", configured(sim))
        assert isinstance(adapter, OandaAdapter)
        tune(adapter)
        gate = asyncio.Semaphore(concurrency)

        retried: dict[str, str] = {}  # the retry's client order id -> the first one's

        async def place_retrying(order: UnifiedOrder) -> None:
            async with gate:
                if not (await adapter.place_order(order)).success:
                    again = order.model_copy(update={"order_id": new_client_order_id()})
                    retried[again.order_id] = order.order_id
                    await adapter.place_order(again)  # "it failed, send it again"

        intents = [
            UnifiedOrder(
                instrument="EUR/USD", side=OrderSide.BUY if i % 2 else OrderSide.SELL, quantity=Decimal(1000)
            )
            for i in range(orders)
        ]
        await asyncio.gather(*(place_retrying(order) for order in intents))
        await asyncio.sleep(1.0)  # let orders the client gave up on execute
        executed = Counter(
            retried.get(view.client_order_id, view.client_order_id)
            for view in sim.engine.orders(sim.account_id, include_closed=True)
            if view.state is OrderState.FILLED and view.client_order_id is not None
        )
        await factory.close_all()
    doubled = sum(1 for n in executed.values() if n > 1)
    print(
        f"peer, no journal, a failed order sent again as a new order: {doubled} trades executed twice",
        flush=True,
    )
    return {"orders": orders, "trades_executed_twice": doubled, "retried": len(retried)}


async def main(orders: int, concurrency: int) -> dict[str, Any]:
    print(f"cores: {os.cpu_count()}, python {platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        journaled = await with_journal(orders, concurrency, Path(folder))
    peer = await without_journal(orders, concurrency)
    return {"concurrency": concurrency, "with_journal": journaled, "peer_without_journal": peer}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    figures = asyncio.run(main(args.orders, args.concurrency))
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "order_safety.json").write_text(json.dumps(figures, indent=2))
