"""The one way an :class:`~broker_integration.models.OrderResult` is built: from protocol code's answer,
from a failed call, or from what the broker's record says of an order whose answer was lost.

Each builder fills in what the pipeline knows of the call — broker, client order id, instrument, side,
quantity, when it was submitted, its latency, whether it reached the broker — so no result leaves the
pipeline without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from broker_integration.errors import StandardErrorCode, StandardizedError, is_ambiguous, make_error
from broker_integration.models import (
    Delivery,
    Order,
    OrderResult,
    OrderStatus,
    OrderUpdate,
    UnifiedOrder,
    assemble,
)

if TYPE_CHECKING:
    from broker_integration.pipeline.adapter import BrokerAdapter
    from broker_integration.pipeline.context import CallContext

__all__ = ["completed", "failed", "from_broker_order", "from_update", "known_fields", "unresolved"]


def known_fields(adapter: BrokerAdapter, ctx: CallContext, given: Mapping[str, Any]) -> dict[str, Any]:
    """What the pipeline knows of the order action ``ctx`` when the broker's answer is in hand — broker,
    submission time, latency, and the order's client id, instrument, side and quantity — for the fields
    ``given`` leaves open (absent, ``None`` or empty). Field by field, without comparing values: this runs
    on every order."""
    known: dict[str, Any] = {}
    if not given.get("broker_name"):
        known["broker_name"] = adapter.name
    if given.get("submitted_at") is None:
        known["submitted_at"] = ctx.started_at
    if given.get("latency_ms") is None:
        known["latency_ms"] = (adapter.clock.monotonic_ns() - ctx.started_ns) / 1e6
    order = ctx.order
    if order is not None:
        if not given.get("client_order_id"):
            known["client_order_id"] = order.order_id
        if not given.get("instrument"):
            known["instrument"] = order.instrument
        if given.get("side") is None:
            known["side"] = order.side
        if given.get("requested_quantity") is None:
            known["requested_quantity"] = order.quantity
    return known


def completed(adapter: BrokerAdapter, ctx: CallContext, result: Any) -> OrderResult:
    """Protocol code's result with the call's facts filled in where it left them open."""
    if not isinstance(result, OrderResult):
        raise TypeError(
            f"{adapter.name}.{ctx.operation.value} must return an OrderResult, got {type(result).__name__}"
        )
    # One that completed_result built for this call holds every known field already.
    update = {} if result is ctx.completed else known_fields(adapter, ctx, result.__dict__)
    error = result.error
    if error is not None and not error.broker_name:
        update["error"] = error.model_copy(update={"broker_name": adapter.name})
    return _copy_with(result, update) if update else result


def _copy_with(result: OrderResult, update: dict[str, Any]) -> OrderResult:
    """``result.model_copy(update=update)`` without pydantic's generic copy (a third of its cost): the
    values in ``update`` are the pipeline's own, already of their fields' types."""
    values = dict(result.__dict__)
    values.update(update)
    return assemble(OrderResult, values, result.__pydantic_fields_set__ | update.keys())


def failed(adapter: BrokerAdapter, ctx: CallContext, error: StandardizedError) -> OrderResult:
    """The result of an order action that raised ``error``: not sent, unknown, or refused by the broker."""
    if not ctx.sent or error.sent is False:
        delivery, status = Delivery.NOT_SENT, OrderStatus.REJECTED
    elif is_ambiguous(error):
        delivery, status = Delivery.UNKNOWN, OrderStatus.UNKNOWN
    else:
        delivery, status = Delivery.SENT, OrderStatus.REJECTED
    return OrderResult(
        success=False,
        status=status,
        delivery=delivery,
        completed_at=adapter.clock.now(),
        error=error,
        message=error.message,
        **known_fields(adapter, ctx, {}),
    )


def from_broker_order(adapter: BrokerAdapter, intent: UnifiedOrder, found: Order) -> OrderResult:
    """What the broker's record says of ``intent``, found after its answer was lost."""
    return _settled(
        adapter,
        intent,
        found.status,
        "broker reports the order as rejected",
        message="resolved by lookup",
        broker_order_id=found.broker_order_id,
        filled_quantity=found.filled_quantity,
        average_fill_price=found.average_fill_price,
        completed_at=adapter.clock.now(),
    )


def from_update(
    adapter: BrokerAdapter,
    intent: UnifiedOrder,
    update: OrderUpdate,
    filled: Decimal | None,
    average: Decimal | None,
) -> OrderResult:
    """What the broker's own order update says of ``intent`` after its answer was lost (``filled`` and
    ``average`` are the order's cumulative fill and average price so far)."""
    return _settled(
        adapter,
        intent,
        update.kind.status,
        f"broker rejected the order: {update.reason}",
        message="settled by the broker's order update",
        broker_order_id=update.broker_order_id,
        filled_quantity=filled or Decimal(0),
        average_fill_price=average,
        commission=update.commission,
        quote_home_rate=update.quote_home_rate,
        completed_at=update.time,
    )


def _settled(
    adapter: BrokerAdapter, intent: UnifiedOrder, status: OrderStatus, refusal: str, **fields: Any
) -> OrderResult:
    """An outcome the broker's own word settled after the call's answer was lost."""
    success = status not in (OrderStatus.REJECTED, OrderStatus.UNKNOWN)
    return OrderResult(
        success=success,
        client_order_id=intent.order_id,
        broker_name=adapter.name,
        status=status,
        delivery=Delivery.SETTLED,
        instrument=intent.instrument,
        side=intent.side,
        requested_quantity=intent.quantity,
        error=None if success else make_error(StandardErrorCode.UNKNOWN, refusal),
        **fields,
    )


def unresolved(
    adapter: BrokerAdapter,
    intent: UnifiedOrder,
    error: StandardizedError,
    status: OrderStatus,
    delivery: Delivery,
) -> OrderResult:
    """A result without a fill: still UNKNOWN, refused, or proven never placed (``status`` REJECTED)."""
    return OrderResult(
        success=False,
        client_order_id=intent.order_id,
        broker_name=adapter.name,
        status=status,
        delivery=delivery,
        instrument=intent.instrument,
        side=intent.side,
        requested_quantity=intent.quantity,
        completed_at=adapter.clock.now(),
        error=error,
        message=error.message,
    )
