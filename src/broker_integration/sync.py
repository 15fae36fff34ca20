"""The library without ``asyncio``: a synchronous facade for scripts and notebooks. For example:

    from broker_integration.sync import connect_sync

    with connect_sync("paper", {"broker_name": "paper", "options": {"seed": 42}}) as broker:
        print(broker.get_current_price("BTC/USD"))
        result = broker.place_order(UnifiedOrder(instrument="BTC/USD", side="buy", quantity=Decimal("0.01")))

The async API stays the library; this wraps it, never the reverse. Every adapter, its sessions and its
tasks live on a private event loop running in a daemon thread (:class:`EventLoopThread`); each call is
sent there and waited for. That works the same from a plain script and from inside a running event loop
(a Jupyter cell, an async test), where ``asyncio.run`` refuses to start. :meth:`SyncBroker.close` (or the
``with`` block, or the interpreter's exit) closes the adapters and then the loop.

This is the same model as ccxt's synchronous classes and alpaca-py's ``TradingClient``: blocking calls with
the asynchronous machinery out of sight.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from broker_integration.models import Granularity

if TYPE_CHECKING:
    from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
    from broker_integration.broker_factory import BrokerFactory
    from broker_integration.models import (
        Account,
        AccountSummary,
        Candle,
        HealthStatus,
        Instrument,
        Order,
        OrderModification,
        OrderResult,
        OrderTrace,
        OrderUpdate,
        Position,
        PriceTick,
        UnifiedOrder,
    )
    from broker_integration.pipeline import BrokerAdapter

__all__ = ["EventLoopThread", "SyncBroker", "connect_sync"]

T = TypeVar("T")


class EventLoopThread:
    """An event loop of its own, running in a daemon thread, that runs coroutines for synchronous callers.

    :meth:`run` blocks the calling thread until the coroutine is done on the loop and returns its result
    (or raises its exception); :meth:`iterate` turns an async iterator into a plain one. Calling either
    from the loop's own thread would wait for itself forever, so it is refused.
    """

    def __init__(self, name: str = "broker-integration-sync") -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        self._closed = False

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for it; ``timeout`` seconds at most (then cancel it)."""
        if self._closed:
            coroutine.close()  # never started: close it so it is not reported as never awaited
            raise RuntimeError("this synchronous broker is closed")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a synchronous call from the facade's own event loop would wait for itself")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise
        except BaseException:
            future.cancel()  # interrupted (Ctrl-C in a notebook): do not leave the call running
            raise

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """The items of ``source``, each fetched on the loop; the source is closed when iteration stops."""

        async def step() -> T:
            return await anext(source)

        try:
            while True:
                try:
                    yield self.run(step())
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(source, "aclose", None)
            if close is not None and not self._closed:
                self.run(close())

    def close(self) -> None:
        """Cancel what still runs on the loop, stop it, join the thread and close the loop (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(_cancel_remaining(), self._loop).result()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()


async def _cancel_remaining() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


class SyncBroker:
    """One broker adapter with blocking methods: the calls of :class:`~broker_integration.BrokerAdapter`
    (same names, same arguments, same results and errors) without ``await``.

    Made by :func:`connect_sync`. ``adapter`` is the asynchronous adapter underneath, bound to the facade's
    loop: use it only through :meth:`run`. ``timeout`` bounds every call in seconds (``None``: the
    adapter's own per-call timeouts only).
    """

    def __init__(
        self,
        adapter: BrokerAdapter,
        *,
        runner: EventLoopThread,
        factory: BrokerFactory | None = None,
        timeout: float | None = None,
    ) -> None:
        self._adapter = adapter
        self._runner = runner
        self._factory = factory
        self.timeout = timeout
        self._finalizer = weakref.finalize(self, _shut_down, runner, factory)

    @property
    def adapter(self) -> BrokerAdapter:
        return self._adapter

    @property
    def name(self) -> str:
        return self._adapter.name

    @property
    def closed(self) -> bool:
        return self._runner.closed

    def run(self, call: Callable[[BrokerAdapter], Awaitable[T]]) -> T:
        """Run any asynchronous use of the adapter on the facade's loop, e.g.
        ``broker.run(lambda a: engine.discover_capabilities(a, CapabilityTestType.DYNAMIC))``."""

        async def invoke() -> T:
            return await call(self._adapter)

        return self._runner.run(invoke(), self.timeout)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine, self.timeout)

    # The operations of BrokerAdapter, one for one (a test checks that none is missing or differs).

    def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return self._call(self._adapter.authenticate(credentials))

    def disconnect(self) -> None:
        self._call(self._adapter.disconnect())

    def health_check(self) -> HealthStatus:
        return self._call(self._adapter.health_check())

    def place_order(self, order: UnifiedOrder) -> OrderResult:
        return self._call(self._adapter.place_order(order))

    def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        return self._call(self._adapter.modify_order(order_id, modification))

    def cancel_order(self, order_id: str) -> OrderResult:
        return self._call(self._adapter.cancel_order(order_id))

    def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        return self._call(self._adapter.get_orders(instrument, include_closed=include_closed))

    def get_order(self, order_id: str) -> Order:
        return self._call(self._adapter.get_order(order_id))

    def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        return self._call(self._adapter.trace_order(client_order_id, since))

    def stream_order_updates(self) -> Iterator[OrderUpdate]:
        return self._runner.iterate(self._adapter.stream_order_updates())

    def get_positions(self, instrument: str | None = None) -> list[Position]:
        return self._call(self._adapter.get_positions(instrument))

    def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        return self._call(self._adapter.close_position(instrument, quantity))

    def get_current_price(self, instrument: str) -> PriceTick:
        return self._call(self._adapter.get_current_price(instrument))

    def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        return self._call(self._adapter.get_current_prices(instruments))

    def stream_prices(self, instruments: Sequence[str]) -> Iterator[PriceTick]:
        return self._runner.iterate(self._adapter.stream_prices(instruments))

    def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        return self._call(
            self._adapter.get_historical_data(instrument, granularity, count=count, start=start, end=end)
        )

    def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return self._call(self._adapter.get_account_summary(account_id))

    def get_accounts(self) -> list[Account]:
        return self._call(self._adapter.get_accounts())

    def get_instruments(self) -> list[Instrument]:
        return self._call(self._adapter.get_instruments())

    def close(self) -> None:
        """Disconnect the adapter (and everything its factory created), then stop the loop (idempotent)."""
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SyncBroker {self._adapter.name} ({type(self._adapter).__name__}), {state}>"


def _shut_down(runner: EventLoopThread, factory: BrokerFactory | None) -> None:
    """Close what the factory created on the loop, then the loop; also run at exit for a forgotten broker."""
    if runner.closed:
        return
    try:
        if factory is not None:
            runner.run(factory.close_all())
    finally:
        runner.close()


def connect_sync(
    broker: str = "paper",
    config: BrokerConfiguration | Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    factory: Callable[[], BrokerFactory] | None = None,
) -> SyncBroker:
    """Create and authenticate the adapter registered as ``broker`` (as
    :meth:`BrokerFactory.create_adapter <broker_integration.BrokerFactory.create_adapter>` does) on a
    private event loop, and return it as a :class:`SyncBroker`.

    ``factory`` makes the :class:`~broker_integration.BrokerFactory` to use (e.g. one with a store, so
    orders are journaled); it is called on the facade's loop. If creating the adapter fails, the loop is
    closed and the error raised as the asynchronous call raises it.
    """
    from broker_integration.broker_factory import BrokerFactory

    runner = EventLoopThread()
    made: list[BrokerFactory] = []

    async def create() -> BrokerAdapter:
        made.append(factory() if factory is not None else BrokerFactory())
        return await made[0].create_adapter(broker, config)

    try:
        adapter = runner.run(create(), timeout)
    except BaseException:
        _shut_down(runner, made[0] if made else None)
        raise
    return SyncBroker(adapter, runner=runner, factory=made[0], timeout=timeout)
