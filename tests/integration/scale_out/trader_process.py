"""One trading process for the multi-process tests: the OANDA adapter as users get it (the factory with a
PostgreSQL store: journal on, limits shared), placing orders at the simulator in its own process.

Run as ``python trader_process.py NAME VENUE_JSON STORE_URL ORDERS ORDERS_PER_SECOND``. It talks in JSON
lines on stdout: ``ready`` (then it waits for ``go`` on stdin), ``progress`` every 5 orders (with how many of
its intents are in flight), ``placed`` when every order was placed (a tenth
of its intents are shared with the other traders, and a twentieth are sent twice, as a careless caller
would), then waits for ``settle`` on stdin, waits until the journal holds no intent in flight — its own and
those of any trader that died, which the leader settles — prints ``settled`` (with the leaderships it holds)
and exits on ``exit``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from decimal import Decimal

from pydantic import SecretStr

from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerEndpoints,
    BrokerLimits,
    BrokerSettings,
)
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import EventBus
from broker_integration.models import OrderResult, OrderSide, OrderStatus, UnifiedOrder
from broker_integration.pipeline import CircuitBreaker, RetryPolicy
from broker_integration.store import Store

#: How long an order's absence from the venue's history proves nothing yet: past the simulator's longest
#: hold (a latency spike of 0.7 s, longer than the client's 0.5 s timeout).
GRACE = 1.5
CONCURRENCY = 16


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def intents(name: str, count: int) -> list[UnifiedOrder]:
    """Every tenth intent is the same in every trader (one signal, several processes)."""
    return [
        UnifiedOrder(
            order_id=f"shared-{i}" if i % 10 == 0 else f"{name}-{i}",
            instrument="EUR/USD",
            side=OrderSide.BUY if i % 2 else OrderSide.SELL,
            quantity=Decimal(1000),
        )
        for i in range(count)
    ]


async def run(name: str, venue: dict[str, str], url: str, count: int, rate: float) -> None:
    config = BrokerConfiguration(
        broker_name="oanda",
        credentials=BrokerCredentials(api_key=SecretStr(venue["token"]), account_id=venue["account_id"]),
        endpoints=BrokerEndpoints(base_url=venue["base_url"], stream_url=venue["stream_url"]),
        limits=BrokerLimits(requests_per_second=rate * 4, max_orders_per_second=rate, shared=True),
        settings=BrokerSettings(timeout_seconds=0.5, retry_attempts=3),
        options={"absence_grace_seconds": GRACE},
    )
    store = Store(url)
    factory = BrokerFactory(event_bus=EventBus(), store=store, discover_plugins=False)
    adapter = await factory.create_adapter("oanda", config)
    journal = factory.journal
    assert journal is not None
    assert journal.cluster is not None
    assert adapter.resilience is not None
    journal.lookup_delays = (0.005, 0.01, 0.02, 0.04, 0.08)
    journal.settle_delays = (0.2, 0.5, 1.0, 1.0, 2.0, 2.0)
    journal.cluster.interval = 0.5
    adapter.resilience.retry = RetryPolicy(max_retries=3, base_delay=0.002, max_delay=0.02)
    adapter.resilience.breaker = CircuitBreaker(
        consecutive_failures=8, failure_rate=0.9, window=20, minimum_calls=20, recovery_timeout=0.3
    )
    say("ready", key=journal.key)

    orders = intents(name, count)
    gate = asyncio.Semaphore(CONCURRENCY)
    placed = 0

    async def place(order: UnifiedOrder) -> OrderResult:
        nonlocal placed
        async with gate:
            result = await adapter.place_order(order)
        placed += 1
        if placed % 5 == 0:
            mine = sum(1 for e in await journal.in_flight("oanda") if e.owner_key == journal.key)
            say("progress", placed=placed, mine_in_flight=mine)
        return result

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go"

    results = await asyncio.gather(*(place(order) for order in orders))
    again = await asyncio.gather(*(place(order) for order in orders[: count // 20]))
    statuses = Counter(r.status.value for r in (*results, *again))
    say(
        "placed",
        statuses=statuses,
        unknown_when_returned=sum(1 for r in results if r.status is OrderStatus.UNKNOWN),
        resolved_by_lookup=sum(1 for r in results if r.resolved_by_lookup),
    )

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "settle"
    async with asyncio.timeout(240):
        await journal.wait_settled()
        while in_flight := await journal.in_flight("oanda"):
            await journal.reconcile(adapter)  # the leader's; the others get nothing to do
            await asyncio.sleep(0.5 if in_flight else 0)
    say("settled", leading=sorted(journal.cluster.leading))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "exit"
    await factory.close_all()
    await store.close()


def main() -> None:
    name, venue, url, count, rate = sys.argv[1:6]
    asyncio.run(run(name, json.loads(venue), url, int(count), float(rate)))


if __name__ == "__main__":
    main()
