"""``CcxtAdapter``: the unified interface over any exchange ccxt reaches (``ccxt.async_support``, and
``ccxt.pro`` for websockets), the exchange named by ``options.exchange``.

Protocol translation only; timing, limits, the breaker, retries, the journal and events come from the
base class's pipeline. Symbols are ccxt's unified ones (``BTC/USDT``, ``BTC/USDT:USDT``), which are the
canonical form (:mod:`broker_integration.symbols`). What each exchange can do comes from its ``has`` flags
(:mod:`.capabilities`), per instance through :attr:`declaration`. Orders carry the intent's id as ccxt's
``clientOrderId``; an order whose answer was lost is settled from the exchange's order history
(:meth:`CcxtAdapter.trace_order`). Facts: ``shared/reference/ccxt.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from broker_integration.adapters.ccxt import parsing
from broker_integration.adapters.ccxt.capabilities import declare
from broker_integration.adapters.ccxt.client import BROKER_NAME, CcxtClient
from broker_integration.adapters.ccxt.config import CcxtOptions
from broker_integration.adapters.ccxt.exchange import build_exchange, config_issue, pro_has
from broker_integration.adapters.ccxt.streams import (
    polled_order_updates,
    polled_prices,
    websocket_order_updates,
    websocket_prices,
)
from broker_integration.adapters.ccxt.tracking import Known, OrderDirectory, quote_fee
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.clock import Clock
from broker_integration.errors import (
    AuthenticationError,
    BrokerError,
    InvalidInstrumentError,
    InvalidOrderError,
    OrderNotFoundError,
    PositionNotFoundError,
    UnknownBrokerError,
    UnsupportedOperationError,
    map_broker_error,
)
from broker_integration.events import EventBus
from broker_integration.models import (
    AccountSummary,
    Candle,
    Granularity,
    HealthState,
    HealthStatus,
    Instrument,
    Order,
    OrderModification,
    OrderResult,
    OrderSide,
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
from broker_integration.pipeline import AdapterDeclaration, BrokerAdapter
from broker_integration.symbols import canonical_symbol

__all__ = ["CcxtAdapter"]

#: Exchanges whose ccxt ``fetchOrder`` finds an order by its client order id (``params.clientOrderId``;
#: Binance's ``origClientOrderId``). Elsewhere the adapter searches the exchange's order history for it.
_FETCH_BY_CLIENT_ID = frozenset({"binance", "binanceus", "binanceusdm", "binancecoinm"})
#: How many pages of an exchange's order history a search reads before it gives up (UNKNOWN).
_MAX_HISTORY_PAGES = 10
_ENDED_UNFILLED = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)
_ZERO = Decimal(0)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class _Market:
    """What every order of one listed market needs, worked out once after the markets load rather than on
    each order."""

    symbol: str
    #: ccxt's ``limits.cost.min`` (0: none).
    min_cost: Decimal
    #: Whether its prices are in the account's cash currency (then a fill's quote-to-home rate is 1).
    quoted_in_cash: bool


class CcxtAdapter(BrokerAdapter):
    """An exchange through ccxt. Options (``config.options``, :class:`CcxtOptions`): ``exchange`` (ccxt's
    id, required), ``market_type``, ``exchange_options``, ``urls``, ``password``, ``order_updates`` and
    ``prices`` (auto, websocket or polling), ``poll_interval``, ``absence_grace_seconds``,
    ``history_margin_seconds``, ``symbols``."""

    broker_name: ClassVar[str] = BROKER_NAME
    reports_sending: ClassVar[bool] = True

    def __init__(
        self,
        config: BrokerConfiguration | Mapping[str, Any] | None = None,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(config, Mapping):  # a dict in the configuration's shape, as the seed passes one
            config = BrokerConfiguration.from_dict(dict(config))
        config = config or BrokerConfiguration(broker_name=BROKER_NAME)
        options = self.options = CcxtOptions.from_configuration(config)  # refused before anything opens
        wants_ws = options.order_updates != "polling" or options.prices != "polling"
        use_pro = wants_ws and pro_has(config, options.exchange)
        exchange = build_exchange(config, options, pro=use_pro)
        ws_has = self._websocket_has(config, options, exchange, use_pro)
        declared = declare(
            exchange, options.market_type, websocket_has=ws_has, poll_interval=options.poll_interval
        )
        self._declared = declared
        self._declaration = AdapterDeclaration(
            declared.capabilities, declared.time_in_force, declared.limits, notes=declared.notes
        )
        self.absence_grace_seconds = options.absence_grace_seconds
        super().__init__(config, event_bus=event_bus, clock=clock)
        self.exchange_id: str = options.exchange
        self.client = CcxtClient(exchange, self.name)
        self.directory = OrderDirectory()
        for symbol in options.symbols:
            self.directory.symbols.setdefault(symbol, None)
        self.account_id: str = config.credentials.account_id or options.exchange
        self._instruments: dict[str, Instrument] | None = None
        #: Listed markets by the symbol an order names (as given, and canonical); emptied when markets load.
        self._markets: dict[str, _Market] = {}
        self._cash: str | None = None
        self._margin_ms = int(options.history_margin_seconds * 1000)

    @staticmethod
    def _websocket_has(
        config: BrokerConfiguration, options: CcxtOptions, exchange: Any, use_pro: bool
    ) -> Mapping[str, Any] | None:
        """The websocket flags streams may use, or a ConfigError for a websocket asked for and absent."""
        has = exchange.has if use_pro else {}
        wanted = {
            "order_updates": (options.order_updates, ("watchOrders",)),
            "prices": (options.prices, ("watchBidsAsks", "watchTicker")),
        }
        flags: dict[str, bool] = {}
        for key, (mode, names) in wanted.items():
            present = [name for name in names if has.get(name) in (True, "emulated")]
            if mode == "websocket" and not present:
                raise config_issue(
                    config,
                    f"options.{key}",
                    f"ccxt.pro has no {' or '.join(names)} for {options.exchange}; use {key}: polling",
                )
            flags.update(dict.fromkeys(present, mode != "polling"))
        return flags if use_pro else None

    @property
    def declaration(self) -> AdapterDeclaration:
        """This exchange's capabilities (from ccxt's ``has``), times in force and published pace."""
        return self._declaration

    @property
    def exchange(self) -> Any:
        """The ccxt exchange object (``ccxt.async_support.<id>`` or ``ccxt.pro.<id>``)."""
        return self.client.exchange

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _need(self, flag: str, operation: str) -> None:
        """Refuse, before any request, an operation whose ccxt method the exchange does not have."""
        value = self.exchange.has.get(flag)
        if value not in (True, "emulated"):
            raise UnsupportedOperationError(
                f"{self.exchange_id} has no {flag} in ccxt (has['{flag}'] is {value!r}), so {operation} is "
                "not available there",
                broker_name=self.name,
                context={"operation": operation, "ccxt_method": flag},
            )

    # ------------------------------------------------------------------ session

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        """Load the exchange's markets, then check the key with a balance read (where the exchange needs
        credentials for it)."""
        exchange = self.exchange
        if credentials is not None:
            if credentials.api_key is not None:
                exchange.apiKey = credentials.api_key.get_secret_value()
            if credentials.secret_key is not None:
                exchange.secret = credentials.secret_key.get_secret_value()
        if not exchange.check_required_credentials(False):
            missing = [
                name
                for name, needed in exchange.requiredCredentials.items()
                if needed and not getattr(exchange, name, None)
            ]
            raise AuthenticationError(
                f"{self.exchange_id} needs {', '.join(missing)} (credentials.api_key, credentials.secret_key, "
                "options.password)",
                broker_name=self.name,
            )
        exchange.open()
        session = getattr(exchange, "session", None)
        if session is not None:
            # aiohttp silently resends an idempotent request (GET, PUT, DELETE) whose keep-alive connection
            # dropped; a cancel may not be repeated blindly either (DESIGN.md), so that resend is off.
            session._retry_connection = False
        await self._load_instruments(reload=False)
        if exchange.has.get("fetchBalance"):
            await self.client.call(exchange.fetch_balance)
        return True

    async def _load_instruments(self, *, reload: bool) -> dict[str, Instrument]:
        markets = await self.client.call(self.exchange.load_markets, reload)
        self._instruments = parsing.instruments(
            markets.values(), self.options.market_type, self.exchange.precisionMode
        )
        self._markets.clear()
        self._cash = None
        return self._instruments

    def known_instruments(self) -> Mapping[str, Instrument] | None:
        return self._instruments

    def history_marker(self) -> str | None:
        """Epoch milliseconds a little before now: an order sent from now on was created after it."""
        return str(self.now_ms() - self._margin_ms)

    async def disconnect(self) -> None:
        await self.client.close()

    async def health_check(self) -> HealthStatus:
        has = self.exchange.has
        probe = (
            self.exchange.fetch_time
            if has.get("fetchTime")
            else self.exchange.fetch_status
            if has.get("fetchStatus")
            else self.exchange.fetch_balance
        )
        start = self.clock.monotonic_ns()
        try:
            await self.client.call(probe)
        except BrokerError as exc:
            return HealthStatus(state=HealthState.DOWN, checked_at=self.clock.now(), message=str(exc.error))
        latency = (self.clock.monotonic_ns() - start) / 1e6
        return HealthStatus(state=HealthState.HEALTHY, checked_at=self.clock.now(), latency_ms=latency)

    # ------------------------------------------------------------------ symbols

    async def _market(self, instrument: str) -> str:
        """``instrument`` as the exchange's unified symbol; INVALID_INSTRUMENT, unsent, if it is not listed."""
        if self._instruments is None:
            await self._load_instruments(reload=False)
        symbol = canonical_symbol(instrument)
        if self._instruments is not None and symbol not in self._instruments:
            raise InvalidInstrumentError(
                f"{self.exchange_id} does not list {symbol} among its {self.options.market_type} markets",
                broker_name=self.name,
                context={"instrument": symbol},
            )
        return symbol

    async def _listed(self, instrument: str) -> _Market:
        """The market of an ``instrument`` not met since the markets loaded (:meth:`_market`'s checks); an
        order then finds it by the name it gives, checked already."""
        known = self._markets[instrument] = self._market_facts(await self._market(instrument))
        return known

    def _market_facts(self, symbol: str) -> _Market:
        """The facts of a listed market (``symbol`` canonical and among the instruments)."""
        known = self._markets.get(symbol)
        if known is None:
            market = self.exchange.markets.get(symbol) or {}
            minimum = parsing.decimal(((market.get("limits") or {}).get("cost") or {}).get("min"))
            listed = (self._instruments or {}).get(symbol)
            in_cash = listed is not None and listed.quote_currency == self._cash_currency()
            known = self._markets[symbol] = _Market(symbol, minimum or _ZERO, in_cash)
        return known

    # ------------------------------------------------------------------ orders

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self._need("createOrder", "place_order")
        market = self._markets.get(order.instrument) or await self._listed(order.instrument)
        symbol = market.symbol
        self._check_cost(order, market)
        kind, price, params = self._request(order)
        params["clientOrderId"] = order.order_id
        self.directory.remember(symbol, None, order.order_id)
        placed = await self.client.call(
            self.exchange.create_order,
            symbol,
            kind,
            order.side.value,
            float(order.units),
            price,
            params,
            changes_state=True,
        )
        self.directory.remember(symbol, str(placed["id"]), order.order_id)
        return self._result(placed, order.time_in_force, client_order_id=order.order_id)

    def _check_cost(self, order: UnifiedOrder, market: _Market) -> None:
        """Refuse, unsent, an order worth less than the market's minimum cost (ccxt's ``limits.cost``); a
        market order is valued at its stop price or not at all (its price is known only at the venue)."""
        level = order.price or order.stop_price
        if level is None:
            return
        minimum, symbol = market.min_cost, market.symbol
        if minimum and order.units * level < minimum:
            raise InvalidOrderError(
                f"{order.quantity} {symbol} at {level} is worth {order.units * level}, below "
                f"{self.exchange_id}'s minimum order value of {minimum} (its limits.cost.min)",
                broker_name=self.name,
                context={"instrument": symbol, "field": "quantity"},
            )

    @staticmethod
    def _request(order: UnifiedOrder | Order) -> tuple[str, float | None, dict[str, Any]]:
        """ccxt's type, price and params for an order (a stop as a market or limit with ``triggerPrice``)."""
        params: dict[str, Any] = {}
        limit = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        if order.stop_price is not None:
            params["triggerPrice"] = float(order.stop_price)
        if limit:
            params["timeInForce"] = (order.time_in_force or TimeInForce.GTC).value
        price = float(order.price) if limit and order.price is not None else None
        return ("limit" if limit else "market"), price, params

    def _result(
        self,
        answer: Mapping[str, Any],
        time_in_force: TimeInForce | None,
        *,
        client_order_id: str | None = None,
        replaces: str | None = None,
    ) -> OrderResult:
        """The result of an order the exchange answered: filled, resting, or ended unfilled (a refusal)."""
        filled = parsing.decimal(answer.get("filled")) or _ZERO
        status = parsing.order_status(answer, filled)
        broker_id = str(answer["id"])
        if status in _ENDED_UNFILLED and filled == 0:
            tif = time_in_force.value if time_in_force else "the exchange's"
            error = map_broker_error(
                BROKER_NAME,
                "OrderNotFillable",
                f"{self.exchange_id} ended the order unfilled ({answer.get('status')}; time in force {tif})",
                context={"exchange_status": answer.get("status")},
            ).model_copy(update={"broker_name": self.name})
            return self.completed_result(
                success=False,
                broker_order_id=broker_id,
                status=OrderStatus.REJECTED,
                error=error,
                message=error.message,
            )
        if status in _ENDED_UNFILLED:
            status = OrderStatus.PARTIALLY_FILLED  # ended with part of it filled
        elif status is OrderStatus.FILLED and filled == 0:
            filled = parsing.decimal(answer.get("amount")) or filled  # ccxt: closed means fully filled
        elif status is OrderStatus.UNKNOWN:
            status = OrderStatus.ACCEPTED  # an answer without a status: the exchange took the order
        average = parsing.decimal(answer.get("average")) if filled > 0 else None
        symbol = str(answer.get("symbol") or "")
        return self.completed_result(
            success=True,
            broker_order_id=broker_id,
            client_order_id=client_order_id,
            status=status,
            filled_quantity=filled,
            average_fill_price=average or None,
            commission=quote_fee(answer),
            completed_at=parsing.from_ms(answer.get("lastTradeTimestamp")) if average else None,
            # prices are in the quote currency; it is the account's cash when the pair is quoted in it
            quote_home_rate=_ONE if average and self._quoted_in_cash(symbol) else None,
            replaces_order_id=replaces,
            metadata={"exchange_status": answer.get("status")},
        )

    def _quoted_in_cash(self, symbol: str) -> bool:
        known = self._markets.get(symbol)
        if known is None:
            if self._instruments is None or symbol not in self._instruments:
                return False
            known = self._market_facts(symbol)
        return known.quoted_in_cash

    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        """ccxt's ``editOrder`` (Binance: cancel-replace, a new id that keeps the client order id)."""
        unsupported = [
            name
            for name in ("stop_loss", "take_profit", "trailing_distance", "time_in_force", "expire_time")
            if getattr(modification, name) is not None
        ]
        self._need("editOrder", "modify_order")
        if unsupported:
            raise InvalidOrderError(
                f"{self.name} can change an order's price, quantity and stop price, not {', '.join(unsupported)}",
                broker_name=self.name,
                context={"field": ", ".join(unsupported)},
            )
        current = await self.get_order(order_id)
        changes = modification.model_dump(exclude_none=True)
        updated = current.model_copy(
            update={
                "price": changes.get("price", current.price),
                "stop_price": changes.get("stop_price", current.stop_price),
            }
        )
        quantity = changes.get("quantity", current.quantity - current.filled_quantity)
        kind, price, params = self._request(updated)
        if current.client_order_id:
            params["clientOrderId"] = current.client_order_id
        edited = await self.client.call(
            self.exchange.edit_order,
            current.broker_order_id,
            current.instrument,
            kind,
            current.side.value,
            float(quantity),
            price,
            params,
            changes_state=True,
        )
        new_id = str(edited["id"])
        self.directory.remember(current.instrument, new_id, current.client_order_id)
        replaces = current.broker_order_id if new_id != current.broker_order_id else None
        return self._result(
            edited, current.time_in_force, client_order_id=current.client_order_id, replaces=replaces
        )

    async def cancel_order(self, order_id: str) -> OrderResult:
        self._need("cancelOrder", "cancel_order")
        known = await self._locate(order_id)
        cancelled = await self.client.call(
            self.exchange.cancel_order, known.broker_order_id, known.symbol, changes_state=True
        )
        filled = parsing.decimal(cancelled.get("filled")) or Decimal(0)
        return self.completed_result(
            success=True,
            broker_order_id=str(cancelled.get("id") or known.broker_order_id),
            client_order_id=known.client_order_id,
            instrument=known.symbol,
            status=OrderStatus.CANCELLED,
            filled_quantity=filled,
            completed_at=self.clock.now(),
        )

    async def _locate(self, order_id: str) -> Known:
        """The symbol, exchange id and client id of the order ``order_id`` names (either id): remembered, or
        found among the watched symbols' orders; ORDER_NOT_FOUND when none holds it."""
        known = self.directory.find(order_id)
        if known is not None and known.broker_order_id is not None:
            return known
        symbols = [known.symbol] if known is not None else list(self.directory.symbols)
        for symbol in symbols:
            found = await self._fetch(order_id, symbol)
            if found is not None:
                client_id = found.get("clientOrderId") or (known.client_order_id if known else None)
                self.directory.remember(symbol, str(found["id"]), client_id)
                located = self.directory.find(str(found["id"]))
                assert located is not None
                return located
        where = ", ".join(symbols) or "no instrument yet (set options.symbols)"
        raise OrderNotFoundError(
            f"{self.exchange_id} has no order {order_id!r} among the orders of {where}",
            broker_name=self.name,
            context={"order_id": order_id},
        )

    async def _fetch(self, order_id: str, symbol: str) -> Mapping[str, Any] | None:
        """The order ``order_id`` (an exchange id, else a client order id) of ``symbol``, or ``None``."""
        try:
            return await self.fetch_raw_order(order_id, symbol, quiet=False)
        except OrderNotFoundError:
            pass
        except InvalidOrderError:  # not an id this exchange spells (Binance's ids are numbers)
            pass
        return await self._fetch_by_client_id(order_id, symbol)

    async def fetch_raw_order(
        self, order_id: str, symbol: str, *, quiet: bool = True
    ) -> Mapping[str, Any] | None:
        """ccxt's ``fetchOrder`` for an exchange id; ``None`` (``quiet``) when the exchange has no such order."""
        try:
            found: Mapping[str, Any] = await self.client.call(self.exchange.fetch_order, order_id, symbol)
        except OrderNotFoundError:
            if quiet:
                return None
            raise
        return found

    async def _fetch_by_client_id(self, client_order_id: str, symbol: str) -> Mapping[str, Any] | None:
        if self.exchange_id in _FETCH_BY_CLIENT_ID:
            try:
                found: Mapping[str, Any] = await self.client.call(
                    self.exchange.fetch_order, None, symbol, {"clientOrderId": client_order_id}
                )
            except (OrderNotFoundError, InvalidOrderError):
                return None
            return found
        for order in await self.open_orders(symbol):
            if order.get("clientOrderId") == client_order_id:
                return order
        for order in (await self.recent_orders(symbol, self.now_ms() - 86_400_000)) or []:
            if order.get("clientOrderId") == client_order_id:
                return order
        return None

    async def open_orders(self, symbol: str) -> list[Mapping[str, Any]]:
        orders: list[Mapping[str, Any]] = await self.client.call(self.exchange.fetch_open_orders, symbol)
        return orders

    async def recent_orders(self, symbol: str, since_ms: int) -> list[Mapping[str, Any]] | None:
        """The exchange's orders of ``symbol`` created since ``since_ms`` (open and closed), page by page;
        ``None`` when the exchange keeps no order history ccxt can read."""
        has = self.exchange.has
        if has.get("fetchOrders") in (True, "emulated"):
            fetch = self.exchange.fetch_orders
        elif has.get("fetchClosedOrders") in (True, "emulated"):
            closed = await self._paged(self.exchange.fetch_closed_orders, symbol, since_ms)
            cancelled: list[Mapping[str, Any]] = []
            if has.get("fetchCanceledOrders") in (True, "emulated"):
                cancelled = await self._paged(self.exchange.fetch_canceled_orders, symbol, since_ms)
            return [*closed, *cancelled, *await self.open_orders(symbol)]
        else:
            return None
        return await self._paged(fetch, symbol, since_ms)

    async def _paged(self, fetch: Any, symbol: str, since_ms: int) -> list[Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        cursor = since_ms
        for _ in range(_MAX_HISTORY_PAGES):
            page: list[Mapping[str, Any]] = await self.client.call(fetch, symbol, cursor, None)
            fresh = [o for o in page if str(o["id"]) not in found]
            for order in fresh:
                found[str(order["id"])] = order
            stamps = [int(o["timestamp"]) for o in page if o.get("timestamp") is not None]
            if not fresh or not stamps or max(stamps) <= cursor or len(page) < 100:
                break
            cursor = max(stamps)
        return list(found.values())

    async def get_order(self, order_id: str) -> Order:
        known = await self._locate(order_id)
        assert known.broker_order_id is not None
        found = await self.fetch_raw_order(known.broker_order_id, known.symbol, quiet=False)
        assert found is not None
        return parsing.parse_order(found, client_order_id=known.client_order_id, account_id=self.account_id)

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        """Open orders (all, with ``include_closed``) of ``instrument``, or of every watched symbol."""
        symbols = [await self._market(instrument)] if instrument is not None else list(self.directory.symbols)
        orders: dict[str, Order] = {}
        for symbol in symbols:
            raw = (
                (await self.recent_orders(symbol, self.now_ms() - 86_400_000))
                or await self.open_orders(symbol)
                if include_closed
                else await self.open_orders(symbol)
            )
            for item in raw:
                known = self.directory.find(str(item["id"]))
                client_id = known.client_order_id if known is not None else item.get("clientOrderId")
                self.directory.remember(symbol, str(item["id"]), client_id)
                order = parsing.parse_order(item, client_order_id=client_id, account_id=self.account_id)
                if include_closed or order.status.is_open:
                    orders[order.broker_order_id] = order
        return sorted(orders.values(), key=lambda o: o.created_at)

    async def trace_order(self, client_order_id: str, since: str | None = None) -> OrderTrace:
        """The order by its client order id; when the exchange does not know it (yet), the exchange's order
        history of its symbol since ``since`` (epoch ms, :meth:`history_marker`), which holds every order it
        accepted. A refused order is never stored, so it is ABSENT there, as one never sent."""
        symbol = await self._symbol_of(client_order_id)
        if symbol is None:
            return OrderTrace(
                status=OrderTraceStatus.UNKNOWN,
                evidence=f"the instrument of {client_order_id} is not known, so its orders cannot be searched",
            )
        found = await self._fetch_by_client_id(client_order_id, symbol)
        if found is None and since is not None and since.isdigit():
            history = await self.recent_orders(symbol, int(since))
            if history is None:
                return OrderTrace(
                    status=OrderTraceStatus.UNKNOWN,
                    evidence=f"{self.exchange_id} keeps no order history ccxt can read",
                )
            found = next((o for o in history if o.get("clientOrderId") == client_order_id), None)
            if found is None:
                return OrderTrace(
                    status=OrderTraceStatus.ABSENT,
                    evidence=f"{self.exchange_id}'s {symbol} orders since {since} ms ({len(history)} of them) "
                    f"hold none with client order id {client_order_id}",
                )
        if found is None:
            return OrderTrace(
                status=OrderTraceStatus.UNKNOWN,
                evidence="no history marker was recorded when it was sent, so the history cannot be searched",
            )
        self.directory.remember(symbol, str(found["id"]), client_order_id)
        order = parsing.parse_order(found, client_order_id=client_order_id, account_id=self.account_id)
        return OrderTrace(status=OrderTraceStatus.PLACED, order=order, broker_order_id=order.broker_order_id)

    async def _symbol_of(self, client_order_id: str) -> str | None:
        """The symbol an order was sent for: remembered, else from the order journal's intent."""
        known = self.directory.by_client(client_order_id)
        if known is not None:
            return known.symbol
        if self.journal is not None:
            entry = await self.journal.get(self.name, client_order_id)
            if entry is not None:
                return entry.instrument
        return None

    # ------------------------------------------------------------------ streams

    async def stream_order_updates(self) -> AsyncIterator[OrderUpdate]:
        """The account's order changes: by ccxt.pro's websocket where the exchange has one (and
        ``order_updates`` allows), else by polling; the capability profile says which."""
        if self._declared.order_updates_by_websocket:
            source = websocket_order_updates(self, self._margin_ms)
        else:
            source = polled_order_updates(self, self.options.poll_interval, self._margin_ms)
        async for update in source:
            yield update

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        symbols = [await self._market(instrument) for instrument in instruments]
        if self._declared.prices_by_websocket:
            source = websocket_prices(self.client, symbols)
        else:
            source = polled_prices(self._ticker, symbols, self.options.poll_interval)
        async for tick in source:
            yield tick

    # ------------------------------------------------------------------ market data

    async def _ticker(self, symbol: str) -> Mapping[str, Any]:
        ticker: Mapping[str, Any] = await self.client.call(self.exchange.fetch_ticker, symbol)
        return ticker

    async def get_current_price(self, instrument: str) -> PriceTick:
        self._need("fetchTicker", "get_current_price")
        symbol = await self._market(instrument)
        tick = parsing.parse_ticker(await self._ticker(symbol), symbol)
        if tick is None:
            raise UnknownBrokerError(
                f"{self.exchange_id} gave no bid and ask for {symbol}", broker_name=self.name
            )
        return tick

    async def get_current_prices(self, instruments: Sequence[str]) -> dict[str, PriceTick]:
        """Several symbols in one ``fetchTickers`` where the exchange has it."""
        symbols = [await self._market(instrument) for instrument in instruments]
        if not self.exchange.has.get("fetchTickers") or len(symbols) < 2:
            return {s: await self.get_current_price(s) for s in symbols}
        tickers = await self.client.call(self.exchange.fetch_tickers, symbols)
        ticks = {s: parsing.parse_ticker(tickers.get(s) or {}, s) for s in symbols}
        return {s: tick for s, tick in ticks.items() if tick is not None}

    async def get_historical_data(
        self,
        instrument: str,
        granularity: Granularity = Granularity.H1,
        *,
        count: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Candle]:
        """Candles, oldest first, read page by page (ccxt's ``fetchOHLCV`` with ``since`` and ``limit``)."""
        self._need("fetchOHLCV", "get_historical_data")
        symbol = await self._market(instrument)
        timeframe = parsing.TIMEFRAMES.get(granularity)
        offered = self.exchange.timeframes or {}
        if timeframe is None or timeframe not in offered:
            raise UnsupportedOperationError(
                f"{self.exchange_id} has no {granularity.value} candles (its timeframes: {', '.join(offered)})",
                broker_name=self.name,
                context={"granularity": granularity.value},
            )
        if count is not None and count <= 0:
            raise InvalidOrderError("count must be positive", broker_name=self.name)
        now = self.clock.now()
        width_ms = granularity.seconds * 1000
        last_ms = int((end or now).timestamp() * 1000)
        wanted = count if count is not None else (None if start is not None else 500)
        first_ms = (
            int(start.timestamp() * 1000) if start is not None else last_ms - (wanted or 500) * width_ms
        )
        page_size = int(
            ((self.exchange.features.get(self.options.market_type) or {}).get("fetchOHLCV") or {}).get(
                "limit"
            )
            or 500
        )
        candles: dict[datetime, Candle] = {}
        cursor = first_ms
        while cursor < last_ms and (start is None or wanted is None or len(candles) < wanted):
            rows = await self.client.call(self.exchange.fetch_ohlcv, symbol, timeframe, cursor, page_size)
            fresh = 0
            for row in rows:
                candle = parsing.parse_candle(row, symbol, granularity, now)
                if candle is not None and candle.time not in candles and int(row[0]) < last_ms:
                    candles[candle.time] = candle
                    fresh += 1
            if not rows or not fresh:
                break
            cursor = int(rows[-1][0]) + 1
        ordered = [candles[t] for t in sorted(candles)]
        if start is not None:
            return ordered[:wanted] if wanted is not None else ordered
        return ordered[-wanted:] if wanted is not None else ordered

    async def get_instruments(self) -> list[Instrument]:
        return list((await self._load_instruments(reload=True)).values())

    # ------------------------------------------------------------------ account

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        """The balance of the account's cash currency (the quote most of its markets use) and its equity:
        the cash plus every other asset held, valued at its mid in the cash currency where a pair lists it.
        On a spot account ``unrealized_pnl`` is that value of the non-cash holdings."""
        self._need("fetchBalance", "get_account_summary")
        balance = await self.client.call(self.exchange.fetch_balance)
        currency = self._cash_currency()
        totals = {
            code: parsing.decimal(amount) or Decimal(0)
            for code, amount in (balance.get("total") or {}).items()
            if amount
        }
        cash = totals.get(currency, Decimal(0))
        free = parsing.decimal((balance.get("free") or {}).get(currency)) or Decimal(0)
        held = {code: amount for code, amount in totals.items() if code != currency and amount}
        valued = Decimal(0)
        pairs = {f"{code}/{currency}": amount for code, amount in held.items()}
        listed = [s for s in pairs if self._instruments is not None and s in self._instruments]
        if listed:
            ticks = await self.get_current_prices(listed)
            valued = sum(((t.bid + t.ask) / 2 * pairs[s] for s, t in ticks.items()), Decimal(0))
        return AccountSummary(
            account_id=account_id or self.account_id,
            currency=currency,
            balance=cash,
            equity=cash + valued,
            unrealized_pnl=valued,
            margin_used=max(Decimal(0), cash - free),
            margin_available=free,
            time=self.clock.now(),
        )

    def _cash_currency(self) -> str:
        """The quote currency most of the adapter's markets use (USDT at Binance)."""
        if self._cash is None:
            quotes = Counter(i.quote_currency for i in (self._instruments or {}).values() if i.quote_currency)
            self._cash = quotes.most_common(1)[0][0] if quotes else "USDT"
        return self._cash

    # ------------------------------------------------------------------ positions (derivatives)

    def _derivatives(self, what: str) -> None:
        if self.options.market_type == "spot":
            raise UnsupportedOperationError(
                f"{self.name} trades spot, which has balances, not positions ({what}); set "
                "options.market_type: swap or future for derivatives",
                broker_name=self.name,
            )

    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        """Open derivative positions (ccxt's ``fetchPositions``): contracts times contract size, signed."""
        self._derivatives("get_positions")
        self._need("fetchPositions", "get_positions")
        symbols = [await self._market(instrument)] if instrument is not None else None
        raw = await self.client.call(self.exchange.fetch_positions, symbols)
        positions = []
        for item in raw:
            contracts = parsing.decimal(item.get("contracts")) or Decimal(0)
            size = parsing.decimal(item.get("contractSize")) or Decimal(1)
            quantity = contracts * size * (-1 if item.get("side") == "short" else 1)
            if quantity == 0:
                continue
            positions.append(
                Position(
                    instrument=item["symbol"],
                    quantity=quantity,
                    average_price=parsing.decimal(item.get("entryPrice")) or None,
                    unrealized_pnl=parsing.decimal(item.get("unrealizedPnl")) or Decimal(0),
                    margin_used=abs(parsing.decimal(item.get("initialMargin")) or Decimal(0)),
                    account_id=self.account_id,
                )
            )
        return positions

    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        """A reduce-only market order against the position (all of it, or ``quantity``)."""
        self._derivatives("close_position")
        positions = await self.get_positions(instrument)
        if not positions:
            raise PositionNotFoundError(f"no open {instrument} position to close", broker_name=self.name)
        position = positions[0]
        side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
        amount = quantity if quantity is not None else abs(position.quantity)
        closed = await self.client.call(
            self.exchange.create_order,
            position.instrument,
            "market",
            side.value,
            float(amount),
            None,
            {"reduceOnly": True},
            changes_state=True,
        )
        return self._result(closed, None)

    def __repr__(self) -> str:
        state = "authenticated" if self.is_authenticated else "not authenticated"
        return f"<CcxtAdapter {self.name!r} ({self.exchange_id}, {self.options.market_type}) {state}>"
