"""Fidelity: every answer the OANDA simulator gives, checked field by field against the v20 spec and the
reference's checklist (§4), so the adapter and the simulator cannot drift together into a private dialect.

Each test drives the simulator over loopback as a bare HTTP client and checks: the status code is one the
spec lists for that endpoint; the body's keys are the spec's; every nested object has only spec fields,
each in its spec format (``v20_shapes.check``); enum values (reasons, states, types) are the spec's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
from v20_shapes import (
    GRANULARITIES,
    INSTRUMENT_TYPES,
    ORDER_CANCEL_REASONS,
    ORDER_STATES,
    PRICE_STATUSES,
    TRANSACTION_REJECT_REASONS,
    TRANSACTION_TYPES,
    check,
    check_envelope,
    check_order,
    check_transaction,
)

from broker_integration.clock import ManualClock
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import VenueProfile

ACCOUNT = "/v3/accounts/{accountID}"
EUR_USD_DIGITS, USD_JPY_DIGITS = 5, 3


@pytest.fixture
async def sim() -> AsyncIterator[OandaSimulator]:
    profile = VenueProfile(name="oanda", enforce_trading_hours=False)
    async with OandaSimulator(
        profile=profile, settings=SimulatorSettings(heartbeat_interval=0.05)
    ) as simulator:
        yield simulator


async def call(
    sim: OandaSimulator,
    method: str,
    route: str,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    unix: bool = False,
    **path: str,
) -> tuple[int, Any]:
    """One request to ``route`` (a spec path template); checks the envelope against the spec."""
    url = route.replace("{accountID}", sim.account_id)
    for name, value in path.items():
        url = url.replace(f"{{{name}}}", value)
    headers = {"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"}
    if unix:
        headers["Accept-Datetime-Format"] = "UNIX"
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(
            method, f"{sim.base_url}{url}", params=params, data=orjson.dumps(body) if body else None
        ) as answer,
    ):
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.headers["RequestID"].isdigit(), "every v20 answer carries a RequestID header"
        decoded = orjson.loads(await answer.read())
        check_envelope(method, route, answer.status, decoded)
        return answer.status, decoded


def market(units: str, instrument: str = "EUR_USD", **extra: Any) -> dict[str, Any]:
    return {"order": {"type": "MARKET", "instrument": instrument, "units": units, **extra}}


def limit(units: str, price: str, **extra: Any) -> dict[str, Any]:
    return {"order": {"type": "LIMIT", "instrument": "EUR_USD", "units": units, "price": price, **extra}}


def check_batch(body: dict[str, Any], *, digits: int | None = EUR_USD_DIGITS) -> list[dict[str, Any]]:
    """Every transaction of an order answer: shape, one batch, ids in order, related ids listed."""
    transactions = [value for key, value in body.items() if key.endswith("Transaction")]
    for transaction in transactions:
        check_transaction(transaction, digits=digits)
    ids = [t["id"] for t in transactions]
    assert sorted(ids, key=int) == body["relatedTransactionIDs"]
    assert body["lastTransactionID"] == body["relatedTransactionIDs"][-1]
    assert {t["batchID"] for t in transactions} == {body["relatedTransactionIDs"][0]}
    assert len({t["requestID"] for t in transactions}) == 1
    return transactions


# ================================================================== accounts and instruments


async def test_accounts_summary_and_full_account(sim: OandaSimulator) -> None:
    status, accounts = await call(sim, "GET", "/v3/accounts")
    assert status == 200
    for account in accounts["accounts"]:
        check(account, "AccountProperties")
        assert account["tags"] == []
    await call(sim, "POST", f"{ACCOUNT}/orders", body=market("100"))
    await call(sim, "POST", f"{ACCOUNT}/orders", body=limit("100", "0.50000"))
    status, summary = await call(sim, "GET", f"{ACCOUNT}/summary")
    assert status == 200
    check(summary["account"], "AccountSummary")
    account = summary["account"]
    assert (account["openTradeCount"], account["openPositionCount"], account["pendingOrderCount"]) == (
        1,
        1,
        1,
    )
    assert account["lastTransactionID"] == summary["lastTransactionID"]
    status, full = await call(sim, "GET", ACCOUNT)
    check(full["account"], "Account")
    for order in full["account"]["orders"]:
        check_order(order, digits=EUR_USD_DIGITS)
    for trade in full["account"]["trades"]:
        check(trade, "TradeSummary", digits=EUR_USD_DIGITS)
    for position in full["account"]["positions"]:
        check(position, "Position", digits=EUR_USD_DIGITS)


async def test_instruments(sim: OandaSimulator) -> None:
    status, body = await call(sim, "GET", f"{ACCOUNT}/instruments")
    assert status == 200
    names = {}
    for instrument in body["instruments"]:
        check(instrument, "Instrument", digits=instrument["displayPrecision"])
        assert instrument["type"] in INSTRUMENT_TYPES
        names[instrument["name"]] = instrument
    eur_usd = names["EUR_USD"]
    assert (
        eur_usd["type"],
        eur_usd["pipLocation"],
        eur_usd["displayPrecision"],
        eur_usd["tradeUnitsPrecision"],
    ) == (
        "CURRENCY",
        -4,
        5,
        0,
    )
    assert names["USD_JPY"]["pipLocation"] == -2
    _, some = await call(sim, "GET", f"{ACCOUNT}/instruments", params={"instruments": "EUR_USD,USD_JPY"})
    assert [i["name"] for i in some["instruments"]] == ["EUR_USD", "USD_JPY"]


# ================================================================== order creation (reference §1.5, §4.1, §4.2)


async def test_market_fill_limit_pending_and_reduce(sim: OandaSimulator) -> None:
    status, filled = await call(
        sim, "POST", f"{ACCOUNT}/orders", body=market("100", clientExtensions={"id": "m1", "tag": "t"})
    )
    assert status == 201
    created, fill = check_batch(filled)
    assert created["type"] == "MARKET_ORDER"
    assert (created["timeInForce"], created["reason"], created["positionFill"]) == (
        "FOK",
        "CLIENT_ORDER",
        "DEFAULT",
    )
    assert created["clientExtensions"] == {"id": "m1", "tag": "t"}
    assert fill["orderID"] == created["id"]
    assert fill["clientOrderID"] == "m1"
    assert fill["tradeOpened"]["tradeID"] == fill["id"], "a trade's id is the id of the fill that opened it"
    assert fill["tradeOpened"]["units"] == "100"

    status, reduced = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("-40"))
    _, reduce_fill = check_batch(reduced)
    assert reduce_fill["units"] == "-40"
    assert reduce_fill["tradeReduced"]["tradeID"] == fill["id"]
    assert reduce_fill["tradeReduced"]["units"] == "-40"
    status, closed = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("-100"))
    _, flip_fill = check_batch(closed)
    assert [t["tradeID"] for t in flip_fill["tradesClosed"]] == [fill["id"]]
    assert flip_fill["tradeOpened"]["units"] == "-40", "the rest of a flipping fill opens a new trade"

    status, pending = await call(
        sim, "POST", f"{ACCOUNT}/orders", body=limit("-100", "1.2", stopLossOnFill={"price": "1.22"})
    )
    assert status == 201
    assert set(pending) == {"orderCreateTransaction", "relatedTransactionIDs", "lastTransactionID"}
    (create,) = check_batch(pending)
    assert create["type"] == "LIMIT_ORDER"
    assert create["price"] == "1.20000", "the price is echoed at the instrument's precision"
    assert create["stopLossOnFill"] == {"price": "1.22000", "timeInForce": "GTC"}
    assert (create["timeInForce"], create["triggerCondition"]) == ("GTC", "DEFAULT")


async def test_jpy_prices_have_three_decimals(sim: OandaSimulator) -> None:
    _, body = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("1000", "USD_JPY"))
    _, fill = check_batch(body, digits=USD_JPY_DIGITS)
    assert len(fill["price"].split(".")[1]) == USD_JPY_DIGITS


async def test_reject_and_cancel_shapes(sim: OandaSimulator) -> None:
    status, rejected = await call(sim, "POST", f"{ACCOUNT}/orders", body=limit("10", "1.000001"))
    assert status == 400
    (reject,) = check_batch(rejected)
    assert reject["type"] == "LIMIT_ORDER_REJECT"
    assert rejected["errorCode"] == reject["rejectReason"] == "PRICE_PRECISION_EXCEEDED"
    status, units = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("0"))
    assert (status, units["errorCode"]) == (400, "UNITS_INVALID")
    status, cancelled = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("90000000"))
    assert status == 201
    created, cancel = check_batch(cancelled)
    assert cancel["reason"] == "INSUFFICIENT_MARGIN"
    assert cancel["orderID"] == created["id"]
    status, order = await call(
        sim, "GET", f"{ACCOUNT}/orders/{{orderSpecifier}}", orderSpecifier=created["id"]
    )
    check_order(order["order"], digits=EUR_USD_DIGITS)
    assert order["order"]["state"] == "CANCELLED"
    assert order["order"]["cancellingTransactionID"] == cancel["id"]


async def test_market_halted_on_a_closed_market() -> None:
    saturday = ManualClock(datetime(2024, 1, 6, 15, 0, tzinfo=UTC))
    async with OandaSimulator(profile=VenueProfile(name="oanda"), clock=saturday) as sim:
        status, body = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("10"))
        assert status == 201
        _, cancel = check_batch(body)
        assert cancel["reason"] == "MARKET_HALTED"
        _, prices = await call(sim, "GET", f"{ACCOUNT}/pricing", params={"instruments": "EUR_USD"})
        assert prices["prices"][0]["tradeable"] is False
        assert prices["prices"][0]["status"] == "non-tradeable"


# ================================================================== lookup, replace, cancel (§4.3, §4.4)


async def test_order_lists_replace_and_cancel(sim: OandaSimulator) -> None:
    _, placed = await call(
        sim, "POST", f"{ACCOUNT}/orders", body=limit("100", "0.5", clientExtensions={"id": "keep"})
    )
    first = placed["orderCreateTransaction"]["id"]
    status, replaced = await call(
        sim, "PUT", f"{ACCOUNT}/orders/{{orderSpecifier}}", body=limit("200", "0.4"), orderSpecifier=first
    )
    assert status == 201
    cancel, create = check_batch(replaced)
    assert (cancel["type"], cancel["reason"], cancel["orderID"]) == (
        "ORDER_CANCEL",
        "CLIENT_REQUEST_REPLACED",
        first,
    )
    assert cancel["replacedByOrderID"] == create["id"] != first
    assert (create["reason"], create["replacesOrderID"]) == ("REPLACEMENT", first)
    assert create["clientExtensions"] == {"id": "keep"}, "the client extensions carry over"

    for state in ("PENDING", "CANCELLED", "ALL"):
        _, listed = await call(sim, "GET", f"{ACCOUNT}/orders", params={"state": state})
        for order in listed["orders"]:
            check_order(order, digits=EUR_USD_DIGITS)
            assert order["state"] in ORDER_STATES
            assert state in ("ALL", order["state"])
        ids = [int(order["id"]) for order in listed["orders"]]
        assert ids == sorted(ids, reverse=True), "newest first"
    _, pending = await call(sim, "GET", f"{ACCOUNT}/pendingOrders")
    assert [o["id"] for o in pending["orders"]] == [create["id"]]

    status, cancelled = await call(
        sim, "PUT", f"{ACCOUNT}/orders/{{orderSpecifier}}/cancel", orderSpecifier="@keep"
    )
    assert status == 200
    (cancel_new,) = check_batch(cancelled)
    assert (cancel_new["reason"], cancel_new["orderID"], cancel_new["clientOrderID"]) == (
        "CLIENT_REQUEST",
        create["id"],
        "keep",
    )
    status, again = await call(
        sim, "PUT", f"{ACCOUNT}/orders/{{orderSpecifier}}/cancel", orderSpecifier="@keep"
    )
    assert status == 404
    (refusal,) = check_batch(again)
    assert refusal["rejectReason"] == again["errorCode"] == "ORDER_DOESNT_EXIST"
    status, missing = await call(sim, "GET", f"{ACCOUNT}/orders/{{orderSpecifier}}", orderSpecifier="4242")
    assert (status, missing["errorCode"]) == (404, "NO_SUCH_ORDER")


async def test_transaction_by_id_renders_as_first_answered(sim: OandaSimulator) -> None:
    _, placed = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("100"))
    fill = placed["orderFillTransaction"]
    status, found = await call(
        sim, "GET", f"{ACCOUNT}/transactions/{{transactionID}}", transactionID=fill["id"]
    )
    assert status == 200
    check_transaction(found["transaction"], digits=EUR_USD_DIGITS)
    assert found["transaction"] == fill
    status, _ = await call(sim, "GET", f"{ACCOUNT}/transactions/{{transactionID}}", transactionID="99999")
    assert status == 404


# ================================================================== positions (§1.6)


async def test_positions_and_close(sim: OandaSimulator) -> None:
    await call(sim, "POST", f"{ACCOUNT}/orders", body=market("-300"))
    for route in (f"{ACCOUNT}/positions", f"{ACCOUNT}/openPositions"):
        _, body = await call(sim, "GET", route)
        (position,) = body["positions"]
        check(position, "Position", digits=EUR_USD_DIGITS)
        assert position["short"]["units"] == "-300"
        assert "averagePrice" in position["short"]
        assert "averagePrice" not in position["long"]
        assert "tradeIDs" not in position["long"]
    status, closed = await call(
        sim,
        "PUT",
        f"{ACCOUNT}/positions/{{instrument}}/close",
        body={"shortUnits": "ALL"},
        instrument="EUR_USD",
    )
    assert status == 200
    create, fill = check_batch(closed)
    assert set(closed) == {
        "shortOrderCreateTransaction",
        "shortOrderFillTransaction",
        "relatedTransactionIDs",
        "lastTransactionID",
    }
    assert (create["reason"], create["positionFill"], create["units"]) == (
        "POSITION_CLOSEOUT",
        "REDUCE_ONLY",
        "300",
    )
    assert create["shortPositionCloseout"] == {"instrument": "EUR_USD", "units": "ALL"}
    assert fill["reason"] == "MARKET_ORDER_POSITION_CLOSEOUT"
    assert len(fill["tradesClosed"]) == 1
    _, still = await call(sim, "GET", f"{ACCOUNT}/positions")
    assert still["positions"][0]["short"]["units"] == "0", "positions lists every instrument ever traded"
    _, opened = await call(sim, "GET", f"{ACCOUNT}/openPositions")
    assert opened["positions"] == []
    _, one = await call(sim, "GET", f"{ACCOUNT}/positions/{{instrument}}", instrument="USD_JPY")
    check(one["position"], "Position", digits=USD_JPY_DIGITS)
    status, refused = await call(
        sim,
        "PUT",
        f"{ACCOUNT}/positions/{{instrument}}/close",
        body={"longUnits": "ALL"},
        instrument="EUR_USD",
    )
    assert status == 400
    (reject,) = check_batch(refused)
    assert reject["rejectReason"] == "CLOSEOUT_POSITION_DOESNT_EXIST"


# ================================================================== prices, stream, candles (§1.7, §1.8, §4.5)


async def test_pricing(sim: OandaSimulator) -> None:
    params = {"instruments": "EUR_USD,USD_JPY", "includeHomeConversions": "true"}
    status, body = await call(sim, "GET", f"{ACCOUNT}/pricing", params=params)
    assert status == 200
    for price, digits in zip(body["prices"], (EUR_USD_DIGITS, USD_JPY_DIGITS), strict=True):
        check(price, "ClientPrice", digits=digits)
        assert price["type"] == "PRICE"
        assert price["status"] in PRICE_STATUSES
        assert float(price["bids"][0]["price"]) < float(price["asks"][0]["price"])
        assert float(price["closeoutBid"]) < float(price["bids"][0]["price"])
        assert set(price["unitsAvailable"]) == {"default", "reduceFirst", "reduceOnly", "openOnly"}
    for conversion in body["homeConversions"]:
        check(conversion, "HomeConversions")
    assert {c["currency"] for c in body["homeConversions"]} == {"EUR", "USD", "JPY"}
    _, bare = await call(
        sim, "GET", f"{ACCOUNT}/pricing", params={"instruments": "EUR_USD", "includeUnitsAvailable": "false"}
    )
    assert "unitsAvailable" not in bare["prices"][0]
    assert "homeConversions" not in bare


async def test_stream_lines(sim: OandaSimulator) -> None:
    headers = {"Authorization": f"Bearer {sim.token}"}
    url = f"{sim.stream_url}/v3/accounts/{sim.account_id}/pricing/stream"
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(url, params={"instruments": "USD_JPY"}) as response,
    ):
        assert response.status == 200
        lines = [orjson.loads(await response.content.readline()) for _ in range(4)]
    check(lines[0], "ClientPrice", digits=USD_JPY_DIGITS)
    for line in lines[1:]:
        check(
            line, "PricingHeartbeat" if line["type"] == "HEARTBEAT" else "ClientPrice", digits=USD_JPY_DIGITS
        )
    assert any(line["type"] == "HEARTBEAT" for line in lines)


async def test_candles(sim: OandaSimulator) -> None:
    params = {"granularity": "M5", "count": "3", "price": "MBA"}
    status, body = await call(
        sim, "GET", "/v3/instruments/{instrument}/candles", params=params, instrument="EUR_USD"
    )
    assert status == 200
    assert (body["instrument"], body["granularity"]) == ("EUR_USD", "M5")
    assert body["granularity"] in GRANULARITIES
    assert len(body["candles"]) == 3
    for candle in body["candles"]:
        check(candle, "Candlestick", digits=EUR_USD_DIGITS)
        assert float(candle["bid"]["c"]) < float(candle["ask"]["c"])
    assert [c["complete"] for c in body["candles"]] == [True, True, False]
    _, mid_only = await call(sim, "GET", "/v3/instruments/{instrument}/candles", instrument="USD_JPY")
    assert mid_only["granularity"] == "S5", "S5 is the default granularity"
    assert len(mid_only["candles"]) == 500, "500 is the default count"
    assert set(mid_only["candles"][0]) == {"time", "volume", "complete", "mid"}
    first = mid_only["candles"][10]["time"]
    _, after = await call(
        sim,
        "GET",
        "/v3/instruments/{instrument}/candles",
        params={"from": first, "count": "2", "includeFirst": "false"},
        instrument="USD_JPY",
    )
    assert [c["time"] for c in after["candles"]] == [c["time"] for c in mid_only["candles"][11:13]]
    status, _ = await call(
        sim,
        "GET",
        "/v3/instruments/{instrument}/candles",
        params={"from": first, "to": first, "count": "2"},
        instrument="USD_JPY",
    )
    assert status == 400, "count may not be given with both from and to"


async def test_unix_times_when_asked(sim: OandaSimulator) -> None:
    _, placed = await call(sim, "POST", f"{ACCOUNT}/orders", body=market("10"), unix=True)
    for transaction in (placed["orderCreateTransaction"], placed["orderFillTransaction"]):
        check_transaction(transaction, digits=EUR_USD_DIGITS, unix=True)
    _, candles = await call(
        sim,
        "GET",
        "/v3/instruments/{instrument}/candles",
        params={"count": "1"},
        unix=True,
        instrument="EUR_USD",
    )
    check(candles["candles"][0], "Candlestick", digits=EUR_USD_DIGITS, unix=True)


def test_the_checklist_vocabulary_is_the_specs() -> None:
    """The enums the simulator's answers are checked against came from the spec, typo included."""
    assert "UNITS_MIMIMUM_NOT_MET" in TRANSACTION_REJECT_REASONS
    assert "MARKET_HALTED" in ORDER_CANCEL_REASONS
    assert "MARKET_HALTED" not in TRANSACTION_REJECT_REASONS
    assert {"ORDER_FILL", "ORDER_CANCEL", "ORDER_CANCEL_REJECT"} <= TRANSACTION_TYPES


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"pl": 1.5}, "not a decimal string"),
        ({"time": "2024-01-02T10:00:00.123Z"}, "nine-digit"),
        ({"price": "1.1"}, "decimals"),
        ({"orderID": 17}, "numeric string"),
        ({"averageFillPrice": "1.10000"}, "does not define"),
    ],
)
def test_the_checker_refuses_a_private_dialect(change: dict[str, Any], complaint: str) -> None:
    """The checks above would catch a simulator (and an adapter tuned to it) that drifted from the spec."""
    fill = {
        "id": "3", "time": "2024-01-02T10:00:00.123456789Z", "userID": 1, "accountID": "101-004-1-001",
        "batchID": "2", "type": "ORDER_FILL", "orderID": "2", "instrument": "EUR_USD", "units": "100",
        "price": "1.10000", "reason": "MARKET_ORDER", "pl": "0.0000",
    }  # fmt: skip
    check_transaction(fill, digits=EUR_USD_DIGITS)
    with pytest.raises(AssertionError, match=complaint):
        check_transaction({**fill, **change}, digits=EUR_USD_DIGITS)
