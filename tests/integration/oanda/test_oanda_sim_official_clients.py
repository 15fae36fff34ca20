"""The simulator through OANDA's own Python client (``v20``, generated from the spec: it parses every body
into typed objects, so a wrong field name or type fails here) and through oandapyV20, over loopback.

Both clients are synchronous; they run in a worker thread while the simulator serves on the test's loop.
Whatever they get wrong from the simulator is the simulator's bug.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from broker_integration.sim.oanda import OandaSimulator

v20 = pytest.importorskip("v20")
oanda_api = pytest.importorskip("oandapyV20")
from oandapyV20.endpoints import trades as oanda_trades  # noqa: E402
from oandapyV20.endpoints import transactions as oanda_transactions  # noqa: E402
from oandapyV20.exceptions import StreamTerminated, V20Error  # noqa: E402

T = TypeVar("T")


def context(sim: OandaSimulator) -> Any:
    return v20.Context("127.0.0.1", sim.port, ssl=False, token=sim.token, stream_timeout=5)


async def in_thread(function: Callable[[], T]) -> T:
    return await asyncio.to_thread(function)


# ================================================================== v20: orders, pricing, trades


async def test_v20_orders_pricing_and_trades(sim: OandaSimulator) -> None:
    account = sim.account_id

    def session() -> None:
        ctx = context(sim)
        created = ctx.order.market(
            account,
            instrument="EUR_USD",
            units=100,
            clientExtensions={"id": "v20-a", "tag": "t"},
            tradeClientExtensions={"id": "v20-trade"},
        )
        assert created.status == 201
        order = created.get("orderCreateTransaction", 201)
        fill = created.get("orderFillTransaction", 201)
        assert isinstance(order, v20.transaction.MarketOrderTransaction)
        assert isinstance(fill, v20.transaction.OrderFillTransaction)
        assert (order.instrument, order.units, order.timeInForce, order.reason) == (
            "EUR_USD",
            100.0,
            "FOK",
            "CLIENT_ORDER",
        )
        assert order.clientExtensions.id == "v20-a"
        assert order.tradeClientExtensions.id == "v20-trade"
        assert (fill.orderID, fill.units, fill.reason) == (order.id, 100.0, "MARKET_ORDER")
        assert fill.tradeOpened.tradeID == fill.id
        assert fill.fullPrice.bids[0].price > 0
        got = ctx.order.get(account, order.id)
        assert (got.status, got.get("order", 200).state) == (200, "FILLED")
        assert got.get("order", 200).fillingTransactionID == fill.id

        resting = ctx.order.limit(account, instrument="EUR_USD", units=10, price="0.50000")
        limit_id = resting.get("orderCreateTransaction", 201).id
        cancelled = ctx.order.cancel(account, limit_id)
        assert cancelled.status == 200
        assert cancelled.get("orderCancelTransaction", 200).reason == "CLIENT_REQUEST"
        unknown = ctx.order.cancel(account, "99999")
        assert (unknown.status, unknown.body["errorCode"]) == (404, "ORDER_DOESNT_EXIST")
        assert unknown.body["orderCancelRejectTransaction"].rejectReason == "ORDER_DOESNT_EXIST"

        prices = ctx.pricing.get(account, instruments="EUR_USD,USD_JPY")
        assert [p.instrument for p in prices.get("prices", 200)] == ["EUR_USD", "USD_JPY"]
        assert all(p.tradeable and p.asks[0].price > p.bids[0].price for p in prices.get("prices", 200))

        second = ctx.order.market(account, instrument="EUR_USD", units=60).get("orderFillTransaction", 201)
        opened = ctx.trade.list_open(account).get("trades", 200)
        assert [t.id for t in opened] == [second.id, fill.id]
        assert all(isinstance(t, v20.trade.Trade) and t.state == "OPEN" for t in opened)
        listed = ctx.trade.list(account, instrument="EUR_USD", count=1).get("trades", 200)
        assert [t.id for t in listed] == [second.id]
        named = ctx.trade.get(account, "@v20-trade").get("trade", 200)
        assert (named.id, named.currentUnits, named.clientExtensions.id) == (fill.id, 100.0, "v20-trade")
        closed = ctx.trade.close(account, fill.id, units="40")
        assert closed.status == 200
        close_order = closed.get("orderCreateTransaction", 200)
        assert (close_order.reason, close_order.tradeClose.tradeID, close_order.tradeClose.units) == (
            "TRADE_CLOSE",
            fill.id,
            "40",
        )
        close_fill = closed.get("orderFillTransaction", 200)
        assert (close_fill.reason, close_fill.tradeReduced.tradeID, close_fill.units) == (
            "MARKET_ORDER_TRADE_CLOSE",
            fill.id,
            -40.0,
        )
        rest = ctx.trade.close(account, fill.id)
        assert [t.tradeID for t in rest.get("orderFillTransaction", 200).tradesClosed] == [fill.id]
        done = ctx.trade.get(account, fill.id).get("trade", 200)
        assert (done.state, done.currentUnits, done.closingTransactionIDs) == (
            "CLOSED",
            0.0,
            [close_fill.id, rest.get("orderFillTransaction", 200).id],
        )
        refused = ctx.trade.close(account, "99999")
        assert (refused.status, refused.body["errorCode"]) == (404, "TRADE_DOESNT_EXIST")
        assert isinstance(
            refused.body["orderRejectTransaction"], v20.transaction.MarketOrderRejectTransaction
        )
        missing = ctx.trade.get(account, "99999")
        assert (missing.status, missing.body["errorCode"]) == (404, "NO_SUCH_TRADE")

    await in_thread(session)


# ================================================================== v20: the transaction history


async def test_v20_transactions_since_range_list_and_get(sim: OandaSimulator) -> None:
    account = sim.account_id

    def session() -> None:
        ctx = context(sim)
        placed = ctx.order.market(account, instrument="EUR_USD", units=10, clientExtensions={"id": "h1"})
        refused = ctx.order.market(account, instrument="EUR_USD", units=0, clientExtensions={"id": "h2"})
        assert refused.status == 400
        since = ctx.transaction.since(account, id=0)
        assert since.status == 200
        history = since.get("transactions", 200)
        assert [t.type for t in history] == ["CREATE", "MARKET_ORDER", "ORDER_FILL", "MARKET_ORDER_REJECT"]
        assert isinstance(history[0], v20.transaction.CreateTransaction)
        assert history[0].homeCurrency == "USD"
        assert history[1].id == placed.get("orderCreateTransaction", 201).id
        assert history[1].clientExtensions.id == "h1"
        assert (history[3].rejectReason, history[3].clientExtensions.id) == ("UNITS_INVALID", "h2")
        assert since.get("lastTransactionID", 200) == history[-1].id

        ranged = ctx.transaction.range(account, fromID=2, toID=3, type="ORDER_FILL")
        assert [t.id for t in ranged.get("transactions", 200)] == [history[2].id]
        listed = ctx.transaction.list(account, pageSize=2)
        assert (listed.get("count", 200), listed.get("pageSize", 200)) == (4, 2)
        assert [page.rsplit("?", 1)[1] for page in listed.get("pages", 200)] == ["from=1&to=2", "from=3&to=4"]
        one = ctx.transaction.get(account, history[2].id).get("transaction", 200)
        assert isinstance(one, v20.transaction.OrderFillTransaction)
        assert one.tradeOpened.units == 10.0
        unsatisfiable = ctx.transaction.range(account, fromID=3, toID=2)
        assert unsatisfiable.status == 416

    await in_thread(session)


async def test_v20_transaction_stream(sim: OandaSimulator) -> None:
    account = sim.account_id
    placed = threading.Event()

    def session() -> list[tuple[str, Any]]:
        ctx, trader = context(sim), context(sim)
        response = ctx.transaction.stream(account)
        assert response.status == 200
        seen: list[tuple[str, Any]] = []
        for kind, message in response.parts():
            seen.append((kind, message))
            if kind == "transaction.TransactionHeartbeat" and not placed.is_set():
                trader.order.market(account, instrument="EUR_USD", units=5, clientExtensions={"id": "live"})
                placed.set()
            elif kind == "transaction.TransactionHeartbeat" and len(seen) > 3:
                break
        return seen

    seen = await in_thread(session)
    transactions = [message for kind, message in seen if kind == "transaction.Transaction"]
    assert [t.type for t in transactions] == ["MARKET_ORDER", "ORDER_FILL"]
    assert transactions[0].clientExtensions.id == "live"
    beats = [message for kind, message in seen if kind == "transaction.TransactionHeartbeat"]
    assert all(isinstance(beat, v20.transaction.TransactionHeartbeat) for beat in beats)
    assert beats[-1].lastTransactionID == transactions[-1].id


# ================================================================== oandapyV20


@pytest.fixture
def oanda_api_client(sim: OandaSimulator) -> Iterator[Any]:
    """oandapyV20's API pointed at the simulator: it names its hosts in a table, to which we add ours."""
    table = oanda_api.oandapyV20.TRADING_ENVIRONMENTS
    table["simulator"] = {"api": sim.base_url, "stream": sim.stream_url}
    client = oanda_api.API(access_token=sim.token, environment="simulator")
    yield client
    table.pop("simulator", None)


async def test_oandapyv20_transactions_and_trades(sim: OandaSimulator, oanda_api_client: Any) -> None:
    account = sim.account_id
    api = oanda_api_client

    def session() -> None:
        from oandapyV20.endpoints import orders

        api.request(
            orders.OrderCreate(
                account, data={"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "100"}}
            )
        )
        since = api.request(oanda_transactions.TransactionsSinceID(account, params={"id": 1}))
        assert [t["type"] for t in since["transactions"]] == ["MARKET_ORDER", "ORDER_FILL"]
        trade_id = since["transactions"][1]["tradeOpened"]["tradeID"]
        ranged = api.request(oanda_transactions.TransactionIDRange(account, params={"from": 1, "to": 2}))
        assert [t["id"] for t in ranged["transactions"]] == ["1", "2"]
        listed = api.request(oanda_transactions.TransactionList(account, params={"pageSize": 200}))
        assert (listed["count"], listed["pageSize"], len(listed["pages"])) == (3, 200, 1)
        detail = api.request(oanda_transactions.TransactionDetails(account, transactionID=trade_id))
        assert detail["transaction"]["type"] == "ORDER_FILL"

        assert [t["id"] for t in api.request(oanda_trades.OpenTrades(account))["trades"]] == [trade_id]
        listed_trades = api.request(oanda_trades.TradesList(account, params={"instrument": "EUR_USD"}))
        assert [t["currentUnits"] for t in listed_trades["trades"]] == ["100"]
        assert api.request(oanda_trades.TradeDetails(account, tradeID=trade_id))["trade"]["state"] == "OPEN"
        closed = api.request(oanda_trades.TradeClose(account, tradeID=trade_id, data={"units": 100}))
        assert closed["orderCreateTransaction"]["tradeClose"] == {"tradeID": trade_id, "units": "100"}
        assert closed["orderFillTransaction"]["tradesClosed"][0]["tradeID"] == trade_id
        with pytest.raises(V20Error) as refused:
            api.request(oanda_trades.TradeClose(account, tradeID=trade_id))
        assert refused.value.code == 404
        with pytest.raises(V20Error) as bad_range:
            api.request(oanda_transactions.TransactionIDRange(account, params={"from": 9, "to": 2}))
        assert bad_range.value.code == 416

    await in_thread(session)


async def test_oandapyv20_transaction_stream(sim: OandaSimulator, oanda_api_client: Any) -> None:
    request = oanda_transactions.TransactionsStream(sim.account_id)

    def first_heartbeats() -> list[dict[str, Any]]:
        beats: list[dict[str, Any]] = []

        def read() -> None:
            for message in oanda_api_client.request(request):
                beats.append(message)
                if len(beats) == 2:
                    request.terminate("enough")  # how oandapyV20 ends a stream: it raises

        with pytest.raises(StreamTerminated):
            read()
        return beats

    beats = await in_thread(first_heartbeats)
    assert [set(beat) for beat in beats] == [{"type", "lastTransactionID", "time"}] * 2
    assert {beat["type"] for beat in beats} == {"HEARTBEAT"}
