"""The BrokerAdapter call pipeline: one event per call, error mapping, interceptors, streams, declarations.

Most tests strip the interceptors the base class installs by default (resilience stages), so that they
see the bare pipeline; the interceptor tests add their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import pytest
from pydantic import SecretStr

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.clock import SYSTEM_CLOCK, ManualClock
from broker_integration.errors import (
    AuthenticationError,
    BrokerConnectionError,
    BrokerError,
    BrokerTimeoutError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    StandardErrorCode,
    UnknownBrokerError,
    UnsupportedOperationError,
)
from broker_integration.events import CallEvent, EventBus, get_event_bus
from broker_integration.models import (
    Account,
    AccountSummary,
    Delivery,
    HealthState,
    Order,
    OrderModification,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderType,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import (
    BrokerAdapter,
    BrokerCapability,
    CallContext,
    InterceptorPriority,
    Operation,
)

D = Decimal
START = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
A = TypeVar("A", bound=BrokerAdapter)


def tick(bid: str = "1.1000") -> PriceTick:
    return PriceTick(instrument="EUR/USD", bid=D(bid), ask=D(bid) + D("0.0002"), time=START)


def market(**changes: Any) -> UnifiedOrder:
    return UnifiedOrder.model_validate({"instrument": "EUR/USD", "side": "buy", "quantity": D(10), **changes})


def limit(**changes: Any) -> UnifiedOrder:
    return market(order_type=OrderType.LIMIT, price=D("1.0"), **changes)


class Venue(BrokerAdapter):
    """A scripted adapter: ``fail`` is raised by the next call; calls are recorded."""

    broker_name = "venue"

    def __init__(self, config: BrokerConfiguration | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.accept = True
        self.fail: BaseException | None = None
        self.log: list[str] = []
        self.ticks: list[PriceTick] = [tick("1.1"), tick("1.2"), tick("1.3")]
        self.stream_closed = False
        self.seen_credentials: list[BrokerCredentials | None] = []

    def _enter(self, name: str) -> None:
        self.log.append(name)
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        self._enter("authenticate")
        self.seen_credentials.append(credentials)
        return self.accept

    async def disconnect(self) -> None:
        self.log.append("disconnect")

    async def get_accounts(self) -> list[Account]:
        self._enter("get_accounts")
        self.clock_advance()
        return [Account(account_id="acc-1")]

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        self._enter("get_account_summary")
        return AccountSummary(
            account_id="acc-1", currency="USD", balance=D(1), equity=D(1), margin_available=D(1), time=START
        )

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        self._enter("get_orders")
        return []

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self._enter("place_order")
        self.clock_advance()
        return OrderResult(success=True, broker_order_id="B1", status=OrderStatus.ACCEPTED)

    async def cancel_order(self, order_id: str) -> OrderResult:
        self._enter("cancel_order")
        return OrderResult(success=True, broker_order_id=order_id, status=OrderStatus.CANCELLED)

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        self._enter("stream_prices")
        try:
            for item in self.ticks:
                yield item
                if self.fail is not None:
                    failure, self.fail = self.fail, None
                    raise failure
        finally:
            self.stream_closed = True

    def clock_advance(self) -> None:
        if isinstance(self.clock, ManualClock):
            self.clock.advance(0.25)


class Minimal(BrokerAdapter):
    broker_name = "minimal"

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True


@dataclass
class Harness:
    bus: EventBus = field(default_factory=EventBus)
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    events: list[CallEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bus.subscribe(CallEvent, self.events.append)

    def make(self, cls: type[A], config: BrokerConfiguration | None = None) -> A:
        """An adapter on this harness's bus and clock, with no interceptors."""
        adapter = cls(config, event_bus=self.bus, clock=self.clock)
        for name in adapter.interceptor_names:
            adapter.remove_interceptor(name)
        return adapter

    def ops(self) -> list[str]:
        return [e.operation for e in self.events]


@pytest.fixture
def h() -> Harness:
    return Harness()


def as_generator(stream: AsyncIterator[PriceTick]) -> AsyncGenerator[PriceTick, None]:
    return cast(AsyncGenerator[PriceTick, None], stream)


# ------------------------------------------------------------------ one event per call


async def test_a_call_emits_one_timed_event(h: Harness) -> None:
    venue = h.make(Venue)
    accounts = await venue.get_accounts()
    assert [a.account_id for a in accounts] == ["acc-1"]
    (event,) = h.events
    assert event.operation == "get_accounts"
    assert event.success
    assert event.error is None
    assert event.broker_name == "venue"
    assert event.adapter_id == venue.adapter_id
    assert event.time == START
    assert event.duration_ns == 250_000_000  # measured on the injected monotonic clock
    assert event.order is None
    assert event.order_result is None


async def test_super_chains_run_every_layer_but_emit_one_event(h: Harness) -> None:
    class Child(Venue):
        async def get_accounts(self) -> list[Account]:
            self.log.append("child")
            return [*await super().get_accounts(), Account(account_id="acc-2")]

    class GrandChild(Child):
        def get_accounts(self) -> Any:  # a sync override on top of async ones
            self.log.append("grandchild")
            return super().get_accounts()

    class Leaf(GrandChild):
        pass

    leaf = h.make(Leaf)
    accounts = await leaf.get_accounts()
    assert [a.account_id for a in accounts] == ["acc-1", "acc-2"]
    assert leaf.log == ["grandchild", "child", "get_accounts"]
    assert h.ops() == ["get_accounts"]


async def test_a_super_chain_for_an_order_action_emits_one_event(h: Harness) -> None:
    class Checked(Venue):
        async def place_order(self, order: UnifiedOrder) -> OrderResult:
            self.log.append("checked")
            return await super().place_order(order)

    order = market()
    result = await h.make(Checked).place_order(order)
    assert result.success
    assert h.ops() == ["place_order"]
    assert h.events[0].order == order
    assert h.events[0].order_result == result


async def test_calls_made_inside_a_call_emit_their_own_events(h: Harness) -> None:
    venue = h.make(Venue)  # get_order is the base default, which reads get_orders
    with pytest.raises(OrderNotFoundError):
        await venue.get_order("x")
    assert h.ops() == ["get_orders", "get_order"]
    assert h.events[1].error is not None
    assert h.events[1].error.error_code is StandardErrorCode.ORDER_NOT_FOUND


async def test_calls_made_inside_a_call_do_not_pass_the_stages_again(h: Harness) -> None:
    venue = h.make(Venue)
    staged: list[str] = []

    async def stage(ctx: CallContext, proceed: Any) -> Any:
        staged.append(ctx.operation.value)
        return await proceed()

    venue.add_interceptor(stage, priority=InterceptorPriority.RATE_LIMIT, name="count")
    await venue.health_check()  # the base default reads get_account_summary
    assert h.ops() == ["get_account_summary", "health_check"]  # both reported
    assert staged == ["health_check"]  # one rate-limit slot, one breaker permit, one deadline
    await venue.get_account_summary()
    assert staged == ["health_check", "get_account_summary"]


async def test_a_broker_error_is_raised_as_is_with_one_failed_event(h: Harness) -> None:
    venue = h.make(Venue)
    denied = venue.fail = PermissionDeniedError("not yours")
    with pytest.raises(PermissionDeniedError) as info:
        await venue.get_accounts()
    assert info.value is denied
    (event,) = h.events
    assert not event.success
    assert event.error is not None
    assert event.error.error_code is StandardErrorCode.PERMISSION_DENIED
    assert event.error.broker_name == "venue"  # filled in for the event


@pytest.mark.parametrize(
    ("raised", "expected", "code"),
    [
        (TimeoutError("read timed out"), BrokerTimeoutError, StandardErrorCode.TIMEOUT),
        (ConnectionResetError("reset by peer"), BrokerConnectionError, StandardErrorCode.CONNECTION_ERROR),
        (ValueError("bad json"), UnknownBrokerError, StandardErrorCode.UNKNOWN),
        (NotImplementedError(), UnsupportedOperationError, StandardErrorCode.UNSUPPORTED_OPERATION),
    ],
)
async def test_other_exceptions_become_broker_errors_with_their_cause(
    h: Harness, raised: Exception, expected: type[BrokerError], code: StandardErrorCode
) -> None:
    venue = h.make(Venue)
    venue.fail = raised
    with pytest.raises(expected) as info:
        await venue.get_accounts()
    assert type(info.value) is expected
    assert info.value.__cause__ is raised
    assert info.value.error.error_code is code
    assert info.value.error.broker_name == "venue"
    assert info.value.error.context["operation"] == "get_accounts"
    assert info.value.error.context["exception"] == type(raised).__name__
    (event,) = h.events
    assert event.error == info.value.error


async def test_a_cancelled_call_still_emits_one_event(h: Harness) -> None:
    started = asyncio.Event()

    class Slow(Venue):
        async def get_accounts(self) -> list[Account]:
            started.set()
            await asyncio.Event().wait()
            return []

    task = asyncio.create_task(h.make(Slow).get_accounts())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (event,) = h.events
    assert not event.success
    assert event.error is None


# ------------------------------------------------------------------ order actions


@pytest.mark.parametrize(
    ("raised", "code", "status"),
    [
        (InsufficientFundsError("no margin"), StandardErrorCode.INSUFFICIENT_FUNDS, OrderStatus.REJECTED),
        # The adapter failed after sending (e.g. an unreadable answer): the order may have executed.
        (ValueError("bad json"), StandardErrorCode.UNKNOWN, OrderStatus.UNKNOWN),
        (TimeoutError(), StandardErrorCode.TIMEOUT, OrderStatus.UNKNOWN),
        (ConnectionResetError("reset by peer"), StandardErrorCode.CONNECTION_ERROR, OrderStatus.UNKNOWN),
        (OutcomeUnknownError("sent, no answer"), StandardErrorCode.OUTCOME_UNKNOWN, OrderStatus.UNKNOWN),
    ],
)
async def test_order_failures_come_back_as_results(
    h: Harness, raised: Exception, code: StandardErrorCode, status: OrderStatus
) -> None:
    venue = h.make(Venue)
    venue.fail = raised
    order = market()
    result = await venue.place_order(order)
    assert not result.success
    assert result.status is status
    assert result.error is not None
    assert result.error.error_code is code
    assert result.error.broker_name == "venue"
    assert result.message == result.error.message
    assert (result.client_order_id, result.instrument, result.side, result.requested_quantity) == (
        order.order_id,
        "EUR/USD",
        OrderSide.BUY,
        D(10),
    )
    assert result.broker_name == "venue"
    assert result.submitted_at == START
    assert result.latency_ms is not None
    assert result.latency_ms >= 0
    (event,) = h.events
    assert not event.success
    assert event.error == result.error
    assert event.order == order
    assert event.order_result == result


async def test_a_connection_drop_while_placing_is_an_unknown_outcome(h: Harness) -> None:
    venue = h.make(Venue)
    venue.fail = ConnectionResetError("reset after send")
    result = await venue.place_order(market())
    assert result.status is OrderStatus.UNKNOWN


async def test_the_pipeline_completes_what_the_adapter_left_out(h: Harness) -> None:
    order = market()
    result = await h.make(Venue).place_order(order)
    assert result.success
    assert result.broker_order_id == "B1"
    assert result.broker_name == "venue"
    assert result.client_order_id == order.order_id
    assert (result.instrument, result.side, result.requested_quantity) == ("EUR/USD", OrderSide.BUY, D(10))
    assert result.submitted_at == START
    assert result.latency_ms == 250.0


async def test_the_pipeline_keeps_what_the_adapter_said(h: Harness) -> None:
    class Explicit(Venue):
        async def place_order(self, order: UnifiedOrder) -> OrderResult:
            return OrderResult(
                success=False,
                broker_name="explicit-name",
                client_order_id="theirs",
                status=OrderStatus.REJECTED,
                latency_ms=7.0,
                error=InsufficientFundsError("no").error,
            )

    result = await h.make(Explicit).place_order(market())
    assert (result.broker_name, result.client_order_id, result.latency_ms) == ("explicit-name", "theirs", 7.0)
    assert result.error is not None
    assert result.error.broker_name == "venue"  # an error without a broker name gets the adapter's
    assert not h.events[0].success


async def test_an_order_action_returning_the_wrong_type_is_a_failed_result(h: Harness) -> None:
    class Sloppy(Venue):
        async def cancel_order(self, order_id: str) -> OrderResult:
            return cast(OrderResult, {"ok": True})

    result = await h.make(Sloppy).cancel_order("B1")
    assert not result.success
    assert result.error is not None
    assert "must return an OrderResult" in result.error.message
    assert h.ops() == ["cancel_order"]


# ------------------------------------------------------------------ the order boundary


def _refused_unsent(result: OrderResult, code: StandardErrorCode, field: str) -> None:
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is code, result.error
    assert field in result.error.message
    assert result.error.broker_name == "venue"
    assert result.delivery is Delivery.NOT_SENT


async def test_place_order_takes_a_unified_order_or_its_dict(h: Harness) -> None:
    venue = h.make(Venue)
    result = await venue.place_order(cast(UnifiedOrder, {"instrument": "EUR/USD"}))
    _refused_unsent(result, StandardErrorCode.INVALID_ORDER, "side: Field required")
    result = await venue.place_order(cast(UnifiedOrder, 42))
    _refused_unsent(result, StandardErrorCode.INVALID_ORDER, "takes a UnifiedOrder, got int")
    assert venue.log == []  # nothing reached the adapter's code
    placed = await venue.place_order(
        cast(UnifiedOrder, {"instrument": "EUR/USD", "side": "buy", "quantity": "5"})
    )
    assert placed.success
    assert placed.requested_quantity == D(5)
    assert venue.log == ["place_order"]


@pytest.mark.parametrize(
    ("build", "code", "field"),
    [
        (
            lambda: market().model_copy(update={"quantity": D("NaN")}),
            StandardErrorCode.INVALID_ORDER,
            "quantity",
        ),
        (lambda: market().model_copy(update={"quantity": D(0)}), StandardErrorCode.INVALID_ORDER, "quantity"),
        (
            lambda: market().model_copy(update={"quantity": D(-3)}),
            StandardErrorCode.INVALID_ORDER,
            "quantity",
        ),
        (
            lambda: market().model_copy(update={"instrument": "$$$"}),
            StandardErrorCode.INVALID_INSTRUMENT,
            "instrument",
        ),
        (lambda: limit().model_copy(update={"price": None}), StandardErrorCode.INVALID_ORDER, "price"),
        (
            lambda: UnifiedOrder.model_construct(instrument="EUR/USD", side="buy"),
            StandardErrorCode.INVALID_ORDER,
            "quantity",
        ),
        (
            lambda: market(time_in_force=TimeInForce.GTD, expire_time=START).model_copy(
                update={"order_type": OrderType.LIMIT}
            ),
            StandardErrorCode.INVALID_ORDER,
            "price",
        ),
        (lambda: market().model_copy(update={"notional": D(5)}), StandardErrorCode.INVALID_ORDER, "not both"),
        (
            lambda: market().model_copy(update={"quantity": None}),
            StandardErrorCode.INVALID_ORDER,
            "or a notional",
        ),
        (
            lambda: market(quantity=None, notional=D(5)).model_copy(update={"notional": D(0)}),
            StandardErrorCode.INVALID_ORDER,
            "notional",
        ),
    ],
    ids=[
        "nan",
        "zero",
        "negative",
        "bad-symbol",
        "limit-without-price",
        "constructed",
        "copied-type",
        "both-sizes",
        "no-size",
        "zero-notional",
    ],
)
async def test_an_order_built_around_validation_is_refused_unsent(
    h: Harness, build: Any, code: StandardErrorCode, field: str
) -> None:
    venue = h.make(Venue)
    result = await venue.place_order(build())
    _refused_unsent(result, code, field)
    assert venue.log == []
    (event,) = h.events
    assert event.error is not None
    assert event.error.error_code is code


async def test_a_notional_order_goes_only_to_an_adapter_that_declares_it(h: Harness) -> None:
    """An adapter that does not declare ``NOTIONAL_ORDERS`` (none declared at all included: it would send no
    size) never sees a notional order; one that does gets it, and the result has no requested quantity."""
    notional = market(quantity=None, notional=D(250))
    venue = h.make(Venue)
    _refused_unsent(await venue.place_order(notional), StandardErrorCode.UNSUPPORTED_OPERATION, "notional")
    assert venue.log == []

    class Sized(Venue):
        capabilities = frozenset({BrokerCapability.MARKET_ORDERS, BrokerCapability.NOTIONAL_ORDERS})

    sized = h.make(Sized)
    placed = await sized.place_order(notional)
    assert placed.success
    assert placed.requested_quantity is None
    assert sized.log == ["place_order"]


async def test_an_auction_time_in_force_goes_only_where_declared(h: Harness) -> None:
    class Continuous(Venue):
        supported_time_in_force = frozenset({TimeInForce.GTC, TimeInForce.DAY})

    venue = h.make(Continuous)
    for tif in (TimeInForce.OPG, TimeInForce.CLS):
        result = await venue.place_order(limit(time_in_force=tif))
        _refused_unsent(result, StandardErrorCode.UNSUPPORTED_OPERATION, f"time in force {tif.value}")
    assert venue.log == []


async def test_an_expiry_already_past_is_refused_unsent(h: Harness) -> None:
    venue = h.make(Venue)
    past = limit(time_in_force=TimeInForce.GTD, expire_time=datetime(2024, 1, 31, tzinfo=UTC))
    _refused_unsent(await venue.place_order(past), StandardErrorCode.INVALID_ORDER, "expire_time")
    future = limit(time_in_force=TimeInForce.GTD, expire_time=datetime(2024, 2, 2, tzinfo=UTC))
    assert (await venue.place_order(future)).success
    assert venue.log == ["place_order"]


async def test_a_modification_built_around_validation_is_refused_unsent(h: Harness) -> None:
    class Modifiable(Venue):
        async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
            self._enter("modify_order")
            return OrderResult(success=True, broker_order_id=order_id, status=OrderStatus.ACCEPTED)

    venue = h.make(Modifiable)
    empty = OrderModification(price=D(1)).model_copy(update={"price": None})
    result = await venue.modify_order("B1", empty)
    _refused_unsent(result, StandardErrorCode.INVALID_ORDER, "changes nothing")
    assert venue.log == []
    assert (await venue.modify_order("B1", {"price": "1.2"})).success  # type: ignore[arg-type]
    assert venue.log == ["modify_order"]


# ------------------------------------------------------------------ unsupported operations


@pytest.mark.parametrize(
    ("operation", "args"),
    [
        ("get_orders", ()),
        ("get_order", ("x",)),  # the default reads get_orders, which is unsupported
        ("get_positions", ()),
        ("get_current_price", ("EUR/USD",)),
        ("get_current_prices", (["EUR/USD"],)),
        ("get_historical_data", ("EUR/USD",)),
        ("get_account_summary", ()),
        ("get_accounts", ()),
        ("get_instruments", ()),
        ("health_check", ()),  # nothing to probe
    ],
)
async def test_unimplemented_calls_raise_unsupported(
    h: Harness, operation: str, args: tuple[Any, ...]
) -> None:
    adapter = h.make(Minimal)
    with pytest.raises(UnsupportedOperationError) as info:
        await getattr(adapter, operation)(*args)
    assert info.value.error.broker_name == "minimal"
    assert info.value.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert h.ops().count(operation) == 1
    event = next(e for e in h.events if e.operation == operation)
    assert event.error is not None
    assert event.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION


@pytest.mark.parametrize(
    ("operation", "args"),
    [
        ("place_order", (market(),)),
        ("modify_order", ("B1", OrderModification(price=D(1)))),
        ("cancel_order", ("B1",)),
        ("close_position", ("EUR/USD",)),
    ],
)
async def test_unimplemented_order_actions_return_unsupported_results(
    h: Harness, operation: str, args: tuple[Any, ...]
) -> None:
    result = await getattr(h.make(Minimal), operation)(*args)
    assert isinstance(result, OrderResult)
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert result.error.context["operation"] == operation
    assert h.ops() == [operation]


async def test_an_unimplemented_stream_raises_when_iterated(h: Harness) -> None:
    stream = as_generator(h.make(Minimal).stream_prices(["EUR/USD"]))
    assert h.events == []  # nothing happens until the stream is iterated
    with pytest.raises(UnsupportedOperationError):
        async with contextlib.aclosing(stream):
            await anext(stream)
    assert h.ops() == ["stream_prices"]


async def test_the_default_disconnect_works_and_logs_out(h: Harness) -> None:
    adapter = h.make(Minimal)
    await adapter.authenticate()
    assert adapter.is_authenticated
    await adapter.disconnect()
    assert not adapter.is_authenticated
    assert h.ops() == ["authenticate", "disconnect"]


async def test_the_default_health_check_probes_a_cheap_call(h: Harness) -> None:
    venue = h.make(Venue)
    status = await venue.health_check()
    assert status.state is HealthState.HEALTHY
    assert status.checked_at == START
    assert venue.log == ["get_account_summary"]
    venue.fail = ConnectionResetError("down")
    down = await venue.health_check()
    assert down.state is HealthState.DOWN
    assert "CONNECTION_ERROR" in down.message
    assert h.ops().count("health_check") == 2


# ------------------------------------------------------------------ streams


async def test_a_stream_switched_off_in_the_configuration_is_refused_before_opening(h: Harness) -> None:
    config = BrokerConfiguration(broker_name="venue", settings={"enable_streaming": False})
    venue = h.make(Venue, config)
    with pytest.raises(UnsupportedOperationError, match=r"settings\.enable_streaming: false") as refused:
        async for _ in venue.stream_prices(["EUR/USD"]):
            pass
    assert refused.value.error.context["setting"] == "enable_streaming"
    assert "stream_prices" not in venue.log  # the venue was never asked
    (event,) = h.events
    assert not event.success
    assert event.error is not None
    assert event.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    switched_on = h.make(Venue, BrokerConfiguration(broker_name="venue"))
    assert [t.bid async for t in switched_on.stream_prices(["EUR/USD"])] == [D("1.1"), D("1.2"), D("1.3")]


async def test_a_stream_read_to_the_end_emits_one_event(h: Harness) -> None:
    venue = h.make(Venue)
    received = [t.bid async for t in venue.stream_prices(["EUR/USD"])]
    assert received == [D("1.1"), D("1.2"), D("1.3")]
    (event,) = h.events
    assert event.operation == "stream_prices"
    assert event.success
    assert event.detail["ticks"] == 3
    assert venue.stream_closed


async def test_breaking_out_early_closes_the_source_and_emits_one_event(h: Harness) -> None:
    venue = h.make(Venue)
    stream = as_generator(venue.stream_prices(["EUR/USD"]))
    async with contextlib.aclosing(stream):
        async for _ in stream:
            break
    assert venue.stream_closed
    (event,) = h.events
    assert event.success
    assert event.detail["ticks"] == 1


async def test_a_stream_failure_is_mapped_with_its_cause(h: Harness) -> None:
    venue = h.make(Venue)
    received: list[PriceTick] = []

    async def consume() -> None:
        async for item in venue.stream_prices(["EUR/USD"]):
            received.append(item)
            venue.fail = ConnectionResetError("stream dropped")

    with pytest.raises(BrokerConnectionError) as info:
        await consume()
    assert len(received) == 1
    assert isinstance(info.value.__cause__, ConnectionResetError)
    (event,) = h.events
    assert not event.success
    assert event.error is not None
    assert event.error.error_code is StandardErrorCode.CONNECTION_ERROR
    assert event.detail["ticks"] == 1


async def test_a_cancelled_stream_emits_one_event(h: Harness) -> None:
    class Quiet(Venue):
        async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
            yield tick()
            await asyncio.Event().wait()
            yield tick()

    got_one = asyncio.Event()

    async def consume(adapter: BrokerAdapter) -> None:
        async for _ in adapter.stream_prices(["EUR/USD"]):
            got_one.set()

    task = asyncio.create_task(consume(h.make(Quiet)))
    await got_one.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (event,) = h.events
    assert not event.success
    assert event.detail["ticks"] == 1


async def test_a_stream_through_super_emits_one_event(h: Harness) -> None:
    class Filtered(Venue):
        async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
            async for item in super().stream_prices(instruments):
                if item.bid != D("1.2"):
                    yield item

    received = [t.bid async for t in h.make(Filtered).stream_prices(["EUR/USD"])]
    assert received == [D("1.1"), D("1.3")]
    assert h.ops() == ["stream_prices"]


async def test_a_sync_stream_method_may_return_any_async_iterator(h: Harness) -> None:
    class Ticks:
        def __init__(self) -> None:
            self.left = [tick("1.5")]

        def __aiter__(self) -> Ticks:
            return self

        async def __anext__(self) -> PriceTick:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop()

    class SyncStream(Minimal):
        def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
            return Ticks()

    received = [t.bid async for t in h.make(SyncStream).stream_prices(["EUR/USD"])]
    assert received == [D("1.5")]
    assert h.events[0].success


async def test_interceptors_see_a_stream_opened_once(h: Harness) -> None:
    venue = h.make(Venue)
    seen: list[Operation] = []

    async def count(ctx: CallContext, proceed: Any) -> Any:
        seen.append(ctx.operation)
        return await proceed()

    venue.add_interceptor(count, priority=InterceptorPriority.PRE_TRADE, name="count")
    assert len([t async for t in venue.stream_prices(["EUR/USD"])]) == 3
    assert seen == [Operation.STREAM_PRICES]


# ------------------------------------------------------------------ interceptors


async def test_interceptors_run_by_priority_then_in_insertion_order(h: Harness) -> None:
    venue = h.make(Venue)
    trace: list[str] = []

    def stage(label: str) -> Any:
        async def interceptor(ctx: CallContext, proceed: Any) -> Any:
            trace.append(f"{label}>")
            try:
                return await proceed()
            finally:
                trace.append(f"<{label}")

        return interceptor

    venue.add_interceptor(stage("c"), priority=300, name="c")
    venue.add_interceptor(stage("a"), priority=100, name="a")
    venue.add_interceptor(stage("b1"), priority=200, name="b1")
    venue.add_interceptor(stage("b2"), priority=200, name="b2")
    assert venue.interceptor_names == ("a", "b1", "b2", "c")
    await venue.get_accounts()
    assert trace == ["a>", "b1>", "b2>", "c>", "<c", "<b2", "<b1", "<a"]
    assert venue.log == ["get_accounts"]
    venue.remove_interceptor("b1")
    assert list(venue.interceptor_names) == ["a", "b2", "c"]


async def test_an_interceptor_can_short_circuit_the_call(h: Harness) -> None:
    venue = h.make(Venue)
    cached = [Account(account_id="from-cache")]

    async def cache(ctx: CallContext, proceed: Any) -> Any:
        return cached

    venue.add_interceptor(cache, priority=InterceptorPriority.PRE_TRADE, name="cache")
    assert await venue.get_accounts() is cached
    assert venue.log == []
    assert [e.success for e in h.events] == [True]


async def test_a_pre_trade_interceptor_can_refuse_an_order(h: Harness) -> None:
    venue = h.make(Venue)

    async def max_size(ctx: CallContext, proceed: Any) -> Any:
        ctx.detail["checked"] = True
        if ctx.order is not None and ctx.order.quantity > 5:
            raise InvalidOrderError("order too large")
        return await proceed()

    venue.add_interceptor(max_size, priority=InterceptorPriority.PRE_TRADE, name="max_size")
    result = await venue.place_order(market(quantity=D(6)))
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.INVALID_ORDER
    assert result.status is OrderStatus.REJECTED
    assert venue.log == []
    assert h.events[0].detail["checked"] is True
    assert (await venue.place_order(market(quantity=D(5)))).success


async def test_a_pre_trade_stage_runs_before_the_default_stages() -> None:
    adapter = Venue(event_bus=EventBus())

    async def pre(ctx: CallContext, proceed: Any) -> Any:
        return await proceed()

    adapter.add_interceptor(pre, priority=InterceptorPriority.PRE_TRADE, name="pre")
    assert adapter.interceptor_names[0] == "pre"


# ------------------------------------------------------------------ user adapters written with plain def


class SyncVenue(BrokerAdapter):
    broker_name = "sync"

    def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:  # type: ignore[override]
        return True

    def get_accounts(self) -> list[Account]:  # type: ignore[override]
        return [Account(account_id="s-1")]

    def get_current_price(self, instrument: str) -> PriceTick:  # type: ignore[override]
        raise ConnectionResetError("sync failure")

    def place_order(self, order: UnifiedOrder) -> OrderResult:  # type: ignore[override]
        return OrderResult(success=True, status=OrderStatus.ACCEPTED, broker_order_id="S1")


async def test_sync_methods_in_a_user_adapter_still_work(h: Harness) -> None:
    adapter: Any = h.make(SyncVenue)  # the class's annotations are sync; the pipeline makes them awaitable
    async with adapter:
        assert adapter.is_authenticated
        assert [a.account_id for a in await adapter.get_accounts()] == ["s-1"]
        result = await adapter.place_order(market())
        assert result.broker_order_id == "S1"
        assert result.broker_name == "sync"
        with pytest.raises(BrokerConnectionError):
            await adapter.get_current_price("EUR/USD")
    assert h.ops() == ["authenticate", "get_accounts", "place_order", "get_current_price", "disconnect"]
    assert Operation.GET_ACCOUNTS in SyncVenue.implemented_operations()


# ------------------------------------------------------------------ declarations


class MarketOnly(Venue):
    capabilities = frozenset({BrokerCapability.MARKET_ORDERS})


class LimitsWithExits(Venue):
    capabilities = frozenset(
        {
            BrokerCapability.MARKET_ORDERS,
            BrokerCapability.LIMIT_ORDERS,
            BrokerCapability.TAKE_PROFIT_STOP_LOSS,
        }
    )
    supported_time_in_force = frozenset({TimeInForce.FOK, TimeInForce.GTC})


async def test_an_undeclared_order_type_is_refused_before_sending(h: Harness) -> None:
    venue = h.make(MarketOnly)
    order = limit()
    result = await venue.place_order(order)
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert result.error.context == {"order_type": "limit"}
    assert result.status is OrderStatus.REJECTED
    assert result.client_order_id == order.order_id
    assert venue.log == []
    assert h.events[0].order == order
    assert (await venue.place_order(market())).success


async def test_an_undeclared_time_in_force_is_refused(h: Harness) -> None:
    venue = h.make(LimitsWithExits)
    result = await venue.place_order(limit(time_in_force=TimeInForce.IOC))
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert result.error.context == {"time_in_force": "IOC"}
    assert venue.log == []
    assert (await venue.place_order(limit(time_in_force=TimeInForce.GTC))).success


async def test_exit_levels_need_their_declared_capability(h: Harness) -> None:
    refused = await h.make(MarketOnly).place_order(market(take_profit=D("2")))
    assert refused.error is not None
    assert refused.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert (await h.make(LimitsWithExits).place_order(limit(stop_loss=D("0.5")))).success
    assert (await h.make(Venue).place_order(market(take_profit=D("2")))).success  # nothing declared


def test_implemented_operations_and_derived_capabilities() -> None:
    assert Minimal.implemented_operations() == {Operation.AUTHENTICATE}
    assert Minimal.declared_capabilities() == frozenset()
    assert Venue.implemented_operations() == {
        Operation.AUTHENTICATE,
        Operation.DISCONNECT,
        Operation.GET_ACCOUNTS,
        Operation.GET_ACCOUNT_SUMMARY,
        Operation.GET_ORDERS,
        Operation.PLACE_ORDER,
        Operation.CANCEL_ORDER,
        Operation.STREAM_PRICES,
    }
    assert Venue.declared_capabilities() == {
        BrokerCapability.MULTIPLE_ACCOUNTS,
        BrokerCapability.ACCOUNT_SUMMARY,
        BrokerCapability.ORDER_LISTING,
        BrokerCapability.MARKET_ORDERS,
        BrokerCapability.CANCEL_ORDERS,
        BrokerCapability.STREAMING_PRICES,
    }
    assert MarketOnly.declared_capabilities() == {BrokerCapability.MARKET_ORDERS}
    assert MarketOnly.implemented_operations() == Venue.implemented_operations()


def test_operation_kinds() -> None:
    assert {op for op in Operation if op.is_order_action} == {
        Operation.PLACE_ORDER,
        Operation.MODIFY_ORDER,
        Operation.CANCEL_ORDER,
        Operation.CLOSE_POSITION,
    }
    writes = {op for op in Operation if not op.is_read_only}
    assert writes == {
        Operation.AUTHENTICATE,
        Operation.DISCONNECT,
        Operation.PLACE_ORDER,
        Operation.MODIFY_ORDER,
        Operation.CANCEL_ORDER,
        Operation.CLOSE_POSITION,
    }


class AccountsMixin:
    async def get_accounts(self) -> list[Account]:
        raise ConnectionResetError("from the mixin")


class MixedIn(AccountsMixin, Minimal):
    pass


async def test_a_method_from_a_mixin_runs_through_the_pipeline(h: Harness) -> None:
    with contextlib.suppress(Exception):
        await h.make(MixedIn).get_accounts()
    assert h.ops() == ["get_accounts"]


# ------------------------------------------------------------------ context manager, naming, logging


def config(**credentials: Any) -> BrokerConfiguration:
    return BrokerConfiguration(broker_name="my-venue", credentials=BrokerCredentials(**credentials))


async def test_async_with_logs_in_with_the_configured_credentials_and_out_at_the_end(h: Harness) -> None:
    venue = h.make(Venue, config(account_id="acc-9"))
    inside: list[bool] = []

    async def use() -> None:
        async with venue as entered:
            inside.append(entered is venue and venue.is_authenticated)
            raise ValueError("body failed")

    with pytest.raises(ValueError, match="body failed"):
        await use()
    assert inside == [True]
    assert venue.seen_credentials == [venue.credentials]
    assert venue.log == ["authenticate", "disconnect"]
    assert not venue.is_authenticated


async def test_async_with_raises_authentication_error_when_refused(h: Harness) -> None:
    venue = h.make(Venue, config())
    venue.accept = False
    with pytest.raises(AuthenticationError, match="my-venue refused the credentials") as info:
        async with venue:
            pytest.fail("the body must not run")
    assert info.value.error.broker_name == "my-venue"
    assert venue.log == ["authenticate"]
    assert not venue.is_authenticated


async def test_async_with_does_not_log_in_twice(h: Harness) -> None:
    venue = h.make(Venue)
    await venue.authenticate()
    async with venue:
        pass
    assert venue.log == ["authenticate", "disconnect"]


async def test_a_failing_login_is_mapped(h: Harness) -> None:
    venue = h.make(Venue)
    venue.fail = ConnectionResetError("no route")
    with pytest.raises(BrokerConnectionError):
        async with venue:
            pass


async def test_debug_log_shows_operation_and_timing_never_credentials(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-live-Zq81x7"
    venue = h.make(Venue, config(api_key=SecretStr(secret), secret_key=SecretStr(secret), account_id="acc"))
    with caplog.at_level(logging.DEBUG, logger="broker_integration.adapter"):
        async with venue:
            await venue.get_accounts()
            venue.fail = InsufficientFundsError(f"key {secret} lacks margin")
            await venue.place_order(market())
    lines = [r.getMessage() for r in caplog.records if r.name == "broker_integration.adapter"]
    assert len(lines) == 4
    assert re.fullmatch(r"my-venue authenticate ok in \d+\.\d{3} ms", lines[0])
    assert lines[1] == "my-venue get_accounts ok in 250.000 ms"
    assert re.fullmatch(r"my-venue place_order failed INSUFFICIENT_FUNDS in \d+\.\d{3} ms", lines[2])
    assert lines[3].startswith("my-venue disconnect ok")
    assert all(secret not in text for r in caplog.records for text in (r.getMessage(), str(r.args)))


def test_name_id_repr_and_default_bus() -> None:
    named = Venue(config(api_key=SecretStr("sk-hidden")))
    unnamed = Minimal()
    assert named.name == "my-venue"
    assert unnamed.name == "minimal"
    assert named.adapter_id.startswith("my-venue@")
    assert named.adapter_id != Venue(config()).adapter_id
    assert repr(named) == "<Venue 'my-venue' not authenticated>"
    assert "sk-hidden" not in repr(named.credentials)
    assert unnamed.event_bus is get_event_bus()
    own = EventBus()
    unnamed.event_bus = own
    assert unnamed.event_bus is own
    assert unnamed.clock is SYSTEM_CLOCK


async def test_a_subclass_that_skips_super_init_still_works() -> None:
    class Forgetful(Minimal):
        def __init__(self) -> None:
            self.ready = True

        async def get_accounts(self) -> list[Account]:
            return [Account(account_id="f")]

    adapter = Forgetful()
    events: list[CallEvent] = []
    subscription = get_event_bus().subscribe(
        CallEvent, events.append, where=lambda e: e.broker_name == "minimal"
    )
    try:
        assert [a.account_id for a in await adapter.get_accounts()] == ["f"]
    finally:
        get_event_bus().unsubscribe(subscription)
    assert [e.operation for e in events] == ["get_accounts"]
    assert adapter.interceptor_names == ()
