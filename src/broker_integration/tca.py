"""Transaction cost analysis: the one place execution quality is computed.

The quote at arrival travels with the call: whoever decides to trade (the A/B framework, a strategy) takes
the quote once and places the order inside :func:`arrival_quote`; the call pipeline records it on the
order's :class:`~broker_integration.events.CallEvent`, so metrics and the A/B log measure against the same
quote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from broker_integration.models import PriceTick

__all__ = ["arrival_quote", "current_arrival_quote"]

_ARRIVAL: ContextVar[PriceTick | None] = ContextVar("broker_integration_arrival_quote", default=None)


@contextmanager
def arrival_quote(quote: PriceTick | None) -> Iterator[None]:
    """Orders placed inside this block are measured against ``quote`` (the market when the decision was
    made), by every consumer of their call events."""
    token = _ARRIVAL.set(quote)
    try:
        yield
    finally:
        _ARRIVAL.reset(token)


def current_arrival_quote() -> PriceTick | None:
    """The arrival quote of the order being placed in this task, if its caller gave one."""
    return _ARRIVAL.get()
