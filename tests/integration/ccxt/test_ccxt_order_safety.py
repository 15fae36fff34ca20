"""The order-safety fault suite: the CCXT adapter (Binance through the real ccxt class) against the Binance
simulator dealing 503s, 429s, held and dropped requests, connection resets, lost answers and answers late
enough that the client gives up first; through the factory with a store, so the order journal is on.

What must hold (issue #4's proof, over ccxt): no intent reaches the venue twice — which at Binance would
execute twice, since a filled order's client order id may be used again — every intent ends known, and the
journal agrees with the venue. Unknown outcomes are settled from Binance's order history, never by sending
again.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from ccxt_fixtures import BINANCE

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import OrderSettledEvent
from broker_integration.journal import OrderJournal
from broker_integration.models import OrderSide, OrderStatus, UnifiedOrder
from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.store import Store, sqlite_url
from broker_integration.testing.order_safety import (
    FAULT_MIX,
    connect_for_faults,
    run_order_safety,
    submissions,
)

ORDERS = 200
KNOWN = {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
#: Past the simulator's longest hold (a latency spike of 0.7 s, longer than the client's 0.5 s timeout).
GRACE = 1.5
FAULTY = BINANCE.model_copy(update={"seed": 7, "initial_balance": Decimal(100_000_000), **FAULT_MIX})


def unlimited(btc: int) -> SimulatorSettings:
    """No request or order limits (the faults are the venue's misbehaviour here, not its pace); ``btc``
    held from the start, so sells can fill."""
    return SimulatorSettings(
        holdings=(("BTC", Decimal(btc)),),
        request_weight_per_minute=None,
        orders_per_10s=None,
        orders_per_day=None,
        hang_seconds=0.2,
    )


async def connect(sim: BinanceSimulator, store: Store) -> tuple[BrokerFactory, CcxtAdapter, OrderJournal]:
    """The adapter as users get it, with the journal on, quick to give up; the streams by websocket."""
    config = sim.configuration(absence_grace_seconds=GRACE, history_margin_seconds=0.5)
    factory, adapter, journal = await connect_for_faults("ccxt", config, store)
    assert isinstance(adapter, CcxtAdapter)
    return factory, adapter, journal


async def test_no_duplicate_orders_and_every_intent_known(tmp_path: Path) -> None:
    async with (
        BinanceSimulator(profile=FAULTY, settings=unlimited(50)) as sim,
        Store(sqlite_url(tmp_path / "ccxt-faults.sqlite3")) as store,
    ):
        factory, adapter, journal = await connect(sim, store)
        report = await run_order_safety(
            adapter,
            journal,
            sim.engine,
            sim.account_id,
            orders=ORDERS,
            concurrency=16,
            instrument="BTC/USDT",
            quantity=Decimal("0.001"),
        )
        print(report.summary())
        assert report.fault_share >= 0.2, report.summary()
        for kind in (FaultKind.RESPONSE_LOST, FaultKind.SERVICE_UNAVAILABLE, FaultKind.CONNECTION_RESET):
            assert report.faults[kind] > 0, f"no {kind.value} fault was dealt"
        assert report.duplicates == 0, report.summary()
        assert report.lost == 0, report.summary()
        assert report.unresolved == 0, report.summary()
        assert report.disagreements == 0, report.summary()
        assert report.resolved_by_lookup > 0, "no lost answer was resolved by lookup"
        assert {e.status for e in await journal.entries(adapter.name)} <= KNOWN
        await factory.close_all()


async def test_a_lost_answer_is_settled_from_the_history_without_sending_again(tmp_path: Path) -> None:
    """The order executes but its answer is lost and every lookup fails while the venue is down: the call
    returns UNKNOWN; once the venue answers again the journal finds the fill by the client order id."""
    async with (
        BinanceSimulator(profile=BINANCE, settings=unlimited(1)) as sim,
        Store(sqlite_url(tmp_path / "ccxt-settle.sqlite3")) as store,
    ):
        factory, adapter, journal = await connect(sim, store)
        journal.settle_delays = (0.05, 0.2, 0.2, 0.2, 0.5)
        settled: asyncio.Queue[OrderSettledEvent] = asyncio.Queue()
        factory.event_bus.subscribe(OrderSettledEvent, settled.put_nowait)
        sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])
        sim.inject(
            Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["get_order", "get_orders"], count=100_000
        )
        order = UnifiedOrder(instrument="BTC/USDT", side=OrderSide.BUY, quantity=Decimal("0.001"))

        result = await adapter.place_order(order)
        assert result.status is OrderStatus.UNKNOWN
        sim.engine.faults.clear()  # the venue is back
        event = await asyncio.wait_for(settled.get(), timeout=10)
        assert (event.client_order_id, event.status) == (order.order_id, OrderStatus.FILLED)
        [view] = [
            v
            for v in sim.engine.orders(sim.account_id, include_closed=True)
            if v.client_order_id == order.order_id
        ]
        assert event.result.broker_order_id == view.order_id
        assert submissions(sim.engine)[order.order_id] == 1
        await factory.close_all()


async def test_an_order_refused_before_the_engine_is_settled_as_never_placed(tmp_path: Path) -> None:
    """Binance stores no refused order: a sell the balance cannot cover, whose refusal was lost, is absent
    from the order history; past the grace that absence settles it as never placed."""
    async with (
        BinanceSimulator(profile=BINANCE, settings=unlimited(1)) as sim,
        Store(sqlite_url(tmp_path / "ccxt-absent.sqlite3")) as store,
    ):
        factory, adapter, journal = await connect(sim, store)
        journal.settle_delays = (0.5, 0.5, 0.5, 0.5, 0.5, 0.5)
        settled: asyncio.Queue[OrderSettledEvent] = asyncio.Queue()
        factory.event_bus.subscribe(OrderSettledEvent, settled.put_nowait)
        sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])
        order = UnifiedOrder(instrument="BTC/USDT", side=OrderSide.SELL, quantity=Decimal(500))
        result = await adapter.place_order(order)
        assert result.status is OrderStatus.UNKNOWN
        event = await asyncio.wait_for(settled.get(), timeout=GRACE + 10)
        assert event.status is OrderStatus.REJECTED
        assert event.result.error is not None
        assert "hold none with client order id" in event.result.error.message
        assert submissions(sim.engine)[order.order_id] == 0
        await factory.close_all()
