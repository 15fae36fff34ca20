"""The pipeline's vocabulary: one call as it passes through (:class:`CallContext`), the stage protocol, where
stages sit (:class:`InterceptorPriority`), and what protocol code tells the pipeline while it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from broker_integration.models import OrderResult, UnifiedOrder
from broker_integration.pipeline.operations import Operation

if TYPE_CHECKING:
    from broker_integration.pipeline.adapter import BrokerAdapter

__all__ = [
    "CallContext",
    "CallInterceptor",
    "InterceptorPriority",
    "Proceed",
    "current_order_call",
    "inside_adapter",
    "note_request_sent",
]


class InterceptorPriority:
    """Where a stage sits in the pipeline: lower runs first (further from the broker)."""

    CREDENTIALS = 10
    PRE_TRADE = 100
    RETRY = 150
    RATE_LIMIT = 200
    CIRCUIT_BREAKER = 300
    JOURNAL = 350
    TIMEOUT = 400


@dataclass(slots=True)
class CallContext:
    """One call as it passes through the pipeline; stages read it and may add to ``detail``.

    ``sent`` becomes true when the request may have reached the broker (see :func:`note_request_sent`).
    ``nested``: made by the adapter's own code inside another of its calls (a derived default such as
    ``health_check`` reading ``get_account_summary``): timed, mapped and reported, but not passed through
    the stages again — the outer call holds its rate-limit slot, breaker permit and deadline.
    """

    adapter: BrokerAdapter
    operation: Operation
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    started_at: datetime
    started_ns: int
    order: UnifiedOrder | None = None
    sent: bool = False
    nested: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    #: The result ``BrokerAdapter.completed_result`` last built for this call: complete already.
    completed: OrderResult | None = None


Proceed = Callable[[], Awaitable[Any]]


class CallInterceptor(Protocol):
    """A pipeline stage: do something around ``proceed()`` (the rest of the pipeline) and return its value."""

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any: ...


#: The order action running in this task, so protocol code can report sending and build its result.
_ORDER_CALL: ContextVar[CallContext | None] = ContextVar("broker_integration_order_call", default=None)
#: The adapter whose own protocol code is running in this task (inside the innermost pipeline step).
_INSIDE: ContextVar[BrokerAdapter | None] = ContextVar("broker_integration_inside_adapter", default=None)


def note_request_sent() -> None:
    """Say that the order action running in this task is about to send its request to the broker.

    Protocol code of an adapter with ``reports_sending = True`` calls it just before the request leaves the
    process; a failure before that is known not to have reached the broker (nothing to look up, safe to
    route elsewhere).
    """
    ctx = _ORDER_CALL.get()
    if ctx is not None:
        ctx.sent = True


def current_order_call() -> CallContext | None:
    """The order action running in this task, if any."""
    return _ORDER_CALL.get()


def inside_adapter() -> BrokerAdapter | None:
    """The adapter whose protocol code is running in this task, if any."""
    return _INSIDE.get()
