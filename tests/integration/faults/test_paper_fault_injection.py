"""Fault injection against the paper venue: thousands of orders, a fifth of them hit by faults.

The venue loses answers after executing, times out, resets connections, answers 503 and 429. Through the
factory with a store, so the order journal is on. What must hold: no client order id is ever executed
twice, every intent ends in a known state, and the breaker opens on a failing venue and closes again.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerLimits, BrokerSettings
from broker_integration.broker_factory import BrokerFactory
from broker_integration.clock import ManualClock
from broker_integration.events import EventBus
from broker_integration.journal import OrderJournal
from broker_integration.models import Delivery, OrderStatus, UnifiedOrder
from broker_integration.pipeline import BreakerState, CircuitBreaker, build_pipeline
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.store import Store, sqlite_url
from broker_integration.testing.order_safety import run_order_safety

ORDERS = 2_000
KNOWN = {
    OrderStatus.FILLED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.ACCEPTED,
    OrderStatus.REJECTED,
    OrderStatus.CANCELLED,
}

FAULTY = {
    "seed": 11,
    "enforce_trading_hours": False,
    "initial_balance": "100000000",
    "error_rate": 0.07,
    "rate_limit_rate": 0.04,
    "timeout_rate": 0.05,
    "response_lost_rate": 0.09,
    "retry_after_s": 0.001,
}


def config(options: dict[str, object]) -> BrokerConfiguration:
    return BrokerConfiguration(
        broker_name="paper",
        limits=BrokerLimits(requests_per_second=100_000, max_orders_per_second=100_000),
        settings=BrokerSettings(timeout_seconds=5, retry_attempts=3),
        options=options,
    )


@pytest.mark.parametrize(
    "hair_trigger",
    [
        pytest.param(False, id="default-breaker"),
        # Opens on two failures in a row and probes again soon: the run crosses many open periods, in
        # which lookups of unknown outcomes are refused and orders are turned away unsent.
        pytest.param(True, id="hair-trigger-breaker"),
    ],
)
async def test_no_duplicates_and_every_intent_known(tmp_path: Path, hair_trigger: bool) -> None:
    async with Store(sqlite_url(tmp_path / "faults.sqlite3")) as store:
        journal = OrderJournal(
            store, lookup_delays=(0.0, 0.001, 0.002, 0.004), settle_delays=(0.01, 0.05, 0.1, 0.2)
        )
        factory = BrokerFactory(event_bus=EventBus(), journal=journal, discover_plugins=False)
        adapter = await factory.create_adapter("paper", config(FAULTY))
        assert isinstance(adapter, PaperBrokerAdapter)
        if hair_trigger:
            build_pipeline(adapter, breaker=CircuitBreaker(consecutive_failures=2, recovery_timeout=0.05))
        adapter.resilience.sleep = _instant  # type: ignore[union-attr]
        report = await run_order_safety(
            adapter, journal, adapter.engine, adapter.account_id, orders=ORDERS, concurrency=32
        )
        assert report.fault_share >= 0.2, report.summary()
        assert report.duplicates == 0, report.summary()
        assert report.lost == 0, report.summary()
        assert report.unresolved == 0, report.summary()
        assert report.disagreements == 0, report.summary()
        assert report.resolved_by_lookup > 0, report.summary()
        if hair_trigger:
            assert adapter.resilience.breaker.open_count > 0, "the hair-trigger breaker never opened"  # type: ignore[union-attr]
            assert report.turned_away > 0, report.summary()
        assert {e.status for e in await journal.entries("paper")} <= KNOWN
        await factory.close_all()


async def test_breaker_opens_on_a_failing_venue_and_closes_after_recovery(tmp_path: Path) -> None:
    clock = ManualClock()
    async with Store(sqlite_url(tmp_path / "breaker.sqlite3")) as store:
        journal = OrderJournal(store, lookup_delays=(0.0,), clock=clock)
        factory = BrokerFactory(journal=journal, clock=clock, discover_plugins=False)
        adapter = await factory.create_adapter("paper", config({"seed": 3, "enforce_trading_hours": False}))
        assert isinstance(adapter, PaperBrokerAdapter)
        breaker = adapter.resilience.breaker  # type: ignore[union-attr]
        adapter.engine.faults.inject(Fault(FaultKind.TIMEOUT), count=1_000)
        refused_without_sending = 0
        for _ in range(30):
            result = await adapter.place_order(
                UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(100))
            )
            assert not result.success
            if result.delivery is Delivery.NOT_SENT and "circuit breaker" in (
                result.error.message if result.error else ""
            ):
                refused_without_sending += 1
        assert breaker.state is BreakerState.OPEN
        assert refused_without_sending > 0
        assert adapter.engine.orders(adapter.account_id, include_closed=True) == []

        adapter.engine.faults.clear()
        clock.advance(breaker.recovery_timeout)
        assert breaker.state is BreakerState.HALF_OPEN
        recovered = await adapter.place_order(
            UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(100))
        )
        assert recovered.success
        assert breaker.state is BreakerState.CLOSED
        await factory.close_all()


async def _instant(_: float) -> None:
    """The rate limiter's waits, skipped: the limits are not what this test is about."""
    await asyncio.sleep(0)
