"""The simulator's state, shared by its face, handlers and streams: one per running server.

It holds the venue engine and what Alpaca shows that the engine does not keep (:class:`OrderRecord`: UUIDs,
client order ids, Alpaca's time in force and sizing), the key pair and its one account, the request bucket,
and the trade-update feed: the engine's log turned into ``trade_updates`` frames once, in order, for every
listening connection (:meth:`AlpacaState.pump`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web

from broker_integration.sim.alpaca.listing import ListedAsset
from broker_integration.sim.alpaca.render import (
    FIRST_TRADE_ID,
    OrderRecord,
    decimal_text,
    order_json,
    status_of,
    time_text,
)
from broker_integration.sim.alpaca.settings import AlpacaSimSettings, new_key_id, new_secret_key
from broker_integration.sim.buckets import TokenBucket
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.faults.middleware import WireCounts
from broker_integration.sim.hours import US_EQUITY_HOURS
from broker_integration.sim.records import CancelReason, OrderView, RejectReason, Transaction, TransactionType

__all__ = ["STATE", "AlpacaState", "KeyBucket", "ServedCounts"]

_NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class ServedCounts(WireCounts):
    """What the simulator has done so far: requests and faults by operation, streams and frames."""

    trade_updates_sent: int = 0
    quotes_sent: int = 0


class KeyBucket:
    """Alpaca's request limit per key: a bucket of ``per_minute`` tokens refilled continuously; a request
    finding it empty waits the seconds :meth:`admit` returns (0: admitted)."""

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._bucket = TokenBucket.full(per_minute / 60.0, per_minute, clock())

    def admit(self) -> int:
        return self._bucket.take(self._clock())


_EVENT_OF_CANCEL: dict[object, str] = {
    CancelReason.CLIENT_REQUEST: "canceled",
    CancelReason.CLIENT_REQUEST_REPLACED: "replaced",
    CancelReason.TIME_IN_FORCE_EXPIRED: "expired",
    CancelReason.IOC_REMAINDER: "canceled",
    RejectReason.FOK_NOT_FILLED: "canceled",
    RejectReason.IOC_NOT_FILLED: "canceled",
}


class AlpacaState:
    """Everything a request handler needs, built once when the simulator is made."""

    def __init__(
        self, engine: VenueEngine, settings: AlpacaSimSettings, listing: Iterable[ListedAsset]
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.assets: dict[str, ListedAsset] = {asset.symbol: asset for asset in listing}
        self._by_wire = {asset.wire_symbol: asset for asset in self.assets.values()}
        self.key_id = settings.key_id or new_key_id()
        self.secret_key = settings.secret_key or new_secret_key()
        self.account_id = str(uuid.uuid4())
        self.account_number = "PA3" + uuid.uuid4().hex[:9].upper()
        self.created_at = engine.clock.now()
        self.records: dict[str, OrderRecord] = {}  # Alpaca order id -> record
        self.by_engine: dict[str, OrderRecord] = {}
        self.by_client: dict[str, str] = {}  # client order id -> Alpaca order id
        self.bucket = KeyBucket(settings.requests_per_minute) if settings.requests_per_minute else None
        self.counts = ServedCounts()
        self.closing = asyncio.Event()
        self.silenced = False
        self.streams: dict[int, web.WebSocketResponse] = {}
        #: ``trade_updates`` frames, encoded once, in the order the engine's log wrote what they tell.
        self.feed: list[bytes] = []
        self.feed_changed = asyncio.Event()
        self._converted = 0
        self._fills: dict[str, tuple[Decimal, Decimal]] = {}  # engine order id -> (filled, value)
        self.trade_ids = itertools.count(FIRST_TRADE_ID)

    def open_account(self) -> None:
        if not self.engine.has_account(self.account_id):
            self.engine.open_account(self.account_id)
        self._converted = self.engine.last_transaction_id

    def open_accounts(self) -> None:
        """Open the account when the engine lacks it (the simulator starts; it was opened when made)."""
        if not self.engine.has_account(self.account_id):
            self.open_account()

    # ------------------------------------------------------------------ assets

    def asset(self, symbol: str) -> ListedAsset | None:
        """The asset a request names: ``AAPL``, ``BTC/USD`` or ``BTCUSD``, any case."""
        text = symbol.strip().upper()
        return self.assets.get(text) or self._by_wire.get(text.replace("/", ""))

    # ------------------------------------------------------------------ orders

    def new_record(
        self,
        view: OrderView,
        asset: ListedAsset,
        *,
        client_order_id: str | None,
        time_in_force: str,
        **extra: Any,
    ) -> OrderRecord:
        record = OrderRecord(
            engine_id=view.order_id,
            order_id=str(uuid.uuid4()),
            client_order_id=client_order_id or str(uuid.uuid4()),
            asset=asset,
            time_in_force=time_in_force,
            submitted_at=view.created_at,
            **extra,
        )
        self.records[record.order_id] = record
        self.by_engine[record.engine_id] = record
        self.by_client[record.client_order_id] = record.order_id
        return record

    def view_of(self, record: OrderRecord) -> OrderView:
        view = self.engine.find_order(self.account_id, record.engine_id)
        assert view is not None  # every record names an engine order
        return view

    def visible(self, order_id: str) -> OrderRecord | None:
        record = self.records.get(order_id)
        return None if record is None or record.hidden else record

    # ------------------------------------------------------------------ the trade-update feed

    def pump(self) -> None:
        """Turn what the engine's log wrote since the last pump into ``trade_updates`` frames."""
        new = self.engine.transactions(account_id=self.account_id, since_id=self._converted)
        self._converted = self.engine.last_transaction_id
        added = False
        for transaction in new:
            message = self._event(transaction)
            if message is not None:
                self.feed.append(orjson.dumps({"stream": "trade_updates", "data": message}))
                added = True
        if added:
            self.feed_changed.set()
            self.feed_changed = asyncio.Event()

    def _event(self, transaction: Transaction) -> dict[str, Any] | None:
        engine_id = transaction.order_id
        record = self.by_engine.get(engine_id) if engine_id is not None else None
        if record is None or record.hidden:
            return None
        view = self.view_of(record)
        when = transaction.time
        kind = transaction.type
        filled, value = self._fills.get(record.engine_id, (Decimal(0), Decimal(0)))
        average = value / filled if filled else None
        extra: dict[str, Any] = {}
        if kind is TransactionType.ORDER_CREATE:
            event = "new"
            order = order_json(record, view, status="new", filled=Decimal(0), updated=when)
        elif kind is TransactionType.ORDER_FILL:
            units, price = transaction.units or Decimal(0), transaction.price or Decimal(0)
            filled, value = filled + units, value + units * price
            self._fills[record.engine_id] = (filled, value)
            average = (value / filled).quantize(Decimal("1e-9")).normalize()
            event = "fill" if filled >= view.units else "partial_fill"
            status = "filled" if event == "fill" else "partially_filled"
            order = order_json(record, view, status=status, filled=filled, average=average, updated=when)
            position = transaction.details.get("position_units")
            extra = {
                "price": decimal_text(price),
                "qty": decimal_text(units),
                "position_qty": decimal_text(position) if isinstance(position, Decimal) else None,
                "execution_id": str(uuid.uuid4()),
            }
        elif kind is TransactionType.ORDER_CANCEL:
            reason = transaction.reason
            event = _EVENT_OF_CANCEL.get(reason, "rejected") if reason is not None else "canceled"
            status = {"canceled": "canceled", "replaced": "replaced", "expired": "expired"}.get(
                event, "rejected"
            )
            order = order_json(record, view, status=status, filled=filled, average=average, updated=when)
        else:
            return None
        stamp = time_text(when)
        return {"event": event, "at": stamp, "timestamp": stamp, "order": order, **extra}

    # ------------------------------------------------------------------ the market clock

    def clock_json(self) -> dict[str, Any]:
        """``GET /v2/clock``: the stock market's state now and its next open and close, in New York time."""
        now = self.engine.clock.now()
        stamp = int(now.timestamp())
        if not self.engine.profile.enforce_trading_hours:
            is_open, next_open, next_close = True, now + timedelta(days=7), now + timedelta(days=1)
        else:
            intervals = US_EQUITY_HOURS.open_intervals(stamp - 86_400, stamp + 10 * 86_400)
            is_open = any(start <= stamp < end for start, end in intervals)
            upcoming_open = next(start for start, _ in intervals if start > stamp)
            upcoming_close = next(end for _, end in intervals if end > stamp)
            next_open = datetime.fromtimestamp(upcoming_open, _NEW_YORK)
            next_close = datetime.fromtimestamp(upcoming_close, _NEW_YORK)
        return {
            "timestamp": _new_york(now),
            "is_open": is_open,
            "next_open": _new_york(next_open),
            "next_close": _new_york(next_close),
        }

    def status_of(self, record: OrderRecord) -> str:
        return status_of(self.view_of(record))


def _new_york(when: datetime) -> str:
    """The clock's times are New York wall-clock times with their offset (Alpaca's ``/v2/clock``)."""
    return when.astimezone(_NEW_YORK).isoformat()


#: Where the application keeps its :class:`AlpacaState`.
STATE = web.AppKey("alpaca_simulator_state", AlpacaState)
