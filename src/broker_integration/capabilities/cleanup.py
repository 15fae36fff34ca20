"""Clean-up of synthetic test orders: every order is tracked from before it is sent until the venue shows
it closed, and the clean-up runs to its end even when the discovery task is cancelled.

A test order is registered by its client order id *before* ``place_order`` is called, because a call cut
short (a timeout, a lost answer, a cancelled task) may still have placed it. The clean-up cancels what
may be open, then asks the venue which of our orders are still open, tries once more, and reports any
order it could not close in the profile's errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from broker_integration.capabilities.state import DiscoveryState
from broker_integration.errors import StandardErrorCode
from broker_integration.models import Order, OrderResult
from broker_integration.pipeline import Operation

__all__ = ["VERIFY_PROBE", "OrderTracker", "TrackedOrder", "clean_up", "run_to_completion"]

T = TypeVar("T")

_CLEAN_UP = "clean-up"
#: The probe name of the profile error that reports test orders possibly left open at the venue.
VERIFY_PROBE = "clean-up verification"


@dataclass
class TrackedOrder:
    """One test order: its client id, the broker ids it has had (a modify may replace it) and whether it
    may still be open at the venue."""

    client_order_id: str
    label: str
    broker_order_ids: set[str] = field(default_factory=set)
    may_be_open: bool = True


class OrderTracker:
    """The synthetic test orders of one discovery, by client order id."""

    def __init__(self) -> None:
        self._orders: dict[str, TrackedOrder] = {}

    def register(self, client_order_id: str, label: str) -> TrackedOrder:
        """Call before sending: from here on the order counts as possibly open."""
        tracked = TrackedOrder(client_order_id, label)
        self._orders[client_order_id] = tracked
        return tracked

    def note(self, client_order_id: str, result: OrderResult) -> None:
        """Learn the broker's id from ``result``; a final status closes the order."""
        tracked = self._orders[client_order_id]
        if result.broker_order_id:
            tracked.broker_order_ids.add(result.broker_order_id)
        if result.status.is_terminal:
            tracked.may_be_open = False

    def get(self, client_order_id: str) -> TrackedOrder:
        return self._orders[client_order_id]

    def add_broker_id(self, client_order_id: str, broker_order_id: str) -> None:
        """A modify that replaced the order gave it a new broker id; keep both."""
        self._orders[client_order_id].broker_order_ids.add(broker_order_id)

    def closed(self, client_order_id: str) -> None:
        self._orders[client_order_id].may_be_open = False

    def __len__(self) -> int:
        return len(self._orders)

    @property
    def orders(self) -> tuple[TrackedOrder, ...]:
        return tuple(self._orders.values())

    @property
    def possibly_open(self) -> tuple[TrackedOrder, ...]:
        return tuple(o for o in self._orders.values() if o.may_be_open)

    def owns(self, order: Order) -> TrackedOrder | None:
        """The tracked order ``order`` (as the venue lists it) belongs to, if any."""
        tracked = self._orders.get(order.client_order_id or "")
        if tracked is not None:
            return tracked
        return next((o for o in self._orders.values() if order.broker_order_id in o.broker_order_ids), None)


async def run_to_completion(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the awaiting task is cancelled meanwhile (then re-raise the
    cancellation afterwards): a clean-up that stops half way would leave orders open at the broker."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


async def clean_up(state: DiscoveryState, tracker: OrderTracker) -> None:
    """Cancel every test order that may be open, then verify at the venue; report what stays open."""
    if not len(tracker):
        return
    for tracked in tracker.possibly_open:
        await _cancel(state, tracker, tracked)
    still_open = await open_at_venue(state, tracker)
    if still_open is None:
        state.note_problem(
            VERIFY_PROBE,
            StandardErrorCode.UNKNOWN,
            "could not check at the venue that the test orders are closed; check "
            + ", ".join(_describe(o) for o in tracker.orders),
        )
        return
    if not still_open:
        return
    for order in still_open:
        owner = tracker.owns(order)
        if owner is not None:
            owner.broker_order_ids.add(order.broker_order_id)
            owner.may_be_open = True
            await _cancel(state, tracker, owner, by_broker_id=order.broker_order_id)
    left = await open_at_venue(state, tracker)
    if left is None or left:
        listed = ", ".join(
            f"{o.client_order_id or '?'} (broker id {o.broker_order_id})" for o in (left or still_open)
        )
        state.note_problem(
            VERIFY_PROBE,
            StandardErrorCode.UNKNOWN,
            f"test orders left open at the venue: {listed}; cancel them by hand",
        )


def _describe(tracked: TrackedOrder) -> str:
    ids = ", ".join(sorted(tracked.broker_order_ids))
    return f"{tracked.client_order_id} (broker id {ids})" if ids else tracked.client_order_id


async def _cancel(
    state: DiscoveryState, tracker: OrderTracker, tracked: TrackedOrder, *, by_broker_id: str | None = None
) -> None:
    """Cancel by client id, then by each known broker id; an order the broker no longer has is closed."""
    references = (
        [by_broker_id] if by_broker_id else [tracked.client_order_id, *sorted(tracked.broker_order_ids)]
    )
    not_found = 0
    for reference in references:
        outcome = await state.probe(
            f"{_CLEAN_UP} cancel_order", partial(state.adapter.cancel_order, reference)
        )
        result = outcome.value
        if not isinstance(result, OrderResult):
            continue
        if result.success:
            tracked.may_be_open = False
            return
        if result.error is not None and result.error.error_code is StandardErrorCode.ORDER_NOT_FOUND:
            not_found += 1  # final already, or the adapter knows it by another id: try the next one
        elif result.error is not None:
            state.note_error(f"{_CLEAN_UP} cancel_order {reference}", result.error)
    if not_found == len(references):
        tracked.may_be_open = False  # no id finds it open; the venue check below has the last word


async def open_at_venue(state: DiscoveryState, tracker: OrderTracker) -> list[Order] | None:
    """Our orders the venue lists as open, or ``None`` when the adapter offers no way to ask."""
    adapter = state.adapter
    implemented = type(adapter).implemented_operations()
    if Operation.GET_ORDERS in implemented:
        outcome = await state.probe(
            f"{_CLEAN_UP} get_orders", partial(adapter.get_orders, include_closed=False)
        )
        if outcome.value is None:
            return None
        return [o for o in outcome.value if o.status.is_open and tracker.owns(o) is not None]
    if Operation.GET_ORDER not in implemented:
        return None
    found: list[Order] = []
    for tracked in tracker.orders:
        lookup = await state.probe(
            f"{_CLEAN_UP} get_order",
            partial(adapter.get_order, tracked.client_order_id),
            quiet=frozenset({StandardErrorCode.ORDER_NOT_FOUND}),
        )
        if lookup.error is not None:
            if lookup.error.error_code is StandardErrorCode.ORDER_NOT_FOUND:
                continue
            return None
        if lookup.value is not None and lookup.value.status.is_open:
            found.append(lookup.value)
    return found
