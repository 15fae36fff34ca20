"""The order-safety fault suite against the Alpaca simulator over loopback: five hundred orders, a fifth of
them hit by 503s, 429s, held and dropped requests, resets before the request was read, orders executed whose
answer is lost, and answers late enough that the client gives up first.

Through the factory with a store, so the order journal is on. What must hold: no intent reaches the venue
twice, every intent ends known and agrees with the venue. Alpaca's answer to an order is ``accepted``; the
fill is waited for on ``trade_updates``, which suffers the same faults (its reconnections are part of it).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from alpaca_fixtures import ALWAYS_OPEN

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.broker_config import BrokerSettings
from broker_integration.broker_factory import BrokerFactory
from broker_integration.events import EventBus
from broker_integration.models import OrderStatus
from broker_integration.pipeline import CircuitBreaker, RetryPolicy
from broker_integration.sim.alpaca import AlpacaSimSettings, AlpacaSimulator
from broker_integration.sim.faults import FaultKind
from broker_integration.store import Store, sqlite_url
from broker_integration.testing.order_safety import run_order_safety

ORDERS = 500
GRACE = 1.5
FAULTY = ALWAYS_OPEN.model_copy(
    update={
        "seed": 7,
        "initial_balance": Decimal(100_000_000),
        "error_rate": 0.06,
        "rate_limit_rate": 0.02,
        "timeout_rate": 0.02,
        "response_lost_rate": 0.08,
        "latency_spike_rate": 0.02,
        "latency_spike_ms": 700.0,
        "retry_after_s": 0.0,
    }
)


async def test_no_duplicate_orders_and_every_intent_known(tmp_path: Path) -> None:
    settings = AlpacaSimSettings(requests_per_minute=None, hang_seconds=0.2)
    async with (
        AlpacaSimulator(profile=FAULTY, settings=settings) as sim,
        Store(sqlite_url(tmp_path / "alpaca-faults.sqlite3")) as store,
    ):
        factory = BrokerFactory(event_bus=EventBus(), store=store, discover_plugins=False)
        config = sim.configuration(
            absence_grace_seconds=GRACE,
            fill_timeout_seconds=0.3,
            stream_silence_seconds=1.0,
            stream_max_reconnects=1_000,
        ).model_copy(update={"settings": BrokerSettings(timeout_seconds=0.5, retry_attempts=3)})
        sim.engine.faults.random_faults_enabled = False  # faults hit orders, not logging in
        adapter = await factory.create_adapter("alpaca", config)
        sim.engine.faults.random_faults_enabled = True
        assert isinstance(adapter, AlpacaAdapter)
        journal = factory.journal
        assert journal is not None
        journal.lookup_delays = (0.005, 0.01, 0.02, 0.04, 0.08)
        journal.settle_delays = (0.2, 0.5, 1.0, 1.0, 2.0, 2.0)
        assert adapter.resilience is not None
        adapter.resilience.retry = RetryPolicy(max_retries=3, base_delay=0.002, max_delay=0.02)
        adapter.resilience.breaker = CircuitBreaker(
            consecutive_failures=8, failure_rate=0.9, window=20, minimum_calls=20, recovery_timeout=0.3
        )
        report = await run_order_safety(
            adapter,
            journal,
            sim.engine,
            sim.account_id,
            orders=ORDERS,
            concurrency=32,
            instrument="AAPL",
            quantity=Decimal(1),
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
        statuses = {e.status for e in await journal.entries(adapter.name)}
        assert statuses <= {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED}, statuses
        await factory.close_all()
