"""The synchronous facade: the adapter's calls without ``await``, from a plain function and from inside a
running event loop (as in a Jupyter cell), streams as plain iterators, errors as the async API raises them,
and closing that leaves no thread, task or open loop behind."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import threading
from decimal import Decimal

import pytest

from broker_integration import (
    BrokerAdapter,
    BrokerConfiguration,
    BrokerError,
    BrokerFactory,
    FactoryError,
    Granularity,
    OrderSide,
    OrderStatus,
    UnifiedOrder,
)
from broker_integration.pipeline.operations import Operation
from broker_integration.sync import EventLoopThread, SyncBroker, connect_sync

PAPER = {
    "broker_name": "paper",
    "options": {"seed": 7, "enforce_trading_hours": False, "poll_interval": 0.01},
}


def facade_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "broker-integration-sync"]


def test_every_adapter_operation_has_a_blocking_twin_with_the_same_arguments() -> None:
    for operation in Operation:
        ours = inspect.signature(getattr(SyncBroker, operation.value))
        theirs = inspect.signature(getattr(BrokerAdapter, operation.value))
        assert list(ours.parameters) == list(theirs.parameters), operation
        for name, parameter in theirs.parameters.items():
            assert ours.parameters[name].kind == parameter.kind, (operation, name)
            assert ours.parameters[name].default == parameter.default, (operation, name)


def test_a_script_trades_without_asyncio() -> None:
    before = len(facade_threads())
    with connect_sync("paper", PAPER) as broker:
        assert len(facade_threads()) == before + 1
        quote = broker.get_current_price("EUR/USD")
        assert quote.bid < quote.ask
        result = broker.place_order(
            UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1000))
        )
        assert result.success
        assert result.status is OrderStatus.FILLED
        (position,) = broker.get_positions("EUR/USD")
        assert position.quantity == Decimal(1000)
        candles = broker.get_historical_data("EUR/USD", Granularity.M1, count=5)
        assert len(candles) == 5
        assert broker.get_account_summary().currency == "USD"
        assert broker.get_order(result.broker_order_id or "").status is OrderStatus.FILLED
    assert broker.closed
    assert len(facade_threads()) == before  # the loop's thread has ended


def test_a_stream_is_a_plain_iterator_and_closes_when_left() -> None:
    with connect_sync("paper", PAPER) as broker:
        ticks = list(itertools.islice(broker.stream_prices(["EUR/USD", "GBP/USD"]), 4))
        assert {t.instrument for t in ticks} == {"EUR/USD", "GBP/USD"}
        assert broker.get_current_price("EUR/USD").instrument == "EUR/USD"  # the loop is free again


async def test_it_works_inside_a_running_event_loop() -> None:
    """As in a notebook cell: ``asyncio.run`` would refuse here; the facade's loop is its own."""
    asyncio.get_running_loop()  # there is one
    with connect_sync("paper", PAPER) as broker:
        assert broker.get_current_price("BTC/USD").ask > 0
    pending = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
        asyncio.run(pending)  # what the facade saves the user from
    pending.close()


def test_errors_are_the_async_apis_errors() -> None:
    with connect_sync("paper", PAPER) as broker:
        with pytest.raises(BrokerError) as raised:
            broker.get_current_price("NOT/REAL")
        assert raised.value.error.error_code.value == "INVALID_INSTRUMENT"
        refused = broker.place_order(UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(10**12)))
        assert not refused.success  # an order action answers with a result, as in the async API
    before = len(facade_threads())
    with pytest.raises(FactoryError, match="no adapter is registered as 'nosuch'"):
        connect_sync("nosuch")
    assert len(facade_threads()) == before  # a failed connect leaves no loop running


def test_closed_means_closed() -> None:
    broker = connect_sync("paper", PAPER)
    adapter = broker.adapter
    broker.close()
    broker.close()  # idempotent
    assert broker.closed
    assert "closed" in repr(broker)
    assert not adapter.is_authenticated
    with pytest.raises(RuntimeError, match="closed"):
        broker.get_current_price("EUR/USD")


def test_a_custom_factory_and_any_async_use_through_run() -> None:
    made: list[BrokerFactory] = []

    def factory() -> BrokerFactory:
        made.append(BrokerFactory(discover_plugins=False))
        return made[-1]

    with connect_sync("paper", BrokerConfiguration.from_dict(PAPER), factory=factory) as broker:
        assert made[0].adapters == {"paper": broker.adapter}
        instruments = broker.run(lambda adapter: adapter.get_instruments())
        assert "EUR/USD" in {i.symbol for i in instruments}


def test_a_call_from_the_loops_own_thread_is_refused() -> None:
    runner = EventLoopThread()
    try:

        async def nested() -> None:
            runner.run(asyncio.sleep(0))

        with pytest.raises(RuntimeError, match="would wait for itself"):
            runner.run(nested())
    finally:
        runner.close()
    assert not runner.thread.is_alive()


def test_a_timeout_cancels_the_call() -> None:
    runner = EventLoopThread()
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        with pytest.raises(TimeoutError):
            runner.run(slow(), timeout=0.05)
        assert cancelled.wait(5)
    finally:
        runner.close()
