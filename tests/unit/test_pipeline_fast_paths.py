"""The pipeline's fast paths: events built only for listeners, per-operation stage chains, complete results.

Each fast path must keep the behaviour of the slow one: events still reach a late subscriber, a stage
added or removed between calls takes effect on the next call, and a result built with
``completed_result`` carries the same fields the pipeline would otherwise fill in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from broker_integration.clock import ManualClock
from broker_integration.errors import StandardErrorCode, make_error
from broker_integration.events import CallEvent, Event, EventBus, HealthEvent
from broker_integration.models import OrderResult, OrderSide, OrderStatus, PriceTick, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter, BrokerCapability, CallContext, Operation, Proceed
from broker_integration.pipeline import adapter as pipeline_adapter

START = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)


def order(**changes: Any) -> UnifiedOrder:
    return UnifiedOrder.model_validate({"instrument": "EUR/USD", "side": "buy", "quantity": 10, **changes})


class Desk(BrokerAdapter):
    """Answers prices at once; ``place_order`` runs ``self.build`` (default: a bare OrderResult)."""

    broker_name = "desk"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built: list[OrderResult] = []
        self.build = lambda: OrderResult(success=True, broker_order_id="B1", status=OrderStatus.ACCEPTED)

    async def authenticate(self, credentials: object = None) -> bool:
        return True

    async def get_current_price(self, instrument: str) -> PriceTick:
        return PriceTick(instrument=instrument, bid=Decimal("1.1"), ask=Decimal("1.2"), time=START)

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        if isinstance(self.clock, ManualClock):
            self.clock.advance(0.25)  # the broker takes a quarter of a second to answer
        result = self.build()
        self.built.append(result)
        return result


def bare_desk(bus: EventBus | None = None, clock: ManualClock | None = None) -> Desk:
    """A Desk without the default resilience stages, on its own bus."""
    desk = Desk(event_bus=bus or EventBus(), clock=clock)
    for name in desk.interceptor_names:
        desk.remove_interceptor(name)
    return desk


class Recorder:
    """An interceptor that notes the operations passing through it."""

    def __init__(self) -> None:
        self.seen: list[Operation] = []

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        self.seen.append(ctx.operation)
        return await proceed()


# ------------------------------------------------------------------ EventBus.wants


def test_wants_follows_subscriptions_by_event_type() -> None:
    bus = EventBus()
    assert not bus.wants(CallEvent)
    assert not bus.wants(Event)

    health = bus.subscribe(HealthEvent, lambda e: None)
    assert bus.wants(HealthEvent)
    assert not bus.wants(CallEvent)  # a HealthEvent listener does not want call events
    assert not bus.wants(Event)  # nor every event

    calls = bus.subscribe(CallEvent, lambda e: None)
    assert bus.wants(CallEvent)
    bus.unsubscribe(calls)
    assert not bus.wants(CallEvent)
    assert bus.wants(HealthEvent)
    bus.unsubscribe(health)
    assert not bus.wants(HealthEvent)


def test_a_base_event_subscriber_wants_every_event_type() -> None:
    bus = EventBus()
    everything = bus.subscribe(Event, lambda e: None)
    assert bus.wants(CallEvent)
    assert bus.wants(HealthEvent)
    assert bus.wants(Event)
    bus.unsubscribe(everything)
    assert not bus.wants(CallEvent)
    assert not bus.wants(HealthEvent)


def test_a_predicate_subscription_still_counts_as_wanting() -> None:
    bus = EventBus()
    bus.subscribe(CallEvent, lambda e: None, where=lambda e: False)
    assert bus.wants(CallEvent)  # the predicate needs the event to decide


# ------------------------------------------------------------------ events only for listeners


async def test_a_subscriber_added_after_the_adapter_gets_exactly_one_event_per_call() -> None:
    bus = EventBus()
    desk = bare_desk(bus)
    await desk.get_current_price("EUR/USD")  # nobody listens yet
    events: list[CallEvent] = []
    subscription = bus.subscribe(CallEvent, events.append)
    await desk.get_current_price("EUR/USD")
    assert len(events) == 1
    assert events[0].operation == "get_current_price"
    assert events[0].adapter_id == desk.adapter_id
    assert events[0].success
    await desk.place_order(order())
    assert [e.operation for e in events] == ["get_current_price", "place_order"]
    assert events[1].order_result is not None
    bus.unsubscribe(subscription)
    await desk.get_current_price("EUR/USD")
    assert len(events) == 2


async def test_a_base_event_subscriber_receives_call_events() -> None:
    bus = EventBus()
    desk = bare_desk(bus)
    events: list[Event] = []
    bus.subscribe(Event, events.append)
    await desk.get_current_price("EUR/USD")
    assert len(events) == 1
    assert isinstance(events[0], CallEvent)


class _Counted(CallEvent):
    """A CallEvent that counts how many were built."""

    __slots__ = ()
    built = 0

    def __init__(self, **fields: Any) -> None:
        type(self).built += 1
        super().__init__(**fields)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_Counted]:
    _Counted.built = 0
    monkeypatch.setattr(pipeline_adapter, "CallEvent", _Counted)
    return _Counted


async def test_no_event_is_built_when_nobody_listens(
    counted: type[_Counted], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broker_integration.adapter")
    bus = EventBus()
    bus.subscribe(HealthEvent, lambda e: None)  # listening, but not to call events
    desk = bare_desk(bus)
    await desk.get_current_price("EUR/USD")
    await desk.place_order(order())
    assert counted.built == 0
    events: list[CallEvent] = []
    bus.subscribe(CallEvent, events.append)
    await desk.get_current_price("EUR/USD")
    assert counted.built == 1
    assert len(events) == 1
    assert isinstance(events[0], _Counted)


async def test_debug_logging_still_reports_calls_nobody_subscribed_to(
    counted: type[_Counted], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="broker_integration.adapter")
    desk = bare_desk(EventBus())
    await desk.get_current_price("EUR/USD")
    assert counted.built == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "broker_integration.adapter"]
    assert any("desk get_current_price ok" in m for m in messages)


# ------------------------------------------------------------------ stages limited to operations


async def test_a_stage_limited_to_place_order_sees_only_place_order() -> None:
    desk = bare_desk()
    orders_only = Recorder()
    everything = Recorder()
    desk.add_interceptor(orders_only, priority=100, name="orders_only", operations=[Operation.PLACE_ORDER])
    desk.add_interceptor(everything, priority=200, name="everything")
    await desk.get_current_price("EUR/USD")
    await desk.place_order(order())
    await desk.get_current_price("EUR/USD")
    assert orders_only.seen == [Operation.PLACE_ORDER]
    assert everything.seen == [
        Operation.GET_CURRENT_PRICE,
        Operation.PLACE_ORDER,
        Operation.GET_CURRENT_PRICE,
    ]
    assert desk.interceptor_names == ("orders_only", "everything")


async def test_interceptor_names_list_every_stage_whatever_operations_it_covers() -> None:
    desk = Desk(event_bus=EventBus())  # with the default resilience stages, some limited to operations
    desk.add_interceptor(Recorder(), priority=100, name="pre_trade", operations=[Operation.PLACE_ORDER])
    desk.add_interceptor(Recorder(), priority=500, name="reads", operations=[Operation.GET_CURRENT_PRICE])
    assert desk.interceptor_names == (
        "pre_trade",
        "retry",
        "rate_limit",
        "circuit_breaker",
        "timeout",
        "reads",
    )


async def test_adding_a_stage_after_calls_were_made_applies_to_the_next_call() -> None:
    desk = bare_desk()
    await desk.get_current_price("EUR/USD")  # the chain for this operation is built (and kept) here
    await desk.place_order(order())
    late = Recorder()
    desk.add_interceptor(late, priority=100, name="late")
    await desk.get_current_price("EUR/USD")
    await desk.place_order(order())
    assert late.seen == [Operation.GET_CURRENT_PRICE, Operation.PLACE_ORDER]

    late_orders = Recorder()
    desk.add_interceptor(late_orders, priority=50, name="late_orders", operations={Operation.PLACE_ORDER})
    await desk.get_current_price("EUR/USD")
    await desk.place_order(order())
    assert late_orders.seen == [Operation.PLACE_ORDER]
    assert late.seen == [Operation.GET_CURRENT_PRICE, Operation.PLACE_ORDER] * 2


async def test_removing_a_stage_after_calls_were_made_applies_to_the_next_call() -> None:
    desk = bare_desk()
    stage = Recorder()
    desk.add_interceptor(stage, priority=100, name="stage")
    await desk.get_current_price("EUR/USD")
    await desk.place_order(order())
    assert stage.seen == [Operation.GET_CURRENT_PRICE, Operation.PLACE_ORDER]
    desk.remove_interceptor("stage")
    assert desk.interceptor_names == ()
    await desk.get_current_price("EUR/USD")
    await desk.place_order(order())
    assert stage.seen == [Operation.GET_CURRENT_PRICE, Operation.PLACE_ORDER]


async def test_stages_limited_to_operations_keep_their_priority_order() -> None:
    desk = bare_desk()
    trail: list[str] = []

    def stage(label: str) -> Any:
        async def intercept(ctx: CallContext, proceed: Proceed) -> Any:
            trail.append(label)
            return await proceed()

        return intercept

    desk.add_interceptor(stage("c"), priority=300, name="c", operations=[Operation.PLACE_ORDER])
    desk.add_interceptor(stage("a"), priority=100, name="a")
    desk.add_interceptor(stage("b"), priority=200, name="b", operations=[Operation.GET_CURRENT_PRICE])
    await desk.place_order(order())
    assert trail == ["a", "c"]
    trail.clear()
    await desk.get_current_price("EUR/USD")
    assert trail == ["a", "b"]


# ------------------------------------------------------------------ completed_result


async def test_completed_result_fills_in_the_running_order_call() -> None:
    clock = ManualClock(START)
    desk = bare_desk(clock=clock)
    desk.build = lambda: desk.completed_result(success=True, broker_order_id="B7", status=OrderStatus.FILLED)
    intent = order(side="sell", quantity=Decimal("12.5"))
    result = await desk.place_order(intent)
    (built,) = desk.built
    assert built.broker_name == "desk"
    assert built.client_order_id == intent.order_id
    assert built.instrument == "EUR/USD"
    assert built.side is OrderSide.SELL
    assert built.requested_quantity == Decimal("12.5")
    assert built.submitted_at == START  # when the call started, not when the result was built
    assert built.latency_ms == 250.0  # up to the moment the broker's answer was in hand
    assert built.broker_order_id == "B7"
    assert result is built  # complete already: the pipeline had nothing to copy


async def test_completed_result_keeps_values_passed_explicitly() -> None:
    clock = ManualClock(START)
    desk = bare_desk(clock=clock)
    earlier = datetime(2024, 1, 1, tzinfo=UTC)
    desk.build = lambda: desk.completed_result(
        success=True,
        status=OrderStatus.ACCEPTED,
        broker_name="desk-eu",
        client_order_id="given-id",
        instrument="GBP/USD",
        side=OrderSide.SELL,
        requested_quantity=Decimal(3),
        submitted_at=earlier,
        latency_ms=1.5,
    )
    result = await desk.place_order(order())
    assert result is desk.built[0]
    assert result.broker_name == "desk-eu"
    assert result.client_order_id == "given-id"
    assert result.instrument == "GBP/USD"
    assert result.side is OrderSide.SELL
    assert result.requested_quantity == Decimal(3)
    assert result.submitted_at == earlier
    assert result.latency_ms == 1.5


async def test_completed_result_latency_is_non_negative_on_the_real_clock() -> None:
    desk = bare_desk()
    desk.build = lambda: desk.completed_result(success=True, status=OrderStatus.ACCEPTED)
    before = datetime.now(UTC)
    intent = order()
    result = await desk.place_order(intent)
    assert result is desk.built[0]
    assert result.latency_ms is not None
    assert result.latency_ms >= 0
    assert result.submitted_at is not None
    assert before <= result.submitted_at <= datetime.now(UTC)
    assert result.client_order_id == intent.order_id


def test_completed_result_outside_a_call_just_builds_the_result() -> None:
    desk = bare_desk()
    result = desk.completed_result(success=True, broker_order_id="B1", status=OrderStatus.ACCEPTED)
    assert result == OrderResult(success=True, broker_order_id="B1", status=OrderStatus.ACCEPTED)
    assert result.broker_name == ""
    assert result.client_order_id is None
    assert result.instrument is None
    assert result.submitted_at is None
    assert result.latency_ms is None


async def test_completed_result_of_another_adapter_does_not_borrow_the_running_call() -> None:
    desk = bare_desk()
    other = bare_desk()
    desk.build = lambda: other.completed_result(success=True, status=OrderStatus.ACCEPTED)
    await desk.place_order(order())
    (built,) = desk.built
    assert built.client_order_id is None  # ``other`` has no order call running
    assert built.broker_name == ""
    assert built.latency_ms is None


async def test_completed_result_after_the_call_ended_builds_a_plain_result() -> None:
    desk = bare_desk()
    await desk.place_order(order())
    result = desk.completed_result(success=True, status=OrderStatus.ACCEPTED)
    assert result.client_order_id is None
    assert result.submitted_at is None


async def test_a_bare_result_is_completed_by_the_pipeline() -> None:
    clock = ManualClock(START)
    desk = bare_desk(clock=clock)
    intent = order(side="sell", quantity=Decimal(7))
    result = await desk.place_order(intent)
    (built,) = desk.built
    assert built.client_order_id is None  # the implementation left everything open
    assert result is not built  # so the pipeline completed a copy
    assert result.broker_order_id == "B1"
    assert result.broker_name == "desk"
    assert result.client_order_id == intent.order_id
    assert result.instrument == "EUR/USD"
    assert result.side is OrderSide.SELL
    assert result.requested_quantity == Decimal(7)
    assert result.submitted_at == START
    assert result.latency_ms == 250.0


async def test_the_completed_copy_is_what_model_copy_gives() -> None:
    desk = bare_desk(clock=ManualClock(START))
    refusal = make_error(StandardErrorCode.INSUFFICIENT_FUNDS, "no margin")  # no broker name yet
    desk.build = lambda: OrderResult(
        success=False, status=OrderStatus.REJECTED, error=refusal, metadata={"venue": "x"}
    )
    result = await desk.place_order(order())
    (built,) = desk.built
    filled_in = result.model_fields_set - built.model_fields_set
    assert filled_in == {
        "broker_name",
        "client_order_id",
        "instrument",
        "side",
        "requested_quantity",
        "submitted_at",
        "latency_ms",
    }
    expected = built.model_copy(update={name: getattr(result, name) for name in filled_in | {"error"}})
    assert result == expected
    assert result.model_fields_set == expected.model_fields_set
    assert result.model_dump_json(exclude_unset=True) == expected.model_dump_json(exclude_unset=True)
    assert result.error is not None
    assert result.error.broker_name == "desk"
    assert built.error is not None
    assert built.error.broker_name == ""  # the answer itself is left alone
    assert built.broker_name == ""


async def test_completed_result_is_returned_as_is_through_the_default_stages() -> None:
    desk = Desk(event_bus=EventBus())  # retry, rate limit, breaker and timeout stages installed
    desk.build = lambda: desk.completed_result(success=True, status=OrderStatus.FILLED, broker_order_id="B2")
    events: list[CallEvent] = []
    desk.event_bus.subscribe(CallEvent, events.append)
    result = await desk.place_order(order())
    assert result is desk.built[0]
    (event,) = events
    assert event.order_result is result


class NotionalDesk(Desk):
    capabilities = frozenset({BrokerCapability.MARKET_ORDERS, BrokerCapability.NOTIONAL_ORDERS})


@pytest.mark.parametrize("sized", [{"quantity": Decimal(2)}, {"quantity": None, "notional": Decimal(500)}])
@pytest.mark.parametrize("failed", [False, True], ids=["filled", "refused"])
async def test_a_completed_result_leaves_the_pipeline_as_a_bare_one_does(
    sized: dict[str, Decimal | None], failed: bool
) -> None:
    """The pipeline does not complete again a result completed_result built for the call: what leaves it is
    what the pipeline makes of the same answer given bare (values and fields set)."""
    fields: dict[str, Any] = (
        {"success": False, "status": OrderStatus.REJECTED, "error": make_error(StandardErrorCode.INVALID_ORDER, "no")}
        if failed
        else {"success": True, "status": OrderStatus.FILLED, "filled_quantity": Decimal(2), "average_fill_price": Decimal("1.1")}
    )  # fmt: skip
    outcomes = []
    for complete in (True, False):
        desk = NotionalDesk(event_bus=EventBus(), clock=ManualClock(START))
        for name in desk.interceptor_names:
            desk.remove_interceptor(name)
        desk.build = (
            (lambda d=desk: d.completed_result(**fields)) if complete else (lambda: OrderResult(**fields))
        )
        result = await desk.place_order(order(order_id="c-1", **sized))
        assert (result is desk.built[0]) is (complete and not failed)  # a refusal gets the broker's name
        outcomes.append((result, result.model_fields_set))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0].broker_name == "desk"
    error = outcomes[0][0].error
    assert (error is None) is not failed
    assert error is None or error.broker_name == "desk"
