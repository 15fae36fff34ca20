"""``AlpacaAdapter``: the unified interface over Alpaca's Trading API v2, Market Data API v2 and websockets.

Protocol translation only; timing, limits, the breaker, retries, the journal and events come from the
base class's pipeline. Facts: ``shared/reference/broker_apis.md`` §2.

Order safety. Alpaca refuses a second order with a ``client_order_id`` it holds already (422
``client_order_id must be unique``), and finds any order by it (``GET /v2/orders:by_client_order_id``, every
order the account was given, rejected and cancelled ones included). :meth:`AlpacaAdapter.trace_order` uses the
lookup (and the account's order history since the marker taken before sending): found is PLACED, absent from
both is ABSENT, which the journal takes as "never placed" only once ``absence_grace_seconds`` have passed.
It never resends the order to see whether Alpaca calls it a duplicate: if the order exists, the copy would
reach the venue a second time (the order-safety suite counts that as a duplicate); if it does not, an
acceptance would place the intent late, at a price its caller never saw, and report that as the outcome.
Where a duplicate refusal does arrive (another process sent the same intent), ``place_order`` answers with
the order Alpaca holds under that id: the intent's one order, never a second.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import orjson
from pydantic import SecretStr

from broker_integration.adapters.alpaca import parsing, rules
from broker_integration.adapters.alpaca.client import BROKER_NAME, AlpacaClient
from broker_integration.adapters.alpaca.config import AlpacaOptions
from broker_integration.adapters.alpaca.hosts import (
    DATA_STREAM_URL,
    DATA_URL,
    LIVE_TRADING_URL,
    PAPER_TRADING_URL,
    is_alpaca_host,
    websocket_url,
)
from broker_integration.adapters.alpaca.streams import data_messages
from broker_integration.adapters.alpaca.updates import FINAL_STATUSES, TradeUpdates
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, BrokerLimits
from broker_integration.clock import Clock
from broker_integration.errors import (
    AuthenticationError,
    BrokerError,
    DuplicateOrderError,
    InvalidInstrumentError,
    InvalidOrderError,
    MarketClosedError,
    OrderNotFoundError,
    StandardErrorCode,
    make_error,
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
    OrderType,
    OrderUpdate,
    Position,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability

__all__ = ["AlpacaAdapter"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: Bars per request (Alpaca's maximum ``limit``, reference §2.5) and orders per listing (``limit`` ≤ 500).
MAX_BARS_PER_REQUEST = 10_000
MAX_ORDERS_PER_REQUEST = 500
#: Replacements followed from an order to the one that carries it on now.
_MAX_REPLACEMENTS = 16
_IMMEDIATE_TIF = frozenset({TimeInForce.IOC, TimeInForce.FOK})
_CRYPTO_DATA = "/v1beta3/crypto/us"


class AlpacaAdapter(BrokerAdapter):
    """Alpaca (US stocks and crypto). Credentials: ``api_key`` is the key id (``APCA-API-KEY-ID``),
    ``secret_key`` the secret (``APCA-API-SECRET-KEY``); ``environment`` live trades on api.alpaca.markets,
    anything else on paper-api.alpaca.markets. Options: see :class:`AlpacaOptions`."""

    reports_sending: ClassVar[bool] = True

    broker_name: ClassVar[str] = BROKER_NAME
    #: Alpaca's published limit: 200 requests a minute per key on the trading API (reference §2.7).
    default_limits: ClassVar[BrokerLimits | None] = BrokerLimits(
        requests_per_second=3.3, max_orders_per_second=3.3
    )
    capabilities: ClassVar[frozenset[BrokerCapability] | None] = frozenset(
        {
            BrokerCapability.MARKET_ORDERS,
            BrokerCapability.LIMIT_ORDERS,
            BrokerCapability.STOP_ORDERS,
            BrokerCapability.STOP_LIMIT_ORDERS,
            BrokerCapability.TRAILING_STOP_ORDERS,
            BrokerCapability.MODIFY_ORDERS,
            BrokerCapability.CANCEL_ORDERS,
            BrokerCapability.ORDER_LISTING,
            BrokerCapability.CLIENT_ORDER_ID_LOOKUP,
            BrokerCapability.ORDER_UPDATES,
            BrokerCapability.POSITIONS,
            BrokerCapability.CLOSE_POSITION,
            BrokerCapability.CURRENT_PRICES,
            BrokerCapability.STREAMING_PRICES,
            BrokerCapability.HISTORICAL_DATA,
            BrokerCapability.ACCOUNT_SUMMARY,
            BrokerCapability.INSTRUMENTS,
            BrokerCapability.PARTIAL_FILLS,
            BrokerCapability.FRACTIONAL_QUANTITY,
            BrokerCapability.NOTIONAL_ORDERS,
            BrokerCapability.HEALTH_CHECK,
        }
    )
    #: Alpaca's ``day|gtc|opg|cls|ioc|fok`` (there is no GTD).
    supported_time_in_force: ClassVar[frozenset[TimeInForce] | None] = frozenset(parsing.TIF_TO_ALPACA)

    def __init__(
        self,
        config: BrokerConfiguration | None = None,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        config = config or BrokerConfiguration(broker_name=BROKER_NAME)
        self.options = AlpacaOptions.from_configuration(config)  # refused before anything opens
        super().__init__(config, event_bus=event_bus, clock=clock)
        live = config.credentials.environment.is_live
        self.trading_url = config.endpoints.base_url or (LIVE_TRADING_URL if live else PAPER_TRADING_URL)
        own = is_alpaca_host(self.trading_url)
        self.data_url = self.options.data_url or (DATA_URL if own else self.trading_url)
        self.data_stream_url = (
            self.options.data_stream_url
            or config.endpoints.stream_url
            or (DATA_STREAM_URL if own else websocket_url(self.trading_url))
        )
        self.trade_stream_url = f"{websocket_url(self.trading_url)}/stream"
        self.absence_grace_seconds = self.options.absence_grace_seconds
        self.account_id: str | None = None
        self._assets: dict[str, Instrument] | None = None
        self._clock_reading: parsing.MarketClock | None = None
        credentials = config.credentials
        self._client = AlpacaClient(
            self.trading_url,
            self.data_url,
            credentials.api_key or SecretStr(""),
            credentials.secret_key or SecretStr(""),
            connections=self.options.connections,
        )
        self._updates = TradeUpdates(
            self._client,
            self.trade_stream_url,
            self.clock,
            silence_seconds=self.options.stream_silence_seconds,
            max_reconnects=self.options.stream_max_reconnects,
        )

    # ------------------------------------------------------------------ session

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        """Check the key pair with ``GET /v2/account`` (one account per key pair), then load the tradable
        assets (for refusing orders their rules forbid before sending) and the market clock."""
        credentials = credentials or self.credentials
        if credentials is None or credentials.api_key is None or credentials.secret_key is None:
            raise AuthenticationError(
                "Alpaca needs the key id in credentials.api_key and the secret in credentials.secret_key",
                broker_name=self.name,
            )
        self._client.set_keys(credentials.api_key, credentials.secret_key)
        _, account = await self._client.request("GET", "/v2/account")
        self.account_id = str(account["id"])
        wanted = credentials.account_id
        if wanted is not None and wanted not in (self.account_id, account.get("account_number")):
            raise AuthenticationError(
                f"these keys reach Alpaca account {account.get('account_number')}, not {wanted}",
                broker_name=self.name,
            )
        self._assets = {i.symbol: i for i in await self._fetch_assets()}
        await self._read_clock()
        return True

    def history_marker(self) -> str | None:
        """A second before the server's clock at its latest answer: every order sent from now on was
        submitted after it (Alpaca's ``after`` filter is on submission time)."""
        seen = self._client.server_time()
        return None if seen is None else parsing.format_time(seen - timedelta(seconds=1))

    def known_instruments(self) -> Mapping[str, Instrument] | None:
        return self._assets

    async def disconnect(self) -> None:
        await self._updates.close()
        await self._client.close()

    async def health_check(self) -> HealthStatus:
        start = self.clock.monotonic_ns()
        try:
            await self._read_clock()
        except BrokerError as exc:
            return HealthStatus(state=HealthState.DOWN, checked_at=self.clock.now(), message=str(exc.error))
        latency = (self.clock.monotonic_ns() - start) / 1e6
        return HealthStatus(state=HealthState.HEALTHY, checked_at=self.clock.now(), latency_ms=latency)

    async def _read_clock(self) -> parsing.MarketClock:
        _, body = await self._client.request("GET", "/v2/clock")
        self._clock_reading = parsing.parse_clock(body)
        return self._clock_reading

    # ------------------------------------------------------------------ orders

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        """``POST /v2/orders``. Alpaca answers with the order accepted; one that executes at once (market,
        IOC, FOK) is waited for up to ``fill_timeout_seconds`` to be filled or cancelled, from
        ``trade_updates`` (or by lookup while that stream is down). An order Alpaca's own rules forbid
        (:mod:`.rules`: notional sizing, the auctions) is refused before sending."""
        assets = self._assets
        tif = parsing.effective_time_in_force(order)
        refusal = rules.rule_refusal(order, None if assets is None else assets.get(order.instrument), tif)
        if refusal is not None:
            field, why = refusal
            raise InvalidOrderError(
                why,
                broker_name=self.name,
                sent=False,
                context={"field": field, "instrument": order.instrument},
            )
        if (
            tif is TimeInForce.DAY
            and self.options.refuse_when_closed
            and not parsing.is_crypto(order.instrument)
        ):
            await self._refuse_closed_market(order)
        encoded = orjson.dumps(parsing.order_request(order, tif))
        # a market order executes at once, unless it waits for an auction
        immediate = (
            order.order_type is OrderType.MARKET and tif not in rules.AUCTIONS
        ) or tif in _IMMEDIATE_TIF
        wait = self.options.fill_timeout_seconds if immediate else 0.0
        if wait > 0:
            await self._updates.wait_listening(wait)  # listening before sending: no event can be missed
        try:
            _, body = await self._client.request("POST", "/v2/orders", encoded=encoded)
        except DuplicateOrderError:
            # Alpaca holds an order under this client id already: it is this intent's order, never a second.
            existing = await self._lookup_raw(order.order_id)
            return self._order_result(
                existing, message="Alpaca holds an order with this client order id already"
            )
        if wait > 0 and str(body.get("status")) not in FINAL_STATUSES:
            body = await self._until_final(body, wait)
        return self._order_result(body)

    async def _until_final(self, body: Mapping[str, Any], wait: float) -> Mapping[str, Any]:
        """The order ``body`` once final, or as last seen when ``wait`` seconds pass first: from the
        ``trade_updates`` stream when it listens (its final events are kept, so one that came before the
        HTTP answer counts), else by lookups with backoff."""
        order_id = str(body["id"])
        if self._updates.listening:
            future = self._updates.final_event(order_id)
            try:
                async with asyncio.timeout(wait):
                    final: Mapping[str, Any] = (await future)["order"]
                    return final
            except TimeoutError:
                return body
            finally:
                self._updates.forget_id(order_id)
        deadline = self.clock.monotonic_ns() + int(wait * 1e9)
        delay = 0.005
        while self.clock.monotonic_ns() < deadline:
            await asyncio.sleep(delay)
            _, body = await self._client.request("GET", f"/v2/orders/{order_id}")
            if str(body.get("status")) in FINAL_STATUSES:
                break
            delay = min(delay * 2, 0.25)
        return body

    async def _refuse_closed_market(self, order: UnifiedOrder) -> None:
        """``order``, a DAY stock order, is refused while the market is closed (Alpaca would queue it for the
        next open); the clock is read again once the reading in hand has passed its next change. Awaited only
        for such orders and when ``refuse_when_closed`` is on: no coroutine per order otherwise."""
        now = self.clock.now()
        reading = self._clock_reading
        if reading is None or reading.stale_at(now):
            reading = await self._read_clock()
            now = self.clock.now()
        if not reading.is_open_at(now):
            raise MarketClosedError(
                f"the US stock market is closed (it opens {reading.next_open.isoformat()}); a DAY order for "
                f"{order.instrument} would wait for the open at Alpaca",
                broker_name=self.name,
                sent=False,
                context={"instrument": order.instrument, "next_open": reading.next_open.isoformat()},
            )

    def _order_result(
        self, data: Mapping[str, Any], *, replaces: str | None = None, message: str = ""
    ) -> OrderResult:
        order = parsing.order_facts(data)  # what the result carries; OrderResult validates it
        status = order.status
        completed = parsing.parse_time(data["filled_at"]) if data.get("filled_at") else None
        fields: dict[str, Any] = {
            "broker_order_id": order.broker_order_id,
            "client_order_id": order.client_order_id,
            "instrument": order.instrument,
            "side": order.side,
            "filled_quantity": order.filled_quantity,
            "average_fill_price": order.average_fill_price,
            "completed_at": completed,
            "replaces_order_id": replaces,
            "message": message,
        }
        if status is OrderStatus.REJECTED:
            error = make_error(
                StandardErrorCode.INVALID_ORDER,
                f"Alpaca rejected order {order.broker_order_id} after accepting it (its record gives no reason)",
                broker_name=self.name,
                context={"order_id": order.broker_order_id, "status": str(data.get("status"))},
            )
            return self.completed_result(
                success=False, status=status, error=error, **{**fields, "message": error.message}
            )
        if status is OrderStatus.SUBMITTED:
            status = OrderStatus.ACCEPTED  # pending_new: Alpaca has it, routing is under way
        return self.completed_result(success=True, status=status, **fields)

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """What Alpaca's record says of the order sent with ``client_order_id``: looked up by client id,
        then searched in the account's orders submitted after ``since``. See the module's docstring."""
        try:
            data = await self._lookup_raw(client_order_id)
        except OrderNotFoundError:
            pass
        else:
            order = parsing.parse_order(data)
            return OrderTrace(
                status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id
            )
        if since is None:
            return OrderTrace(
                status=OrderTraceStatus.UNKNOWN,
                evidence="no history marker was recorded when it was sent, so the history cannot be searched",
            )
        listed = await self._orders_since(since)
        for data in listed:
            if data.get("client_order_id") == client_order_id:
                order = parsing.parse_order(data)
                return OrderTrace(
                    status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id
                )
        return OrderTrace(
            status=OrderTraceStatus.ABSENT,
            evidence=f"Alpaca holds no order with client id {client_order_id} (by_client_order_id: 404) and "
            f"none of the {len(listed)} orders submitted after {since} carries it",
        )

    async def _orders_since(self, since: str) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        after = since
        while True:
            _, page = await self._client.request(
                "GET",
                "/v2/orders",
                params={
                    "status": "all",
                    "after": after,
                    "direction": "asc",
                    "limit": str(MAX_ORDERS_PER_REQUEST),
                },
            )
            found.extend(page)
            if len(page) < MAX_ORDERS_PER_REQUEST:
                return found
            after = str(page[-1]["submitted_at"])

    async def get_order(self, order_id: str) -> Order:
        """One order by Alpaca's id (a UUID) or our client order id; a replaced order is followed to the order
        that carries it on."""
        return parsing.parse_order(await self._lookup_raw(order_id))

    async def _lookup_raw(self, order_id: str) -> Mapping[str, Any]:
        if _UUID.match(order_id):
            _, data = await self._client.request("GET", f"/v2/orders/{order_id}")
        else:
            _, data = await self._client.request(
                "GET", "/v2/orders:by_client_order_id", params={"client_order_id": order_id}
            )
        for _ in range(_MAX_REPLACEMENTS):
            successor = data.get("replaced_by")
            if not successor or data.get("status") != "replaced":
                break
            _, data = await self._client.request("GET", f"/v2/orders/{successor}")
        found: Mapping[str, Any] = data
        return found

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        params = {
            "status": "all" if include_closed else "open",
            "limit": str(MAX_ORDERS_PER_REQUEST),
            "direction": "desc",
        }
        if instrument is not None:
            params["symbols"] = parsing.symbol_to_alpaca(instrument)
        _, body = await self._client.request("GET", "/v2/orders", params=params)
        return [parsing.parse_order(o) for o in body]

    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        """``PATCH /v2/orders/{id}``: Alpaca replaces the order with a new one (a new id, ``replaces`` the
        old); the old one becomes ``replaced``."""
        changes = modification.model_dump(exclude_unset=True)
        unsupported = sorted(
            set(changes) - {"quantity", "price", "stop_price", "trailing_distance", "time_in_force"}
        )
        if unsupported:
            raise InvalidOrderError(
                f"Alpaca cannot change {', '.join(unsupported)} of an order", broker_name=self.name
            )
        current = await self._lookup_raw(order_id)
        if parsing.parse_order(current).status.is_terminal:
            raise OrderNotFoundError(
                f"order {order_id} is {current.get('status')}; only open orders can be changed",
                broker_name=self.name,
            )
        old_id = str(current["id"])
        _, body = await self._client.request(
            "PATCH", f"/v2/orders/{old_id}", body=parsing.replace_request(changes)
        )
        return self._order_result(body, replaces=old_id)

    async def cancel_order(self, order_id: str) -> OrderResult:
        """``DELETE /v2/orders/{id}`` (204), then the order read back to say what became of it."""
        target = order_id if _UUID.match(order_id) else str((await self._lookup_raw(order_id))["id"])
        await self._client.request("DELETE", f"/v2/orders/{target}")
        _, data = await self._client.request("GET", f"/v2/orders/{target}")
        status = str(data.get("status"))
        order = parsing.parse_order(data)
        fields: dict[str, Any] = {
            "broker_order_id": target,
            "client_order_id": order.client_order_id,
            "instrument": order.instrument,
            "side": order.side,
            "filled_quantity": order.filled_quantity,
            "average_fill_price": order.average_fill_price,
        }
        if status in ("filled", "expired", "rejected"):
            error = make_error(
                StandardErrorCode.ORDER_NOT_FOUND,
                f"order {target} ended {status} before the cancel took effect",
                broker_name=self.name,
            )
            return self.completed_result(
                success=False, status=order.status, error=error, message=error.message, **fields
            )
        message = "" if status == "canceled" else f"cancel requested ({status})"
        return self.completed_result(success=True, status=OrderStatus.CANCELLED, message=message, **fields)

    def stream_order_updates(self) -> AsyncIterator[OrderUpdate]:
        """The account's order changes from Alpaca's ``trade_updates`` stream (one connection per adapter,
        shared with ``place_order``'s fill confirmation); after a reconnection what changed meanwhile is read
        from the REST API first."""
        return self._updates.updates()

    # ------------------------------------------------------------------ positions

    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        _, body = await self._client.request("GET", "/v2/positions")
        positions = [parsing.parse_position(p, self.account_id) for p in body]
        positions = [p for p in positions if p.quantity != 0]
        if instrument is not None:
            wanted = parsing.symbol_from_alpaca(instrument)
            positions = [p for p in positions if p.instrument == wanted]
        return positions

    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        """``DELETE /v2/positions/{symbol}`` (``?qty=`` for part of it): Alpaca places a market order that
        closes it, waited for like any market order."""
        symbol = parsing.symbol_from_alpaca(instrument).replace("/", "")
        wait = self.options.fill_timeout_seconds
        if wait > 0:
            await self._updates.wait_listening(wait)
        params = {"qty": parsing.format_decimal(quantity)} if quantity is not None else None
        _, body = await self._client.request(
            "DELETE", f"/v2/positions/{quote(symbol, safe='')}", params=params
        )
        if wait > 0 and str(body.get("status")) not in FINAL_STATUSES:
            body = await self._until_final(body, wait)
        return self._order_result(body)

    # ------------------------------------------------------------------ market data

    async def get_current_price(self, instrument: str) -> PriceTick:
        prices = await self.get_current_prices([instrument])
        tick = prices.get(parsing.symbol_from_alpaca(instrument))
        if tick is None:
            raise InvalidInstrumentError(f"Alpaca has no quote for {instrument}", broker_name=self.name)
        return tick

    async def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        """Latest quotes in one request per asset class (stocks from the configured feed, crypto from
        ``v1beta3/crypto/us``)."""
        symbols = [parsing.symbol_from_alpaca(i) for i in instruments]
        stocks = [s for s in symbols if not parsing.is_crypto(s)]
        crypto = [s for s in symbols if parsing.is_crypto(s)]
        ticks: dict[str, PriceTick] = {}
        for names, path, extra in (
            (stocks, "/v2/stocks/quotes/latest", {"feed": self.options.feed}),
            (crypto, f"{_CRYPTO_DATA}/latest/quotes", {}),
        ):
            if not names:
                continue
            _, body = await self._client.request(
                "GET", path, params={"symbols": ",".join(names), **extra}, host="data"
            )
            for name, data in (body.get("quotes") or {}).items():
                symbol = parsing.symbol_from_alpaca(name)
                ticks[symbol] = parsing.parse_quote(symbol, data)
        return ticks

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        """Quotes from the market-data websockets (one per asset class asked for), merged."""
        symbols = [parsing.symbol_from_alpaca(i) for i in instruments]
        groups = [
            (
                f"{self.data_stream_url}/v2/{self.options.feed}",
                [s for s in symbols if not parsing.is_crypto(s)],
            ),
            (f"{self.data_stream_url}{_CRYPTO_DATA}", [s for s in symbols if parsing.is_crypto(s)]),
        ]
        sources = [self._quotes(url, names) for url, names in groups if names]
        if len(sources) == 1:
            async for tick in sources[0]:
                yield tick
            return
        queue: asyncio.Queue[PriceTick | BaseException] = asyncio.Queue(maxsize=10_000)

        async def pump(source: AsyncIterator[PriceTick]) -> None:
            try:
                async for tick in source:
                    await queue.put(tick)
            except Exception as exc:
                await queue.put(exc)

        tasks = [asyncio.get_running_loop().create_task(pump(source)) for source in sources]
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _quotes(self, url: str, names: Sequence[str]) -> AsyncIterator[PriceTick]:
        parse_quote = parsing.parse_quote
        frames = data_messages(
            self._client,
            url,
            names,
            silence_seconds=self.options.stream_silence_seconds,
            max_reconnects=self.options.stream_max_reconnects,
        )
        async for batch in frames:
            for message in batch:
                if message.get("T") == "q":
                    yield parse_quote(message["S"], message)

    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        """Bars, oldest first, page by page (``next_page_token``). The last ``count`` bars are read newest
        first (``sort=desc``) from a window wide enough for nights and weekends."""
        if count is not None and count <= 0:
            raise InvalidOrderError("count must be positive", broker_name=self.name)
        frame = parsing.timeframe(granularity)
        if frame is None:
            raise InvalidOrderError(
                f"Alpaca has no {granularity.value} bars (the shortest is one minute)", broker_name=self.name
            )
        symbol = parsing.symbol_from_alpaca(instrument)
        newest_first = start is None
        until = end or self.clock.now()
        if start is None:
            wanted = count or 500
            start = until - max(timedelta(seconds=granularity.seconds * wanted * 4), timedelta(days=7))
        params: dict[str, str] = {
            "symbols": symbol,
            "timeframe": frame,
            "start": parsing.format_time(start),
            "end": parsing.format_time(until),
            "sort": "desc" if newest_first else "asc",
        }
        crypto = parsing.is_crypto(symbol)
        path = f"{_CRYPTO_DATA}/bars" if crypto else "/v2/stocks/bars"
        if not crypto:
            params["feed"] = self.options.feed
        candles: list[Candle] = []
        while count is None or len(candles) < count:
            want = MAX_BARS_PER_REQUEST if count is None else min(MAX_BARS_PER_REQUEST, count - len(candles))
            params["limit"] = str(want)
            _, body = await self._client.request("GET", path, params=params, host="data")
            bars = (body.get("bars") or {}).get(symbol) or []
            candles.extend(parsing.parse_bar(symbol, granularity, bar) for bar in bars)
            token = body.get("next_page_token")
            if not token or not bars:
                break
            params["page_token"] = str(token)
        if count is not None:
            candles = candles[:count]
        if newest_first:
            candles.reverse()
        return [c for c in candles if end is None or c.time < end]

    # ------------------------------------------------------------------ accounts

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        """The account (``GET /v2/account``) and its positions, read together."""
        if account_id is not None and self.account_id is not None and account_id != self.account_id:
            raise AuthenticationError(
                f"these keys reach Alpaca account {self.account_id} only", broker_name=self.name
            )
        (_, account), positions = await asyncio.gather(
            self._client.request("GET", "/v2/account"), self.get_positions()
        )
        return parsing.parse_account_summary(account, positions, self.clock.now())

    async def get_accounts(self) -> list[Account]:
        """The key pair's one account (Alpaca has no account listing)."""
        _, account = await self._client.request("GET", "/v2/account")
        return [
            Account(
                account_id=str(account["id"]),
                currency=account.get("currency"),
                alias=str(account.get("account_number") or ""),
            )
        ]

    async def get_instruments(self) -> list[Instrument]:
        instruments = await self._fetch_assets()
        self._assets = {i.symbol: i for i in instruments}
        return instruments

    async def _fetch_assets(self) -> list[Instrument]:
        """Every active, tradable asset, stocks and crypto (``GET /v2/assets``)."""
        found: dict[str, Instrument] = {}
        for asset_class in ("us_equity", "crypto"):
            _, body = await self._client.request(
                "GET", "/v2/assets", params={"status": "active", "asset_class": asset_class}
            )
            for data in body:
                if data.get("tradable") and data.get("status", "active") == "active":
                    instrument = parsing.parse_asset(data)
                    found.setdefault(instrument.symbol, instrument)
        return list(found.values())
