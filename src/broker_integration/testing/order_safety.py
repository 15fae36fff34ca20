"""The order-safety fault suite: many orders through an adapter and its journal against a venue that
misbehaves, then the venue's own record and the journal compared.

Every adapter with a simulator runs it (the tests with a few thousand orders, ``benchmarks/
bench_order_safety.py`` with ten thousand). The venue is a :class:`~broker_integration.sim.VenueEngine`
— the paper broker's, or the one behind a wire simulator — whose fault plan deals the faults: 503s, 429s,
requests held and dropped, connections reset before the request was read, orders executed whose answer is
lost, and answers late enough that the client gives up before the venue executes. What must hold:

* no intent reaches the venue twice (``duplicates``), whatever the caller does — a tenth of the intents
  are sent again, as a careless caller would after an error;
* every intent that was sent is in the journal (``lost``) and, once settled, known (``unresolved``);
* the journal agrees with the venue: filled there exactly when filled here, and every answer a call gave
  (other than UNKNOWN) is the journal's (``disagreements``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from broker_integration.broker_config import BrokerConfiguration, BrokerSettings
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import EventBus
from broker_integration.journal import OrderJournal
from broker_integration.models import Delivery, OrderResult, OrderSide, OrderStatus, UnifiedOrder
from broker_integration.pipeline import BreakerState, BrokerAdapter, CircuitBreaker, RetryPolicy
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.records import OrderState, RejectReason, TransactionType
from broker_integration.store import Store

__all__ = [
    "FAULT_MIX",
    "OrderSafetyReport",
    "connect_for_faults",
    "pace_for_faults",
    "quick_to_give_up",
    "run_order_safety",
    "submissions",
]

_SUBMISSIONS = (TransactionType.ORDER_CREATE, TransactionType.ORDER_REJECT)

#: Venue profile fields that make about a fifth of placements meet a fault: 503s, 429s, requests held and
#: dropped, answers lost after executing, and latency spikes late enough (0.7 s) that a client with a 0.5 s
#: timeout gives up before the venue executes the order it abandoned.
FAULT_MIX: Mapping[str, float] = MappingProxyType(
    {
        "error_rate": 0.06,
        "rate_limit_rate": 0.02,
        "timeout_rate": 0.02,
        "response_lost_rate": 0.08,
        "latency_spike_rate": 0.02,
        "latency_spike_ms": 700.0,
        "retry_after_s": 0.0,
    }
)


@dataclass(frozen=True)
class OrderSafetyReport:
    """What one run found. ``ok`` when nothing was doubled, lost, left unknown or contradicted."""

    orders: int
    faults: Counter[FaultKind]
    turned_away: int
    duplicates: int
    lost: int
    unresolved: int
    disagreements: int
    resolved_by_lookup: int
    unknown_when_returned: int
    seconds: float

    @property
    def fault_share(self) -> float:
        """Placements that met a fault, as a share of the orders sent (not turned away by the breaker)."""
        sent = self.orders - self.turned_away
        return sum(self.faults.values()) / sent if sent else 0.0

    @property
    def ok(self) -> bool:
        return self.duplicates == self.lost == self.unresolved == self.disagreements == 0

    def summary(self) -> str:
        faults = ", ".join(f"{kind.value} {n}" for kind, n in sorted(self.faults.items()))
        return (
            f"{self.orders} orders in {self.seconds:.1f} s, {self.fault_share:.1%} of those sent met a fault "
            f"({faults}); "
            f"duplicates {self.duplicates}, lost {self.lost}, unresolved after settling {self.unresolved}, "
            f"journal/venue disagreements {self.disagreements}; answers lost and found by lookup "
            f"{self.resolved_by_lookup}, unknown when the call returned {self.unknown_when_returned}, "
            f"turned away unsent by an open breaker {self.turned_away}"
        )


async def run_order_safety(
    adapter: BrokerAdapter,
    journal: OrderJournal,
    engine: VenueEngine,
    account_id: str,
    *,
    orders: int,
    concurrency: int = 16,
    instrument: str = "EUR/USD",
    quantity: Decimal = Decimal(1000),
    reset_every: int = 25,
    resend_share: float = 0.1,
    settle_timeout: float = 120.0,
) -> OrderSafetyReport:
    """Place ``orders`` market orders ``concurrency`` at a time while ``engine``'s fault plan deals faults
    (plus a connection reset for one order in ``reset_every``), send ``resend_share`` of them again, let
    the journal settle what is unknown, and compare. ``adapter`` must journal into ``journal``."""
    started = time.monotonic()
    intents = [
        UnifiedOrder(
            instrument=instrument, side=OrderSide.BUY if i % 2 else OrderSide.SELL, quantity=quantity
        )
        for i in range(orders)
    ]
    dealt_before = Counter(engine.faults.dealt)
    first = await _place_all(adapter, engine, intents, concurrency, reset_every)
    again = await _place_all(adapter, engine, intents[: int(orders * resend_share)], concurrency, 0)
    faults: Counter[FaultKind] = Counter()
    for (operation, kind), n in (engine.faults.dealt - dealt_before).items():
        if operation == "place_order":
            faults[kind] += n

    engine.faults.random_faults_enabled = False
    engine.faults.clear()
    await _settle(adapter, journal, settle_timeout)

    sent_attempts = {r.client_order_id for r in (*first, *again) if r.client_order_id and not _turned_away(r)}
    venue_orders = engine.orders(account_id, include_closed=True)
    filled_at_venue = {v.client_order_id for v in venue_orders if v.state is OrderState.FILLED}
    received = submissions(engine, account_id)
    refused_as_copies = sum(
        1
        for t in engine.transactions(account_id=account_id)
        if t.reason is RejectReason.CLIENT_ORDER_ID_ALREADY_EXISTS
    )
    entries = {e.client_order_id: e for e in await journal.entries(adapter.name)}
    disagreements = 0
    for intent, result in zip(intents, first, strict=True):
        entry = entries.get(intent.order_id)
        if entry is None:
            disagreements += intent.order_id in filled_at_venue
            continue
        disagreements += (entry.status is OrderStatus.FILLED) != (intent.order_id in filled_at_venue)
        if result.status is not OrderStatus.UNKNOWN and not _turned_away(result):
            disagreements += result.status is not entry.status
    return OrderSafetyReport(
        orders=orders,
        faults=faults,
        turned_away=sum(1 for i in intents if i.order_id not in sent_attempts),
        duplicates=sum(1 for n in received.values() if n > 1) + refused_as_copies,
        lost=len(sent_attempts - set(entries)),
        unresolved=len(await journal.in_flight(adapter.name)),
        disagreements=disagreements,
        resolved_by_lookup=sum(1 for r in first if r.resolved_by_lookup),
        unknown_when_returned=sum(1 for r in first if r.status is OrderStatus.UNKNOWN),
        seconds=time.monotonic() - started,
    )


def submissions(engine: VenueEngine, account_id: str | None = None) -> Counter[str]:
    """How many times the venue received each client order id (created or refused), in one account or all."""
    return Counter(
        t.client_order_id
        for t in engine.transactions(account_id=account_id)
        if t.type in _SUBMISSIONS and t.client_order_id is not None
    )


def pace_for_faults(adapter: BrokerAdapter, journal: OrderJournal | None = None) -> None:
    """Pace an adapter (and its journal, if any) for a fault run: short lookups and background settling,
    quick retries of reads, and a breaker that opens only on a run of failures no 20 % fault rate produces,
    or when nearly every call fails."""
    if journal is not None:
        journal.lookup_delays = (0.005, 0.01, 0.02, 0.04, 0.08)
        journal.settle_delays = (0.2, 0.5, 1.0, 1.0, 2.0, 2.0)
    resilience = adapter.resilience
    if resilience is None:
        raise ValueError(f"{adapter.name} has no resilience stages to pace")
    resilience.retry = RetryPolicy(max_retries=3, base_delay=0.002, max_delay=0.02)
    resilience.breaker = CircuitBreaker(
        consecutive_failures=8, failure_rate=0.9, window=20, minimum_calls=20, recovery_timeout=0.3
    )


def quick_to_give_up(config: BrokerConfiguration) -> BrokerConfiguration:
    """``config`` with the fault runs' settings: 0.5 s per call (shorter than the venue's latency spikes)
    and 3 retries of reads."""
    return config.model_copy(update={"settings": BrokerSettings(timeout_seconds=0.5, retry_attempts=3)})


async def connect_for_faults(
    adapter_type: str, config: BrokerConfiguration, store: Store
) -> tuple[BrokerFactory, BrokerAdapter, OrderJournal]:
    """The adapter as users get it for a fault run: created by a factory whose journal is on ``store``,
    quick to give up (0.5 s per call, 3 retries of reads) and paced by :func:`pace_for_faults`."""
    factory = BrokerFactory(event_bus=EventBus(), store=store, discover_plugins=False)
    adapter = await factory.create_adapter(adapter_type, quick_to_give_up(config))
    journal = factory.journal
    if journal is None:
        raise RuntimeError("the factory opened no order journal")
    pace_for_faults(adapter, journal)
    return factory, adapter, journal


async def _place_all(
    adapter: BrokerAdapter,
    engine: VenueEngine,
    intents: Sequence[UnifiedOrder],
    concurrency: int,
    reset_every: int,
) -> list[OrderResult]:
    gate = asyncio.Semaphore(concurrency)

    async def place(index: int, order: UnifiedOrder) -> OrderResult:
        async with gate:
            if reset_every and index % reset_every == 0:
                engine.faults.inject(Fault(FaultKind.CONNECTION_RESET), operations=["place_order"])
            return await adapter.place_order(order)

    return await asyncio.gather(*(place(i, order) for i, order in enumerate(intents)))


async def _settle(adapter: BrokerAdapter, journal: OrderJournal, timeout: float) -> None:
    """Let background settling finish, wait out the adapter's grace and any open breaker, then reconcile
    what is still in flight (as the next start would)."""
    async with asyncio.timeout(timeout):
        await journal.wait_settled()
        await asyncio.sleep(max(adapter.absence_grace_seconds, journal.never_placed_after))
        resilience = adapter.resilience
        if resilience is not None and adapter.breaker_state is BreakerState.OPEN:
            await asyncio.sleep(resilience.breaker.seconds_until_probe + 0.001)
        await journal.reconcile(adapter)
        await journal.wait_settled()


def _turned_away(result: OrderResult) -> bool:
    """Refused unsent by the open breaker, before the journal: never journaled, never executed."""
    error = result.error
    return result.delivery is Delivery.NOT_SENT and error is not None and "breaker" in error.context
