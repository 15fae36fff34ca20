"""Tests on a resting test order: look it up by its client id, move its price one tick, cancel it.

Each settles one capability (``CLIENT_ORDER_ID_LOOKUP``, ``MODIFY_ORDERS``, ``CANCEL_ORDERS``). The order
is known to rest at the broker, so a lookup that finds nothing, or a modify the venue does not show, is
a conclusive failure; errors that say nothing about the feature (an outage, a timeout) stay inconclusive.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from broker_integration.capabilities.cleanup import OrderTracker
from broker_integration.capabilities.profile import CapabilityStatus
from broker_integration.capabilities.state import DiscoveryState, is_conclusive
from broker_integration.errors import StandardErrorCode, StandardizedError
from broker_integration.models import Order, OrderModification, OrderResult, OrderStatus
from broker_integration.pipeline import BrokerCapability

__all__ = ["cancel_test_order", "check_lookup", "check_modify"]

C = BrokerCapability


async def check_lookup(state: DiscoveryState, client_order_id: str) -> None:
    """Find the resting order by its client id."""
    caps = state.capabilities
    if not state.open_to_test(caps, C.CLIENT_ORDER_ID_LOOKUP):
        return
    outcome = await state.probe(
        "get_order[client order id]", partial(state.adapter.get_order, client_order_id)
    )
    found = outcome.value
    if outcome.error is not None:
        what = "looking up the resting test order by its client id failed"
        state.refute(caps, C.CLIENT_ORDER_ID_LOOKUP, outcome.error, what, outcome.latency_ms)
    elif not isinstance(found, Order):
        error = state.wrong_type("get_order", found, "Order")
        state.refute(caps, C.CLIENT_ORDER_ID_LOOKUP, error, "the lookup")
    elif found.client_order_id != client_order_id:
        state.reject(
            caps,
            C.CLIENT_ORDER_ID_LOOKUP,
            f"asked for client id {client_order_id}, got order {found.broker_order_id} ({found.client_order_id})",
            StandardErrorCode.ORDER_NOT_FOUND,
        )
    else:
        state.verify(
            caps,
            C.CLIENT_ORDER_ID_LOOKUP,
            f"found the resting test order {client_order_id} by its client id",
            outcome.latency_ms,
        )


async def check_modify(
    state: DiscoveryState, tracker: OrderTracker, client_order_id: str, price: Decimal, tick: Decimal
) -> None:
    """Move the resting buy limit one tick further from the market, and check the venue shows it."""
    caps = state.capabilities
    if not state.open_to_test(caps, C.MODIFY_ORDERS):
        return
    new = price - tick
    if new <= 0:
        state.annotate(caps, C.MODIFY_ORDERS, "not tested: the test price is already one tick above zero")
        return
    change = OrderModification(price=new)
    outcome = await state.probe("modify_order", partial(state.adapter.modify_order, client_order_id, change))
    result = outcome.value
    if outcome.error is not None or not isinstance(result, OrderResult):
        error = outcome.error or state.wrong_type("modify_order", result, "OrderResult")
        state.refute(caps, C.MODIFY_ORDERS, error, "modifying the test order failed")
        return
    if result.broker_order_id:
        tracker.add_broker_id(client_order_id, result.broker_order_id)  # a replace gives a new id
    if not result.success:
        assert result.error is not None  # a failed OrderResult always says why
        state.note_error("modify_order", result.error)
        if result.status is OrderStatus.UNKNOWN:
            state.inconclusive(
                caps, C.MODIFY_ORDERS, f"the outcome is unknown: {result.error.error_code.value}"
            )
        else:
            state.refute(caps, C.MODIFY_ORDERS, result.error, "moving the test order's price one tick failed")
        return
    await _confirm_modify(state, tracker, client_order_id, price, new, outcome.latency_ms)


async def _confirm_modify(
    state: DiscoveryState,
    tracker: OrderTracker,
    client_order_id: str,
    old: Decimal,
    new: Decimal,
    latency_ms: float,
) -> None:
    """Check the new price at the venue when lookup works; else the broker's success answer is the evidence."""
    caps = state.capabilities
    if caps[C.CLIENT_ORDER_ID_LOOKUP].status is not CapabilityStatus.VERIFIED:
        state.verify(
            caps,
            C.MODIFY_ORDERS,
            f"the broker accepted moving the test order from {old} to {new}",
            latency_ms,
        )
        return
    check = await state.probe("get_order[after modify]", partial(state.adapter.get_order, client_order_id))
    order = check.value
    if isinstance(order, Order) and order.price == new:
        tracker.add_broker_id(client_order_id, order.broker_order_id)
        state.verify(
            caps,
            C.MODIFY_ORDERS,
            f"moved the test order from {old} to {new} (checked at the venue)",
            latency_ms,
        )
    elif isinstance(order, Order):
        state.reject(
            caps,
            C.MODIFY_ORDERS,
            f"the broker accepted moving the test order to {new}, but it still shows {order.price}",
            StandardErrorCode.INVALID_ORDER,
        )
    else:
        state.inconclusive(caps, C.MODIFY_ORDERS, "the modified order could not be looked up")


async def cancel_test_order(
    state: DiscoveryState, tracker: OrderTracker, client_order_id: str, label: str
) -> None:
    """Cancel a resting test order at once: by its client id, else by each broker id it has had."""
    caps = state.capabilities
    tracked = tracker.get(client_order_id)
    references = [(client_order_id, "its client id")]
    references += [(b, "the broker's id") for b in sorted(tracked.broker_order_ids)]
    errors: list[StandardizedError] = []
    for reference, how in references:
        outcome = await state.probe(f"cancel_order[{label}]", partial(state.adapter.cancel_order, reference))
        result = outcome.value
        if isinstance(result, OrderResult) and result.success:
            tracker.closed(client_order_id)
            if caps[C.CANCEL_ORDERS].status is not CapabilityStatus.VERIFIED:
                note = f" (by client id: {errors[0].error_code.value})" if errors else ""
                state.verify(
                    caps,
                    C.CANCEL_ORDERS,
                    f"cancelled a resting test order by {how}{note}",
                    outcome.latency_ms,
                )
            return
        if isinstance(result, OrderResult) and result.error is not None:
            state.note_error(f"cancel_order[{label}]", result.error)
            errors.append(result.error)
        elif outcome.error is not None:
            errors.append(outcome.error)  # the probe has noted it
    if errors and all(is_conclusive(e) for e in errors):
        state.refute(caps, C.CANCEL_ORDERS, errors[0], "cancelling a resting test order failed")
    elif errors:
        inconclusive = next(e for e in errors if not is_conclusive(e))
        state.inconclusive(
            caps, C.CANCEL_ORDERS, f"cancelling a test order failed: {inconclusive.error_code.value}"
        )
