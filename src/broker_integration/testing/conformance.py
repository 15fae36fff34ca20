"""The adapter conformance suite: one pytest test class that every :class:`BrokerAdapter` should pass.

Subclass it in a test module (the name must start with ``Test``) and provide the fixtures::

    class TestMyBrokerConformance(AdapterConformanceSuite):
        @pytest.fixture
        async def adapter(self) -> AsyncIterator[BrokerAdapter]:
            async with MyBrokerAdapter(config) as adapter:   # authenticated; disconnected afterwards
                yield adapter

        @pytest.fixture
        def instrument(self) -> str:
            return "EUR/USD"                                  # tradeable now

``order_quantity`` (default 1) may be overridden the same way. The suite reads the adapter instance's
declaration (:func:`~broker_integration.capabilities.static.declared_capabilities`, which is what its
methods imply when it declares no set): each declared capability is exercised against the broker,
each operation the adapter does not implement must be refused as UNSUPPORTED_OPERATION, and every call
made by the suite must emit exactly one :class:`CallEvent`. Tests that need a capability the adapter
does not declare are skipped, and say which. Orders the suite opens are cancelled or offset at the end
of each test where the adapter allows it.

This module imports pytest: import it from test code only. For pytest's detailed assertion messages,
add ``pytest.register_assert_rewrite("broker_integration.testing.conformance")`` to a ``conftest.py``
that runs before the import.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar, cast

import pytest

from broker_integration.capabilities.static import declared_capabilities
from broker_integration.errors import (
    BrokerError,
    InvalidInstrumentError,
    OrderNotFoundError,
    StandardErrorCode,
    UnsupportedOperationError,
)
from broker_integration.events import CallEvent
from broker_integration.models import (
    Granularity,
    Order,
    OrderModification,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderTraceStatus,
    OrderType,
    OrderUpdate,
    OrderUpdateKind,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import (
    CAPABILITY_OPERATIONS,
    DERIVED_DEFAULTS,
    ORDER_TYPE_CAPABILITY,
    BrokerAdapter,
    BrokerCapability,
    Operation,
)
from broker_integration.symbols import canonical_symbol

__all__ = ["AdapterConformanceSuite", "CallRecorder"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_S = TypeVar("_S", bound="AdapterConformanceSuite")

C = BrokerCapability


class CallRecorder:
    """Collects one adapter's CallEvents and checks that each call emits exactly one."""

    def __init__(self, adapter: BrokerAdapter) -> None:
        self.adapter = adapter
        self.events: list[CallEvent] = []
        self._subscription = adapter.event_bus.subscribe(
            CallEvent, self.events.append, where=lambda e: e.adapter_id == adapter.adapter_id
        )

    def close(self) -> None:
        self.adapter.event_bus.unsubscribe(self._subscription)

    def only_event(self, operation: Operation, since: int) -> CallEvent:
        """The one event of ``operation`` emitted after the first ``since`` events."""
        matching = [e for e in self.events[since:] if e.operation == operation.value]
        assert len(matching) == 1, (
            f"{operation.value} emitted {len(matching)} CallEvents for one call; the pipeline promises exactly one"
        )
        event = matching[0]
        assert event.broker_name == self.adapter.name
        assert event.duration_ns >= 0
        return event

    @staticmethod
    def _check_failure(event: CallEvent, exc: BrokerError) -> None:
        assert not event.success
        assert event.error is not None
        assert event.error.error_code is exc.error_code

    async def call(self, operation: Operation, call: Awaitable[_T]) -> _T:
        """Await ``call`` (one call of ``operation``) and check the event it emitted."""
        since = len(self.events)
        try:
            value = await call
        except BrokerError as exc:
            self._check_failure(self.only_event(operation, since), exc)
            raise
        event = self.only_event(operation, since)
        if isinstance(value, OrderResult):
            assert event.success is value.success
            assert event.order_result == value
        else:
            assert event.success, f"{operation.value} returned but its CallEvent says it failed"
        return value


def _bounded(
    test: Callable[Concatenate[_S, _P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, None]]:
    """Fail the test if it takes longer than the suite's ``test_timeout``."""

    @functools.wraps(test)
    async def bounded(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        async with asyncio.timeout(self.test_timeout):
            await test(self, *args, **kwargs)

    return bounded


class AdapterConformanceSuite:
    """Checks one adapter against the interface's promises. Subclass it; see the module docstring."""

    #: Upper bound on each test, in seconds.
    test_timeout: ClassVar[float] = 20.0
    #: How long the first tick of a price stream may take, in seconds.
    stream_timeout: ClassVar[float] = 5.0
    #: How old a current price may be.
    max_price_age: ClassVar[timedelta] = timedelta(minutes=5)
    #: Allowed difference between equity and balance + unrealized P&L.
    equity_tolerance: ClassVar[Decimal] = Decimal("0.01")
    #: Resting buy limits are placed at this fraction of the bid, far enough never to fill.
    far_price_factor: ClassVar[Decimal] = Decimal("0.5")

    # ------------------------------------------------------------------ fixtures

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal(1)

    @pytest.fixture
    def recorder(self, adapter: BrokerAdapter) -> Iterator[CallRecorder]:
        recorder = CallRecorder(adapter)
        yield recorder
        recorder.close()

    # ------------------------------------------------------------------ declaration

    def test_declared_capabilities_are_implemented(self, adapter: BrokerAdapter) -> None:
        cls = type(adapter)
        implemented = cls.implemented_operations()
        assert Operation.AUTHENTICATE in implemented, "every adapter implements authenticate"
        assert adapter.name
        for capability in declared_capabilities(adapter):
            needs = CAPABILITY_OPERATIONS[capability]
            assert needs & implemented, (
                f"{cls.__name__} declares {capability.value} but implements none of "
                f"{sorted(op.value for op in needs)}"
            )
        time_in_force = adapter.declaration.time_in_force
        if time_in_force is not None:
            assert time_in_force, "supported_time_in_force is declared but empty"

    def test_adapter_fixture_is_authenticated(self, adapter: BrokerAdapter) -> None:
        assert adapter.is_authenticated

    @_bounded
    async def test_unimplemented_operations_are_unsupported(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        implemented = type(adapter).implemented_operations()
        missing = [
            op
            for op in Operation
            if op not in implemented
            and op not in (Operation.AUTHENTICATE, Operation.DISCONNECT)
            and not (DERIVED_DEFAULTS.get(op, frozenset()) & implemented)
        ]
        if not missing:
            pytest.skip(f"{type(adapter).__name__} implements every operation")
        for op in missing:
            if op.spec.streaming:
                since = len(recorder.events)
                with pytest.raises(UnsupportedOperationError):
                    async with contextlib.aclosing(_open_stream(adapter, op, instrument)) as stream:
                        await anext(stream)
                event = recorder.only_event(op, since)
                assert event.error is not None
                assert event.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
                continue
            probe = _probe(adapter, op, instrument, order_quantity)
            if op.is_order_action:
                result = await recorder.call(op, probe)
                assert isinstance(result, OrderResult)
                _assert_refused(result, StandardErrorCode.UNSUPPORTED_OPERATION)
            else:
                with pytest.raises(UnsupportedOperationError):
                    await recorder.call(op, probe)

    # ------------------------------------------------------------------ orders

    @_bounded
    async def test_market_order_fills_and_shows_in_positions(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.MARKET_ORDERS)
        tracks_positions = C.POSITIONS in self._caps(adapter)
        before = await self._net_position(adapter, recorder, instrument) if tracks_positions else Decimal(0)
        order = UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=order_quantity)
        since = len(recorder.events)
        async with _placed(adapter, recorder, order, instrument) as result:
            assert result.success, result.error
            assert recorder.only_event(Operation.PLACE_ORDER, since).order == order
            allowed = {OrderStatus.FILLED}
            if C.PARTIAL_FILLS in self._caps(adapter):
                allowed.add(OrderStatus.PARTIALLY_FILLED)
            assert result.status in allowed
            assert result.client_order_id == order.order_id
            assert result.broker_order_id
            assert result.instrument == order.instrument
            assert result.side is OrderSide.BUY
            assert 0 < result.filled_quantity <= order_quantity
            if result.status is OrderStatus.FILLED:
                assert result.filled_quantity == order_quantity
            assert result.average_fill_price is not None
            assert result.average_fill_price > 0
            if tracks_positions:
                after = await self._net_position(adapter, recorder, instrument)
                assert after - before == result.filled_quantity

    @_bounded
    async def test_far_limit_order_rests_and_is_listed(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.LIMIT_ORDERS, C.CURRENT_PRICES)
        async with self._resting_limit(adapter, recorder, instrument, order_quantity) as (order, result):
            if C.ORDER_LISTING in self._caps(adapter):
                for listing in (None, instrument):
                    orders = await recorder.call(Operation.GET_ORDERS, adapter.get_orders(listing))
                    listed = _by_broker_id(orders, result.broker_order_id)
                    assert listed is not None, f"open order {result.broker_order_id} missing from get_orders"
                    assert listed.status.is_open
                    assert listed.client_order_id == order.order_id
                    assert listed.instrument == order.instrument
                    assert listed.order_type is OrderType.LIMIT
                    assert listed.price == order.price
                    assert listed.quantity == order.quantity

    @_bounded
    async def test_get_order_by_broker_and_client_id(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.LIMIT_ORDERS, C.CURRENT_PRICES)
        if not _can_get_order(adapter):
            pytest.skip("get_order is not available")
        async with self._resting_limit(adapter, recorder, instrument, order_quantity) as (order, result):
            assert result.broker_order_id is not None
            found = await recorder.call(Operation.GET_ORDER, adapter.get_order(result.broker_order_id))
            assert found.broker_order_id == result.broker_order_id
            assert found.client_order_id == order.order_id
            assert found.status.is_open
            assert found.price == order.price
            assert found.side is order.side
            if C.CLIENT_ORDER_ID_LOOKUP in self._caps(adapter):
                by_client = await recorder.call(Operation.GET_ORDER, adapter.get_order(order.order_id))
                assert by_client.broker_order_id == result.broker_order_id

    @_bounded
    async def test_trace_finds_a_placed_order_and_never_invents_one(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        """``trace_order`` is what settles an unknown outcome: it must find an order the broker holds, and
        for one never sent it may say ABSENT (with the broker's record as evidence) or UNKNOWN, never PLACED."""
        self._require(adapter, C.MARKET_ORDERS)
        if (
            not _can_get_order(adapter)
            and Operation.TRACE_ORDER not in type(adapter).implemented_operations()
        ):
            pytest.skip("the adapter can neither look orders up nor search the broker's record")
        marker = adapter.history_marker()
        never_sent = UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=order_quantity)
        absent = await recorder.call(Operation.TRACE_ORDER, adapter.trace_order(never_sent.order_id, marker))
        assert absent.status in (OrderTraceStatus.ABSENT, OrderTraceStatus.UNKNOWN), absent
        assert absent.order is None
        order = UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=order_quantity)
        async with _placed(adapter, recorder, order, instrument) as result:
            assert result.success, result.error
            found = await recorder.call(Operation.TRACE_ORDER, adapter.trace_order(order.order_id, marker))
            assert found.status is OrderTraceStatus.PLACED, found
            assert found.order is not None
            assert found.order.client_order_id == order.order_id
            assert found.order.broker_order_id == result.broker_order_id

    @_bounded
    async def test_unknown_order_id_is_order_not_found(
        self, adapter: BrokerAdapter, recorder: CallRecorder
    ) -> None:
        can_get, can_cancel = _can_get_order(adapter), C.CANCEL_ORDERS in self._caps(adapter)
        if not (can_get or can_cancel):
            pytest.skip("neither get_order nor cancel_order is available")
        unknown = "no-such-order-4242"
        if can_get:
            with pytest.raises(OrderNotFoundError):
                await recorder.call(Operation.GET_ORDER, adapter.get_order(unknown))
        if can_cancel:
            result = await recorder.call(Operation.CANCEL_ORDER, adapter.cancel_order(unknown))
            _assert_refused(result, StandardErrorCode.ORDER_NOT_FOUND)

    @_bounded
    async def test_modify_replaces_order_and_links_ids(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.MODIFY_ORDERS, C.LIMIT_ORDERS, C.CURRENT_PRICES)
        order, placed = await self._place_resting_limit(adapter, recorder, instrument, order_quantity)
        old_id = placed.broker_order_id
        assert old_id is not None
        assert order.price is not None
        live_id = old_id
        try:
            _, tick_size = await self._far_buy_price(adapter, recorder, instrument)
            new_price = order.price - tick_size if order.price > tick_size else order.price + tick_size
            modified = await recorder.call(
                Operation.MODIFY_ORDER, adapter.modify_order(old_id, OrderModification(price=new_price))
            )
            assert modified.success, modified.error
            assert modified.status.is_open
            assert modified.broker_order_id
            live_id = modified.broker_order_id
            if live_id != old_id:
                assert modified.replaces_order_id == old_id, "a replacement must name the order it replaces"
            if _can_get_order(adapter):
                current = await recorder.call(Operation.GET_ORDER, adapter.get_order(live_id))
                assert current.price == new_price
                assert current.status.is_open
                if C.CLIENT_ORDER_ID_LOOKUP in self._caps(adapter):
                    by_client = await recorder.call(Operation.GET_ORDER, adapter.get_order(order.order_id))
                    assert by_client.broker_order_id == live_id
            if live_id != old_id and C.ORDER_LISTING in self._caps(adapter):
                open_orders = await recorder.call(Operation.GET_ORDERS, adapter.get_orders())
                assert _by_broker_id(open_orders, old_id) is None, "the replaced order is still open"
                assert _by_broker_id(open_orders, live_id) is not None
        finally:
            await _cancel_quietly(adapter, live_id)

    @_bounded
    async def test_cancel_removes_order_from_open_orders(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.CANCEL_ORDERS, C.LIMIT_ORDERS, C.CURRENT_PRICES)
        _, placed = await self._place_resting_limit(adapter, recorder, instrument, order_quantity)
        order_id = placed.broker_order_id
        assert order_id is not None
        cancelled = await recorder.call(Operation.CANCEL_ORDER, adapter.cancel_order(order_id))
        assert cancelled.success, cancelled.error
        assert cancelled.status is OrderStatus.CANCELLED
        if C.ORDER_LISTING in self._caps(adapter):
            open_orders = await recorder.call(Operation.GET_ORDERS, adapter.get_orders())
            assert _by_broker_id(open_orders, order_id) is None, "a cancelled order is still listed as open"
        if _can_get_order(adapter):
            try:
                after = await recorder.call(Operation.GET_ORDER, adapter.get_order(order_id))
            except OrderNotFoundError:
                pass
            else:
                assert after.status is OrderStatus.CANCELLED
        again = await recorder.call(Operation.CANCEL_ORDER, adapter.cancel_order(order_id))
        assert not again.success, "cancelling a cancelled order cannot succeed"

    @_bounded
    async def test_order_updates_tell_acceptance_fill_and_cancel(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        """A resting limit order is told ACCEPTED then CANCELLED, a market order ACCEPTED then FILLED with
        its price and quantity, each carrying the client order id."""
        self._require(
            adapter, C.ORDER_UPDATES, C.MARKET_ORDERS, C.LIMIT_ORDERS, C.CANCEL_ORDERS, C.CURRENT_PRICES
        )
        received: asyncio.Queue[OrderUpdate] = asyncio.Queue()

        async def listen() -> None:
            async for update in adapter.stream_order_updates():
                received.put_nowait(update)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(_STREAM_OPENING_S)
        try:
            order, placed = await self._place_resting_limit(adapter, recorder, instrument, order_quantity)
            accepted = await _next_update(received, order.order_id)
            assert accepted.kind is OrderUpdateKind.ACCEPTED, accepted
            assert accepted.broker_order_id == placed.broker_order_id
            assert placed.broker_order_id is not None
            await recorder.call(Operation.CANCEL_ORDER, adapter.cancel_order(placed.broker_order_id))
            cancelled = await _next_update(received, order.order_id)
            assert cancelled.kind is OrderUpdateKind.CANCELLED, cancelled

            market = UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=order_quantity)
            result = await recorder.call(Operation.PLACE_ORDER, adapter.place_order(market))
            assert result.success, result.error
            try:
                assert (await _next_update(received, market.order_id)).kind is OrderUpdateKind.ACCEPTED
                filled = await _next_update(received, market.order_id)
                assert filled.kind.is_fill, filled
                assert filled.fill_quantity == result.filled_quantity
                assert filled.fill_price == result.average_fill_price
            finally:
                await _offset(adapter, instrument, OrderSide.SELL, result.filled_quantity)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    @_bounded
    async def test_close_position_flattens(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.CLOSE_POSITION, C.MARKET_ORDERS)
        opened = await recorder.call(
            Operation.PLACE_ORDER,
            adapter.place_order(
                UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=order_quantity)
            ),
        )
        assert opened.success, opened.error
        closed = await recorder.call(Operation.CLOSE_POSITION, adapter.close_position(instrument))
        assert closed.success, closed.error
        assert closed.status is OrderStatus.FILLED
        assert closed.filled_quantity > 0
        if C.POSITIONS in self._caps(adapter):
            assert await self._net_position(adapter, recorder, instrument) == 0
            flat_again = await recorder.call(Operation.CLOSE_POSITION, adapter.close_position(instrument))
            _assert_refused(flat_again, StandardErrorCode.POSITION_NOT_FOUND)

    @_bounded
    async def test_undeclared_order_type_is_refused(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        declared = adapter.declaration.capabilities
        if declared is None:
            pytest.skip("the adapter declares no capabilities, so the pipeline refuses no order type")
        refused = [kind for kind, cap in ORDER_TYPE_CAPABILITY.items() if cap not in declared]
        if not refused:
            pytest.skip("the adapter declares every order type")
        reference = (
            (await self._tick(adapter, recorder, instrument)).bid if C.CURRENT_PRICES in declared else None
        )
        order = _order_of_type(refused[0], instrument, order_quantity, reference or Decimal(1))
        result = await recorder.call(Operation.PLACE_ORDER, adapter.place_order(order))
        _assert_refused(result, StandardErrorCode.UNSUPPORTED_OPERATION)
        assert result.client_order_id == order.order_id
        if C.ORDER_LISTING in declared:
            open_orders = await recorder.call(Operation.GET_ORDERS, adapter.get_orders())
            assert all(o.client_order_id != order.order_id for o in open_orders)

    @_bounded
    async def test_undeclared_time_in_force_is_refused(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        supported = adapter.declaration.time_in_force
        if supported is None:
            pytest.skip("the adapter declares no time-in-force set")
        refused = [tif for tif in TimeInForce if tif not in supported]
        if not refused:
            pytest.skip("the adapter supports every time in force")
        tif = refused[0]
        expire = adapter.clock.now() + timedelta(days=1) if tif is TimeInForce.GTD else None
        order = UnifiedOrder(
            instrument=instrument,
            side=OrderSide.BUY,
            quantity=order_quantity,
            time_in_force=tif,
            expire_time=expire,
        )
        result = await recorder.call(Operation.PLACE_ORDER, adapter.place_order(order))
        _assert_refused(result, StandardErrorCode.UNSUPPORTED_OPERATION)

    @_bounded
    async def test_reused_client_order_id_makes_no_second_live_order(
        self, adapter: BrokerAdapter, instrument: str, order_quantity: Decimal, recorder: CallRecorder
    ) -> None:
        """Either DUPLICATE_ORDER or the same order back (as the order journal gives, when attached).

        The bare pipeline does not police client order ids, so without a journal the adapter or its
        broker must.
        """
        self._require(adapter, C.LIMIT_ORDERS, C.CURRENT_PRICES)
        first, placed = await self._place_resting_limit(adapter, recorder, instrument, order_quantity)
        live = {placed.broker_order_id}
        try:
            assert first.price is not None
            _, tick_size = await self._far_buy_price(adapter, recorder, instrument)
            again = UnifiedOrder(**{**first.model_dump(), "price": first.price + tick_size})
            second = await recorder.call(Operation.PLACE_ORDER, adapter.place_order(again))
            if second.success:
                live.add(second.broker_order_id)
                assert second.broker_order_id == placed.broker_order_id, (
                    "a reused client order id created a second order"
                )
            else:
                assert second.error is not None
                assert second.error.error_code is StandardErrorCode.DUPLICATE_ORDER
            if C.ORDER_LISTING in self._caps(adapter):
                open_orders = await recorder.call(Operation.GET_ORDERS, adapter.get_orders())
                assert [o.client_order_id for o in open_orders].count(first.order_id) == 1
        finally:
            for order_id in live:
                await _cancel_quietly(adapter, order_id)

    # ------------------------------------------------------------------ market data

    @_bounded
    async def test_current_price_is_valid_and_recent(
        self, adapter: BrokerAdapter, instrument: str, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.CURRENT_PRICES)
        tick = await self._tick(adapter, recorder, instrument)
        symbol = canonical_symbol(instrument)
        assert tick.instrument == symbol
        assert 0 < tick.bid <= tick.ask
        assert tick.time.utcoffset() == timedelta(0)
        age = abs(adapter.clock.now() - tick.time)
        assert age <= self.max_price_age, f"the current price is {age} old"
        prices = await recorder.call(Operation.GET_CURRENT_PRICES, adapter.get_current_prices([instrument]))
        assert set(prices) == {symbol}
        assert prices[symbol].bid <= prices[symbol].ask

    @_bounded
    async def test_unknown_instrument_is_invalid_instrument(
        self, adapter: BrokerAdapter, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.CURRENT_PRICES)
        with pytest.raises(InvalidInstrumentError):
            await recorder.call(Operation.GET_CURRENT_PRICE, adapter.get_current_price("QQZ/ZZQ"))

    @_bounded
    async def test_price_stream_yields_a_tick_and_closes_cleanly(
        self, adapter: BrokerAdapter, instrument: str, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.STREAMING_PRICES)
        since = len(recorder.events)
        async with contextlib.aclosing(_stream(adapter, instrument)) as stream:
            async with asyncio.timeout(self.stream_timeout):
                tick = await anext(stream)
        assert tick.instrument == canonical_symbol(instrument)
        assert 0 < tick.bid <= tick.ask
        event = recorder.only_event(Operation.STREAM_PRICES, since)
        assert event.success, f"closing the stream ended it with {event.error}"

    @_bounded
    async def test_historical_candles_oldest_first_and_valid(
        self, adapter: BrokerAdapter, instrument: str, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.HISTORICAL_DATA)
        candles = await recorder.call(
            Operation.GET_HISTORICAL_DATA, adapter.get_historical_data(instrument, Granularity.H1, count=5)
        )
        assert 1 <= len(candles) <= 5
        now = adapter.clock.now()
        for candle in candles:
            assert candle.instrument == canonical_symbol(instrument)
            assert candle.granularity is Granularity.H1
            assert (
                candle.low <= min(candle.open, candle.close) <= max(candle.open, candle.close) <= candle.high
            )
            assert candle.time <= now
        for earlier, later in itertools.pairwise(candles):
            gap = (later.time - earlier.time).total_seconds()
            assert gap > 0, "candles must be oldest first, one per bar"
            assert gap % Granularity.H1.seconds == 0, f"H1 candles {gap} s apart"

    # ------------------------------------------------------------------ accounts

    @_bounded
    async def test_account_summary_is_consistent(
        self, adapter: BrokerAdapter, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.ACCOUNT_SUMMARY)
        summary = await recorder.call(Operation.GET_ACCOUNT_SUMMARY, adapter.get_account_summary())
        gap = abs(summary.equity - (summary.balance + summary.unrealized_pnl))
        assert gap <= self.equity_tolerance, f"equity is {gap} away from balance + unrealized P&L"
        configured = _configured_account(adapter)
        if configured is not None:
            assert summary.account_id == configured

    @_bounded
    async def test_get_accounts_contains_the_configured_account(
        self, adapter: BrokerAdapter, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.MULTIPLE_ACCOUNTS)
        accounts = await recorder.call(Operation.GET_ACCOUNTS, adapter.get_accounts())
        ids = [account.account_id for account in accounts]
        assert ids, "get_accounts returned no account"
        assert len(ids) == len(set(ids)), "get_accounts lists an account twice"
        configured = _configured_account(adapter)
        if configured is None and C.ACCOUNT_SUMMARY in self._caps(adapter):
            configured = (
                await recorder.call(Operation.GET_ACCOUNT_SUMMARY, adapter.get_account_summary())
            ).account_id
        if configured is not None:
            assert configured in ids

    @_bounded
    async def test_instruments_include_the_test_instrument(
        self, adapter: BrokerAdapter, instrument: str, recorder: CallRecorder
    ) -> None:
        self._require(adapter, C.INSTRUMENTS)
        instruments = await recorder.call(Operation.GET_INSTRUMENTS, adapter.get_instruments())
        symbols = [spec.symbol for spec in instruments]
        assert canonical_symbol(instrument) in symbols
        assert len(symbols) == len(set(symbols)), "get_instruments lists an instrument twice"

    @_bounded
    async def test_health_check_reports_healthy(self, adapter: BrokerAdapter, recorder: CallRecorder) -> None:
        self._require(adapter, C.HEALTH_CHECK)
        status = await recorder.call(Operation.HEALTH_CHECK, adapter.health_check())
        assert status.healthy, status.message
        assert abs(adapter.clock.now() - status.checked_at) <= self.max_price_age

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _caps(adapter: BrokerAdapter) -> frozenset[BrokerCapability]:
        return declared_capabilities(adapter)

    def _require(self, adapter: BrokerAdapter, *needed: BrokerCapability) -> None:
        missing = [cap.value for cap in needed if cap not in self._caps(adapter)]
        if missing:
            pytest.skip(f"{type(adapter).__name__} does not declare {', '.join(missing)}")

    async def _tick(self, adapter: BrokerAdapter, recorder: CallRecorder, instrument: str) -> PriceTick:
        return await recorder.call(Operation.GET_CURRENT_PRICE, adapter.get_current_price(instrument))

    async def _net_position(self, adapter: BrokerAdapter, recorder: CallRecorder, instrument: str) -> Decimal:
        positions = await recorder.call(Operation.GET_POSITIONS, adapter.get_positions(instrument))
        symbol = canonical_symbol(instrument)
        return sum((p.quantity for p in positions if p.instrument == symbol), Decimal(0))

    async def _far_buy_price(
        self, adapter: BrokerAdapter, recorder: CallRecorder, instrument: str
    ) -> tuple[Decimal, Decimal]:
        """A buy limit price far below the market, on the instrument's tick grid, and that tick size."""
        tick = await self._tick(adapter, recorder, instrument)
        tick_size: Decimal | None = None
        if C.INSTRUMENTS in self._caps(adapter):
            symbol = canonical_symbol(instrument)
            specs = await recorder.call(Operation.GET_INSTRUMENTS, adapter.get_instruments())
            tick_size = next((spec.tick_size for spec in specs if spec.symbol == symbol), None)
        if tick_size is None:
            exponent = tick.bid.as_tuple().exponent
            tick_size = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
        target = tick.bid * self.far_price_factor
        return max((target / tick_size).to_integral_value(ROUND_FLOOR) * tick_size, tick_size), tick_size

    @contextlib.asynccontextmanager
    async def _resting_limit(
        self, adapter: BrokerAdapter, recorder: CallRecorder, instrument: str, quantity: Decimal
    ) -> AsyncIterator[tuple[UnifiedOrder, OrderResult]]:
        """A resting limit order (see :meth:`_place_resting_limit`), cancelled when the block ends."""
        order, result = await self._place_resting_limit(adapter, recorder, instrument, quantity)
        try:
            yield order, result
        finally:
            await _cancel_quietly(adapter, result.broker_order_id)

    async def _place_resting_limit(
        self, adapter: BrokerAdapter, recorder: CallRecorder, instrument: str, quantity: Decimal
    ) -> tuple[UnifiedOrder, OrderResult]:
        price, _ = await self._far_buy_price(adapter, recorder, instrument)
        order = UnifiedOrder(
            instrument=instrument,
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            price=price,
            quantity=quantity,
            time_in_force=TimeInForce.GTC,
        )
        result = await recorder.call(Operation.PLACE_ORDER, adapter.place_order(order))
        assert result.success, result.error
        assert result.status is OrderStatus.ACCEPTED, f"a limit far from the market is {result.status.value}"
        assert result.broker_order_id
        assert result.client_order_id == order.order_id
        assert result.filled_quantity == 0
        return order, result


# ---------------------------------------------------------------------------------- module helpers


#: How long a newly started order-update stream is given to open before orders are placed.
_STREAM_OPENING_S = 0.3


async def _next_update(received: asyncio.Queue[OrderUpdate], client_order_id: str) -> OrderUpdate:
    """The next update of the order sent with ``client_order_id`` (others, such as offsets, are skipped)."""
    async with asyncio.timeout(10):
        while True:
            update = await received.get()
            if update.client_order_id == client_order_id:
                return update


def _stream(adapter: BrokerAdapter, instrument: str) -> AsyncGenerator[PriceTick, None]:
    # The pipeline's stream wrapper is an async generator, so it can be closed with aclosing().
    return cast(AsyncGenerator[PriceTick, None], adapter.stream_prices([instrument]))


def _open_stream(adapter: BrokerAdapter, op: Operation, instrument: str) -> AsyncGenerator[Any, None]:
    """The streaming operation ``op``, opened with plausible arguments."""
    if op is Operation.STREAM_PRICES:
        return _stream(adapter, instrument)
    return cast(AsyncGenerator[Any, None], adapter.stream_order_updates())


def _can_get_order(adapter: BrokerAdapter) -> bool:
    return bool({Operation.GET_ORDER, Operation.GET_ORDERS} & type(adapter).implemented_operations())


def _configured_account(adapter: BrokerAdapter) -> str | None:
    credentials = adapter.credentials
    return credentials.account_id if credentials is not None else None


def _by_broker_id(orders: list[Order], broker_order_id: str | None) -> Order | None:
    return next((o for o in orders if o.broker_order_id == broker_order_id), None)


def _assert_refused(result: OrderResult, code: StandardErrorCode) -> None:
    assert not result.success, f"expected a refusal with {code.value}, got a success"
    assert result.error is not None
    assert result.error.error_code is code, f"expected {code.value}, got {result.error}"
    assert result.status is OrderStatus.REJECTED


def _probe(adapter: BrokerAdapter, op: Operation, instrument: str, quantity: Decimal) -> Awaitable[Any]:
    """One call of ``op`` with plausible arguments, to see whether the adapter supports it."""
    calls: dict[Operation, Callable[[], Awaitable[Any]]] = {
        Operation.HEALTH_CHECK: adapter.health_check,
        Operation.PLACE_ORDER: lambda: adapter.place_order(
            UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=quantity)
        ),
        Operation.MODIFY_ORDER: lambda: adapter.modify_order("probe", OrderModification(price=Decimal(1))),
        Operation.CANCEL_ORDER: lambda: adapter.cancel_order("probe"),
        Operation.GET_ORDERS: adapter.get_orders,
        Operation.GET_ORDER: lambda: adapter.get_order("probe"),
        Operation.GET_POSITIONS: adapter.get_positions,
        Operation.CLOSE_POSITION: lambda: adapter.close_position(instrument),
        Operation.GET_CURRENT_PRICE: lambda: adapter.get_current_price(instrument),
        Operation.GET_CURRENT_PRICES: lambda: adapter.get_current_prices([instrument]),
        Operation.GET_HISTORICAL_DATA: lambda: adapter.get_historical_data(instrument, count=2),
        Operation.GET_ACCOUNT_SUMMARY: adapter.get_account_summary,
        Operation.GET_ACCOUNTS: adapter.get_accounts,
        Operation.GET_INSTRUMENTS: adapter.get_instruments,
        Operation.TRACE_ORDER: lambda: adapter.trace_order("probe"),
    }
    return calls[op]()


def _order_of_type(kind: OrderType, instrument: str, quantity: Decimal, reference: Decimal) -> UnifiedOrder:
    """A valid order of ``kind`` (prices below ``reference``), for checking that it is refused."""
    low = reference / 2
    fields: dict[OrderType, dict[str, Decimal]] = {
        OrderType.MARKET: {},
        OrderType.LIMIT: {"price": low},
        OrderType.STOP: {"stop_price": reference * 2},
        OrderType.STOP_LIMIT: {"stop_price": reference * 2, "price": reference * 2},
        OrderType.MARKET_IF_TOUCHED: {"price": low},
        OrderType.TRAILING_STOP: {"trailing_distance": reference / 10},
    }
    return UnifiedOrder(
        instrument=instrument, side=OrderSide.BUY, order_type=kind, quantity=quantity, **fields[kind]
    )


async def _cancel_quietly(adapter: BrokerAdapter, order_id: str | None) -> None:
    """Clean-up: cancel an order the test opened, if the adapter can; never fails the test."""
    if order_id and C.CANCEL_ORDERS in declared_capabilities(adapter):
        with contextlib.suppress(BrokerError):
            await adapter.cancel_order(order_id)


@contextlib.asynccontextmanager
async def _placed(
    adapter: BrokerAdapter, recorder: CallRecorder, order: UnifiedOrder, instrument: str
) -> AsyncIterator[OrderResult]:
    """The result of placing a buy ``order`` in ``instrument``; what it filled is sold back when the block
    ends."""
    result = await recorder.call(Operation.PLACE_ORDER, adapter.place_order(order))
    try:
        yield result
    finally:
        if result.success and result.filled_quantity > 0:
            await _offset(adapter, instrument, OrderSide.SELL, result.filled_quantity)


async def _offset(adapter: BrokerAdapter, instrument: str, side: OrderSide, quantity: Decimal) -> None:
    """Clean-up: trade back what the test bought; never fails the test."""
    with contextlib.suppress(BrokerError):
        await adapter.place_order(UnifiedOrder(instrument=instrument, side=side, quantity=quantity))
