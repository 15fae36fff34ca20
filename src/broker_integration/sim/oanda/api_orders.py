"""The order endpoints (reference §1.3 to §1.5): create (201, also when cancelled at once; 400 + reject
when refused), list, get (404 NO_SUCH_ORDER), replace (a new id linked both ways) and cancel (404 +
cancel-reject when there is nothing to cancel)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from broker_integration.models import OrderSide
from broker_integration.sim.oanda.answers import TRANSACTION_KEYS, action_body
from broker_integration.sim.oanda.errors import V20Error, invalid_value, no_such_order
from broker_integration.sim.oanda.middleware import (
    account_of,
    renderer_of,
    request_id_of,
    respond,
)
from broker_integration.sim.oanda.parse import (
    ORDER_TYPES,
    OrderExtras,
    parse_order,
    replacement_changes,
)
from broker_integration.sim.oanda.reading import (
    instrument_filter,
    int_param,
    last_id,
    order_specifier,
    read_json,
    state_of,
)
from broker_integration.sim.oanda.rejections import with_reject_error
from broker_integration.sim.oanda.state import SimulatorState
from broker_integration.sim.oanda.vocabulary import ORDER_STATES
from broker_integration.sim.records import OrderOutcome, OrderView, RejectReason, Transaction, TransactionType

__all__ = [
    "cancel_order",
    "get_order",
    "list_orders",
    "newest_first",
    "pending_orders",
    "place_order",
    "replace_order",
]

_DEFAULT_ORDER_COUNT, _MAX_ORDER_COUNT = 50, 500  # [obs?] the developer site's defaults


async def place_order(request: web.Request) -> web.Response:
    """``POST …/orders``: 201 filled, resting or cancelled at once; 400 + reject when refused."""
    state, account_id = state_of(request), account_of(request)
    parsed = parse_order(await read_json(request), state.names)
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

    def key(t: Transaction) -> str:
        if (
            t.type is TransactionType.ORDER_CANCEL
            and replaced is not None
            and t.order_id != replaced.order_id
        ):
            return "replacingOrderCancelTransaction"  # [spec] the replacement itself was cancelled at once
        return TRANSACTION_KEYS[t.type]

    body = action_body(request, state, transactions, extras, key)
    created = next((t for t in transactions if t.type is TransactionType.ORDER_CREATE), None)
    if outcome.reject_reason is not None and created is None:
        status = 404 if outcome.reject_reason is RejectReason.ORDER_DOESNT_EXIST else 400
        return respond(request, status, with_reject_error(body, outcome.reject_reason, outcome.message))
    headers = {}
    if created is not None and created.order_id is not None:
        headers["Location"] = str(
            request.url.with_path(f"/v3/accounts/{account_id}/orders/{created.order_id}").with_query(None)
        )
    return respond(request, 201, body, headers)


async def get_order(request: web.Request) -> web.Response:
    """``GET …/orders/{specifier}``; 404 NO_SUCH_ORDER [rec] for an unknown one (and, with a read-after-write
    lag set, for one that changed too recently)."""
    state, account_id = state_of(request), account_of(request)
    order_id, client_id = order_specifier(request)
    view = state.engine.find_order(account_id, order_id, client_order_id=client_id)
    lag = state.settings.read_after_write_lag
    if view is None or (lag and (state.engine.clock.now() - view.updated_at).total_seconds() < lag):
        raise no_such_order(state.engine.last_transaction_id)
    state.history.catch_up()
    return respond(
        request, 200, {"order": renderer_of(request).order(view), "lastTransactionID": last_id(state)}
    )


async def list_orders(request: web.Request) -> web.Response:
    """``GET …/orders?state=&instrument=&count=&beforeID=&ids=``, newest first."""
    state, account_id = state_of(request), account_of(request)
    query = request.query
    wanted_state = query.get("state", "PENDING")
    if wanted_state != "ALL" and wanted_state not in ORDER_STATES:
        raise invalid_value("state")
    count = int_param(query.get("count"), "count", _DEFAULT_ORDER_COUNT, _MAX_ORDER_COUNT)
    symbol = instrument_filter(request, state)
    before = int_param(query.get("beforeID"), "beforeID", None, None)
    ids = set(query["ids"].split(",")) if query.get("ids") else None
    views = state.engine.orders(account_id, instrument=symbol, include_closed=wanted_state != "PENDING")
    selected = [
        view
        for view in newest_first(views)
        if (wanted_state == "ALL" or view.state is ORDER_STATES[wanted_state])
        and (before is None or int(view.order_id) <= before)
        and (ids is None or view.order_id in ids)
    ][:count]
    return _orders_answer(request, state, selected)


async def pending_orders(request: web.Request) -> web.Response:
    """``GET …/pendingOrders``: every pending order, newest first."""
    state, account_id = state_of(request), account_of(request)
    return _orders_answer(request, state, newest_first(state.engine.orders(account_id)))


def _orders_answer(request: web.Request, state: SimulatorState, views: list[OrderView]) -> web.Response:
    state.history.catch_up()
    renderer = renderer_of(request)
    body = {"orders": [renderer.order(view) for view in views], "lastTransactionID": last_id(state)}
    return respond(request, 200, body)


def newest_first(views: list[OrderView]) -> list[OrderView]:
    return sorted(views, key=lambda view: int(view.order_id), reverse=True)


async def replace_order(request: web.Request) -> web.Response:
    """``PUT …/orders/{specifier}``: cancel and re-create with a new id, linked both ways (reference §1.5)."""
    state, account_id = state_of(request), account_of(request)
    order_id, client_id = order_specifier(request)
    parsed = parse_order(await read_json(request), state.names)
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
    return dataclasses.replace(
        extras,
        client_tag=previous.client_tag,
        client_comment=previous.client_comment,
        trade_client_extensions=extras.trade_client_extensions or previous.trade_client_extensions,
    )


async def cancel_order(request: web.Request) -> web.Response:
    """``PUT …/orders/{specifier}/cancel``: 200, or 404 ORDER_DOESNT_EXIST with the cancel-reject transaction."""
    state, account_id = state_of(request), account_of(request)
    order_id, client_id = order_specifier(request)
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
    return respond(request, 404, with_reject_error(body, RejectReason.ORDER_DOESNT_EXIST, outcome.message))
