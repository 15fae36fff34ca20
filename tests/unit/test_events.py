"""The in-process event bus: routing by class, predicates, unsubscribing, and handlers that fail."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

import pytest

from broker_integration.events import CallEvent, Event, EventBus, HealthEvent, get_event_bus
from broker_integration.models import HealthState

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def call_event(operation: str = "get_accounts", *, success: bool = True) -> CallEvent:
    return CallEvent(
        time=NOW,
        broker_name="b",
        adapter_id="b@1",
        operation=operation,
        duration_ns=2_500_000,
        success=success,
    )


def health_event(state: HealthState = HealthState.DOWN, previous: HealthState | None = None) -> HealthEvent:
    return HealthEvent(
        time=NOW,
        broker_name="b",
        adapter_id="b@1",
        state=state,
        previous_state=previous,
        consecutive_failures=1,
    )


def test_a_base_class_subscription_gets_every_subclass() -> None:
    bus = EventBus()
    everything: list[Event] = []
    calls: list[CallEvent] = []
    bus.subscribe(Event, everything.append)
    bus.subscribe(CallEvent, calls.append)
    first, second = call_event(), health_event()
    bus.publish(first)
    bus.publish(second)
    assert everything == [first, second]
    assert calls == [first]


def test_a_predicate_filters() -> None:
    bus = EventBus()
    failures: list[CallEvent] = []
    bus.subscribe(CallEvent, failures.append, where=lambda e: not e.success)
    bus.publish(call_event(success=True))
    failed = call_event(success=False)
    bus.publish(failed)
    assert failures == [failed]


def test_unsubscribe_stops_delivery_and_counts() -> None:
    bus = EventBus()
    got: list[Event] = []
    sub = bus.subscribe(Event, got.append)
    other = bus.subscribe(Event, lambda e: None)
    assert bus.subscriber_count == 2
    bus.unsubscribe(sub)
    bus.unsubscribe(sub)  # twice is harmless
    bus.publish(call_event())
    assert got == []
    assert bus.subscriber_count == 1
    bus.unsubscribe(other)
    assert bus.subscriber_count == 0


def test_the_same_handler_twice_is_two_subscriptions() -> None:
    bus = EventBus()
    got: list[Event] = []
    first = bus.subscribe(Event, got.append)
    bus.subscribe(Event, got.append)
    bus.publish(call_event())
    assert len(got) == 2
    bus.unsubscribe(first)
    bus.publish(call_event())
    assert len(got) == 3


def test_handlers_run_in_subscription_order() -> None:
    bus = EventBus()
    order: list[str] = []
    bus.subscribe(Event, lambda e: order.append("first"))
    bus.subscribe(CallEvent, lambda e: order.append("second"))
    bus.subscribe(Event, lambda e: order.append("third"))
    bus.publish(call_event())
    assert order == ["first", "second", "third"]


def test_a_raising_handler_does_not_break_publish_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    after: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe(Event, broken)
    bus.subscribe(Event, after.append)
    event = call_event()
    with caplog.at_level(logging.ERROR, logger="broker_integration.events"):
        bus.publish(event)
    assert after == [event]
    (record,) = caplog.records
    assert record.name == "broker_integration.events"
    assert record.levelno == logging.ERROR
    assert "CallEvent" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_a_raising_predicate_is_contained_too(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    after: list[Event] = []
    bus.subscribe(Event, after.append, where=lambda e: 1 / 0 > 0)
    bus.subscribe(Event, after.append)
    with caplog.at_level(logging.ERROR, logger="broker_integration.events"):
        bus.publish(call_event())
    assert len(after) == 1
    assert len(caplog.records) == 1


def test_subscribing_during_publish_takes_effect_next_time() -> None:
    bus = EventBus()
    late: list[Event] = []

    def subscribe_another(event: Event) -> None:
        bus.subscribe(Event, late.append)

    first_sub = bus.subscribe(Event, subscribe_another)
    bus.publish(call_event())
    assert late == []
    bus.unsubscribe(first_sub)
    bus.publish(call_event())
    assert len(late) == 1


def test_event_properties_and_immutability() -> None:
    event = call_event()
    assert event.duration_ms == 2.5
    assert event.detail == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.success = False  # type: ignore[misc]
    assert health_event(HealthState.DOWN, HealthState.HEALTHY).changed
    assert not health_event(HealthState.DOWN, HealthState.DOWN).changed
    assert health_event(HealthState.HEALTHY, None).changed


def test_the_global_bus_is_one_bus() -> None:
    assert get_event_bus() is get_event_bus()
    assert isinstance(get_event_bus(), EventBus)
