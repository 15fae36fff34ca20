"""``OandaAdapter``: the unified interface over OANDA's v20 REST and streaming API.

Protocol translation only; timing, limits, the breaker, retries, the journal and events come from the
base class's pipeline. Facts: ``shared/reference/broker_apis.md`` §1.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import aiohttp
import orjson
from pydantic import SecretStr

from broker_integration.adapters.oanda import parsing
from broker_integration.adapters.oanda.client import BROKER_NAME, OandaClient
from broker_integration.adapters.oanda.config import OandaOptions
from broker_integration.adapters.oanda.hosts import HOSTS, hosts_for
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerLimits
from broker_integration.clock import Clock
from broker_integration.errors import (
    AuthenticationError,
    BrokerConnectionError,
    BrokerError,
    InvalidOrderError,
    OrderNotFoundError,
    PositionNotFoundError,
    StandardizedError,
    map_broker_error,
)
from broker_integration.events import EventBus
from broker_integration.models import (
    Account,
    AccountSummary,
    Candle,
    Granularity,
    HealthState,
    HealthStatus,
    Instrument,
    Order,
    OrderModification,
    OrderResult,
    OrderStatus,
    OrderTrace,
    OrderTraceStatus,
    OrderUpdate,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability

__all__ = ["HOSTS", "OandaAdapter"]

MAX_CANDLES_PER_REQUEST = 5000
#: Transactions read per ``sinceid`` page before asking from the last one again (OANDA answers at most
#: 1,000 transactions to one request; spec: TransactionEndpoints).
MAX_TRANSACTIONS_PER_REQUEST = 1000


class OandaAdapter(BrokerAdapter):
    """OANDA v20. Options (``config.options``): ``stream_heartbeat_timeout`` (s, default 10),
    ``stream_max_reconnects`` (default 5), ``connections`` (pool size, default 64),
    ``absence_grace_seconds`` (default 30: how long after sending an order's absence from the account's
    transaction history is not yet proof that it was never placed; OANDA's documented read-after-write lag
    is 0.25-0.5 s, and a request still queued at the venue is covered too)."""

    reports_sending: ClassVar[bool] = True

    broker_name: ClassVar[str] = BROKER_NAME
    #: OANDA's published guidance: about 100 requests per second on a persistent connection.
    default_limits: ClassVar[BrokerLimits | None] = BrokerLimits(
        requests_per_second=100, max_orders_per_second=100
    )
    capabilities: ClassVar[frozenset[BrokerCapability] | None] = frozenset(
        {
            BrokerCapability.MARKET_ORDERS,
            BrokerCapability.LIMIT_ORDERS,
            BrokerCapability.STOP_ORDERS,
            BrokerCapability.MARKET_IF_TOUCHED_ORDERS,
            BrokerCapability.TAKE_PROFIT_STOP_LOSS,
            BrokerCapability.MODIFY_ORDERS,
            BrokerCapability.CANCEL_ORDERS,
            BrokerCapability.ORDER_LISTING,
            BrokerCapability.CLIENT_ORDER_ID_LOOKUP,
            BrokerCapability.POSITIONS,
            BrokerCapability.CLOSE_POSITION,
            BrokerCapability.CURRENT_PRICES,
            BrokerCapability.STREAMING_PRICES,
            BrokerCapability.ORDER_UPDATES,
            BrokerCapability.HISTORICAL_DATA,
            BrokerCapability.ACCOUNT_SUMMARY,
            BrokerCapability.MULTIPLE_ACCOUNTS,
            BrokerCapability.INSTRUMENTS,
            BrokerCapability.HEALTH_CHECK,
        }
    )
    supported_time_in_force: ClassVar[frozenset[TimeInForce] | None] = frozenset(parsing.TIF_TO_OANDA)

    def __init__(
        self,
        config: BrokerConfiguration | None = None,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        config = config or BrokerConfiguration(broker_name=BROKER_NAME)
        self.options = OandaOptions.from_configuration(config)  # refused before anything opens
        super().__init__(config, event_bus=event_bus, clock=clock)
        default_rest, default_stream = hosts_for(config.credentials.environment)
        self.base_url = config.endpoints.base_url or default_rest
        self.stream_url = config.endpoints.stream_url or config.endpoints.base_url or default_stream
        self.heartbeat_timeout = self.options.stream_heartbeat_timeout
        self.max_stream_reconnects = self.options.stream_max_reconnects
        self.absence_grace_seconds = self.options.absence_grace_seconds
        self.account_id: str | None = config.credentials.account_id
        self._instruments: dict[str, Instrument] | None = None
        self._client = OandaClient(
            self.base_url,
            self.stream_url,
            config.credentials.api_key or SecretStr(""),
            connections=self.options.connections,
        )

    # ------------------------------------------------------------------ session

    def _account_path(self, suffix: str = "") -> str:
        if self.account_id is None:
            raise AuthenticationError("no OANDA account selected: authenticate first", broker_name=self.name)
        return f"/v3/accounts/{self.account_id}{suffix}"

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        """Check the token by listing its accounts; select the configured account (or the only one)."""
        credentials = credentials or self.credentials
        if credentials is None or credentials.api_key is None:
            raise AuthenticationError(
                "OANDA needs an API token in credentials.api_key", broker_name=self.name
            )
        self._client.set_token(credentials.api_key)
        _, body = await self._client.request("GET", "/v3/accounts")
        ids = [a["id"] for a in body.get("accounts", [])]
        wanted = credentials.account_id or self.account_id
        if wanted is None:
            if len(ids) != 1:
                raise AuthenticationError(
                    f"the token reaches {len(ids)} accounts; set credentials.account_id to one of {ids}",
                    broker_name=self.name,
                )
            wanted = ids[0]
        if wanted not in ids:
            raise AuthenticationError(
                f"account {wanted} is not reachable with this token", broker_name=self.name
            )
        self.account_id = wanted
        # The account's instruments, for refusing orders their rules forbid before sending; the answer's
        # lastTransactionID is also the first history marker.
        self._instruments = {i.symbol: i for i in await self._fetch_instruments()}
        return True

    def history_marker(self) -> str | None:
        last = self._client.last_transaction_id
        return None if last is None else str(last)

    def known_instruments(self) -> Mapping[str, Instrument] | None:
        return self._instruments

    async def disconnect(self) -> None:
        await self._client.close()

    async def health_check(self) -> HealthStatus:
        start = self.clock.monotonic_ns()
        try:
            await self._client.request("GET", self._account_path("/summary"))
        except BrokerError as exc:
            return HealthStatus(state=HealthState.DOWN, checked_at=self.clock.now(), message=str(exc.error))
        latency = (self.clock.monotonic_ns() - start) / 1e6
        return HealthStatus(state=HealthState.HEALTHY, checked_at=self.clock.now(), latency_ms=latency)

    # ------------------------------------------------------------------ orders

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        _, body = await self._client.request(
            "POST", self._account_path("/orders"), body={"order": parsing.order_request(order)}
        )
        return self._order_result(body, order)

    def _order_result(
        self, body: Mapping[str, Any], order: UnifiedOrder | None, *, replacement: bool = False
    ) -> OrderResult:
        """Read a 201 order response: filled, resting, or accepted-then-cancelled (a refusal).

        In a replace answer ``orderCancelTransaction`` is the replaced order's cancel (reason
        CLIENT_REQUEST_REPLACED), not a refusal; a replacement cancelled at once comes as
        ``replacingOrderCancelTransaction`` (reference §1.5 replace response; spec PUT …/orders/{id} 201).
        """
        created = body.get("orderCreateTransaction") or {}
        order_id = str(created.get("id")) if created.get("id") is not None else None
        fill = body.get("orderFillTransaction")
        cancel = body.get("replacingOrderCancelTransaction" if replacement else "orderCancelTransaction")
        if cancel is not None and fill is None:
            reason = cancel.get("reason", "UNKNOWN")
            error = map_broker_error(
                self.name,
                reason,
                f"OANDA cancelled the order: {reason}",
                http_status=201,
                context={"orderID": cancel.get("orderID")},
            )
            return self._refused(order_id, error)
        if fill is not None:
            units = abs(parsing.parse_decimal(fill.get("units", "0")))
            price = fill.get("price") or (fill.get("tradeOpened") or {}).get("price")
            commission = abs(parsing.parse_decimal(fill.get("commission", "0")))
            requested = order.units if order is not None else units
            status = (
                OrderStatus.FILLED if cancel is None and units >= requested else OrderStatus.PARTIALLY_FILLED
            )
            if cancel is not None and units < requested:
                status = OrderStatus.PARTIALLY_FILLED  # IOC: the rest was cancelled
            return self.completed_result(
                success=True,
                broker_order_id=order_id or fill.get("orderID"),
                status=status,
                filled_quantity=units,
                average_fill_price=parsing.parse_decimal(price) if price else None,
                commission=commission,
                quote_home_rate=parsing.quote_home_factor(fill),
                completed_at=parsing.parse_time(fill["time"]) if "time" in fill else None,
                metadata={"transaction_id": fill.get("id"), "half_spread_cost": fill.get("halfSpreadCost")},
            )
        return self.completed_result(
            success=True,
            broker_order_id=order_id,
            status=OrderStatus.ACCEPTED,
            metadata={"transaction_id": created.get("id")},
        )

    def _refused(self, order_id: str | None, error: StandardizedError) -> OrderResult:
        return self.completed_result(
            success=False,
            broker_order_id=order_id,
            status=OrderStatus.REJECTED,
            error=error,
            message=error.message,
        )

    def _specifier(self, order_id: str) -> str:
        """OANDA ids are numeric; anything else is our client order id, addressed as ``@id``."""
        return order_id if order_id.isdigit() else f"@{quote(order_id, safe='')}"

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """The order by ``@clientID``; when OANDA does not know it (yet), the account's transaction history
        after ``since`` (``/transactions/sinceid``), which holds every order created or refused."""
        try:
            order = await self._lookup_order(client_order_id)
        except OrderNotFoundError:
            pass
        else:
            return OrderTrace(
                status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id
            )
        if since is None or not since.isdigit():
            return OrderTrace(
                status=OrderTraceStatus.UNKNOWN,
                evidence="no history marker was recorded when it was sent, so the history cannot be searched",
            )
        cursor, last = since, since
        while True:
            _, body = await self._client.request(
                "GET", self._account_path("/transactions/sinceid"), params={"id": cursor}
            )
            transactions = body.get("transactions") or []
            last = str(body.get("lastTransactionID", last))
            found = parsing.find_order_transaction(transactions, client_order_id)
            if found is not None:
                return self._traced(client_order_id, *found)
            if len(transactions) < MAX_TRANSACTIONS_PER_REQUEST or not transactions:
                break
            cursor = str(transactions[-1]["id"])
        return OrderTrace(
            status=OrderTraceStatus.ABSENT,
            evidence=f"OANDA's transactions {since} to {last} hold no order with client id {client_order_id}",
        )

    def _traced(self, client_order_id: str, created: bool, transaction: Mapping[str, Any]) -> OrderTrace:
        transaction_id = str(transaction.get("id"))
        if created:
            return OrderTrace(
                status=OrderTraceStatus.PLACED,
                broker_order_id=transaction_id,
                evidence=f"transaction {transaction_id} created it; its state could not be read yet",
            )
        reason = str(transaction.get("rejectReason", "UNKNOWN"))
        return OrderTrace(
            status=OrderTraceStatus.REFUSED,
            error=map_broker_error(self.name, reason, f"OANDA refused order {client_order_id}: {reason}"),
            evidence=f"transaction {transaction_id} refused it: {reason}",
        )

    async def get_order(self, order_id: str) -> Order:
        return await self._lookup_order(order_id)

    async def _lookup_order(self, order_id: str) -> Order:
        _, body = await self._client.request(
            "GET", self._account_path(f"/orders/{self._specifier(order_id)}")
        )
        data = body["order"]
        order = parsing.parse_order(data)
        filling = data.get("fillingTransactionID")
        if order.status is OrderStatus.FILLED and order.average_fill_price is None and filling:
            # A v20 Order carries no fill price; its filling transaction does (spec: Order.fillingTransactionID,
            # OrderFillTransaction.price / fullVWAP). An order resolved by lookup needs it (a fill has a price).
            _, found = await self._client.request("GET", self._account_path(f"/transactions/{filling}"))
            fill = found.get("transaction") or {}
            price = fill.get("price") or fill.get("fullVWAP")
            if price:
                order = order.model_copy(update={"average_fill_price": parsing.parse_decimal(price)})
        return order

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        params = {"state": "ALL" if include_closed else "PENDING", "count": "500"}
        if instrument is not None:
            params["instrument"] = parsing.SYMBOLS.to_broker(instrument)
        _, body = await self._client.request("GET", self._account_path("/orders"), params=params)
        return [parsing.parse_order(o) for o in body.get("orders", []) if parsing.is_entry_order(o)]

    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        """OANDA replaces an order: the replacement gets a new id, linked to the old one."""
        current = await self.get_order(order_id)
        if not current.status.is_open:
            raise InvalidOrderError(
                f"order {order_id} is {current.status.value}; only pending orders can be changed"
            )
        changes = modification.model_dump(exclude_unset=True)
        replacement = UnifiedOrder(
            order_id=current.client_order_id or f"replace-{current.broker_order_id}",
            instrument=current.instrument,
            side=current.side,
            order_type=current.order_type,
            quantity=changes.get("quantity", current.quantity),
            price=changes.get("price", current.price),
            stop_price=changes.get("stop_price", current.stop_price),
            time_in_force=changes.get("time_in_force", current.time_in_force),
            expire_time=changes.get("expire_time", current.expire_time),
            take_profit=changes.get("take_profit", current.take_profit),
            stop_loss=changes.get("stop_loss", current.stop_loss),
        )
        request = parsing.order_request(replacement)
        _, body = await self._client.request(
            "PUT",
            self._account_path(f"/orders/{current.broker_order_id}"),
            body={"order": request},
        )
        result = self._order_result(body, replacement, replacement=True)
        return result.model_copy(update={"replaces_order_id": current.broker_order_id})

    async def cancel_order(self, order_id: str) -> OrderResult:
        _, body = await self._client.request(
            "PUT", self._account_path(f"/orders/{self._specifier(order_id)}/cancel")
        )
        cancel = body.get("orderCancelTransaction") or {}
        return self.completed_result(
            success=True,
            broker_order_id=str(cancel.get("orderID", order_id)),
            client_order_id=cancel.get("clientOrderID"),
            status=OrderStatus.CANCELLED,
            completed_at=parsing.parse_time(cancel["time"]) if "time" in cancel else None,
        )

    # ------------------------------------------------------------------ positions

    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        _, body = await self._client.request("GET", self._account_path("/openPositions"))
        positions = [parsing.parse_position(p, self.account_id) for p in body.get("positions", [])]
        positions = [p for p in positions if p.quantity != 0]
        if instrument is not None:
            wanted = parsing.SYMBOLS.from_broker(parsing.SYMBOLS.to_broker(instrument))
            positions = [p for p in positions if p.instrument == wanted]
        return positions

    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        open_positions = await self.get_positions(instrument)
        if not open_positions:
            raise PositionNotFoundError(f"no open {instrument} position to close", broker_name=self.name)
        position = open_positions[0]
        units = "ALL" if quantity is None else parsing.format_decimal(quantity)
        side = "long" if position.quantity > 0 else "short"
        symbol = parsing.SYMBOLS.to_broker(instrument)
        _, body = await self._client.request(
            "PUT", self._account_path(f"/positions/{symbol}/close"), body={f"{side}Units": units}
        )
        fill = body.get(f"{side}OrderFillTransaction")
        cancel = body.get(f"{side}OrderCancelTransaction")
        created = body.get(f"{side}OrderCreateTransaction") or {}
        if fill is None:
            reason = (cancel or {}).get("reason", "UNKNOWN")
            error = map_broker_error(
                self.name, reason, f"OANDA did not close the position: {reason}", http_status=200
            )
            return self._refused(str(created.get("id")) if created else None, error)
        units_filled = abs(parsing.parse_decimal(fill.get("units", "0")))
        price = fill.get("price")
        return self.completed_result(
            success=True,
            broker_order_id=str(created.get("id", fill.get("orderID"))),
            status=OrderStatus.FILLED,
            instrument=position.instrument,
            filled_quantity=units_filled,
            average_fill_price=parsing.parse_decimal(price) if price else None,
            commission=abs(parsing.parse_decimal(fill.get("commission", "0"))),
        )

    # ------------------------------------------------------------------ market data

    async def get_current_price(self, instrument: str) -> PriceTick:
        prices = await self._prices([instrument])
        return prices[0]

    async def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        """Several instruments in one ``/pricing`` request."""
        return {tick.instrument: tick for tick in await self._prices(instruments)}

    async def _prices(self, instruments: Sequence[str]) -> list[PriceTick]:
        names = ",".join(parsing.SYMBOLS.to_broker(i) for i in instruments)
        _, body = await self._client.request(
            "GET", self._account_path("/pricing"), params={"instruments": names}
        )
        return [parsing.parse_price(p) for p in body.get("prices", [])]

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        """Prices from the chunked stream. A stream silent for longer than the heartbeat timeout, or one that
        drops, is reopened with jittered backoff (up to ``max_stream_reconnects`` times in a row)."""
        params = {
            "instruments": ",".join(parsing.SYMBOLS.to_broker(i) for i in instruments),
            "snapshot": "true",
        }
        parse_price = parsing.parse_price
        async for batch in self._stream_batches(self._account_path("/pricing/stream"), params, "price"):
            for message in batch:
                if message.get("type") == "PRICE":
                    yield parse_price(message)

    async def stream_order_updates(self) -> AsyncIterator[OrderUpdate]:
        """The account's order changes from OANDA's transaction stream (``…/transactions/stream``). After a
        reconnect the transactions missed meanwhile are read from the history (``sinceid``) first, so none is
        lost, and none is told twice."""
        last = self._client.last_transaction_id
        filled: dict[str, Decimal] = {}
        sizes: dict[str, Decimal] = {}

        async def missed() -> list[dict[str, Any]]:
            if last is None:
                return []
            _, body = await self._client.request(
                "GET", self._account_path("/transactions/sinceid"), params={"id": str(last)}
            )
            return list(body.get("transactions") or [])

        path = self._account_path("/transactions/stream")
        async for batch in self._stream_batches(path, {}, "transaction", catch_up=missed):
            for message in batch:
                kind = message.get("type")
                if kind == "HEARTBEAT" or "id" not in message:
                    continue
                number = int(message["id"])
                if last is not None and number <= last:
                    continue  # already told (the history and the stream overlap after a reconnect)
                last = number
                update = self._order_update(message, filled, sizes)
                if update is not None:
                    yield update

    def _order_update(
        self, transaction: Mapping[str, Any], filled: dict[str, Decimal], sizes: dict[str, Decimal]
    ) -> OrderUpdate | None:
        """One transaction as an order update, keeping each order's size and fills to tell partial from full."""
        order_id = str(transaction.get("orderID", transaction.get("id")))
        if transaction.get("type") != "ORDER_FILL" and "units" in transaction:
            sizes[order_id] = abs(parsing.parse_decimal(transaction["units"]))
        update = parsing.order_update(transaction, filled.get(order_id, Decimal(0)), sizes.get(order_id))
        if update is not None and update.kind.is_fill and update.filled_quantity is not None:
            filled[order_id] = update.filled_quantity
        if update is not None and update.kind.status.is_terminal:
            filled.pop(order_id, None)
            sizes.pop(order_id, None)
        return update

    async def _stream_batches(
        self,
        path: str,
        params: Mapping[str, str],
        what: str,
        *,
        catch_up: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The messages of one chunked v20 stream (heartbeats included), a batch per chunk that arrived.

        A stream silent for longer than the heartbeat timeout, or one that drops, is reopened with jittered
        backoff (up to ``max_stream_reconnects`` times in a row); before each reopening ``catch_up`` supplies
        what was missed meanwhile.
        """
        failures = 0
        rng = random.Random()
        while True:
            try:
                if failures and catch_up is not None:
                    yield await catch_up()
                async with self._client.stream(path, params, idle_timeout=self.heartbeat_timeout) as response:
                    # Whatever has arrived is read at once and split into lines here: one await per chunk
                    # instead of one per line. Silence is caught by the stream's socket-read timeout (a
                    # TimeoutError from the read), which costs nothing per line.
                    read = response.content.readany
                    partial = b""
                    while chunk := await read():
                        lines = (partial + chunk if partial else chunk).split(b"\n")
                        partial = lines.pop()  # the start of a line still on its way, or b""
                        batch = [orjson.loads(line) for line in lines if line and not line.isspace()]
                        if batch:
                            failures = 0
                            yield batch
                    raise BrokerConnectionError(f"the {what} stream ended", broker_name=self.name)
            except (TimeoutError, BrokerConnectionError, aiohttp.ClientError) as exc:
                failures += 1
                if failures > self.max_stream_reconnects:
                    raise BrokerConnectionError(
                        f"{what} stream failed {failures} times in a row: {exc}", broker_name=self.name
                    ) from exc
                await asyncio.sleep(rng.uniform(0, min(5.0, 0.1 * 2**failures)))

    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        """Candles with mid prices; ranges longer than 5,000 candles are fetched page by page."""
        if count is not None and count <= 0:
            raise InvalidOrderError("count must be positive")
        symbol = parsing.SYMBOLS.to_broker(instrument)
        if start is not None:
            return await self._candles_forward(symbol, granularity, start, end, count)
        return await self._candles_backward(symbol, granularity, end, count or 500)

    async def _candle_page(
        self, symbol: str, granularity: Granularity, params: dict[str, str]
    ) -> list[Candle]:
        query = {"granularity": granularity.value, "price": "M", **params}
        _, body = await self._client.request("GET", f"/v3/instruments/{symbol}/candles", params=query)
        return [parsing.parse_candle(c, symbol, granularity) for c in body.get("candles", [])]

    async def _candles_forward(
        self, symbol: str, granularity: Granularity, start: datetime, end: datetime | None, count: int | None
    ) -> list[Candle]:
        """Page forward from ``start`` with ``from`` + ``count`` (OANDA refuses count with both from and to)."""
        candles: list[Candle] = []
        cursor, include_first = start, True
        while count is None or len(candles) < count:
            want = (
                MAX_CANDLES_PER_REQUEST
                if count is None
                else min(MAX_CANDLES_PER_REQUEST, count - len(candles))
            )
            params = {
                "from": parsing.format_time(cursor),
                "count": str(want),
                "includeFirst": "true" if include_first else "false",
            }
            page = await self._candle_page(symbol, granularity, params)
            in_range = [c for c in page if end is None or c.time < end]
            candles.extend(in_range)
            if len(page) < want or len(in_range) < len(page):
                break
            cursor, include_first = page[-1].time, False
        return candles

    async def _candles_backward(
        self, symbol: str, granularity: Granularity, end: datetime | None, count: int
    ) -> list[Candle]:
        pages: list[list[Candle]] = []
        remaining, cursor = count, end
        while remaining > 0:
            want = min(MAX_CANDLES_PER_REQUEST, remaining)
            params = {"count": str(want)}
            if cursor is not None:
                params["to"] = parsing.format_time(cursor)
            page = await self._candle_page(symbol, granularity, params)
            if cursor is not None:
                page = [c for c in page if c.time < cursor]
            if not page:
                break
            pages.append(page)
            remaining -= len(page)
            cursor = page[0].time
            if len(page) < want:
                break
        return [c for page in reversed(pages) for c in page][-count:]

    # ------------------------------------------------------------------ accounts

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        path = f"/v3/accounts/{account_id}/summary" if account_id else self._account_path("/summary")
        _, body = await self._client.request("GET", path)
        return parsing.parse_account_summary(body["account"], self.clock.now())

    async def get_accounts(self) -> list[Account]:
        """Every account the token reaches, each with its currency where its summary could be read (a
        summary OANDA refuses, say 403 for a locked account, leaves only that account's currency out)."""
        _, body = await self._client.request("GET", "/v3/accounts")
        listed = body.get("accounts", [])
        summaries = await asyncio.gather(
            *(self._client.request("GET", f"/v3/accounts/{a['id']}/summary") for a in listed),
            return_exceptions=True,
        )
        accounts = []
        for account, answer in zip(listed, summaries, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, BrokerError):
                raise answer
            currency = None if isinstance(answer, BaseException) else answer[1]["account"].get("currency")
            accounts.append(parsing.parse_account(account, currency))
        return accounts

    async def get_instruments(self) -> list[Instrument]:
        instruments = await self._fetch_instruments()
        self._instruments = {i.symbol: i for i in instruments}
        return instruments

    async def _fetch_instruments(self) -> list[Instrument]:
        _, body = await self._client.request("GET", self._account_path("/instruments"))
        return [parsing.parse_instrument(i) for i in body.get("instruments", [])]
