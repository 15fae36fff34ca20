"""One ``trade_updates`` websocket per adapter, shared by everything that wants the account's order changes.

Alpaca answers ``POST /v2/orders`` with the order *accepted* and fills it afterwards (reference §2.4;
alpacahq/Alpaca-API#107): the fill of a market order is told on ``trade_updates``. :class:`TradeUpdates` keeps
that stream open while the adapter wants it and hands each event to:

* waiters — ``place_order`` (and ``close_position``) waiting for an order that executes at once to be
  filled or cancelled, by Alpaca's order id (the last final events are kept, so an event that outran the
  HTTP answer still counts);
* subscribers — each ``stream_order_updates`` consumer, as :class:`~broker_integration.models.OrderUpdate`.

After a reconnection the orders changed meanwhile are read from the REST API (the open orders it had been
told of, and those submitted since the drop) and told as events, so a consumer misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from broker_integration.adapters.alpaca import parsing
from broker_integration.adapters.alpaca.client import AlpacaClient
from broker_integration.adapters.alpaca.streams import trade_update_messages
from broker_integration.clock import Clock
from broker_integration.errors import BrokerError
from broker_integration.log import get_logger
from broker_integration.models import OrderUpdate

__all__ = ["FINAL_STATUSES", "TradeUpdates"]

_log = get_logger("broker_integration.adapters.alpaca")

#: Alpaca order statuses after which nothing more happens to an order.
FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"})
_FINAL_EVENTS = frozenset({"fill", "canceled", "expired", "rejected", "replaced", "done_for_day"})
_RECENT = 2_048
#: The event a status is told as when it is learnt from the REST API after a reconnection.
_EVENT_OF_STATUS: Mapping[str, str] = {
    "new": "new",
    "accepted": "new",
    "partially_filled": "partial_fill",
    "filled": "fill",
    "canceled": "canceled",
    "expired": "expired",
    "rejected": "rejected",
    "replaced": "replaced",
}

Message = Mapping[str, Any]


class TradeUpdates:
    """The adapter's ``trade_updates`` stream: started on first use, stopped by :meth:`close`."""

    def __init__(
        self,
        client: AlpacaClient,
        url: str,
        clock: Clock,
        *,
        silence_seconds: float,
        max_reconnects: int,
    ) -> None:
        self._client = client
        self._url = url
        self._clock = clock
        self._silence = silence_seconds
        self._max_reconnects = max_reconnects
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._subscribers: list[asyncio.Queue[Message | BaseException]] = []
        self._by_id: dict[str, asyncio.Future[Message]] = {}
        self._recent: OrderedDict[str, Message] = OrderedDict()  # final events by order id
        #: What each open order the stream told of had filled, and its status: to tell fills apart and
        #: to find what changed while disconnected.
        self._known: dict[str, tuple[str, Decimal]] = {}
        self._dropped_at: Any = None

    # ------------------------------------------------------------------ life cycle

    @property
    def listening(self) -> bool:
        """Whether the stream is connected and listening now."""
        return self._listening.is_set() and self._task is not None and not self._task.done()

    def start(self) -> None:
        """Open the stream in the background, if it is not open already."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="alpaca trade_updates")

    async def wait_listening(self, timeout: float) -> bool:
        """Start the stream and wait up to ``timeout`` seconds for it to listen."""
        self.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._listening.wait()
        return self.listening

    async def close(self) -> None:
        task, self._task = self._task, None
        self._listening.clear()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for future in self._by_id.values():
            future.cancel()
        self._by_id.clear()

    async def _run(self) -> None:
        messages = trade_update_messages(
            self._client,
            self._url,
            silence_seconds=self._silence,
            max_reconnects=self._max_reconnects,
            catch_up=self._catch_up,
            connected=self._listening.set,
        )
        try:
            async for message in messages:
                self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream gave up: its subscribers hear why, waiters fall back to lookups
            _log.warning("alpaca trade_updates stream stopped: %s", exc)
            for queue in self._subscribers:
                queue.put_nowait(exc)
        finally:
            self._listening.clear()

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, message: Message) -> None:
        order = message.get("order")
        if not isinstance(order, Mapping) or "id" not in order:
            return
        order_id = str(order["id"])
        event = str(message.get("event"))
        if event in _FINAL_EVENTS and not (event == "fill" and _partly(order)):
            self._known.pop(order_id, None)
            self._recent[order_id] = message
            if len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
            future = self._by_id.pop(order_id, None)
            if future is not None and not future.done():
                future.set_result(message)
        else:
            self._known[order_id] = (str(order.get("status")), _filled(order))
        for queue in self._subscribers:
            queue.put_nowait(message)

    # ------------------------------------------------------------------ waiting for an order's end

    def final_event(self, order_id: str) -> asyncio.Future[Message]:
        """A future for the final event of the order ``order_id`` (done at once if it came already)."""
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        seen = self._recent.get(order_id)
        if seen is not None:
            future.set_result(seen)
        else:
            self._by_id[order_id] = future
        return future

    def forget_id(self, order_id: str) -> None:
        future = self._by_id.pop(order_id, None)
        if future is not None:
            future.cancel()

    # ------------------------------------------------------------------ subscribers

    async def updates(self) -> AsyncIterator[OrderUpdate]:
        """Every order change from now on, as an :class:`OrderUpdate`, until the consumer stops."""
        queue: asyncio.Queue[Message | BaseException] = asyncio.Queue()
        self._subscribers.append(queue)
        filled: dict[str, Decimal] = {}
        try:
            self.start()
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                update = self._update(item, filled)
                if update is not None:
                    yield update
        finally:
            self._subscribers.remove(queue)

    @staticmethod
    def _update(message: Message, filled: dict[str, Decimal]) -> OrderUpdate | None:
        order = message["order"]
        order_id = str(order["id"])
        update = parsing.order_update(message, filled.get(order_id, Decimal(0)))
        if update is None:
            return None
        if update.kind.is_fill and update.filled_quantity is not None:
            filled[order_id] = update.filled_quantity
        if update.kind.status.is_terminal:
            filled.pop(order_id, None)
        return update

    # ------------------------------------------------------------------ after a reconnection

    async def _catch_up(self) -> list[Message]:
        """What changed while the stream was down, read from the REST API, as trade-update events."""
        self._listening.clear()
        missed: list[Message] = []
        since = self._clock.now() - timedelta(seconds=max(self._silence, 5.0) * 2)
        try:
            _, listed = await self._client.request(
                "GET",
                "/v2/orders",
                params={
                    "status": "all",
                    "after": parsing.format_time(since),
                    "direction": "asc",
                    "limit": "500",
                },
            )
            orders: dict[str, Mapping[str, Any]] = {str(o["id"]): o for o in listed if isinstance(o, Mapping)}
            for order_id in list(self._known):
                if order_id not in orders:
                    _, orders[order_id] = await self._client.request("GET", f"/v2/orders/{order_id}")
        except BrokerError as exc:
            _log.warning("alpaca trade_updates: could not read what changed while disconnected: %s", exc)
            return []
        for order_id, order in orders.items():
            status = str(order.get("status"))
            before = self._known.get(order_id)
            if before is not None and before == (status, _filled(order)):
                continue
            if before is None and status in FINAL_STATUSES and order_id in self._recent:
                continue  # its end was told already
            event = _EVENT_OF_STATUS.get(status)
            if event is None:
                continue
            missed.append({"event": event, "order": order, "timestamp": order.get("updated_at")})
        for message in missed:
            self._dispatch(message)
        return []  # dispatched here already: the stream's consumer gets nothing twice


def _filled(order: Mapping[str, Any]) -> Decimal:
    value = order.get("filled_qty")
    return parsing.parse_decimal(value) if value not in (None, "") else Decimal(0)


def _partly(order: Mapping[str, Any]) -> bool:
    """A ``fill`` event whose order is not entirely filled (a notional or replaced order can tell so)."""
    return str(order.get("status")) == "partially_filled"
