"""Fidelity of the transaction history and trade endpoints: bodies as the v20 spec and the recorded
practice-account responses give them, OANDA's limits and error codes, and a history that holds every
transaction the venue wrote (the proof a client uses to say an order was, or was never, placed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest
from test_oanda_sim_fidelity import ACCOUNT, EUR_USD_DIGITS, call, check_batch, limit, market
from v20_shapes import RFC3339_NANOS, check, check_trade, check_transaction

from broker_integration.models import OrderSide
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.records import OrderRequest

ALWAYS_OPEN = VenueProfile(name="oanda", enforce_trading_hours=False)
CANCEL = f"{ACCOUNT}/orders/{{orderSpecifier}}/cancel"
ORDER = f"{ACCOUNT}/orders/{{orderSpecifier}}"
TRANSACTION = f"{ACCOUNT}/transactions/{{transactionID}}"
TRADE = f"{ACCOUNT}/trades/{{tradeSpecifier}}"
CLOSE = f"{ACCOUNT}/trades/{{tradeSpecifier}}/close"


@pytest.fixture
async def sim() -> AsyncIterator[OandaSimulator]:
    settings = SimulatorSettings(heartbeat_interval=0.1, read_after_write_lag=60.0)
    async with OandaSimulator(profile=ALWAYS_OPEN, settings=settings) as simulator:
        yield simulator


async def since(sim: OandaSimulator, after: str = "0", **params: str) -> list[dict[str, Any]]:
    status, body = await call(sim, "GET", f"{ACCOUNT}/transactions/sinceid", params={"id": after, **params})
    assert status == 200
    for transaction in body["transactions"]:
        check_transaction(transaction, digits=EUR_USD_DIGITS)
    return list(body["transactions"])


# ================================================================== the history holds everything


async def test_every_transaction_the_venue_wrote_is_in_the_history_as_first_answered(
    sim: OandaSimulator,
) -> None:
    answers = [
        (
            await call(
                sim, "POST", f"{ACCOUNT}/orders", body=market("100", clientExtensions={"id": "a", "tag": "t"})
            )
        )[1],
        (await call(sim, "POST", f"{ACCOUNT}/orders", body=market("0", clientExtensions={"id": "z"})))[1],
        (
            await call(
                sim, "POST", f"{ACCOUNT}/orders", body=limit("10", "0.50000", clientExtensions={"id": "l"})
            )
        )[1],
        (await call(sim, "PUT", CANCEL, orderSpecifier="@l"))[1],
        (await call(sim, "PUT", CANCEL, orderSpecifier="@nothing"))[1],
    ]
    answered = {t["id"]: t for body in answers for key, t in body.items() if key.endswith("Transaction")}
    history = await since(sim)
    assert history[0]["type"] == "CREATE", "the account's own creation comes first"
    assert {t["id"]: t for t in history[1:]} == answered, "each as its answer rendered it, none missing"
    assert [int(t["id"]) for t in history] == list(range(1, len(history) + 1))
    reject = next(t for t in history if t["type"] == "MARKET_ORDER_REJECT")
    assert (reject["rejectReason"], reject["clientExtensions"]) == ("UNITS_INVALID", {"id": "z"})
    cancel_reject = next(t for t in history if t["type"] == "ORDER_CANCEL_REJECT")
    assert cancel_reject["clientOrderID"] == "nothing"


async def test_an_order_whose_answer_was_lost_is_in_the_history(sim: OandaSimulator) -> None:
    before = (await call(sim, "GET", f"{ACCOUNT}/summary"))[1]["lastTransactionID"]
    sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])
    headers = {"Authorization": f"Bearer {sim.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        with pytest.raises(aiohttp.ClientError):
            await session.post(
                f"{sim.base_url}/v3/accounts/{sim.account_id}/orders",
                data=orjson.dumps(market("25", clientExtensions={"id": "lost-1"})),
            )
    created = [t for t in await since(sim, before) if t.get("clientExtensions", {}).get("id") == "lost-1"]
    assert [t["type"] for t in created] == ["MARKET_ORDER"]
    assert created[0]["requestID"], "written by a request, which the history still names"


async def test_the_history_does_not_lag_where_order_lookups_do(sim: OandaSimulator) -> None:
    _, placed = await call(
        sim, "POST", f"{ACCOUNT}/orders", body=market("10", clientExtensions={"id": "fresh"})
    )
    order_id = placed["orderCreateTransaction"]["id"]
    status, missing = await call(sim, "GET", ORDER, orderSpecifier=order_id)
    assert (status, missing["errorCode"]) == (404, "NO_SUCH_ORDER"), "the order lookup lags (60 s here)"
    found = [t["type"] for t in await since(sim) if t.get("orderID", t["id"]) == order_id]
    assert found == ["MARKET_ORDER", "ORDER_FILL"], "the history already has it"
    status, one = await call(sim, "GET", TRANSACTION, transactionID=order_id)
    assert (status, one["transaction"]["id"]) == (200, order_id)


# ================================================================== since, range and pages


async def test_sinceid_type_filter_and_limits(sim: OandaSimulator) -> None:
    for units in ("10", "-10", "5"):
        await call(sim, "POST", f"{ACCOUNT}/orders", body=market(units))
    fills = await since(sim, type="ORDER_FILL")
    assert [t["type"] for t in fills] == ["ORDER_FILL"] * 3
    orders = await since(sim, type="ORDER")
    assert {t["type"] for t in orders} == {"MARKET_ORDER", "ORDER_FILL"}
    assert [t["type"] for t in await since(sim, type="ADMIN")] == ["CREATE"]
    last = fills[-1]["id"]
    assert await since(sim, last) == [], "nothing after the last transaction"
    status, beyond = await call(
        sim, "GET", f"{ACCOUNT}/transactions/sinceid", params={"id": str(int(last) + 5)}
    )
    assert status == 416
    assert "Range Not Satisfiable" in beyond["errorMessage"]
    for bad, expected in (({"id": "x"}, 400), ({}, 400), ({"id": "1", "type": "NOPE"}, 400)):
        status, body = await call(sim, "GET", f"{ACCOUNT}/transactions/sinceid", params=bad)
        assert status == expected
        assert body["errorMessage"]


async def test_sinceid_answers_at_most_a_thousand(sim: OandaSimulator) -> None:
    for _ in range(1_009):  # each refused order writes one reject transaction
        sim.engine.submit_order(sim.account_id, OrderRequest("EUR/USD", OrderSide.BUY, Decimal(0)))
    first = await since(sim)
    assert len(first) == 1_000
    assert (first[0]["id"], first[-1]["id"]) == ("1", "1000")
    rest = await since(sim, first[-1]["id"])
    assert [t["id"] for t in rest] == [str(i) for i in range(1001, 1011)]


async def test_idrange_and_its_errors(sim: OandaSimulator) -> None:
    for units in ("10", "-10"):
        await call(sim, "POST", f"{ACCOUNT}/orders", body=market(units))
    route = f"{ACCOUNT}/transactions/idrange"
    status, body = await call(sim, "GET", route, params={"from": "2", "to": "4"})
    assert status == 200
    assert [t["id"] for t in body["transactions"]] == ["2", "3", "4"]
    status, body = await call(sim, "GET", route, params={"from": "2", "to": "99", "type": "ORDER_FILL"})
    assert [t["id"] for t in body["transactions"]] == ["3", "5"], "to past the end is clipped"
    for params, expected in (
        ({"from": "4", "to": "2"}, 416),
        ({"from": "50", "to": "60"}, 416),
        ({"from": "0", "to": "2"}, 400),
        ({"from": "two", "to": "4"}, 400),
        ({"to": "4"}, 400),
        ({"from": "1", "to": "9" * 40}, 400),
    ):
        status, body = await call(sim, "GET", route, params=params)
        assert status == expected, params
        assert body["errorMessage"]


async def test_list_gives_the_pages_as_idrange_urls(sim: OandaSimulator) -> None:
    for units in ("10", "-10", "7"):
        await call(sim, "POST", f"{ACCOUNT}/orders", body=market(units))
    status, listed = await call(sim, "GET", f"{ACCOUNT}/transactions", params={"pageSize": "3"})
    assert status == 200
    assert set(listed) == {"from", "to", "pageSize", "count", "pages", "lastTransactionID"}
    assert RFC3339_NANOS.match(listed["from"])
    assert RFC3339_NANOS.match(listed["to"])
    assert (listed["count"], listed["pageSize"], listed["lastTransactionID"]) == (7, 3, "7")
    fetched: list[str] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {sim.token}"}) as session:
        for page in listed["pages"]:
            assert page.startswith(f"{sim.base_url}/v3/accounts/{sim.account_id}/transactions/idrange?")
            async with session.get(page) as answer:
                fetched += [t["id"] for t in (await answer.json())["transactions"]]
    assert fetched == [str(i) for i in range(1, 8)], "the pages cover the range once, in order"
    _, fills = await call(sim, "GET", f"{ACCOUNT}/transactions", params={"type": "ORDER_FILL"})
    assert (fills["count"], fills["type"], fills["pageSize"]) == (3, ["ORDER_FILL"], 100)
    assert all("type=ORDER_FILL" in page for page in fills["pages"])
    for params, expected in (
        ({"pageSize": "1001"}, 400),
        ({"pageSize": "0"}, 400),
        ({"from": "2030-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"}, 416),
        ({"from": "2000-01-01T00:00:00Z", "to": "2002-01-01T00:00:00Z"}, 416),
        ({"to": "9999-12-31T23:59:59-23:59"}, 400),
        ({"type": "ORDER_FILL,BOGUS"}, 400),
    ):
        status, body = await call(sim, "GET", f"{ACCOUNT}/transactions", params=params)
        assert status == expected, params
        assert body["errorMessage"]


async def test_unknown_transaction_is_no_such_transaction(sim: OandaSimulator) -> None:
    for text in ("999", "0", "x", "9" * 30):
        status, body = await call(sim, "GET", TRANSACTION, transactionID=text)
        assert (status, body["errorCode"]) == (404, "NO_SUCH_TRANSACTION"), text


# ================================================================== the stream


async def test_transaction_stream_sends_what_happens_and_heartbeats(sim: OandaSimulator) -> None:
    url = f"{sim.base_url}/v3/accounts/{sim.account_id}/transactions/stream"
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {sim.token}"}) as session,
        session.get(url) as stream,
    ):
        assert stream.status == 200
        assert stream.headers["RequestID"]
        _, placed = await call(
            sim, "POST", f"{ACCOUNT}/orders", body=market("10", clientExtensions={"id": "s"})
        )
        expected = [placed["orderCreateTransaction"], placed["orderFillTransaction"]]
        transactions: list[dict[str, Any]] = []
        heartbeat: dict[str, Any] = {}
        while len(transactions) < 2 or not heartbeat:
            line = orjson.loads(await asyncio.wait_for(stream.content.readline(), 10))
            if line["type"] != "HEARTBEAT":
                transactions.append(line)
            elif len(transactions) == 2:
                heartbeat = line
    assert transactions == expected, "each transaction once, as its answer rendered it"
    check(heartbeat, "TransactionHeartbeat")
    assert heartbeat["lastTransactionID"] == placed["lastTransactionID"]


# ================================================================== trades


async def test_trades_list_get_and_close(sim: OandaSimulator) -> None:
    _, first = await call(
        sim,
        "POST",
        f"{ACCOUNT}/orders",
        body=market("100", tradeClientExtensions={"id": "first", "tag": "x"}),
    )
    _, second = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("60"))
    first_id = first["orderFillTransaction"]["tradeOpened"]["tradeID"]
    second_id = second["orderFillTransaction"]["tradeOpened"]["tradeID"]
    status, opened = await call(sim, "GET", f"{ACCOUNT}/openTrades")
    assert status == 200
    assert [t["id"] for t in opened["trades"]] == [second_id, first_id], "newest first"
    for trade in opened["trades"]:
        check_trade(trade, digits=EUR_USD_DIGITS)
    status, named = await call(sim, "GET", TRADE, tradeSpecifier="@first")
    assert (status, named["trade"]["id"]) == (200, first_id)
    assert named["trade"]["clientExtensions"] == {"id": "first", "tag": "x"}

    status, partly = await call(sim, "PUT", CLOSE, body={"units": "40"}, tradeSpecifier="@first")
    assert status == 200
    create, fill = check_batch(partly)
    assert (create["reason"], create["positionFill"], create["units"]) == (
        "TRADE_CLOSE",
        "REDUCE_ONLY",
        "-40",
    )
    assert create["tradeClose"] == {"tradeID": first_id, "clientTradeID": "first", "units": "40"}
    assert fill["reason"] == "MARKET_ORDER_TRADE_CLOSE"
    assert (fill["tradeReduced"]["tradeID"], fill["tradeReduced"]["units"]) == (first_id, "-40")
    status, rest = await call(sim, "PUT", CLOSE, tradeSpecifier=first_id)
    assert status == 200
    assert [t["tradeID"] for t in rest["orderFillTransaction"]["tradesClosed"]] == [first_id]
    _, closed = await call(sim, "GET", TRADE, tradeSpecifier=first_id)
    check_trade(closed["trade"], digits=EUR_USD_DIGITS)
    assert closed["trade"]["state"] == "CLOSED"
    assert closed["trade"]["closingTransactionIDs"] == [fill["id"], rest["orderFillTransaction"]["id"]]

    _, everything = await call(sim, "GET", f"{ACCOUNT}/trades", params={"state": "ALL"})
    assert [t["id"] for t in everything["trades"]] == [second_id, first_id]
    _, only_open = await call(sim, "GET", f"{ACCOUNT}/trades")
    assert [t["id"] for t in only_open["trades"]] == [second_id], "state defaults to OPEN"
    _, by_id = await call(sim, "GET", f"{ACCOUNT}/trades", params={"ids": first_id})
    assert [t["id"] for t in by_id["trades"]] == [first_id]
    _, before = await call(sim, "GET", f"{ACCOUNT}/trades", params={"state": "ALL", "beforeID": first_id})
    assert [t["id"] for t in before["trades"]] == [first_id]


async def test_trades_page_with_a_link_to_the_next(sim: OandaSimulator) -> None:
    for _ in range(3):
        await call(sim, "POST", f"{ACCOUNT}/orders", body=market("10"))
    headers = {"Authorization": f"Bearer {sim.token}"}
    url = f"{sim.base_url}/v3/accounts/{sim.account_id}/trades?count=2&instrument=EUR_USD"
    seen: list[str] = []
    async with aiohttp.ClientSession(headers=headers) as session:
        while url:
            async with session.get(url) as answer:
                seen += [t["id"] for t in (await answer.json())["trades"]]
                link = answer.headers.get("Link", "")
            url = link[1 : link.index(">")] if link else ""
    assert seen == ["7", "5", "3"]


async def test_trade_refusals(sim: OandaSimulator) -> None:
    _, placed = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("100"))
    trade_id = placed["orderFillTransaction"]["tradeOpened"]["tradeID"]
    for text in ("999", "@nobody", "abc", "9" * 40):
        status, body = await call(sim, "GET", TRADE, tradeSpecifier=text)
        assert (status, body["errorCode"]) == (404, "NO_SUCH_TRADE"), text
    status, unknown = await call(sim, "PUT", CLOSE, tradeSpecifier="999")
    assert (status, unknown["errorCode"]) == (404, "TRADE_DOESNT_EXIST")
    check_transaction(unknown["orderRejectTransaction"])
    assert unknown["orderRejectTransaction"]["tradeClose"] == {"tradeID": "999", "units": "ALL"}
    status, too_many = await call(sim, "PUT", CLOSE, body={"units": "101"}, tradeSpecifier=trade_id)
    assert (status, too_many["errorCode"]) == (400, "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE")
    check_transaction(too_many["orderRejectTransaction"], digits=EUR_USD_DIGITS)
    for bad in ({"units": "-5"}, {"units": "lots"}, {"units": None}, [1]):
        status, body = await call(sim, "PUT", CLOSE, body=bad, tradeSpecifier=trade_id)
        assert (status, body["errorMessage"]) == (400, "Invalid value specified for 'units'"), bad
    status, by_number = await call(sim, "PUT", CLOSE, body={"units": 100}, tradeSpecifier=trade_id)
    assert status == 200, "units as a JSON number, as oandapyV20's own example sends it"
    assert by_number["orderCreateTransaction"]["tradeClose"]["units"] == "100"
