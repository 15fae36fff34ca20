"""What the CCXT adapter remembers of orders, and order updates from successive views of an order.

:class:`OrderDirectory`: many exchanges need an order's symbol to look it up or cancel it (Binance's
``GET /api/v3/order`` does; ccxt's ``features[...]['fetchOrder']['symbolRequired']`` says which), while the
unified interface addresses an order by its id alone. The adapter remembers the symbol of every order it
places or sees, by exchange id and by client order id, within a bound.

:class:`UpdateTracker`: ccxt gives the current state of an order (from ``watchOrders`` or a poll), not what
changed; comparing it with the last state seen gives the changes as order updates: accepted, each fill
with its own quantity and price (the cost added over the quantity added), and how the order ended.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from broker_integration.adapters.ccxt.parsing import decimal, from_ms, order_status
from broker_integration.models import OrderSide, OrderStatus, OrderUpdate, OrderUpdateKind

__all__ = ["OrderDirectory", "UpdateTracker", "quote_fee"]

_LIMIT = 100_000
_ZERO = Decimal(0)
_ENDINGS = {
    OrderStatus.CANCELLED: OrderUpdateKind.CANCELLED,
    OrderStatus.EXPIRED: OrderUpdateKind.EXPIRED,
    OrderStatus.REJECTED: OrderUpdateKind.REJECTED,
}


@dataclass(frozen=True, slots=True)
class Known:
    """An order the adapter has met: its symbol, exchange id and client order id."""

    symbol: str
    broker_order_id: str | None
    client_order_id: str | None


class OrderDirectory:
    """Orders by exchange id and by client order id (the newest holding it), least recently met forgotten
    first past a bound; and every symbol traded."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._by_id: OrderedDict[str, Known] = OrderedDict()
        self._by_client: OrderedDict[str, Known] = OrderedDict()
        self._limit = limit
        self.symbols: dict[str, None] = {}

    def remember(self, symbol: str, broker_order_id: str | None, client_order_id: str | None) -> None:
        """Note an order met (about to be sent, answered, listed, streamed) as the most recently met under each
        of its ids."""
        known = Known(symbol, broker_order_id, client_order_id)
        if symbol not in self.symbols:
            self.symbols[symbol] = None
        if broker_order_id:
            self._keep(self._by_id, broker_order_id, known)
        if client_order_id:
            self._keep(self._by_client, client_order_id, known)

    def _keep(self, table: OrderedDict[str, Known], key: str, known: Known) -> None:
        """``known`` under ``key`` as the most recently met in ``table``; the least recently met forgotten
        past the bound. Three times for every order placed, so a key not held yet (the exchange id, and the
        client order id before sending) costs a lookup, not a move as well."""
        if key in table:
            table.move_to_end(key)
        table[key] = known
        if len(table) > self._limit:
            table.popitem(last=False)

    def find(self, order_id: str) -> Known | None:
        """The order an id names: an exchange id first, then a client order id."""
        return self._by_id.get(order_id) or self._by_client.get(order_id)

    def by_client(self, client_order_id: str) -> Known | None:
        return self._by_client.get(client_order_id)


@dataclass(slots=True)
class _Seen:
    status: OrderStatus
    filled: Decimal
    cost: Decimal
    fee: Decimal


def quote_fee(order: Mapping[str, Any]) -> Decimal:
    """The order's fee when it is charged in the quote currency (the account's cash for a spot pair), else 0:
    a fee in the base asset is not a cost in the account's currency without a conversion the order lacks."""
    fee = order.get("fee") or {}
    quote = str(order.get("symbol") or "").partition("/")[2].partition(":")[0]
    if not quote or fee.get("currency") != quote:
        return _ZERO
    return decimal(fee.get("cost")) or _ZERO


class UpdateTracker:
    """Turns successive views of orders (ccxt order structures) into :class:`OrderUpdate` s."""

    def __init__(self, account_id: str | None = None) -> None:
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._account_id = account_id

    def baseline(self, order: Mapping[str, Any]) -> None:
        """Note ``order`` as it is now without telling it (it was there before the stream began)."""
        self._seen[str(order["id"])] = self._view(order)

    def knows(self, order_id: str) -> bool:
        return order_id in self._seen

    def is_open(self, order_id: str) -> bool:
        seen = self._seen.get(order_id)
        return seen is not None and seen.status.is_open

    def open_ids(self) -> list[str]:
        return [order_id for order_id, seen in self._seen.items() if seen.status.is_open]

    def _view(self, order: Mapping[str, Any]) -> _Seen:
        filled = decimal(order.get("filled")) or _ZERO
        cost = decimal(order.get("cost"))
        if cost is None:
            cost = filled * (decimal(order.get("average")) or _ZERO)
        return _Seen(order_status(order), filled, cost, quote_fee(order))

    def updates(self, order: Mapping[str, Any], *, client_order_id: str | None = None) -> list[OrderUpdate]:
        """What changed in ``order`` since it was last seen (everything, the first time)."""
        order_id = str(order["id"])
        now = self._view(order)
        before = self._seen.get(order_id)
        self._seen[order_id] = now
        self._seen.move_to_end(order_id)
        if len(self._seen) > _LIMIT:
            self._seen.popitem(last=False)
        common: dict[str, Any] = {
            "broker_order_id": order_id,
            "client_order_id": client_order_id or order.get("clientOrderId"),
            "instrument": order.get("symbol"),
            "side": OrderSide(str(order.get("side")).lower()) if order.get("side") else None,
            "time": from_ms(
                order.get("lastUpdateTimestamp") or order.get("lastTradeTimestamp") or order.get("timestamp")
            )
            or datetime.now(UTC),
            "account_id": self._account_id,
        }
        amount = decimal(order.get("amount"))
        told: list[OrderUpdate] = []
        if before is None and now.status is not OrderStatus.REJECTED:
            told.append(OrderUpdate(kind=OrderUpdateKind.ACCEPTED, remaining_quantity=amount, **common))
        previous = before or _Seen(OrderStatus.ACCEPTED, _ZERO, _ZERO, _ZERO)
        added = now.filled - previous.filled
        if added > 0:
            average = decimal(order.get("average"))
            price = average if previous.filled == 0 and average else (now.cost - previous.cost) / added
            complete = now.status is OrderStatus.FILLED or (amount is not None and now.filled >= amount)
            told.append(
                OrderUpdate(
                    kind=OrderUpdateKind.FILLED if complete else OrderUpdateKind.PARTIALLY_FILLED,
                    fill_quantity=added,
                    fill_price=price if price > 0 else None,
                    commission=max(_ZERO, now.fee - previous.fee),
                    filled_quantity=now.filled,
                    remaining_quantity=(amount - now.filled) if amount is not None else None,
                    **common,
                )
            )
        ending = _ENDINGS.get(now.status)
        if ending is not None and (before is None or before.status is not now.status):
            told.append(
                OrderUpdate(
                    kind=ending,
                    filled_quantity=now.filled,
                    remaining_quantity=(amount - now.filled) if amount is not None else None,
                    reason=str(order.get("status") or ""),
                    **common,
                )
            )
        return told
