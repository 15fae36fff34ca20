"""The in-process event bus and the events the library emits.

Adapters emit one :class:`CallEvent` per public call; the factory emits health events; later modules
(config, metrics, A/B) add their own. Handlers are plain callables run inline, so publishing is cheap
and ordered; a handler that raises is logged and never breaks the call that published.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from broker_integration.errors import StandardizedError
from broker_integration.log import get_logger

if TYPE_CHECKING:
    from broker_integration.models import (
        HealthState,
        OrderResult,
        OrderStatus,
        OrderUpdate,
        PriceTick,
        UnifiedOrder,
    )

__all__ = [
    "CallEvent",
    "Event",
    "EventBus",
    "HealthEvent",
    "OrderSettledEvent",
    "OrderUpdateEvent",
    "Subscription",
    "get_event_bus",
]

_log = get_logger("broker_integration.events")

E = TypeVar("E", bound="Event")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events; ``time`` is when it happened (UTC)."""

    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent(Event):
    """One public adapter call, emitted exactly once when it ends, however it ended.

    ``adapter_id`` tells apart two adapters of the same broker (two paper venues, say).
    ``order`` and ``order_result`` are set for order actions; ``arrival`` is the quote the caller measured the
    order against (:func:`broker_integration.tca.arrival_quote`), when it gave one.
    """

    broker_name: str
    adapter_id: str
    operation: str
    duration_ns: int
    success: bool
    error: StandardizedError | None = None
    order: UnifiedOrder | None = None
    order_result: OrderResult | None = None
    arrival: PriceTick | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return self.duration_ns / 1e6


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthEvent(Event):
    """A health check by the factory's monitor; ``changed`` is true when the state moved."""

    broker_name: str
    adapter_id: str
    state: HealthState
    previous_state: HealthState | None
    consecutive_failures: int
    latency_ms: float | None = None
    message: str = ""

    @property
    def changed(self) -> bool:
        return self.state != self.previous_state


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSettledEvent(Event):
    """An order intent whose outcome was open (an UNKNOWN answer, or a run that ended before the answer
    was recorded) is now known, found out by looking it up after its own call had ended.

    ``result`` is what became of it: the order as the broker holds it, or REJECTED with ``sent`` false
    when the broker has never heard of it. Published once per intent, by whoever recorded the outcome.
    """

    broker_name: str
    adapter_id: str
    client_order_id: str
    previous_status: OrderStatus
    result: OrderResult
    #: The intent as it was journaled.
    order: UnifiedOrder | None = None

    @property
    def status(self) -> OrderStatus:
        return self.result.status


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdateEvent(Event):
    """One change of an order at the broker, from an adapter's shared order-update feed
    (:class:`~broker_integration.feeds.OrderUpdateFeed`): what the journal and the metrics consume."""

    broker_name: str
    adapter_id: str
    update: OrderUpdate


Handler = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A handle returned by :meth:`EventBus.subscribe`; pass it to :meth:`EventBus.unsubscribe`."""

    event_type: type[Event]
    handler: Handler
    predicate: Callable[[Any], bool] | None


class EventBus:
    """Synchronous publish/subscribe keyed by event class (subclasses reach base-class subscribers)."""

    def __init__(self) -> None:
        self._subs: tuple[Subscription, ...] = ()
        #: ``wants``'s answers (asked on every adapter call), valid for the subscriptions they were read from.
        self._wanted: tuple[tuple[Subscription, ...], dict[type[Event], bool]] = ((), {})
        self._lock = threading.Lock()

    def subscribe(
        self,
        event_type: type[E],
        handler: Callable[[E], None],
        *,
        where: Callable[[E], bool] | None = None,
    ) -> Subscription:
        """Call ``handler`` for every published event that is an ``event_type`` (and passes ``where``)."""
        sub = Subscription(event_type, handler, where)
        with self._lock:
            self._subs = (*self._subs, sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not subscription)

    def wants(self, event_type: type[Event]) -> bool:
        """Whether anyone would receive an ``event_type``: publishers skip building events nobody reads."""
        subs = self._subs
        known = self._wanted
        if known[0] is not subs:  # subscribed or unsubscribed since: answers for this snapshot only
            known = self._wanted = (subs, {})
        wanted = known[1].get(event_type)
        if wanted is None:
            wanted = known[1][event_type] = any(issubclass(event_type, sub.event_type) for sub in subs)
        return wanted

    def publish(self, event: Event) -> None:
        for sub in self._subs:  # a snapshot: subscribing during publish takes effect next time
            if not isinstance(event, sub.event_type):
                continue
            try:
                if sub.predicate is None or sub.predicate(event):
                    sub.handler(event)
            except Exception:
                _log.exception("event handler %r failed on %s", sub.handler, type(event).__name__)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)


_GLOBAL_BUS = EventBus()


def get_event_bus() -> EventBus:
    """The process-wide default bus that adapters publish to unless given their own."""
    return _GLOBAL_BUS
