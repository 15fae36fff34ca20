"""A tiny scripted venue for pipeline tests: it can fail before executing, after executing, or hang."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from decimal import Decimal
from typing import Any

from broker_integration.broker_config import BrokerCredentials
from broker_integration.errors import (
    DuplicateOrderError,
    InsufficientFundsError,
    OrderNotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
)
from broker_integration.models import (
    Order,
    OrderResult,
    OrderStatus,
    OrderTrace,
    OrderTraceStatus,
    OrderType,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerAdapter

PRICE = Decimal("1.1")


def an_order() -> UnifiedOrder:
    """A fresh intent (its own client order id) to buy 1,000 EUR/USD at market."""
    return UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000))


class ScriptedVenue(BrokerAdapter):
    """Fills every order at 1.1 unless the next scripted fault says otherwise.

    Faults: ``before`` (503 before executing), ``after`` (executes, then the answer is lost),
    ``reset`` (executes, then the connection resets), ``hang`` (never answers), ``refuse``
    (insufficient funds), ``throttle`` (429 with Retry-After 0.2 s).
    """

    broker_name = "venue"
    absence_grace_seconds = 0.0  # the scripted venue's record is complete at once

    def __init__(self, *args: Any, faults: list[str | None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.faults: deque[str | None] = deque(faults or [])
        self.orders: dict[str, Order] = {}
        self.executions = 0
        self.lookup_faults: deque[str | None] = deque()
        self.lookups = 0
        #: Refuse a reused client order id. OANDA only does so for pending orders, so a filled order's id
        #: can execute again: set False to model that.
        self.reject_duplicates = True
        self.executions_by_client: Counter[str] = Counter()

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        fault = self.faults.popleft() if self.faults else None
        if fault == "before":
            raise ServiceUnavailableError("503 Service Unavailable", http_status=503)
        if fault == "throttle":
            raise RateLimitedError("429 Too Many Requests", retry_after=0.2, http_status=429)
        if fault == "refuse":
            raise InsufficientFundsError("insufficient margin")
        if fault == "hang":
            await asyncio.sleep(30)
        if self.reject_duplicates and order.order_id in self.orders:
            raise DuplicateOrderError("client order id already used")
        self.executions += 1
        self.executions_by_client[order.order_id] += 1
        broker_id = str(len(self.orders) + 1)
        self.orders[order.order_id] = Order(
            broker_order_id=broker_id,
            client_order_id=order.order_id,
            instrument=order.instrument,
            side=order.side,
            order_type=OrderType.MARKET,
            quantity=order.quantity,
            filled_quantity=order.quantity,
            time_in_force=TimeInForce.FOK,
            status=OrderStatus.FILLED,
            average_fill_price=PRICE,
            created_at=self.clock.now(),
        )
        if fault == "after":
            raise OutcomeUnknownError("executed, but the response was lost")
        if fault == "reset":
            raise ConnectionResetError("connection reset by peer")
        return OrderResult(
            success=True,
            broker_order_id=broker_id,
            status=OrderStatus.FILLED,
            filled_quantity=order.quantity,
            average_fill_price=PRICE,
        )

    async def get_order(self, order_id: str) -> Order:
        self.lookups += 1
        fault = self.lookup_faults.popleft() if self.lookup_faults else None
        if fault == "before":
            raise ServiceUnavailableError("503 on lookup")
        for order in self.orders.values():
            if order_id in (order.broker_order_id, order.client_order_id):
                return order
        raise OrderNotFoundError(f"no order {order_id}")

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """The venue's own record: every order it ever executed."""
        try:
            order = await self.get_order(client_order_id)
        except OrderNotFoundError:
            return OrderTrace(status=OrderTraceStatus.ABSENT, evidence=f"no order {client_order_id} executed")
        return OrderTrace(status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id)
