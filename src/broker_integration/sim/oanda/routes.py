"""The v20 REST endpoints (reference §1.3), each a translation: request → engine call → v20 answer.

Status codes follow the spec: 201 for a created or replaced order (also when it was cancelled at once,
e.g. MARKET_HALTED or INSUFFICIENT_MARGIN), 400 + ``orderRejectTransaction`` when the engine refused
the request, 404 ``NO_SUCH_ORDER`` for an unknown order, 404 + ``orderCancelRejectTransaction`` when
there is nothing to cancel or replace, 200 for a cancel and a position close (also when the close was
cancelled). The price stream lives in :mod:`broker_integration.sim.oanda.stream`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from broker_integration.models import Granularity, OrderSide
from broker_integration.sim.errors import CandleRequestError
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.errors import V20Error, invalid_value, missing_data, no_such_order
from broker_integration.sim.oanda.formats import parse_time
from broker_integration.sim.oanda.middleware import (
    account_of,
    reachable_accounts,
    renderer_of,
    request_id_of,
    respond,
)
from broker_integration.sim.oanda.parse import (
    ORDER_TYPES,
    Closeout,
    OrderExtras,
    parse_closeout,
    parse_order,
    replacement_changes,
)
from broker_integration.sim.oanda.render import Batch, V20Renderer, reason_name
from broker_integration.sim.oanda.state import STATE, SimulatorState
from broker_integration.sim.oanda.stream import pricing_stream
from broker_integration.sim.records import Bar, OrderOutcome, OrderView, RejectReason, TransactionType

__all__ = ["add_routes"]

_ORDER_STATES = frozenset({"PENDING", "FILLED", "TRIGGERED", "CANCELLED", "ALL"})
_DEFAULT_ORDER_COUNT, _MAX_ORDER_COUNT = 50, 500  # [obs?] the developer site's defaults
_DEFAULT_CANDLES, _MAX_CANDLES = 500, 5_000
_TRUE_FALSE = {"true": True, "false": False}
#: OANDA's wording for the reject reasons a client meets most ([rec] where a real body was captured).
_REJECT_MESSAGES: Mapping[str, str] = {
    "PRICE_PRECISION_EXCEEDED": "The price specified contains more precision than is allowed for the instrument",
    "ORDER_DOESNT_EXIST": "The Order specified does not exist",
    "UNITS_MIMIMUM_NOT_MET": "The Order units specified do not meet the minimum units requirement for the instrument",
    "UNITS_PRECISION_EXCEEDED": "The units specified contain more precision than is allowed for the instrument",
    "UNITS_INVALID": "The units specified are invalid",
    "UNITS_LIMIT_EXCEEDED": "The units specified exceed the maximum number of units allowed",
    "PRICE_MISSING": "The Order requires a price but none was specified",
    "PRICE_INVALID": "The price specified is invalid",
    "TIME_IN_FORCE_INVALID": "The time-in-force specified is invalid for this type of Order",
    "CLIENT_ORDER_ID_ALREADY_EXISTS": "The client Order ID specified is already assigned to another pending Order",
    "CLOSEOUT_POSITION_DOESNT_EXIST": "The Position requested to be closed out does not exist",
    "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE": "The Position closeout units exceed the size of the Position",
}
_CREATE_KEYS = {
    TransactionType.ORDER_CREATE: "orderCreateTransaction",
    TransactionType.ORDER_FILL: "orderFillTransaction",
    TransactionType.ORDER_CANCEL: "orderCancelTransaction",
    TransactionType.ORDER_REJECT: "orderRejectTransaction",
    TransactionType.ORDER_CANCEL_REJECT: "orderCancelRejectTransaction",
}


def add_routes(app: web.Application) -> None:
    """Register every v20 endpoint the simulator serves, named for the middleware's fault plan."""
    base = "/v3/accounts/{accountID}"
    table: list[tuple[str, str, Any, str]] = [
        ("GET", "/v3/accounts", list_accounts, "accounts"),
        ("GET", base, get_account, "account"),
        ("GET", f"{base}/summary", account_summary, "account_summary"),
        ("GET", f"{base}/instruments", account_instruments, "account_instruments"),
        ("POST", f"{base}/orders", place_order, "place_order"),
        ("GET", f"{base}/orders", list_orders, "list_orders"),
        ("GET", f"{base}/pendingOrders", pending_orders, "pending_orders"),
        ("GET", f"{base}/orders/{{orderSpecifier}}", get_order, "get_order"),
        ("PUT", f"{base}/orders/{{orderSpecifier}}", replace_order, "replace_order"),
        ("PUT", f"{base}/orders/{{orderSpecifier}}/cancel", cancel_order, "cancel_order"),
        ("GET", f"{base}/positions", all_positions, "positions"),
        ("GET", f"{base}/openPositions", open_positions, "open_positions"),
        ("GET", f"{base}/positions/{{instrument}}", one_position, "position"),
        ("PUT", f"{base}/positions/{{instrument}}/close", close_position, "close_position"),
        ("GET", f"{base}/transactions/{{transactionID}}", get_transaction, "transaction"),
        ("GET", f"{base}/pricing", pricing, "pricing"),
        ("GET", f"{base}/pricing/stream", pricing_stream, "pricing_stream"),
        ("GET", "/v3/instruments/{instrument}/candles", candles, "candles"),
        ("GET", f"{base}/instruments/{{instrument}}/candles", candles, "account_candles"),
    ]
    for method, path, handler, name in table:
        app.router.add_route(method, path, handler, name=name)


def _state(request: web.Request) -> SimulatorState:
    return request.app[STATE]


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise missing_data()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise V20Error(400, {"errorMessage": "The request body is not valid JSON"}) from None


def _last_id(state: SimulatorState) -> str:
    return str(state.engine.last_transaction_id)


# ================================================================== accounts


async def list_accounts(request: web.Request) -> web.Response:
    """``GET /v3/accounts``: the token's accounts, ``{"id", "tags"}`` each."""
    accounts = sorted(reachable_accounts(request))
    return respond(request, 200, {"accounts": [{"id": account_id, "tags": []} for account_id in accounts]})


async def account_summary(request: web.Request) -> web.Response:
    state, account_id = _state(request), account_of(request)
    return respond(request, 200, _summary(state, renderer_of(request), account_id))


def _summary(state: SimulatorState, renderer: V20Renderer, account_id: str) -> dict[str, Any]:
    snapshot = state.engine.account(account_id)
    state.history.catch_up()
    summary = renderer.account_summary(snapshot, state.engine.positions(account_id))
    return {"account": summary, "lastTransactionID": summary["lastTransactionID"]}


async def get_account(request: web.Request) -> web.Response:
    """``GET /v3/accounts/{id}``: the summary plus pending orders, open trades and every traded position."""
    state, account_id, renderer = _state(request), account_of(request), renderer_of(request)
    body = _summary(state, renderer, account_id)
    account = body["account"]
    account["orders"] = [renderer.order(view) for view in _newest_first(state.engine.orders(account_id))]
    account["trades"] = [renderer.trade(trade, account_id) for trade in state.history.open_trades(account_id)]
    account["positions"] = _positions(state, renderer, account_id, only_open=False)
    return respond(request, 200, body)


async def account_instruments(request: web.Request) -> web.Response:
    """``GET …/instruments[?instruments=A,B]``: what the account can trade."""
    state, renderer = _state(request), renderer_of(request)
    wanted = request.query.get("instruments")
    specs = (
        list(state.names.by_name.values())
        if wanted is None
        else _instrument_list(state, wanted, "instruments")
    )
    body = {
        "instruments": [renderer.instrument(spec) for spec in specs],
        "lastTransactionID": _last_id(state),
    }
    return respond(request, 200, body)


def _instrument_list(state: SimulatorState, text: str, field: str) -> list[InstrumentSpec]:
    specs = []
    for name in text.split(","):
        spec = state.names.spec(name)
        if spec is None:
            raise invalid_value(field)
        specs.append(spec)
    return specs


# ================================================================== orders


async def place_order(request: web.Request) -> web.Response:
    """``POST …/orders``: 201 filled, resting or cancelled at once; 400 + reject when refused."""
    state, account_id = _state(request), account_of(request)
    parsed = parse_order(await _json(request), state.names)
    outcome = state.engine.submit_order(account_id, parsed.request)
    return _order_answer(request, state, account_id, outcome, parsed.extras)


def _order_answer(
    request: web.Request,
    state: SimulatorState,
    account_id: str,
    outcome: OrderOutcome,
    extras: OrderExtras,
    *,
    replaced: OrderView | None = None,
) -> web.Response:
    """The answer to a create or replace: every transaction it wrote, under its v20 key."""
    transactions = outcome.transactions
    for t in transactions:
        if t.type is TransactionType.ORDER_CREATE and t.order_id is not None:
            state.extras[t.order_id] = extras
    state.history.catch_up()
    renderer = renderer_of(request)
    batch = state.batch(request_id_of(request), transactions, extras=extras)
    body: dict[str, Any] = {}
    for t in transactions:
        key = _CREATE_KEYS[t.type]
        if (
            t.type is TransactionType.ORDER_CANCEL
            and replaced is not None
            and t.order_id != replaced.order_id
        ):
            key = "replacingOrderCancelTransaction"  # [spec] the replacement itself was cancelled at once
        body[key] = renderer.transaction(t, batch)
    body["relatedTransactionIDs"] = [str(t.id) for t in transactions]
    body["lastTransactionID"] = str(transactions[-1].id)
    created = next((t for t in transactions if t.type is TransactionType.ORDER_CREATE), None)
    if outcome.reject_reason is not None and created is None:
        status = 404 if outcome.reject_reason is RejectReason.ORDER_DOESNT_EXIST else 400
        return respond(request, status, _with_error(body, outcome.reject_reason, outcome.message))
    headers = {}
    if created is not None and created.order_id is not None:
        headers["Location"] = str(
            request.url.with_path(f"/v3/accounts/{account_id}/orders/{created.order_id}").with_query(None)
        )
    return respond(request, 201, body, headers)


def _with_error(body: dict[str, Any], reason: RejectReason, message: str) -> dict[str, Any]:
    code = reason_name(reason)
    body["errorCode"] = code
    body["errorMessage"] = _REJECT_MESSAGES.get(code) or (message[:1].upper() + message[1:])
    return body


def _specifier(request: web.Request) -> tuple[str | None, str | None]:
    """``orderSpecifier``: an OANDA order id (``2304``) or ``@`` and a client order id (``@my_id``)."""
    text = request.match_info["orderSpecifier"]
    if text.isdigit():
        return text, None
    if text.startswith("@") and len(text) > 1:
        return None, text[1:]
    raise invalid_value("orderSpecifier")


async def get_order(request: web.Request) -> web.Response:
    """``GET …/orders/{specifier}``; 404 NO_SUCH_ORDER [rec] for an unknown one (and, with a read-after-write
    lag set, for one that changed too recently)."""
    state, account_id = _state(request), account_of(request)
    order_id, client_id = _specifier(request)
    view = state.engine.find_order(account_id, order_id, client_order_id=client_id)
    lag = state.settings.read_after_write_lag
    if view is None or (lag and (state.engine.clock.now() - view.updated_at).total_seconds() < lag):
        raise no_such_order(state.engine.last_transaction_id)
    state.history.catch_up()
    return respond(
        request, 200, {"order": renderer_of(request).order(view), "lastTransactionID": _last_id(state)}
    )


async def list_orders(request: web.Request) -> web.Response:
    """``GET …/orders?state=&instrument=&count=&beforeID=&ids=``, newest first."""
    state, account_id = _state(request), account_of(request)
    query = request.query
    wanted_state = query.get("state", "PENDING")
    if wanted_state not in _ORDER_STATES:
        raise invalid_value("state")
    count = _int_param(query.get("count"), "count", _DEFAULT_ORDER_COUNT, _MAX_ORDER_COUNT)
    symbol = None
    if "instrument" in query:
        spec = state.names.spec(query["instrument"])
        if spec is None:
            raise invalid_value("instrument")
        symbol = spec.symbol
    before = _int_param(query.get("beforeID"), "beforeID", None, None)
    ids = set(query["ids"].split(",")) if query.get("ids") else None
    views = state.engine.orders(account_id, instrument=symbol, include_closed=wanted_state != "PENDING")
    selected = [
        view
        for view in _newest_first(views)
        if (wanted_state == "ALL" or view.state.value == wanted_state)
        and (before is None or int(view.order_id) <= before)
        and (ids is None or view.order_id in ids)
    ][:count]
    return _orders_answer(request, state, selected)


async def pending_orders(request: web.Request) -> web.Response:
    """``GET …/pendingOrders``: every pending order, newest first."""
    state, account_id = _state(request), account_of(request)
    return _orders_answer(request, state, _newest_first(state.engine.orders(account_id)))


def _orders_answer(request: web.Request, state: SimulatorState, views: list[OrderView]) -> web.Response:
    state.history.catch_up()
    renderer = renderer_of(request)
    body = {"orders": [renderer.order(view) for view in views], "lastTransactionID": _last_id(state)}
    return respond(request, 200, body)


def _newest_first(views: list[OrderView]) -> list[OrderView]:
    return sorted(views, key=lambda view: int(view.order_id), reverse=True)


async def replace_order(request: web.Request) -> web.Response:
    """``PUT …/orders/{specifier}``: cancel and re-create with a new id, linked both ways (reference §1.5)."""
    state, account_id = _state(request), account_of(request)
    order_id, client_id = _specifier(request)
    parsed = parse_order(await _json(request), state.names)
    old = state.engine.find_order(account_id, order_id, client_order_id=client_id)
    extras = parsed.extras
    if old is not None and old.is_open:
        same_side = (parsed.request.side is OrderSide.BUY) == (old.side is OrderSide.BUY)
        same_kind = ORDER_TYPES[parsed.type_name] is old.order_type
        if not (same_kind and same_side and parsed.spec.symbol == old.instrument):
            raise V20Error(
                400,
                {
                    "errorCode": "REPLACING_ORDER_INVALID",
                    "errorMessage": "The Order to be replaced must be replaced by an Order of the same type, "
                    "instrument and direction",
                },
            )
        previous = state.extras.get(old.order_id, OrderExtras())
        if extras.client_tag is None and extras.client_comment is None:
            extras = _with_extensions(extras, previous)
    outcome = state.engine.replace_order(
        account_id, replacement_changes(parsed), order_id, client_order_id=client_id
    )
    if outcome.reject_reason is RejectReason.ORDER_DOESNT_EXIST:
        return _cancel_refused(request, state, outcome, order_id or client_id)
    return _order_answer(request, state, account_id, outcome, extras, replaced=old)


def _with_extensions(extras: OrderExtras, previous: OrderExtras) -> OrderExtras:
    """[rec] a replacement keeps the replaced order's client extensions when it names none."""
    return OrderExtras(
        position_fill=extras.position_fill,
        trigger_condition=extras.trigger_condition,
        price_text=extras.price_text,
        price_bound=extras.price_bound,
        client_tag=previous.client_tag,
        client_comment=previous.client_comment,
        trade_client_extensions=extras.trade_client_extensions or previous.trade_client_extensions,
        on_fill=extras.on_fill,
    )


async def cancel_order(request: web.Request) -> web.Response:
    """``PUT …/orders/{specifier}/cancel``: 200, or 404 ORDER_DOESNT_EXIST with the cancel-reject transaction."""
    state, account_id = _state(request), account_of(request)
    order_id, client_id = _specifier(request)
    outcome = state.engine.cancel_order(account_id, order_id, client_order_id=client_id)
    if not outcome.ok:
        return _cancel_refused(request, state, outcome, order_id or client_id)
    state.history.catch_up()
    renderer = renderer_of(request)
    transactions = outcome.transactions
    batch = state.batch(request_id_of(request), transactions)
    body = {
        "orderCancelTransaction": renderer.transaction(transactions[0], batch),
        "relatedTransactionIDs": [str(t.id) for t in transactions],
        "lastTransactionID": str(transactions[-1].id),
    }
    return respond(request, 200, body)


def _cancel_refused(
    request: web.Request, state: SimulatorState, outcome: OrderOutcome, reference: str | None
) -> web.Response:
    transactions = outcome.transactions
    batch = state.batch(request_id_of(request), transactions, reference=reference)
    renderer = renderer_of(request)
    body: dict[str, Any] = {
        "orderCancelRejectTransaction": renderer.transaction(transactions[0], batch),
        "relatedTransactionIDs": [str(t.id) for t in transactions],
        "lastTransactionID": str(transactions[-1].id),
    }
    return respond(request, 404, _with_error(body, RejectReason.ORDER_DOESNT_EXIST, outcome.message))


async def get_transaction(request: web.Request) -> web.Response:
    """``GET …/transactions/{transactionID}``: one transaction of the account, as it was first rendered."""
    state, account_id = _state(request), account_of(request)
    text = request.match_info["transactionID"]
    if not text.isdigit():
        raise invalid_value("transactionID")
    wanted = int(text)
    found = [
        t for t in state.engine.transactions(account_id=account_id, since_id=wanted - 1)[:1] if t.id == wanted
    ]
    if not found:
        raise V20Error(404, {"errorMessage": "The transaction ID specified does not exist"})
    state.history.catch_up()
    batch = state.batches.get(wanted, Batch("", wanted))
    body = {
        "transaction": renderer_of(request).transaction(found[0], batch),
        "lastTransactionID": _last_id(state),
    }
    return respond(request, 200, body)


# ================================================================== positions


async def all_positions(request: web.Request) -> web.Response:
    """``GET …/positions``: every instrument the account has ever traded."""
    return _positions_answer(request, only_open=False)


async def open_positions(request: web.Request) -> web.Response:
    """``GET …/openPositions``: positions with units on either side."""
    return _positions_answer(request, only_open=True)


def _positions_answer(request: web.Request, *, only_open: bool) -> web.Response:
    state, account_id = _state(request), account_of(request)
    positions = _positions(state, renderer_of(request), account_id, only_open=only_open)
    return respond(request, 200, {"positions": positions, "lastTransactionID": _last_id(state)})


def _positions(
    state: SimulatorState, renderer: V20Renderer, account_id: str, *, only_open: bool
) -> list[dict[str, Any]]:
    current = {position.instrument: position for position in state.engine.positions(account_id)}
    state.history.catch_up()
    instruments = list(current) if only_open else state.history.traded_instruments(account_id)
    return [renderer.position(account_id, symbol, current.get(symbol)) for symbol in instruments]


async def one_position(request: web.Request) -> web.Response:
    """``GET …/positions/{instrument}``: the position, flat if never traded."""
    state, account_id = _state(request), account_of(request)
    spec = _path_instrument(request, state)
    current = state.engine.positions(account_id, instrument=spec.symbol)
    state.history.catch_up()
    position = renderer_of(request).position(account_id, spec.symbol, current[0] if current else None)
    return respond(request, 200, {"position": position, "lastTransactionID": _last_id(state)})


def _path_instrument(request: web.Request, state: SimulatorState) -> InstrumentSpec:
    spec = state.names.spec(request.match_info["instrument"])
    if spec is None:
        raise invalid_value("instrument")
    return spec


async def close_position(request: web.Request) -> web.Response:
    """``PUT …/positions/{instrument}/close``: a closeout market order per side (reference §1.6)."""
    state, account_id = _state(request), account_of(request)
    spec = _path_instrument(request, state)
    sides = parse_closeout(await _json(request))
    current = state.engine.positions(account_id, instrument=spec.symbol)
    net = current[0].units if current else Decimal(0)
    held = "long" if net > 0 else "short" if net < 0 else None
    missing = [closeout for closeout in sides if closeout.side != held]
    if missing and held is not None:
        raise V20Error(
            400,
            {
                "errorCode": "CLOSEOUT_POSITION_DOESNT_EXIST",
                "errorMessage": _REJECT_MESSAGES["CLOSEOUT_POSITION_DOESNT_EXIST"],
            },
        )
    closeout = missing[0] if missing else sides[0]
    amount = None if closeout.units == "ALL" else Decimal(closeout.units)
    outcome = state.engine.close_position(account_id, spec.symbol, amount)
    return _close_answer(request, state, outcome, closeout)


def _close_answer(
    request: web.Request, state: SimulatorState, outcome: OrderOutcome, closeout: Closeout
) -> web.Response:
    extras = OrderExtras(position_fill="REDUCE_ONLY", closeout=closeout)
    transactions = outcome.transactions
    for t in transactions:
        if t.type is TransactionType.ORDER_CREATE and t.order_id is not None:
            state.extras[t.order_id] = extras
    state.history.catch_up()
    renderer = renderer_of(request)
    batch = state.batch(request_id_of(request), transactions, extras=extras)
    names = {
        TransactionType.ORDER_CREATE: "OrderCreateTransaction",
        TransactionType.ORDER_FILL: "OrderFillTransaction",
        TransactionType.ORDER_CANCEL: "OrderCancelTransaction",
        TransactionType.ORDER_REJECT: "OrderRejectTransaction",
    }
    body: dict[str, Any] = {
        f"{closeout.side}{names[t.type]}": renderer.transaction(t, batch) for t in transactions
    }
    body["relatedTransactionIDs"] = [str(t.id) for t in transactions]
    body["lastTransactionID"] = str(transactions[-1].id)
    if outcome.order is None and outcome.reject_reason is not None:
        return respond(request, 400, _with_error(body, outcome.reject_reason, outcome.message))
    return respond(request, 200, body)


# ================================================================== market data


async def pricing(request: web.Request) -> web.Response:
    """``GET …/pricing?instruments=A,B[&since=][&includeUnitsAvailable=][&includeHomeConversions=]``."""
    state, account_id, renderer = _state(request), account_of(request), renderer_of(request)
    query = request.query
    if not query.get("instruments"):
        raise invalid_value("instruments")
    specs = _instrument_list(state, query["instruments"], "instruments")
    since = _time_param(query.get("since"), "since")
    with_units = _flag(query.get("includeUnitsAvailable"), "includeUnitsAvailable", default=True)
    with_homes = _flag(query.get("includeHomeConversions"), "includeHomeConversions", default=False)
    snapshot = state.engine.account(account_id)
    held = {p.instrument: p.units for p in state.engine.positions(account_id)} if with_units else {}
    prices = []
    for spec in specs:
        quote = state.engine.quote(spec.symbol)
        if since is not None and quote.time <= since:
            continue
        available = (
            renderer.units_available(snapshot, spec, held.get(spec.symbol, Decimal(0)), quote)
            if with_units
            else None
        )
        prices.append(renderer.price(quote, home=snapshot.currency, units_available=available))
    body: dict[str, Any] = {"prices": prices}
    if with_homes:
        currencies = sorted({c for spec in specs for c in spec.symbol.split("/")})
        body["homeConversions"] = renderer.home_conversions(currencies, snapshot.currency)
    body["time"] = renderer.time(state.engine.clock.now())
    return respond(request, 200, body)


async def candles(request: web.Request) -> web.Response:
    """``GET /v3/instruments/{instrument}/candles`` (and the account variant), reference §1.8.

    Bars are aligned in UTC (the engine's grid): ``dailyAlignment``, ``alignmentTimezone``,
    ``weeklyAlignment`` and ``smooth`` are accepted and not applied.
    """
    state = _state(request)
    spec = _path_instrument(request, state)
    query = request.query
    components = query.get("price", "M")
    if not components or any(letter not in "MBA" for letter in components):
        raise invalid_value("price")
    try:
        granularity = Granularity(query.get("granularity", "S5"))
    except ValueError:
        raise invalid_value("granularity") from None
    count = _int_param(query.get("count"), "count", None, _MAX_CANDLES)
    start, end = _time_param(query.get("from"), "from"), _time_param(query.get("to"), "to")
    if count is not None and start is not None and end is not None:
        raise invalid_value("count")  # [spec] count must not be given with both from and to
    include_first = _flag(query.get("includeFirst"), "includeFirst", default=True)
    try:
        bars = _bars(state, spec, granularity, count, start, end, include_first=include_first)
    except CandleRequestError as exc:
        raise V20Error(400, {"errorMessage": str(exc)}) from None
    renderer = renderer_of(request)
    half_spread = spec.spread * Decimal(str(state.engine.profile.spread_multiplier)) / 2
    body = {
        "instrument": state.names.name(spec.symbol),
        "granularity": granularity.value,
        "candles": [renderer.candle(bar, spec, components, half_spread) for bar in bars],
    }
    return respond(request, 200, body)


def _bars(
    state: SimulatorState,
    spec: InstrumentSpec,
    granularity: Granularity,
    count: int | None,
    start: datetime | None,
    end: datetime | None,
    *,
    include_first: bool,
) -> list[Bar]:
    """Candles as OANDA selects them. Without ``from`` the engine's selection is OANDA's (the last
    ``count``, default 500, ending before ``to``); with ``from``, ``includeFirst`` keeps or drops the
    candle that covers ``from``, and the rest follow it."""
    engine, symbol = state.engine, spec.symbol
    if start is None:
        return engine.candles(symbol, granularity, count=count, end=end)
    covering = engine.candles(symbol, granularity, count=1, end=start + timedelta(seconds=1))
    head = covering[:1] if include_first and (end is None or (covering and covering[0].time < end)) else []
    after = covering[0].time + timedelta(seconds=1) if covering else start
    wanted = count if count is not None else (None if end is not None else _DEFAULT_CANDLES)
    if wanted is not None:
        wanted -= len(head)
        if wanted <= 0:
            return head
    return head + engine.candles(symbol, granularity, count=wanted, start=after, end=end)


# ================================================================== query parameters


def _int_param(text: str | None, field: str, default: int | None, maximum: int | None) -> int | None:
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1 or (maximum is not None and int(text) > maximum):
        raise invalid_value(field)
    return int(text)


def _time_param(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise invalid_value(field) from None


def _flag(text: str | None, field: str, *, default: bool) -> bool:
    if text is None:
        return default
    value = _TRUE_FALSE.get(text.lower())
    if value is None:
        raise invalid_value(field)
    return value
