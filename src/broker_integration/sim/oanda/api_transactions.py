"""The transaction history endpoints: one transaction, pages by time, an id range, everything since an
id (spec ``json/v20.json`` paths ``/accounts/{accountID}/transactions…``).

Every transaction the venue wrote for the account is here, as ``GET …/transactions/{id}`` renders it:
order creates, rejects, fills, cancels and cancel-rejects with the client extensions as sent, whether
the answer that carried them reached the client or not. The history never lags (the read-after-write
lag of :class:`~broker_integration.sim.oanda.settings.SimulatorSettings` applies to order lookups only).

Limits, as OANDA's developer site documents them (``rest-live-v20/transaction-ep``) or clients saw them:

* ``…/transactions``: ``from`` defaults to the account's creation, ``to`` to now, at most 365 days apart
  (416 otherwise); ``pageSize`` defaults to 100, at most 1000; the answer is the count and the
  ``idrange`` URLs of the pages, not the transactions;
* ``…/transactions/sinceid``: at most 1000 transactions, the oldest first, after ``id`` [obs?: a client
  asking since 13000 got 13001 to 14000, yhilpisch/tpqoa#25];
* ``…/transactions/idrange``: ``from`` and ``to`` inclusive, ``from`` at most ``to``, ``from`` no later
  than the last transaction, and at most 1000 matching transactions (416 otherwise) [obs?: the pages
  the list endpoint hands out are never longer];
* ``type`` filters by v20 transaction type or the groups ``ORDER``, ``FUNDING`` and ``ADMIN``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from aiohttp import web

from broker_integration.sim.oanda.errors import V20Error, invalid_value, missing_data
from broker_integration.sim.oanda.formats import numeric
from broker_integration.sim.oanda.middleware import account_of, renderer_of, respond
from broker_integration.sim.oanda.reading import int_param, last_id, state_of, time_param
from broker_integration.sim.oanda.render import Batch, V20Renderer
from broker_integration.sim.oanda.render_transactions import v20_type
from broker_integration.sim.oanda.state import SimulatorState
from broker_integration.sim.records import Transaction

__all__ = ["TRANSACTION_FILTERS", "get_transaction", "id_range", "list_transactions", "render", "since_id"]

_DEFAULT_PAGE, _MAX_PAGE = 100, 1_000  # [doc] pageSize: default 100, maximum 1000
_MAX_BATCH = 1_000  # transactions in one sinceid or idrange answer
_MAX_SPAN = timedelta(days=365)  # [doc] the longest time range one list query may cover

_ORDER_TYPES = frozenset(
    f"{kind}{suffix}"
    for kind in (
        "MARKET_ORDER",
        "LIMIT_ORDER",
        "STOP_ORDER",
        "MARKET_IF_TOUCHED_ORDER",
        "TAKE_PROFIT_ORDER",
        "STOP_LOSS_ORDER",
        "TRAILING_STOP_LOSS_ORDER",
        "ONE_CANCELS_ALL_ORDER",
    )
    for suffix in ("", "_REJECT")
) | {
    "FIXED_PRICE_ORDER",
    "ONE_CANCELS_ALL_ORDER_TRIGGERED",
    "ORDER_FILL",
    "ORDER_CANCEL",
    "ORDER_CANCEL_REJECT",
    "ORDER_CLIENT_EXTENSIONS_MODIFY",
    "ORDER_CLIENT_EXTENSIONS_MODIFY_REJECT",
}
_FUNDING_TYPES = frozenset({"TRANSFER_FUNDS", "TRANSFER_FUNDS_REJECT", "DAILY_FINANCING"})
_ADMIN_TYPES = frozenset(
    {
        "CREATE",
        "CLOSE",
        "REOPEN",
        "CLIENT_CONFIGURE",
        "CLIENT_CONFIGURE_REJECT",
        "TRADE_CLIENT_EXTENSIONS_MODIFY",
        "TRADE_CLIENT_EXTENSIONS_MODIFY_REJECT",
        "MARGIN_CALL_ENTER",
        "MARGIN_CALL_EXTEND",
        "MARGIN_CALL_EXIT",
        "DELAYED_TRADE_CLOSURE",
        "RESET_RESETTABLE_PL",
    }
)
#: [spec ``TransactionFilter``] each filter value → the transaction types it selects. The three groups'
#: members are not spelled out in the spec [obs?]: orders, money moved in or out, the account's own.
TRANSACTION_FILTERS: dict[str, frozenset[str]] = {
    **{name: frozenset({name}) for name in _ORDER_TYPES | _FUNDING_TYPES | _ADMIN_TYPES},
    "ORDER": _ORDER_TYPES,
    "FUNDING": _FUNDING_TYPES,
    "ADMIN": _ADMIN_TYPES,
}


def render(state: SimulatorState, renderer: V20Renderer, t: Transaction) -> dict[str, Any]:
    """A transaction as it was first rendered: in the batch of the request that wrote it (its own batch,
    without a ``requestID``, when the market wrote it: a resting order's fill or expiry)."""
    return renderer.transaction(t, state.batches.get(t.id, Batch("", t.id)))


def _type_filter(text: str | None) -> Callable[[Transaction], bool] | None:
    """``type=A,B`` as a predicate on engine transactions; ``None`` when absent."""
    if text is None:
        return None
    wanted: set[str] = set()
    for name in text.split(","):
        selected = TRANSACTION_FILTERS.get(name)
        if selected is None:
            raise invalid_value("type")
        wanted |= selected
    return lambda t: v20_type(t) in wanted


def _transaction_id(text: str | None, field: str, *, minimum: int) -> int:
    if text is None:
        raise missing_data()
    number = numeric(text)
    if number is None or number < minimum:
        raise invalid_value(field)
    return number


def _unsatisfiable(message: str) -> V20Error:
    """[spec 416] a range the server cannot serve."""
    return V20Error(416, {"errorMessage": f"Range Not Satisfiable: {message}"})


def _answer(request: web.Request, state: SimulatorState, transactions: Iterable[Transaction]) -> web.Response:
    renderer = renderer_of(request)
    body = {
        "transactions": [render(state, renderer, t) for t in transactions],
        "lastTransactionID": last_id(state),
    }
    return respond(request, 200, body)


async def get_transaction(request: web.Request) -> web.Response:
    """``GET …/transactions/{transactionID}``: one transaction of the account, as it was first rendered;
    404 NO_SUCH_TRANSACTION [doc troubleshooting-errors] for an id the account does not have."""
    state, account_id = state_of(request), account_of(request)
    text = request.match_info["transactionID"]
    wanted = numeric(text) or 0
    found = state.engine.transactions(account_id=account_id, since_id=wanted - 1, until_id=wanted)
    if not wanted or not found:
        raise V20Error(
            404,
            {
                "errorMessage": "The transaction ID specified does not exist",
                "errorCode": "NO_SUCH_TRANSACTION",
            },
        )
    body = {"transaction": render(state, renderer_of(request), found[0]), "lastTransactionID": last_id(state)}
    return respond(request, 200, body)


async def since_id(request: web.Request) -> web.Response:
    """``GET …/transactions/sinceid?id=[&type=]``: the account's transactions after ``id``, oldest first."""
    state, account_id = state_of(request), account_of(request)
    after = _transaction_id(request.query.get("id"), "id", minimum=0)
    keep = _type_filter(request.query.get("type"))
    if after > state.engine.last_transaction_id:
        raise _unsatisfiable(f"no transaction after {after} can exist yet")
    selected: list[Transaction] = []
    cursor = after
    while len(selected) < _MAX_BATCH:
        chunk = state.engine.transactions(account_id=account_id, since_id=cursor, limit=_MAX_BATCH)
        if not chunk:
            break
        selected.extend(t for t in chunk if keep is None or keep(t))
        cursor = chunk[-1].id
    return _answer(request, state, selected[:_MAX_BATCH])


async def id_range(request: web.Request) -> web.Response:
    """``GET …/transactions/idrange?from=&to=[&type=]``: the account's transactions with ids in the range."""
    state, account_id = state_of(request), account_of(request)
    first = _transaction_id(request.query.get("from"), "from", minimum=1)
    last = _transaction_id(request.query.get("to"), "to", minimum=1)
    keep = _type_filter(request.query.get("type"))
    if first > last:
        raise _unsatisfiable(f"'from' ({first}) is after 'to' ({last})")
    if first > state.engine.last_transaction_id:
        raise _unsatisfiable(f"no transaction {first} exists yet")
    found = state.engine.transactions(account_id=account_id, since_id=first - 1, until_id=last)
    selected = [t for t in found if keep is None or keep(t)]
    if len(selected) > _MAX_BATCH:
        raise _unsatisfiable(f"the range holds more than {_MAX_BATCH} transactions")
    return _answer(request, state, selected)


async def list_transactions(request: web.Request) -> web.Response:
    """``GET …/transactions?from=&to=&pageSize=&type=``: how many transactions the range holds, and the
    ``idrange`` URLs that fetch them page by page [rec: oandapyV20 ``_v3_accounts_accountID_transactions``]."""
    state, account_id = state_of(request), account_of(request)
    query = request.query
    now = state.engine.clock.now()
    opened = state.history.opened_at(account_id) or now
    start = time_param(query.get("from"), "from")
    end = time_param(query.get("to"), "to") or now
    start = opened if start is None or start < opened else start
    page_size = int_param(query.get("pageSize"), "pageSize", _DEFAULT_PAGE, _MAX_PAGE)
    assert page_size is not None
    keep = _type_filter(query.get("type"))
    if start > end:
        raise _unsatisfiable("'from' is after 'to'")
    if end - start > _MAX_SPAN:
        raise _unsatisfiable("the time range covers more than 365 days")
    ids = [
        t.id
        for t in state.engine.transactions(account_id=account_id)
        if start <= t.time <= end and (keep is None or keep(t))
    ]
    renderer = renderer_of(request)
    base = request.url.with_path(f"/v3/accounts/{account_id}/transactions/idrange").with_query(None)
    pages = []
    for offset in range(0, len(ids), page_size):
        page = ids[offset : offset + page_size]
        params = {"from": str(page[0]), "to": str(page[-1])}
        if "type" in query:
            params["type"] = query["type"]
        pages.append(str(base.with_query(params)))
    body: dict[str, Any] = {"from": renderer.time(start), "to": renderer.time(end), "pageSize": page_size}
    if "type" in query:
        body["type"] = query["type"].split(",")
    body.update({"count": len(ids), "pages": pages, "lastTransactionID": last_id(state)})
    return respond(request, 200, body)
