"""The order endpoints (``rest-api.md`` "Trading endpoints", "Account Endpoints"): new order, cancel,
cancel-replace, query, open orders and all orders.

A new order passes the order count, the symbol's filters and the account's free balance, then the
second timing check (a request held up past its ``recvWindow`` is refused unexecuted), then the engine.
A refusal Binance answers with an error is never stored: an engine order it left behind is hidden from
every query. An order that ends unfilled by its time in force is stored, ``EXPIRED``, as at Binance.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from broker_integration.models import OrderType
from broker_integration.sim.binance.auth import still_in_window
from broker_integration.sim.binance.errors import (
    BinanceError,
    cancel_unknown,
    duplicate_order,
    insufficient_balance,
    no_such_order,
    not_allowed,
)
from broker_integration.sim.binance.face import key_of, params_of, respond, signed_of, state_of
from broker_integration.sim.binance.orders import (
    NewOrder,
    check_balance,
    check_filters,
    check_placement,
    engine_request,
    market_quantity,
    read_new_order,
    symbol_rules,
)
from broker_integration.sim.binance.params import Params
from broker_integration.sim.binance.render import fills_json, millis, order_json
from broker_integration.sim.binance.state import OrderExtras, SimulatorState
from broker_integration.sim.binance.wallet import balances
from broker_integration.sim.records import OrderOutcome, OrderView, RejectReason, TransactionType

__all__ = ["all_orders", "cancel_order", "cancel_replace", "new_order", "open_orders", "query_order"]

_ALPHABET = string.ascii_letters + string.digits
_DEFAULT_LIMIT, _MAX_LIMIT = 500, 1000
_DAY = timedelta(hours=24)


def _generated_id() -> str:
    """A client order id as Binance generates one when none is sent: 22 letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _visible(state: SimulatorState, view: OrderView | None, symbol: str) -> OrderView | None:
    """``view`` if it is a stored order of ``symbol``'s engine instrument."""
    view = state.visible(view)
    rule = state.listing.get(symbol)
    if view is None or rule is None or view.instrument != rule.spec.symbol:
        return None
    return view


def _locate(
    state: SimulatorState, account_id: str, params: Params, id_name: str, client_name: str
) -> OrderView | None:
    """The order a request names by ``orderId`` or client id (both: the id first, then the client id checked
    against it); ``-1102`` when it names none."""
    rule = symbol_rules(params, state.listing)
    assert rule is not None
    order_id = params.long(id_name)
    client_id = params.text(client_name)
    if order_id is None and client_id is None:
        raise BinanceError(
            400, -1102, f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!"
        )
    if order_id is not None:
        view = _visible(state, state.engine.find_order(account_id, str(order_id)), rule.symbol)
        if view is not None and client_id is not None and view.client_order_id != client_id:
            raise BinanceError(400, -2039, "Client order ID is not correct for this order ID.")
        return view
    return _visible(state, state.engine.find_order(account_id, client_order_id=client_id), rule.symbol)


def _placed(state: SimulatorState, account_id: str, order: NewOrder, outcome: OrderOutcome) -> dict[str, Any]:
    """The answer to a new order that reached the engine, or the error a refusal gets."""
    reason = outcome.reject_reason
    view = outcome.order
    if reason is RejectReason.CLIENT_ORDER_ID_ALREADY_EXISTS:
        raise duplicate_order()
    if view is None or (reason is not None and reason not in _STORED_REFUSALS):
        if view is not None:
            state.unstored.add(view.order_id)
        if reason is RejectReason.MARKET_HALTED:
            raise BinanceError(400, -2010, "Market is closed.")
        if reason is RejectReason.INSUFFICIENT_MARGIN:
            raise insufficient_balance()
        raise BinanceError(400, -2010, outcome.message or "NEW_ORDER_REJECTED")
    state.extras[view.order_id] = OrderExtras(
        order.binance_type,
        order.time_in_force or "GTC",
        order.quote_order_qty or Decimal(0),
    )
    transact = millis(state.engine.clock.now())
    symbol = order.rule.symbol
    body = order_json(
        view, state.extras[view.order_id], symbol, transact_time=transact, full=order.response_type != "ACK"
    )
    if order.response_type == "FULL":
        fills = [t for t in outcome.transactions if t.type is TransactionType.ORDER_FILL]
        body["fills"] = fills_json(fills, state.listing.quote_asset)
    return body


#: Refusals Binance stores as an expired order rather than answering with an error.
_STORED_REFUSALS = frozenset(
    {RejectReason.FOK_NOT_FILLED, RejectReason.IOC_NOT_FILLED, RejectReason.INSUFFICIENT_LIQUIDITY}
)


def _submit(
    state: SimulatorState, request: web.Request, order: NewOrder
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check and place ``order``; the answer's body and its order-count headers."""
    key = key_of(request)
    if not key.can_trade:
        raise not_allowed()
    account_id = key.account_id
    headers = state.order_counts.count(account_id)
    engine = state.engine
    quote = engine.quote(order.rule.spec.symbol)
    quantity = market_quantity(order, quote) if order.is_market else order.quantity
    assert quantity is not None
    open_views = engine.orders(account_id, instrument=order.rule.spec.symbol)
    algo = sum(1 for v in open_views if v.order_type in (OrderType.STOP, OrderType.STOP_LIMIT))
    check_filters(order, quantity, quote, len(open_views), algo)
    check_placement(order, quote)
    check_balance(order, quantity, quote, balances(engine, account_id, state.listing))
    still_in_window(signed_of(request), state.server_ms())
    if order.client_order_id is None:
        order = replace(order, client_order_id=_generated_id())
    outcome = engine.submit_order(account_id, engine_request(order, quantity))
    return _placed(state, account_id, order, outcome), headers


async def new_order(request: web.Request) -> web.Response:
    """``POST /api/v3/order``."""
    state, params = state_of(request), params_of(request)
    order = read_new_order(params, state.listing)
    params.finish()
    body, headers = _submit(state, request, order)
    return respond(request, body, headers=headers)


async def cancel_order(request: web.Request) -> web.Response:
    """``DELETE /api/v3/order``: ``-2011`` for an order that is unknown or no longer open."""
    state, params = state_of(request), params_of(request)
    key = key_of(request)
    view = _locate(state, key.account_id, params, "orderId", "origClientOrderId")
    cancel_id = params.client_id("newClientOrderId") or _generated_id()
    restriction = _restriction(params)
    params.finish()
    if not key.can_trade:
        raise not_allowed()
    return respond(request, _cancel(state, request, key.account_id, view, cancel_id, restriction))


def _restriction(params: Params) -> str | None:
    """``cancelRestrictions``: cancel only a NEW, or only a PARTIALLY_FILLED, order (``-1145`` otherwise)."""
    return params.choice(
        "cancelRestrictions",
        ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"),
        BinanceError(400, -1145, "Invalid cancelRestrictions"),
    )


def _cancel(
    state: SimulatorState,
    request: web.Request,
    account_id: str,
    view: OrderView | None,
    cancel_id: str,
    restriction: str | None,
) -> dict[str, Any]:
    if view is None or not view.is_open:
        raise cancel_unknown()
    partially = view.filled_units > 0
    if (restriction == "ONLY_NEW" and partially) or (
        restriction == "ONLY_PARTIALLY_FILLED" and not partially
    ):
        raise BinanceError(400, -2011, "Order was not canceled due to cancel restrictions.")
    still_in_window(signed_of(request), state.server_ms())
    outcome = state.engine.cancel_order(account_id, view.order_id)
    cancelled = outcome.order
    if cancelled is None or outcome.reject_reason is not None:
        raise cancel_unknown()
    symbol = state.listing.of_engine(cancelled.instrument).symbol
    body = order_json(
        cancelled,
        state.extras.get(cancelled.order_id),
        symbol,
        transact_time=millis(state.engine.clock.now()),
    )
    body["origClientOrderId"] = body["clientOrderId"]
    body["clientOrderId"] = cancel_id
    state.cancel_ids[cancelled.order_id] = cancel_id
    return body


async def cancel_replace(request: web.Request) -> web.Response:
    """``POST /api/v3/order/cancelReplace``: cancel, then place; ``-2022`` when the cancel fails
    (``STOP_ON_FAILURE``), ``-2021`` (409) when the cancel succeeds and the new order fails."""
    state, params = state_of(request), params_of(request)
    key = key_of(request)
    mode = params.one_of(
        "cancelReplaceMode",
        ("STOP_ON_FAILURE", "ALLOW_FAILURE"),
        BinanceError(400, -1130, "Data sent for parameter 'cancelReplaceMode' is not valid."),
    )
    view = _locate(state, key.account_id, params, "cancelOrderId", "cancelOrigClientOrderId")
    cancel_id = params.client_id("cancelNewClientOrderId") or _generated_id()
    restriction = _restriction(params)
    params.accept("orderRateLimitExceededMode")
    order = read_new_order(params, state.listing)
    params.finish()
    cancel_body: dict[str, Any]
    cancelled = True
    try:
        cancel_body = _cancel(state, request, key.account_id, view, cancel_id, restriction)
    except BinanceError as error:
        cancelled = False
        cancel_body = error.body
    if not cancelled and mode == "STOP_ON_FAILURE":
        raise _replace_failure(
            -2022, "Order cancel-replace failed.", "FAILURE", "NOT_ATTEMPTED", cancel_body, None
        )
    try:
        new_body, headers = _submit(state, request, order)
    except BinanceError as error:
        code, message = (
            (-2021, "Order cancel-replace partially failed.")
            if cancelled
            else (-2022, "Order cancel-replace failed.")
        )
        raise _replace_failure(
            code, message, "SUCCESS" if cancelled else "FAILURE", "FAILURE", cancel_body, error.body
        ) from None
    if not cancelled:
        raise _replace_failure(
            -2021, "Order cancel-replace partially failed.", "FAILURE", "SUCCESS", cancel_body, new_body
        )
    body = {
        "cancelResult": "SUCCESS",
        "newOrderResult": "SUCCESS",
        "cancelResponse": cancel_body,
        "newOrderResponse": new_body,
    }
    return respond(request, body, headers=headers)


class _ReplaceFailure(BinanceError):
    def __init__(self, status: int, code: int, msg: str, data: dict[str, Any]) -> None:
        super().__init__(status, code, msg)
        self.data = data

    @property
    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg, "data": self.data}


def _replace_failure(
    code: int,
    message: str,
    cancel_result: str,
    new_result: str,
    cancel_body: dict[str, Any],
    new_body: dict[str, Any] | None,
) -> BinanceError:
    status = 409 if code == -2021 else 400
    data = {
        "cancelResult": cancel_result,
        "newOrderResult": new_result,
        "cancelResponse": cancel_body,
        "newOrderResponse": new_body,
    }
    return _ReplaceFailure(status, code, message, data)


async def query_order(request: web.Request) -> web.Response:
    """``GET /api/v3/order``: ``-2013`` for an order the account does not have."""
    state, params = state_of(request), params_of(request)
    view = _locate(state, key_of(request).account_id, params, "orderId", "origClientOrderId")
    params.finish()
    if view is None:
        raise no_such_order()
    symbol = state.listing.of_engine(view.instrument).symbol
    return respond(request, order_json(view, state.extras.get(view.order_id), symbol))


async def open_orders(request: web.Request) -> web.Response:
    """``GET /api/v3/openOrders``: one symbol's, or every symbol's without ``symbol``."""
    state, params = state_of(request), params_of(request)
    rule = symbol_rules(params, state.listing, required=False)
    params.finish()
    account_id = key_of(request).account_id
    views = state.engine.orders(account_id, instrument=None if rule is None else rule.spec.symbol)
    return respond(request, [_queried(state, v) for v in views if state.visible(v) is not None])


def _queried(state: SimulatorState, view: OrderView) -> dict[str, Any]:
    return order_json(view, state.extras.get(view.order_id), state.listing.of_engine(view.instrument).symbol)


async def all_orders(request: web.Request) -> web.Response:
    """``GET /api/v3/allOrders``: from ``orderId`` or ``startTime`` the oldest first, else the most recent;
    ``limit`` up to 1,000; at most 24 hours between ``startTime`` and ``endTime``."""
    state, params = state_of(request), params_of(request)
    rule = symbol_rules(params, state.listing)
    assert rule is not None
    from_id = params.long("orderId")
    start = params.long("startTime")
    end = params.long("endTime")
    limit = params.long("limit") or _DEFAULT_LIMIT
    params.finish()
    if limit > _MAX_LIMIT:
        raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    if start is not None and end is not None and end - start > _DAY.total_seconds() * 1000:
        raise BinanceError(400, -1127, "More than 24 hours between startTime and endTime.")
    views = [
        v
        for v in state.engine.orders(
            key_of(request).account_id, instrument=rule.spec.symbol, include_closed=True
        )
        if state.visible(v) is not None
        and (from_id is None or int(v.order_id) >= from_id)
        and (start is None or millis(v.created_at) >= start)
        and (end is None or millis(v.created_at) <= end)
    ]
    chosen = views[:limit] if from_id is not None or start is not None else views[-limit:]
    return respond(request, [_queried(state, v) for v in chosen])
