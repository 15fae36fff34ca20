"""Binance's websockets, served over the venue engine: market streams and the WebSocket API's user data
stream, as ccxt.pro's ``binance`` class uses them (``watchBidsAsks``, ``watchOrders``).

* Market streams (``web-socket-streams.md``): ``/ws/<streamName>`` (ccxt opens ``/ws/<n>`` and subscribes
  live) takes ``{"method": "SUBSCRIBE", "params": [...], "id": …}`` and answers ``{"result": null, "id": …}``;
  ``<symbol>@bookTicker`` pushes the best bid and ask (``u``, ``s``, ``b``, ``B``, ``a``, ``A``) when they
  change. Other stream names are refused with the error shape Binance documents for a bad request.
* WebSocket API (``web-socket-api.md``): ``/ws-api/v3`` takes ``{"id", "method", "params"}``;
  ``userDataStream.subscribe.signature`` (``apiKey``, ``timestamp``, ``signature``: HMAC-SHA256 of every
  other parameter, sorted by name, as ``name=value`` joined with ``&``; ``recvWindow``) subscribes the key's
  account, answered ``{"id", "status": 200, "result": {"subscriptionId": 0}}``; from then on each change of
  an order comes as ``{"subscriptionId", "event": {"e": "executionReport", …}}`` (``user-data-stream.md``):
  ``NEW``, each ``TRADE`` with the cumulative quantities, ``CANCELED`` or ``EXPIRED``.

Both read the engine every ``stream_interval``, which also lets resting orders fill as prices move. The
server pings every 20 s, as Binance does. A stream whose request drew a TIMEOUT fault opens and says nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from broker_integration.sim.binance.auth import (
    AHEAD_MS,
    DEFAULT_RECV_WINDOW_MS,
    MAX_RECV_WINDOW_MS,
    signature_of,
)
from broker_integration.sim.binance.face import params_of, state_of
from broker_integration.sim.binance.markets import decimal_text
from broker_integration.sim.binance.render import BINANCE_TYPES, millis, order_status
from broker_integration.sim.binance.state import SimulatorState
from broker_integration.sim.faults import silent_stream_requested
from broker_integration.sim.records import CancelReason, OrderView, Transaction, TransactionType

__all__ = ["market_stream", "websocket_api"]

_PING_SECONDS = 20.0
_ZERO = Decimal(0)


async def _open(request: web.Request) -> web.WebSocketResponse:
    params_of(request).accept_all()  # a stream's query (timeUnit ...) changes nothing here
    socket = web.WebSocketResponse(heartbeat=_PING_SECONDS, autoping=True)
    await socket.prepare(request)
    state = state_of(request)
    state.counts.streams_opened += 1
    state.streams[id(socket)] = socket
    return socket


async def _send(socket: web.WebSocketResponse, body: Any) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await socket.send_str(orjson.dumps(body).decode())


async def _messages(socket: web.WebSocketResponse, state: SimulatorState) -> Any:
    """The client's JSON messages until it closes (or the server stops); ``None`` for a malformed one."""
    while not socket.closed and not state.closing.is_set():
        message = await socket.receive()
        if message.type is not WSMsgType.TEXT:
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
                return
            continue
        try:
            yield orjson.loads(message.data)
        except orjson.JSONDecodeError:
            yield None


# ---------------------------------------------------------------------------------- market streams


async def market_stream(request: web.Request) -> web.StreamResponse:
    """``/ws`` and ``/ws/<streamName>``: book tickers for the symbols subscribed."""
    state = state_of(request)
    subscribed: dict[str, str] = {}  # engine symbol -> Binance symbol
    raw = request.match_info.get("stream")
    if raw is not None and raw.endswith("@bookTicker"):
        _subscribe(state, [raw], subscribed)
    return await _converse(
        request,
        answer=lambda body: _control(state, body, subscribed),
        push=lambda socket, silent: _push_books(state, socket, subscribed, silent),
    )


async def _converse(
    request: web.Request,
    *,
    answer: Callable[[Any], dict[str, Any]],
    push: Callable[[web.WebSocketResponse, bool], Coroutine[Any, Any, None]],
) -> web.WebSocketResponse:
    """Open the websocket, answer each message the client sends while ``push`` sends what the server has
    to say, until either side closes (a stream that drew a TIMEOUT fault answers nothing)."""
    state = state_of(request)
    socket = await _open(request)
    silent = silent_stream_requested(request)
    pusher = asyncio.create_task(push(socket, silent))
    try:
        async for body in _messages(socket, state):
            if not silent:
                await _send(socket, answer(body))
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        state.streams.pop(id(socket), None)
        await socket.close()
    return socket


def _subscribe(state: SimulatorState, names: list[str], subscribed: dict[str, str]) -> str | None:
    """Subscribe ``names``; the first one the simulator does not serve, else ``None``."""
    for name in names:
        symbol, _, channel = name.partition("@")
        rule = state.listing.get(symbol.upper())
        if channel != "bookTicker" or rule is None or symbol != symbol.lower():
            return name
        subscribed[rule.spec.symbol] = rule.symbol
    return None


def _control(state: SimulatorState, body: Any, subscribed: dict[str, str]) -> dict[str, Any]:
    """The answer to a live (un)subscription message."""
    if not isinstance(body, Mapping):
        return {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}
    request_id = body.get("id")
    method = body.get("method")
    params = body.get("params") or []
    if method not in ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS"):
        return {
            "code": 2,
            "msg": f"Invalid request: unknown variant {method!r}, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
            "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
            "id": request_id,
        }
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": [f"{name.lower()}@bookTicker" for name in subscribed.values()], "id": request_id}
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        return {"code": 2, "msg": "Invalid request: params must be a list of stream names", "id": request_id}
    if method == "UNSUBSCRIBE":
        for name in params:
            rule = state.listing.get(name.partition("@")[0].upper())
            if rule is not None:
                subscribed.pop(rule.spec.symbol, None)
        return {"result": None, "id": request_id}
    refused = _subscribe(state, params, subscribed)
    if refused is not None:
        return {
            "code": 2,
            "msg": f"Invalid request: the simulator serves <symbol>@bookTicker streams, not {refused!r}",
            "id": request_id,
        }
    return {"result": None, "id": request_id}


async def _push_books(
    state: SimulatorState, socket: web.WebSocketResponse, subscribed: dict[str, str], silent: bool
) -> None:
    last: dict[str, tuple[Decimal, Decimal]] = {}
    update_id = 0
    while not socket.closed:
        await asyncio.sleep(state.settings.stream_interval)
        if silent:
            continue
        for engine_symbol, name in list(subscribed.items()):
            quote = state.engine.quote(engine_symbol)
            if last.get(engine_symbol) == (quote.bid, quote.ask):
                continue
            last[engine_symbol] = (quote.bid, quote.ask)
            update_id += 1
            size = decimal_text(state.listing.of_engine(engine_symbol).max_market_quantity / 10)
            await _send(
                socket,
                {
                    "u": update_id,
                    "s": name,
                    "b": decimal_text(quote.bid),
                    "B": size,
                    "a": decimal_text(quote.ask),
                    "A": size,
                },
            )


# ---------------------------------------------------------------------------------- WebSocket API


@dataclass
class _Subscription:
    account_id: str
    since: int
    subscription_id: int
    filled: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)


async def websocket_api(request: web.Request) -> web.StreamResponse:
    """``/ws-api/v3``: the user data stream (signature subscription) and ``ping``/``time``."""
    state = state_of(request)
    subscriptions: list[_Subscription] = []
    return await _converse(
        request,
        answer=lambda body: _api_answer(state, body, subscriptions),
        push=lambda socket, silent: _push_reports(state, socket, subscriptions, silent),
    )


def _api_error(request_id: Any, status: int, code: int, msg: str) -> dict[str, Any]:
    return {"id": request_id, "status": status, "error": {"code": code, "msg": msg}}


def _api_answer(state: SimulatorState, body: Any, subscriptions: list[_Subscription]) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        return _api_error(None, 400, -1135, "Invalid JSON Request")
    request_id = body.get("id")
    method = body.get("method")
    params = body.get("params") or {}
    if not isinstance(params, Mapping):
        return _api_error(request_id, 400, -1135, "Invalid JSON Request")
    if method == "ping":
        return {"id": request_id, "status": 200, "result": {}}
    if method == "time":
        return {"id": request_id, "status": 200, "result": {"serverTime": state.server_ms()}}
    if method == "userDataStream.subscribe.signature":
        return _subscribe_signature(state, request_id, params, subscriptions)
    if method == "userDataStream.unsubscribe":
        wanted = params.get("subscriptionId")
        kept = [s for s in subscriptions if wanted is not None and s.subscription_id != wanted]
        subscriptions[:] = kept
        return {"id": request_id, "status": 200, "result": {}}
    return _api_error(request_id, 400, -1020, "This operation is not supported.")


def _subscribe_signature(
    state: SimulatorState, request_id: Any, params: Mapping[str, Any], subscriptions: list[_Subscription]
) -> dict[str, Any]:
    """Check the key, signature and timing of a signature subscription; subscribe the key's account."""
    key = state.keys.get(str(params.get("apiKey") or ""))
    if key is None:
        return _api_error(request_id, 401, -2015, "Invalid API-key, IP, or permissions for action.")
    signature = params.get("signature")
    timestamp = params.get("timestamp")
    if not isinstance(signature, str) or not isinstance(timestamp, int):
        name = "signature" if not isinstance(signature, str) else "timestamp"
        return _api_error(
            request_id,
            400,
            -1102,
            f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
        )
    payload = "&".join(f"{name}={params[name]}" for name in sorted(params) if name != "signature")
    if not hmac.compare_digest(signature_of(key.secret, payload), signature.lower()):
        return _api_error(request_id, 400, -1022, "Signature for this request is not valid.")
    window = Decimal(str(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS)))
    if window > MAX_RECV_WINDOW_MS:
        return _api_error(request_id, 400, -1131, "recvWindow must be less than 60000")
    now = state.server_ms()
    if timestamp >= now + AHEAD_MS:
        return _api_error(
            request_id, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if now - timestamp > window:
        return _api_error(request_id, 400, -1021, "Timestamp for this request is outside of the recvWindow.")
    if any(s.account_id == key.account_id for s in subscriptions):
        return _api_error(request_id, 400, -2035, "User Data Stream subscription already active.")
    subscription = _Subscription(key.account_id, state.engine.last_transaction_id, len(subscriptions))
    subscriptions.append(subscription)
    return {"id": request_id, "status": 200, "result": {"subscriptionId": subscription.subscription_id}}


async def _push_reports(
    state: SimulatorState, socket: web.WebSocketResponse, subscriptions: list[_Subscription], silent: bool
) -> None:
    while not socket.closed:
        await asyncio.sleep(state.settings.stream_interval)
        if silent:
            continue
        for subscription in list(subscriptions):
            transactions = state.engine.transactions(
                account_id=subscription.account_id, since_id=subscription.since
            )
            for transaction in transactions:
                subscription.since = transaction.id
                report = _execution_report(state, subscription, transaction)
                if report is not None:
                    await _send(socket, {"subscriptionId": subscription.subscription_id, "event": report})


_EXECUTION_TYPES = {
    TransactionType.ORDER_CREATE: "NEW",
    TransactionType.ORDER_FILL: "TRADE",
}


def _execution_report(
    state: SimulatorState, subscription: _Subscription, transaction: Transaction
) -> dict[str, Any] | None:
    """The ``executionReport`` an engine entry makes, or ``None`` (not an order's change, or an order
    Binance never stored)."""
    if transaction.order_id is None or transaction.order_id in state.unstored:
        return None
    if transaction.type not in (
        TransactionType.ORDER_CREATE,
        TransactionType.ORDER_FILL,
        TransactionType.ORDER_CANCEL,
    ):
        return None
    view = state.engine.find_order(subscription.account_id, transaction.order_id)
    if view is None:
        return None
    filled, quote = subscription.filled.get(view.order_id, (_ZERO, _ZERO))
    last_qty = last_price = _ZERO
    if transaction.type is TransactionType.ORDER_FILL:
        last_qty, last_price = transaction.units or _ZERO, transaction.price or _ZERO
        filled, quote = filled + last_qty, quote + last_qty * last_price
        subscription.filled[view.order_id] = (filled, quote)
    execution = _EXECUTION_TYPES.get(transaction.type)
    if execution is None:
        client_cancel = transaction.reason in (
            CancelReason.CLIENT_REQUEST,
            CancelReason.CLIENT_REQUEST_REPLACED,
        )
        execution = "CANCELED" if client_cancel else "EXPIRED"
    status = _status_at(view, transaction, execution, filled)
    extras = state.extras.get(view.order_id)
    when = millis(transaction.time)
    symbol = state.listing.of_engine(view.instrument).symbol
    canceled = execution == "CANCELED"
    return {
        "e": "executionReport",
        "E": when,
        "s": symbol,
        "c": state.cancel_ids.get(view.order_id, view.client_order_id) if canceled else view.client_order_id,
        "S": view.side.value.upper(),
        "o": extras.binance_type if extras else BINANCE_TYPES.get(view.order_type, "LIMIT"),
        "f": extras.time_in_force if extras else view.time_in_force.value,
        "q": decimal_text(view.units),
        "p": decimal_text(view.price or _ZERO),
        "P": decimal_text(view.stop_price or _ZERO),
        "F": decimal_text(_ZERO),
        "g": -1,
        "C": view.client_order_id if canceled else "",
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": int(view.order_id),
        "l": decimal_text(last_qty),
        "z": decimal_text(filled),
        "L": decimal_text(last_price),
        "n": decimal_text(transaction.commission or _ZERO),
        "N": state.listing.quote_asset if transaction.commission else None,
        "T": when,
        "t": transaction.id if transaction.type is TransactionType.ORDER_FILL else -1,
        "I": transaction.id,
        "w": status in ("NEW", "PARTIALLY_FILLED"),
        "m": False,
        "M": False,
        "O": millis(view.created_at),
        "Z": decimal_text(quote),
        "Y": decimal_text(last_qty * last_price),
        "Q": decimal_text(extras.quote_order_qty if extras else _ZERO),
        "W": millis(view.created_at),
        "V": "NONE",
    }


def _status_at(view: OrderView, transaction: Transaction, execution: str, filled: Decimal) -> str:
    """The order's status right after ``transaction`` (the view is its status now, possibly later)."""
    if execution in ("CANCELED", "EXPIRED"):
        return execution
    if execution == "TRADE":
        return "FILLED" if filled >= view.units else "PARTIALLY_FILLED"
    return "NEW" if transaction.type is TransactionType.ORDER_CREATE else order_status(view)
