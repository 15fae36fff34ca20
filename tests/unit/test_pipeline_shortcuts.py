"""The pipeline's shortcuts change nothing a caller can see: stages limited to some calls, events skipped
only when nobody listens, and results built complete by the protocol code passed on as they are."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from broker_integration.broker_adapter import BrokerAdapter, CallContext, Operation, Proceed
from broker_integration.events import CallEvent, Event, EventBus, HealthEvent
from broker_integration.models import OrderResult, OrderSide, OrderStatus, PriceTick, UnifiedOrder

BUILT: list[OrderResult] = []


class Venue(BrokerAdapter):
    broker_name = "venue"
    complete = True

    async def authenticate(self, credentials: Any = None) -> bool:
        return True

    async def get_current_price(self, instrument: str) -> PriceTick:
        return PriceTick(instrument=instrument, bid=Decimal(1), ask=Decimal(2), time=datetime.now(UTC))

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        fields: dict[str, Any] = {"success": True, "status": OrderStatus.ACCEPTED, "broker_order_id": "7"}
        result = self.completed_result(**fields) if self.complete else OrderResult(**fields)
        BUILT.append(result)
        return result


def order() -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(3))


def test_wants_follows_subscriptions() -> None:
    bus = EventBus()
    assert not bus.wants(CallEvent)
    health = bus.subscribe(HealthEvent, lambda _e: None)
    assert not bus.wants(CallEvent)
    base = bus.subscribe(Event, lambda _e: None)
    assert bus.wants(CallEvent)
    bus.unsubscribe(base)
    bus.unsubscribe(health)
    assert not bus.wants(CallEvent)


async def test_a_subscriber_added_later_still_gets_every_call() -> None:
    bus = EventBus()
    venue = Venue(event_bus=bus)
    await venue.place_order(order())  # nobody listens yet
    seen: list[CallEvent] = []
    bus.subscribe(CallEvent, seen.append)
    await venue.place_order(order())
    await venue.get_current_price("EUR/USD")
    assert [e.operation for e in seen] == ["place_order", "get_current_price"]


async def test_a_stage_limited_to_orders_sees_only_orders_and_changes_apply_at_once() -> None:
    venue = Venue(event_bus=EventBus())
    seen: list[str] = []

    async def stage(ctx: CallContext, proceed: Proceed) -> Any:
        seen.append(ctx.operation.value)
        return await proceed()

    await venue.get_current_price("EUR/USD")  # the chains are built and cached
    venue.add_interceptor(stage, priority=250, name="orders-only", operations=[Operation.PLACE_ORDER])
    await venue.get_current_price("EUR/USD")
    await venue.place_order(order())
    assert seen == ["place_order"]
    assert "orders-only" in venue.interceptor_names
    venue.remove_interceptor("orders-only")
    await venue.place_order(order())
    assert seen == ["place_order"]


async def test_a_result_built_complete_is_passed_on_as_it_is() -> None:
    venue = Venue(event_bus=EventBus())
    intent = order()
    result = await venue.place_order(intent)
    assert result is BUILT[-1]
    assert result.broker_name == "venue"
    assert result.client_order_id == intent.order_id
    assert result.instrument == "EUR/USD"
    assert result.side is OrderSide.BUY
    assert result.requested_quantity == Decimal(3)
    assert result.submitted_at is not None
    assert result.latency_ms is not None
    assert result.latency_ms >= 0


async def test_a_bare_result_is_completed_by_the_pipeline() -> None:
    venue = Venue(event_bus=EventBus())
    venue.complete = False
    intent = order()
    result = await venue.place_order(intent)
    assert result is not BUILT[-1]
    assert BUILT[-1].client_order_id is None
    assert result.client_order_id == intent.order_id
    assert result.broker_name == "venue"
    assert result.latency_ms is not None


def test_outside_a_call_completed_result_only_builds_the_fields() -> None:
    venue = Venue(event_bus=EventBus())
    result = venue.completed_result(success=True, status=OrderStatus.ACCEPTED, broker_name="given")
    assert result.broker_name == "given"
    assert result.client_order_id is None
    assert result.latency_ms is None
