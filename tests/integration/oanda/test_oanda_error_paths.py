"""Every error path of the OANDA part of the reference, end to end: the simulator's exact answer on the
wire, and what the adapter makes of it (reference §1.5, §1.6, §1.9, §4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from oanda_fixtures import (
    ALWAYS_OPEN,
    FRIDAY,
    FX_HOURS,
    SATURDAY,
    account_path,
    limit,
    market,
    no_retries,
    raw,
    with_min_units,
)
from pydantic import SecretStr

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.broker_config import BrokerCredentials
from broker_integration.clock import ManualClock
from broker_integration.errors import (
    AuthenticationError,
    BrokerError,
    InvalidInstrumentError,
    OrderNotFoundError,
    ServiceUnavailableError,
    StandardErrorCode,
)
from broker_integration.events import EventBus
from broker_integration.models import (
    Delivery,
    OrderModification,
    OrderSide,
    OrderStatus,
    OrderType,
    UnifiedOrder,
)
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.oanda import Credential, OandaSimulator, SimulatorSettings, new_token

C = StandardErrorCode
UNAUTHORIZED = {"errorMessage": "Insufficient authorization to perform request."}
FORBIDDEN = {"errorMessage": "The provided request was forbidden."}


def buy(quantity: str = "100", **fields: object) -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(quantity), **fields)  # type: ignore[arg-type]


@pytest.fixture
async def weekend() -> AsyncIterator[tuple[OandaSimulator, ManualClock]]:
    """A simulator keeping FX hours on a clock that starts on a Friday (open) and can move to Saturday."""
    clock = ManualClock(FRIDAY)
    async with OandaSimulator(profile=FX_HOURS, clock=clock) as simulator:
        yield simulator, clock


# ================================================================== authentication and access


async def test_wrong_or_missing_token_gets_oandas_401_body(sim: OandaSimulator) -> None:
    for token in (new_token(), None):
        answer = await raw(sim, "GET", "/v3/accounts", token=token)
        assert answer.status == 401
        assert answer.body == UNAUTHORIZED
    config = sim.configuration()
    wrong = BrokerCredentials(api_key=SecretStr(new_token()), account_id=sim.account_id)
    adapter = OandaAdapter(config.model_copy(update={"credentials": wrong}), event_bus=EventBus())
    with pytest.raises(AuthenticationError):
        await adapter.authenticate()
    await adapter.disconnect()


async def test_foreign_account_gets_oandas_403_body() -> None:
    mine, theirs = "101-004-1435156-001", "101-004-7777777-001"
    settings = SimulatorSettings(
        credentials=(Credential(new_token(), (mine,)), Credential(new_token(), (theirs,))),
    )
    async with OandaSimulator(profile=ALWAYS_OPEN, settings=settings) as sim:
        for suffix in ("/summary", "/orders", "/pricing?instruments=EUR_USD"):
            answer = await raw(sim, "GET", f"/v3/accounts/{theirs}{suffix}")
            assert answer.status == 403
            assert answer.body == FORBIDDEN
        listed = await raw(sim, "GET", "/v3/accounts")
        assert [a["id"] for a in listed.body["accounts"]] == [mine]
        async with OandaAdapter(sim.configuration(), event_bus=EventBus()) as adapter:
            with pytest.raises(BrokerError) as caught:
                await adapter.get_account_summary(theirs)
            assert caught.value.error_code is C.PERMISSION_DENIED
            assert caught.value.error.http_status == 403


# ================================================================== 400 without a transaction


async def test_invalid_instrument_is_400_without_a_transaction(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    before = sim.engine.last_transaction_id
    for name in ("EUR/USD", "XAU_ZZZ", "eur_usd"):
        answer = await raw(sim, "POST", account_path(sim, "/orders"), body=market(name, "100"))
        assert answer.status == 400
        assert answer.body == {"errorMessage": "Invalid value specified for 'order.instrument'"}
    assert sim.engine.last_transaction_id == before, "a schema-level 400 writes no transaction"

    result = await adapter.place_order(
        UnifiedOrder(instrument="QQZ/ZZQ", side=OrderSide.BUY, quantity=Decimal(1))
    )
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is C.INVALID_INSTRUMENT
    assert sim.engine.last_transaction_id == before
    with pytest.raises(InvalidInstrumentError):
        await adapter.get_current_price("QQZ/ZZQ")
    with pytest.raises(InvalidInstrumentError):
        await adapter.get_historical_data("QQZ/ZZQ", count=2)
    candles = await raw(sim, "GET", "/v3/instruments/QQZ_ZZQ/candles")
    assert candles.body == {"errorMessage": "Invalid value specified for 'instrument'"}


async def test_unreadable_bodies_are_schema_400s(sim: OandaSimulator) -> None:
    path = account_path(sim, "/orders")
    units = await raw(sim, "POST", path, body=market("EUR_USD", "lots"))
    assert (units.status, units.body) == (400, {"errorMessage": "Invalid value specified for 'order.units'"})
    kind = await raw(
        sim, "POST", path, body={"order": {"type": "ICEBERG", "instrument": "EUR_USD", "units": "1"}}
    )
    assert (kind.status, kind.body) == (400, {"errorMessage": "Invalid value specified for 'order.type'"})
    missing = await raw(sim, "POST", path, body={"units": "1"})
    assert (missing.status, missing.body) == (400, {"errorMessage": "The request was missing required data"})
    for order, answer in [
        ({"instrument": "EUR_USD", "units": "1"}, "The request was missing required data"),
        ({"type": "MARKET", "units": "1"}, "The request was missing required data"),
        ({"type": 7, "instrument": "EUR_USD", "units": "1"}, "Invalid value specified for 'order.type'"),
        (
            {"type": "MARKET", "instrument": ["EUR_USD"], "units": "1"},
            "Invalid value specified for 'order.instrument'",
        ),
    ]:
        refused = await raw(sim, "POST", path, body={"order": order})
        assert (refused.status, refused.body) == (400, {"errorMessage": answer}), order
    broken = await raw(sim, "POST", path, data=b"{not json")
    assert broken.status == 400
    assert "errorMessage" in broken.body
    wrong_method = await raw(sim, "DELETE", path)
    assert wrong_method.status == 405
    assert "errorMessage" in wrong_method.body
    nowhere = await raw(sim, "GET", "/v3/nowhere")
    assert nowhere.status == 404
    assert "errorMessage" in nowhere.body


# ================================================================== 400 with a reject transaction


async def test_price_precision_exceeded_is_400_with_a_reject_transaction(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    answer = await raw(sim, "POST", account_path(sim, "/orders"), body=limit("EUR_USD", "-100", "1.123456"))
    assert answer.status == 400
    reject = answer.body["orderRejectTransaction"]
    assert reject["type"] == "LIMIT_ORDER_REJECT"
    assert reject["rejectReason"] == answer.body["errorCode"] == "PRICE_PRECISION_EXCEEDED"
    assert reject["price"] == "1.123456"
    assert (
        answer.body["errorMessage"]
        == "The price specified contains more precision than is allowed for the instrument"
    )
    assert answer.body["relatedTransactionIDs"] == [reject["id"]] == [answer.body["lastTransactionID"]]

    # The adapter knows EUR/USD's tick from the instruments it loaded at login: refused before sending.
    served = sum(sim.counts.requests.values())
    order = buy(order_type=OrderType.LIMIT, price=Decimal("1.000001"))
    result = await adapter.place_order(order)
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is C.INVALID_ORDER
    assert "off the EUR/USD tick size 0.00001" in result.error.message
    assert result.delivery is Delivery.NOT_SENT
    assert sum(sim.counts.requests.values()) == served

    # Without the listing (rules it has not loaded), OANDA's own answer is mapped.
    adapter._instruments = None
    result = await adapter.place_order(order)
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is C.INVALID_ORDER
    assert result.error.broker_error_code == "PRICE_PRECISION_EXCEEDED"
    assert result.error.http_status == 400
    assert sim.engine.find_order(sim.account_id, client_order_id=order.order_id) is None


async def test_units_minimum_not_met_is_400_with_oandas_spelling() -> None:
    async with (
        OandaSimulator(profile=ALWAYS_OPEN, instruments=with_min_units(Decimal(1000))) as sim,
        OandaAdapter(sim.configuration(), event_bus=EventBus()) as adapter,
    ):
        result = await adapter.place_order(buy("10"))
        assert result.status is OrderStatus.REJECTED
        assert result.error is not None
        assert "10 EUR/USD is below the minimum order size 1000" in result.error.message  # refused unsent
        assert result.delivery is Delivery.NOT_SENT
        adapter._instruments = None  # without the listing, OANDA's answer is mapped
        result = await adapter.place_order(buy("10"))
        assert result.error is not None
        assert result.error.broker_error_code == "UNITS_MIMIMUM_NOT_MET"  # sic: OANDA's typo
        assert result.error.error_code is C.INVALID_ORDER
        answer = await raw(sim, "POST", account_path(sim, "/orders"), body=market("EUR_USD", "10"))
        assert answer.status == 400
        assert answer.body["orderRejectTransaction"]["type"] == "MARKET_ORDER_REJECT"
        assert answer.body["errorCode"] == "UNITS_MIMIMUM_NOT_MET"


# ================================================================== 201 + orderCancelTransaction


async def test_market_order_on_a_closed_market_is_201_with_market_halted(
    weekend: tuple[OandaSimulator, ManualClock],
) -> None:
    sim, clock = weekend
    clock.advance((SATURDAY - FRIDAY).total_seconds())
    answer = await raw(sim, "POST", account_path(sim, "/orders"), body=market("EUR_USD", "100"))
    assert answer.status == 201
    assert set(answer.body) == {
        "orderCreateTransaction",
        "orderCancelTransaction",
        "relatedTransactionIDs",
        "lastTransactionID",
    }
    cancel = answer.body["orderCancelTransaction"]
    assert cancel["reason"] == "MARKET_HALTED"
    assert cancel["orderID"] == answer.body["orderCreateTransaction"]["id"]
    async with OandaAdapter(sim.configuration(), event_bus=EventBus()) as adapter:
        result = await adapter.place_order(buy())
        assert result.status is OrderStatus.REJECTED
        assert result.error is not None
        assert result.error.error_code is C.MARKET_CLOSED
        assert result.broker_order_id is not None, "the order existed: OANDA created, then cancelled it"
        assert not (await adapter.get_current_price("EUR/USD")).tradeable


async def test_order_beyond_margin_is_201_with_insufficient_margin(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    answer = await raw(sim, "POST", account_path(sim, "/orders"), body=market("EUR_USD", "50000000"))
    assert answer.status == 201
    assert answer.body["orderCancelTransaction"]["reason"] == "INSUFFICIENT_MARGIN"
    assert "orderFillTransaction" not in answer.body
    result = await adapter.place_order(buy("50000000"))
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is C.INSUFFICIENT_FUNDS
    assert await adapter.get_positions() == []


# ================================================================== 404s


async def test_unknown_order_is_404_no_such_order(sim: OandaSimulator, adapter: OandaAdapter) -> None:
    answer = await raw(sim, "GET", account_path(sim, "/orders/987654"))
    assert answer.status == 404
    assert answer.body == {
        "lastTransactionID": str(sim.engine.last_transaction_id),
        "errorMessage": "The order ID specified does not exist",
        "errorCode": "NO_SUCH_ORDER",
    }
    by_client = await raw(sim, "GET", account_path(sim, "/orders/@nobody"))
    assert by_client.status == 404
    for order_id in ("987654", "nobody"):
        with pytest.raises(OrderNotFoundError):
            await adapter.get_order(order_id)


async def test_cancelling_a_filled_or_unknown_order_is_404_with_a_cancel_reject(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    filled = await adapter.place_order(buy())
    assert filled.status is OrderStatus.FILLED
    assert filled.broker_order_id is not None
    for specifier, field, value in (
        (filled.broker_order_id, "orderID", filled.broker_order_id),
        ("@ghost", "clientOrderID", "ghost"),
    ):
        answer = await raw(sim, "PUT", account_path(sim, f"/orders/{specifier}/cancel"))
        assert answer.status == 404
        reject = answer.body["orderCancelRejectTransaction"]
        assert reject["type"] == "ORDER_CANCEL_REJECT"
        assert reject["rejectReason"] == answer.body["errorCode"] == "ORDER_DOESNT_EXIST"
        assert reject[field] == value
        assert answer.body["errorMessage"] == "The Order specified does not exist"
    result = await adapter.cancel_order(filled.broker_order_id)
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is C.ORDER_NOT_FOUND


# ================================================================== replace


async def test_replace_gives_a_new_id_linked_both_ways(sim: OandaSimulator, adapter: OandaAdapter) -> None:
    order = buy(order_type=OrderType.LIMIT, price=Decimal("0.50000"))
    placed = await adapter.place_order(order)
    old_id = placed.broker_order_id
    assert old_id is not None
    replaced = await adapter.modify_order(old_id, OrderModification(price=Decimal("0.49000")))
    assert replaced.success, replaced.error
    new_id = replaced.broker_order_id
    assert new_id is not None
    assert new_id != old_id
    assert replaced.replaces_order_id == old_id
    old = (await raw(sim, "GET", account_path(sim, f"/orders/{old_id}"))).body["order"]
    new = (await raw(sim, "GET", account_path(sim, f"/orders/{new_id}"))).body["order"]
    assert old["state"] == "CANCELLED"
    assert old["replacedByOrderID"] == new_id
    assert "cancellingTransactionID" in old
    assert new["state"] == "PENDING"
    assert new["replacesOrderID"] == old_id
    assert new["price"] == "0.49000"
    assert new["clientExtensions"]["id"] == order.order_id
    assert (await adapter.get_order(order.order_id)).broker_order_id == new_id

    wrong_kind = await raw(sim, "PUT", account_path(sim, f"/orders/{new_id}"), body=market("EUR_USD", "1"))
    assert (wrong_kind.status, wrong_kind.body["errorCode"]) == (400, "REPLACING_ORDER_INVALID")
    gone = await raw(sim, "PUT", account_path(sim, f"/orders/{old_id}"), body=limit("EUR_USD", "1", "0.48"))
    assert gone.status == 404
    assert gone.body["orderCancelRejectTransaction"]["rejectReason"] == "ORDER_DOESNT_EXIST"


async def test_replace_that_breaks_a_rule_is_400_and_leaves_the_order(sim: OandaSimulator) -> None:
    placed = await raw(sim, "POST", account_path(sim, "/orders"), body=limit("EUR_USD", "100", "0.5", "keep"))
    order_id = placed.body["orderCreateTransaction"]["id"]
    answer = await raw(
        sim, "PUT", account_path(sim, f"/orders/{order_id}"), body=limit("EUR_USD", "100", "0.4999999")
    )
    assert answer.status == 400
    reject = answer.body["orderRejectTransaction"]
    assert reject["rejectReason"] == "PRICE_PRECISION_EXCEEDED"
    assert reject["intendedReplacesOrderID"] == order_id
    still = await raw(sim, "GET", account_path(sim, "/orders/@keep"))
    assert still.body["order"]["id"] == order_id
    assert still.body["order"]["state"] == "PENDING"


# ================================================================== positions


async def test_closing_on_a_closed_market_is_200_with_market_halted(
    weekend: tuple[OandaSimulator, ManualClock],
) -> None:
    sim, clock = weekend
    async with OandaAdapter(sim.configuration(), event_bus=EventBus()) as adapter:
        opened = await adapter.place_order(buy())
        assert opened.status is OrderStatus.FILLED
        clock.advance((SATURDAY - FRIDAY).total_seconds())
        answer = await raw(
            sim, "PUT", account_path(sim, "/positions/EUR_USD/close"), body={"longUnits": "ALL"}
        )
        assert answer.status == 200
        assert answer.body["longOrderCancelTransaction"]["reason"] == "MARKET_HALTED"
        assert answer.body["longOrderCreateTransaction"]["longPositionCloseout"] == {
            "instrument": "EUR_USD",
            "units": "ALL",
        }
        result = await adapter.close_position("EUR/USD")
        assert result.status is OrderStatus.REJECTED
        assert result.error is not None
        assert result.error.error_code is C.MARKET_CLOSED
        assert [p.quantity for p in await adapter.get_positions()] == [Decimal(100)]


async def test_closing_a_position_that_is_not_there_is_refused(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    flat = await raw(sim, "PUT", account_path(sim, "/positions/EUR_USD/close"), body={"longUnits": "ALL"})
    assert flat.status == 400
    reject = flat.body["longOrderRejectTransaction"]
    assert reject["type"] == "MARKET_ORDER_REJECT"
    assert reject["rejectReason"] == flat.body["errorCode"] == "CLOSEOUT_POSITION_DOESNT_EXIST"
    assert reject["longPositionCloseout"] == {"instrument": "EUR_USD", "units": "ALL"}
    result = await adapter.close_position("EUR/USD")
    assert result.error is not None
    assert result.error.error_code is C.POSITION_NOT_FOUND

    await adapter.place_order(buy())
    wrong_side = await raw(
        sim, "PUT", account_path(sim, "/positions/EUR_USD/close"), body={"shortUnits": "ALL"}
    )
    assert (wrong_side.status, wrong_side.body["errorCode"]) == (400, "CLOSEOUT_POSITION_DOESNT_EXIST")
    too_many = await raw(sim, "PUT", account_path(sim, "/positions/EUR_USD/close"), body={"longUnits": "500"})
    assert (
        too_many.body["longOrderRejectTransaction"]["rejectReason"]
        == "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE"
    )
    empty = await raw(sim, "PUT", account_path(sim, "/positions/EUR_USD/close"), body={})
    assert (empty.status, empty.body["errorCode"]) == (400, "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION")
    partial = await adapter.close_position("EUR/USD", Decimal(40))
    assert partial.status is OrderStatus.FILLED
    assert [p.quantity for p in await adapter.get_positions()] == [Decimal(60)]


# ================================================================== 429, 5xx and lost answers


async def test_over_the_rate_429_with_retry_after_then_recovery() -> None:
    settings = SimulatorSettings(max_requests_per_second=10)
    async with OandaSimulator(profile=ALWAYS_OPEN, settings=settings) as sim:
        headers = {"Authorization": f"Bearer {sim.token}"}
        url = f"{sim.base_url}{account_path(sim, '/summary')}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), headers=headers) as session:
            statuses, refusal = [], None
            for _ in range(25):
                async with session.get(url) as response:
                    statuses.append(response.status)
                    if response.status == 429:
                        refusal = (dict(response.headers), await response.json())
            assert 200 in statuses
            assert refusal is not None, "25 requests at once on one connection must meet the limit"
            retry_after = int(refusal[0]["Retry-After"])
            assert retry_after >= 1
            assert "errorMessage" in refusal[1]
            await asyncio.sleep(retry_after)
            async with session.get(url) as response:
                assert response.status == 200
        async with OandaAdapter(sim.configuration(), event_bus=EventBus()) as adapter:
            summaries = [await adapter.get_account_summary() for _ in range(15)]
            assert {s.account_id for s in summaries} == {sim.account_id}
        assert sim.counts.rate_limited > 1


async def test_maintenance_503_html_body(sim: OandaSimulator) -> None:
    async with OandaAdapter(no_retries(sim.configuration()), event_bus=EventBus()) as adapter:
        sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["get_account_summary"])
        with pytest.raises(ServiceUnavailableError) as caught:
            await adapter.get_account_summary()
        assert caught.value.error.http_status == 503
        assert "503 Service Temporarily Unavailable" in caught.value.error.message
        assert (await adapter.get_account_summary()).account_id == sim.account_id

        sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["place_order"])
        order = buy()
        result = await adapter.place_order(order)
        assert result.status is OrderStatus.UNKNOWN, "a 5xx on an order leaves its outcome open"
        assert result.error is not None
        assert result.error.error_code is C.OUTCOME_UNKNOWN
        assert sim.engine.find_order(sim.account_id, client_order_id=order.order_id) is None
    page = await raw(sim, "GET", account_path(sim, "/summary"))
    assert page.status == 200
    sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE))
    page = await raw(sim, "GET", account_path(sim, "/summary"))
    assert page.status == 503
    assert page.body is None
    assert page.text.lstrip().startswith("<html>")


async def test_a_put_whose_answer_was_lost_is_not_sent_again(
    sim: OandaSimulator, adapter: OandaAdapter
) -> None:
    await adapter.place_order(buy())
    sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["close_position"])
    result = await adapter.close_position("EUR/USD")
    assert result.status is OrderStatus.UNKNOWN
    assert sim.counts.requests["close_position"] == 1, "the HTTP client resent a non-idempotent PUT"
    assert sim.engine.positions(sim.account_id) == [], "the close executed although its answer was lost"


async def test_get_accounts_lists_every_account_when_one_summary_is_refused() -> None:
    async with (
        OandaSimulator(profile=ALWAYS_OPEN, settings=SimulatorSettings(accounts=3)) as sim,
        OandaAdapter(sim.configuration(), event_bus=EventBus()) as adapter,
    ):
        sim.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["get_account_summary"], count=1)
        accounts = await adapter.get_accounts()
        assert [a.account_id for a in accounts] == list(sim.account_ids)
        currencies = [a.currency for a in accounts]
        assert currencies.count(None) == 1  # the one whose summary was refused: currency unknown, not USD
        assert currencies.count("USD") == 2
