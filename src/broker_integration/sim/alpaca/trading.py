"""The Trading API v2 endpoints the simulator serves (reference §2.3, §2.7, §4 "Alpaca"): the account, orders
(placed ``accepted`` with 200 and filled afterwards, listed, looked up by id or client id, replaced by PATCH
with a new id, cancelled with 204, all cancelled with 207), positions (closed by ``qty`` or ``percentage``,
all closed with 207), assets and the market clock.

Bodies are read as Alpaca reads them: decimals as strings or numbers, a body that is not a JSON object of the
expected types is 400 ``40010000``, a refusal of the order's content 422 ``40010001``, a buying-power refusal
403 ``40310000`` (answered at once; Alpaca never creates the order), an unknown order 404 ``40410000``, an
order already final 422 ``42210000``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import time, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web

from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim.alpaca import errors
from broker_integration.sim.alpaca.errors import AlpacaError
from broker_integration.sim.alpaca.listing import ListedAsset
from broker_integration.sim.alpaca.render import (
    OrderRecord,
    account_json,
    asset_json,
    decimal_text,
    order_json,
    position_json,
    query_time,
)
from broker_integration.sim.alpaca.state import STATE, AlpacaState
from broker_integration.sim.records import OrderChanges, OrderOutcome, OrderRequest, RejectReason

__all__ = [
    "account",
    "cancel_all_orders",
    "cancel_order",
    "clock",
    "close_all_positions",
    "close_position",
    "get_asset",
    "get_order",
    "get_order_by_client_id",
    "get_position",
    "list_assets",
    "list_orders",
    "list_positions",
    "place_order",
    "replace_order",
    "respond",
]

_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_limit": OrderType.STOP_LIMIT,
    "trailing_stop": OrderType.TRAILING_STOP,
}
_TIFS = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})
_RESTING = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "opg": TimeInForce.DAY, "cls": TimeInForce.DAY}
_AUCTIONS = frozenset({"opg", "cls"})
_AUCTION_CUTOFF = {"opg": time(9, 28), "cls": time(15, 50)}
_AUCTION_REOPEN = time(19, 0)
_NEW_YORK = ZoneInfo("America/New_York")
_MAX_CLIENT_ID = 48
_DAY = timedelta(days=1)
_DEFAULT_LIMIT, _MAX_LIMIT = 50, 500


def respond(body: Any, status: int = 200) -> web.Response:
    """A JSON answer with Alpaca's content type."""
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", charset="utf-8"
    )


def state_of(request: web.Request) -> AlpacaState:
    return request.app[STATE]


async def _object(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise errors.body_invalid() from None
    if not isinstance(body, dict):
        raise errors.body_invalid()
    return body


def _decimal(body: Mapping[str, Any], name: str) -> Decimal | None:
    """A decimal field, as a string or a JSON number; anything else is a malformed body (40010000)."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise errors.body_invalid()
    try:
        number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation:
        raise errors.invalid(f"invalid {name}") from None
    if not number.is_finite():
        raise errors.invalid(f"invalid {name}")
    return number


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.body_invalid()
    return value


# ------------------------------------------------------------------------------------------ account


async def account(request: web.Request) -> web.Response:
    state = state_of(request)
    snapshot = state.engine.account(state.account_id)
    values = {p["symbol"]: Decimal(p["market_value"]) for p in _positions(state)}
    return respond(account_json(snapshot, state.account_number, state.created_at, values))


async def clock(request: web.Request) -> web.Response:
    return respond(state_of(request).clock_json())


async def list_assets(request: web.Request) -> web.Response:
    state = state_of(request)
    status = request.query.get("status", "active")
    wanted_class = request.query.get("asset_class")
    assets = [
        asset_json(a)
        for a in state.assets.values()
        if status in ("active", "") and (wanted_class in (None, "", a.asset_class))
    ]
    return respond(assets)


async def get_asset(request: web.Request) -> web.Response:
    state = state_of(request)
    name = request.match_info["symbol"]
    asset = state.asset(name) or next((a for a in state.assets.values() if a.asset_id == name), None)
    if asset is None:
        raise AlpacaError(404, {"code": 40410000, "message": "asset not found"})
    return respond(asset_json(asset))


# ------------------------------------------------------------------------------------------ orders


async def place_order(request: web.Request) -> web.Response:
    """``POST /v2/orders``: 200 with the order ``accepted``; it fills (or is rejected) afterwards."""
    state = state_of(request)
    body = await _object(request)
    asset, order_request, extras = _new_order(state, body)
    if order_request.side is OrderSide.SELL and asset.is_crypto:
        _check_holdings(state, asset, order_request.units)
    outcome = state.engine.submit_order(state.account_id, order_request)
    view = outcome.order
    if view is None:
        raise _refusal(outcome, asset)
    record = state.new_record(
        view, asset, client_order_id=order_request.client_order_id, time_in_force=extras.pop("tif"), **extras
    )
    if outcome.reject_reason is RejectReason.INSUFFICIENT_MARGIN:
        record.hidden = True  # Alpaca checks buying power before it creates an order
        state.pump()
        raise _no_buying_power(state, view.units, view.price, asset, order_request.side)
    state.pump()
    return respond(order_json(record, view, status="accepted", filled=Decimal(0)))


def _new_order(
    state: AlpacaState, body: Mapping[str, Any]
) -> tuple[ListedAsset, OrderRequest, dict[str, Any]]:
    """The engine's request for an Alpaca order body, and what Alpaca shows that the engine does not keep."""
    symbol = _text(body, "symbol")
    qty, notional = _decimal(body, "qty"), _decimal(body, "notional")
    side_name, type_name, tif = (
        _text(body, "side"),
        _text(body, "type") or _text(body, "order_type"),
        _text(body, "time_in_force"),
    )
    client_id = _text(body, "client_order_id")
    order_class = _text(body, "order_class") or "simple"
    extended = body.get("extended_hours", False)
    if not isinstance(extended, bool):
        raise errors.body_invalid()
    if not symbol:
        raise errors.invalid("symbol is required")
    asset = state.asset(symbol)
    if asset is None:
        raise errors.invalid(f'asset "{symbol}" not found')
    if side_name not in ("buy", "sell"):
        raise errors.invalid("invalid side")
    if type_name not in _TYPES:
        raise errors.invalid("invalid order type")
    if tif not in _TIFS:
        raise errors.invalid("invalid time_in_force")
    if order_class != "simple":
        raise errors.invalid(f"order_class {order_class} is not simulated")  # brackets: see the README
    if qty is not None and notional is not None:
        raise errors.invalid("only one of qty or notional is accepted")
    if qty is None and notional is None:
        raise errors.invalid("qty or notional is required")
    if client_id is not None and len(client_id) > _MAX_CLIENT_ID:
        raise errors.invalid(f"client_order_id must be no more than {_MAX_CLIENT_ID} characters")
    if client_id is not None and client_id in state.by_client:
        raise errors.duplicate_client_order_id()
    kind = _TYPES[type_name]
    side = OrderSide(side_name)
    if tif in _AUCTIONS:
        _check_auction(state, asset, kind, tif)
    limit_price, stop_price = _decimal(body, "limit_price"), _decimal(body, "stop_price")
    trail_price, trail_percent = _decimal(body, "trail_price"), _decimal(body, "trail_percent")
    quote = state.engine.quote(asset.symbol)
    reference = quote.ask if side is OrderSide.BUY else quote.bid
    if notional is not None:
        if kind is not OrderType.MARKET:
            raise errors.invalid("notional orders are only supported for market orders")
        if not asset.fractionable:
            raise errors.invalid(f"asset {asset.symbol} is not fractionable")
        if not asset.is_crypto and tif != "day":
            raise errors.invalid("fractional orders must be DAY orders")
        if notional <= 0:
            raise errors.invalid("notional must be > 0")
        step = asset.spec.instrument.quantity_increment
        qty = (notional / reference / step).to_integral_value(ROUND_FLOOR) * step
    assert qty is not None
    trailing_distance: Decimal | None = None
    if kind is OrderType.TRAILING_STOP:
        if (trail_price is None) == (trail_percent is None):
            raise errors.invalid("exactly one of trail_price or trail_percent is required")
        if trail_percent is not None:
            if not 0 < trail_percent < 100:
                raise errors.invalid("trail_percent must be between 0 and 100")
            tick = asset.spec.tick_size
            trailing_distance = max(tick, (reference * trail_percent / 100 / tick).to_integral_value() * tick)
        else:
            trailing_distance = trail_price
    elif trail_price is not None or trail_percent is not None:
        raise errors.invalid("trail_price and trail_percent go with trailing_stop orders only")
    if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit_price is None:
        raise errors.invalid(f"limit_price is required for {type_name} orders")
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and stop_price is None:
        raise errors.invalid(f"stop_price is required for {type_name} orders")
    if kind is OrderType.MARKET and (limit_price is not None or stop_price is not None):
        raise errors.invalid("market orders take no limit_price or stop_price")
    engine_tif = _engine_tif(kind, tif)
    request = OrderRequest(
        instrument=asset.symbol,
        side=side,
        units=qty,
        order_type=kind,
        price=limit_price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop_price=stop_price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
        trailing_distance=trailing_distance,
        time_in_force=engine_tif,
        client_order_id=client_id or str(uuid.uuid4()),
    )
    extras: dict[str, Any] = {
        "tif": tif,
        "notional": notional,
        "trail_percent": trail_percent,
        "extended_hours": extended,
    }
    return asset, request, extras


def _check_auction(state: AlpacaState, asset: ListedAsset, kind: OrderType, tif: str) -> None:
    """Alpaca's rules for ``opg``/``cls`` ("Orders at Alpaca", time in force): market or limit stock orders
    only; with trading hours kept, ``opg`` is refused from 9:28 to 19:00 New York time and ``cls`` from 15:50
    to 19:00 (the auction's order window has closed and the next one has not opened)."""
    if asset.is_crypto:
        raise errors.invalid(f"invalid crypto time_in_force: {tif}")
    if kind not in (OrderType.MARKET, OrderType.LIMIT):
        raise errors.invalid(f"{tif} orders must be market or limit orders")
    if state.engine.profile.enforce_trading_hours:
        local = state.engine.clock.now().astimezone(_NEW_YORK).time()
        if _AUCTION_CUTOFF[tif] <= local < _AUCTION_REOPEN:
            raise errors.invalid(
                f"{tif} orders are not accepted between {_AUCTION_CUTOFF[tif]:%H:%M} and 19:00 ET"
            )


def _engine_tif(kind: OrderType, tif: str) -> TimeInForce:
    """Alpaca's time in force in the engine's terms: a market order executes at once (what the book offers,
    IOC, unless it is fill-or-kill); a resting order keeps its day or good-till-cancelled life. The engine
    runs no auction: an ``opg``/``cls`` order executes in continuous trading when it is taken (a limit as a
    DAY order), which the README lists as not simulated."""
    if tif == "fok":
        if kind not in (OrderType.MARKET, OrderType.LIMIT):
            raise errors.invalid(f"fok is not allowed for {kind.value} orders")
        return TimeInForce.FOK
    if tif == "ioc":
        if kind not in (OrderType.MARKET, OrderType.LIMIT):
            raise errors.invalid(f"ioc is not allowed for {kind.value} orders")
        return TimeInForce.IOC
    if kind is OrderType.MARKET:
        return TimeInForce.IOC
    return _RESTING[tif]


def _check_holdings(state: AlpacaState, asset: ListedAsset, units: Decimal) -> None:
    """Crypto cannot be sold short at Alpaca: a sell above the holding is refused at once."""
    held = sum(
        (p.units for p in state.engine.positions(state.account_id, instrument=asset.symbol)), Decimal(0)
    )
    if units > held:
        raise errors.insufficient_qty(asset.wire_symbol, units, max(held, Decimal(0)), Decimal(0))


def _no_buying_power(
    state: AlpacaState, units: Decimal, price: Decimal | None, asset: ListedAsset, side: OrderSide
) -> AlpacaError:
    quote = state.engine.quote(asset.symbol)
    cost = units * (price or (quote.ask if side is OrderSide.BUY else quote.bid))
    free = max(state.engine.account(state.account_id).margin_available, Decimal(0))
    power = free if asset.is_crypto else free * 2
    return errors.insufficient_buying_power(power.quantize(Decimal("0.01")), cost.quantize(Decimal("0.01")))


def _refusal(outcome: OrderOutcome, asset: ListedAsset) -> AlpacaError:
    """The engine's refusal of a request (it never became an order) in Alpaca's words."""
    reason, message = outcome.reject_reason, outcome.message
    if reason is RejectReason.CLIENT_ORDER_ID_ALREADY_EXISTS:
        return errors.duplicate_client_order_id()
    if reason is RejectReason.UNITS_PRECISION_EXCEEDED:
        if not asset.is_crypto:
            return errors.invalid("qty must be integer")
        return errors.invalid(
            f"qty must be a multiple of {decimal_text(asset.spec.instrument.quantity_increment)}"
        )
    if reason is RejectReason.UNITS_MINIMUM_NOT_MET:
        return errors.invalid(f"qty must be >= {decimal_text(asset.spec.instrument.min_quantity)}")
    if reason in (RejectReason.UNITS_INVALID, RejectReason.UNITS_LIMIT_EXCEEDED):
        return errors.invalid("invalid qty")
    if reason is RejectReason.PRICE_PRECISION_EXCEEDED:
        # [obs?] Alpaca answers sub-penny prices with 42210000
        return AlpacaError(
            422,
            {
                "code": 42210000,
                "message": f"invalid price. sub-penny increment does not fulfill minimum pricing criteria ({message})",
            },
        )
    if reason is RejectReason.TIME_IN_FORCE_INVALID:
        return errors.invalid("invalid time_in_force")
    return errors.invalid(message or "invalid order")


def _record_of(state: AlpacaState, order_id: str) -> OrderRecord:
    try:
        uuid.UUID(order_id)
    except ValueError:
        raise errors.invalid("order_id is missing") from None  # [rec] Alpaca-API#135: not a UUID
    record = state.visible(order_id)
    if record is None:
        raise errors.order_not_found()
    return record


async def get_order(request: web.Request) -> web.Response:
    state = state_of(request)
    record = _record_of(state, request.match_info["order_id"])
    return respond(order_json(record, state.view_of(record)))


async def get_order_by_client_id(request: web.Request) -> web.Response:
    """``GET /v2/orders:by_client_order_id?client_order_id=…``: every order the account was given."""
    state = state_of(request)
    client_id = request.query.get("client_order_id")
    if not client_id:
        raise errors.invalid("client_order_id is required")
    order_id = state.by_client.get(client_id)
    record = state.visible(order_id) if order_id is not None else None
    if record is None:
        raise errors.order_not_found()
    return respond(order_json(record, state.view_of(record)))


async def list_orders(request: web.Request) -> web.Response:
    """``GET /v2/orders?status=&limit=&after=&until=&direction=&symbols=&side=``; default open, 50, newest first."""
    state = state_of(request)
    query = request.query
    status = query.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise errors.invalid("invalid status")
    try:
        limit = int(query.get("limit", _DEFAULT_LIMIT))
    except ValueError:
        raise errors.invalid("invalid limit") from None
    if not 1 <= limit <= _MAX_LIMIT:
        raise errors.invalid(f"limit must be between 1 and {_MAX_LIMIT}")
    direction = query.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise errors.invalid("invalid direction")
    after, until = query_time(query, "after", errors.invalid), query_time(query, "until", errors.invalid)
    symbols = {s.strip().upper() for s in query["symbols"].split(",")} if query.get("symbols") else None
    side = query.get("side")
    selected = []
    for record in state.records.values():
        if record.hidden:
            continue
        view = state.view_of(record)
        if (status == "open" and not view.is_open) or (status == "closed" and view.is_open):
            continue
        if (after is not None and record.submitted_at <= after) or (
            until is not None and record.submitted_at > until
        ):
            continue
        if symbols is not None and not ({record.asset.symbol, record.asset.wire_symbol} & symbols):
            continue
        if side is not None and view.side.value != side:
            continue
        selected.append((record, view))
    selected.sort(
        key=lambda pair: (pair[0].submitted_at, int(pair[0].engine_id)), reverse=direction == "desc"
    )
    return respond([order_json(record, view) for record, view in selected[:limit]])


async def replace_order(request: web.Request) -> web.Response:
    """``PATCH /v2/orders/{id}``: a new order (new id, ``replaces`` the old) takes the old one's place."""
    state = state_of(request)
    old = _record_of(state, request.match_info["order_id"])
    body = await _object(request)
    view = state.view_of(old)
    if not view.is_open:
        raise errors.already_final(state.status_of(old))
    tif = _text(body, "time_in_force")
    if tif is not None and tif not in _TIFS:
        raise errors.invalid("invalid time_in_force")
    client_id = _text(body, "client_order_id")
    if client_id is not None and (client_id in state.by_client or len(client_id) > _MAX_CLIENT_ID):
        raise (
            errors.duplicate_client_order_id()
            if client_id in state.by_client
            else errors.invalid(f"client_order_id must be no more than {_MAX_CLIENT_ID} characters")
        )
    trail = _decimal(body, "trail")
    if trail is not None and old.trail_percent is not None:
        tick = old.asset.spec.tick_size
        price = state.engine.quote(old.asset.symbol).mid
        trail_distance: Decimal | None = max(tick, (price * trail / 100 / tick).to_integral_value() * tick)
    else:
        trail_distance = trail
    changes = OrderChanges(
        units=_decimal(body, "qty"),
        price=_decimal(body, "limit_price"),
        stop_price=_decimal(body, "stop_price"),
        trailing_distance=trail_distance,
        time_in_force=_engine_tif(view.order_type, tif) if tif is not None else None,
    )
    outcome = state.engine.replace_order(state.account_id, changes, old.engine_id)
    new_view = outcome.order
    if new_view is None or new_view.order_id == old.engine_id:
        raise _refusal(outcome, old.asset)
    record = state.new_record(
        new_view,
        old.asset,
        client_order_id=client_id,
        time_in_force=tif or old.time_in_force,
        trail_percent=trail if old.trail_percent is not None and trail is not None else old.trail_percent,
        extended_hours=old.extended_hours,
        replaces=old.order_id,
    )
    old.replaced_by = record.order_id
    state.pump()
    return respond(order_json(record, new_view, status="accepted", filled=Decimal(0)))


async def cancel_order(request: web.Request) -> web.Response:
    """``DELETE /v2/orders/{id}``: 204; 404 for an unknown order, 422 ``42210000`` for a final one."""
    state = state_of(request)
    record = _record_of(state, request.match_info["order_id"])
    outcome = state.engine.cancel_order(state.account_id, record.engine_id)
    if not outcome.ok:
        raise errors.already_final(state.status_of(record))
    state.pump()
    return web.Response(status=204)


async def cancel_all_orders(request: web.Request) -> web.Response:
    """``DELETE /v2/orders``: 207 with one status per open order."""
    state = state_of(request)
    answers = []
    for record in list(state.records.values()):
        if record.hidden or not state.view_of(record).is_open:
            continue
        outcome = state.engine.cancel_order(state.account_id, record.engine_id)
        if outcome.ok:
            answers.append({"id": record.order_id, "status": 200})
        else:
            answers.append(
                {
                    "id": record.order_id,
                    "status": 422,
                    "body": errors.already_final(state.status_of(record)).body,
                }
            )
    state.pump()
    return respond(answers, status=207)


# ------------------------------------------------------------------------------------------ positions


def _positions(state: AlpacaState) -> list[dict[str, Any]]:
    found = []
    for snapshot in state.engine.positions(state.account_id):
        if not snapshot.units:
            continue
        asset = state.assets[snapshot.instrument]
        quote = state.engine.quote(asset.symbol)
        previous = state.engine.quote_at(asset.symbol, quote.time - _DAY)
        found.append(position_json(asset, snapshot, quote, previous))
    return found


async def list_positions(request: web.Request) -> web.Response:
    return respond(_positions(state_of(request)))


async def get_position(request: web.Request) -> web.Response:
    state = state_of(request)
    asset = state.asset(request.match_info["symbol"])
    found = [p for p in _positions(state) if asset is not None and p["symbol"] == asset.wire_symbol]
    if not found:
        raise errors.no_position()
    return respond(found[0])


async def close_position(request: web.Request) -> web.Response:
    """``DELETE /v2/positions/{symbol}?qty=|percentage=``: 200 with the closing market order."""
    state = state_of(request)
    asset = state.asset(request.match_info["symbol"])
    if asset is None:
        raise errors.no_position()
    body = _close(state, asset, request.query.get("qty"), request.query.get("percentage"))
    return respond(body)


def _close(
    state: AlpacaState, asset: ListedAsset, qty_text: str | None, percentage_text: str | None
) -> dict[str, Any]:
    if qty_text and percentage_text:
        raise errors.invalid("only one of qty or percentage is accepted")
    held = sum(
        (p.units for p in state.engine.positions(state.account_id, instrument=asset.symbol)), Decimal(0)
    )
    if not held:
        raise errors.no_position()
    units: Decimal | None = None
    try:
        if qty_text:
            units = Decimal(qty_text)
        elif percentage_text:
            share = Decimal(percentage_text)
            if not 0 < share <= 100:
                raise errors.invalid("percentage must be between 0 and 100")
            step = asset.spec.instrument.quantity_increment
            units = (abs(held) * share / 100 / step).to_integral_value(ROUND_FLOOR) * step
    except InvalidOperation:
        raise errors.invalid("invalid qty or percentage") from None
    if units is not None and not (units.is_finite() and units > 0):
        raise errors.invalid("invalid qty")
    if units is not None and units > abs(held):
        raise errors.insufficient_qty(asset.wire_symbol, units, abs(held), Decimal(0))
    outcome = state.engine.close_position(state.account_id, asset.symbol, units)
    view = outcome.order
    if view is None:
        raise _refusal(outcome, asset)
    record = state.new_record(
        view, asset, client_order_id=None, time_in_force="gtc" if asset.is_crypto else "day"
    )
    state.pump()
    return order_json(record, view, status="accepted", filled=Decimal(0))


async def close_all_positions(request: web.Request) -> web.Response:
    """``DELETE /v2/positions?cancel_orders=``: 207 with one answer per position."""
    state = state_of(request)
    if request.query.get("cancel_orders") == "true":
        await cancel_all_orders(request)
    answers = []
    for snapshot in state.engine.positions(state.account_id):
        asset = state.assets[snapshot.instrument]
        try:
            answers.append(
                {"symbol": asset.wire_symbol, "status": 200, "body": _close(state, asset, None, None)}
            )
        except AlpacaError as error:
            answers.append({"symbol": asset.wire_symbol, "status": error.status, "body": error.body})
    return respond(answers, status=207)
