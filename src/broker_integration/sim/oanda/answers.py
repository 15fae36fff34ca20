"""The body of an order action's answer (create, replace, position closeout, trade close): every
transaction the action wrote, under its v20 key, then ``relatedTransactionIDs`` and ``lastTransactionID``
(reference §1.5, §1.6). The request fields the engine does not keep are remembered for the orders the
action created, and the transactions' batch for rendering them alike when they are asked for later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from broker_integration.sim.oanda.middleware import renderer_of, request_id_of
from broker_integration.sim.oanda.parse import OrderExtras
from broker_integration.sim.oanda.state import SimulatorState
from broker_integration.sim.records import Transaction, TransactionType

__all__ = ["TRANSACTION_KEYS", "action_body"]

#: The key each kind of transaction has in an order action's answer [spec].
TRANSACTION_KEYS: Mapping[TransactionType, str] = {
    TransactionType.ORDER_CREATE: "orderCreateTransaction",
    TransactionType.ORDER_FILL: "orderFillTransaction",
    TransactionType.ORDER_CANCEL: "orderCancelTransaction",
    TransactionType.ORDER_REJECT: "orderRejectTransaction",
    TransactionType.ORDER_CANCEL_REJECT: "orderCancelRejectTransaction",
}


def action_body(
    request: web.Request,
    state: SimulatorState,
    transactions: Sequence[Transaction],
    extras: OrderExtras,
    key: Callable[[Transaction], str] = lambda t: TRANSACTION_KEYS[t.type],
) -> dict[str, Any]:
    """The answer's body for ``transactions``, each under ``key(t)``."""
    for t in transactions:
        if t.type is TransactionType.ORDER_CREATE and t.order_id is not None:
            state.extras[t.order_id] = extras
    state.history.catch_up()
    renderer = renderer_of(request)
    batch = state.batch(request_id_of(request), transactions, extras=extras)
    body: dict[str, Any] = {key(t): renderer.transaction(t, batch) for t in transactions}
    body["relatedTransactionIDs"] = [str(t.id) for t in transactions]
    body["lastTransactionID"] = str(transactions[-1].id)
    return body
