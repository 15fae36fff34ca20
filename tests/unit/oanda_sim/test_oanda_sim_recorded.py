"""The simulator against responses recorded from OANDA's practice servers (reference §3: the oandapyV20
package ships them, captured in 2016, in ``oandapyV20/endpoints/responses``).

For each recorded answer the simulator is driven into the same situation, and its answer must have
every field the recording has, recursively, with the same JSON type (string, integer, boolean, list,
object). The only fields allowed to be absent are the legacy ones today's spec dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import VenueProfile

recorded = pytest.importorskip("oandapyV20.endpoints.responses.orders")
from oandapyV20.endpoints.responses import (  # noqa: E402
    accounts,
    instruments,
    positions,
    pricing,
    trades,
    transactions,
)

#: Order fields of 2016 that API v3.0.25 no longer defines (reference §1.4: legacy spellings).
LEGACY = frozenset({"partialFill"})


def recording(module: Any, name: str) -> Any:
    return module.responses[name]["response"]


def assert_same_shape(real: Any, ours: Any, path: str = "") -> None:
    """Every field of ``real`` is in ``ours``, with the same JSON type, all the way down."""
    if isinstance(real, dict):
        assert isinstance(ours, dict), f"{path}: the recording has an object, the simulator {ours!r}"
        for key, value in real.items():
            if key in LEGACY:
                continue
            assert key in ours, f"{path}.{key}: recorded from OANDA, missing from the simulator"
            assert_same_shape(value, ours[key], f"{path}.{key}")
    elif isinstance(real, list):
        assert isinstance(ours, list), f"{path}: the recording has a list, the simulator {ours!r}"
        if real and ours:
            assert_same_shape(real[0], ours[0], f"{path}[0]")
    elif isinstance(real, str) and real.startswith("<"):
        pass  # an anonymised placeholder such as "<ACCOUNT>" or "<USERID>"
    else:
        assert type(real) is type(ours), f"{path}: OANDA sent {real!r}, the simulator {ours!r}"


@pytest.fixture
async def sim() -> AsyncIterator[OandaSimulator]:
    profile = VenueProfile(name="oanda", enforce_trading_hours=False)
    async with OandaSimulator(
        profile=profile, settings=SimulatorSettings(heartbeat_interval=0.05)
    ) as simulator:
        yield simulator


async def send(sim: OandaSimulator, method: str, path: str, body: Any = None, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(
            method,
            f"{sim.base_url}/v3/accounts/{sim.account_id}{path}",
            data=orjson.dumps(body) if body is not None else None,
            params=params or None,
        ) as answer,
    ):
        return orjson.loads(await answer.read())


async def test_orders_as_recorded(sim: OandaSimulator) -> None:
    request = recorded.responses["_v3_accounts_accountID_orders_create"]["body"]
    created = await send(sim, "POST", "/orders", request)
    assert_same_shape(recording(recorded, "_v3_accounts_accountID_orders_create"), created)

    order_id = created["orderCreateTransaction"]["id"]
    with_extensions = {
        "order": {**request["order"], "clientExtensions": {"id": "myID", "comment": "myComment"}}
    }
    pending_id = (await send(sim, "POST", "/orders", with_extensions))["orderCreateTransaction"]["id"]
    assert_same_shape(
        recording(recorded, "_v3_accounts_accountID_orders_pending"), await send(sim, "GET", "/pendingOrders")
    )
    assert_same_shape(
        recording(recorded, "_v3_accounts_accountID_orders_list"), await send(sim, "GET", "/orders")
    )
    details = await send(sim, "GET", f"/orders/{order_id}")
    assert_same_shape(recording(recorded, "_v3_accounts_accountID_order_details"), details)

    replace_body = recorded.responses["_v3_accounts_accountID_order_replace"]["body"]
    replaced = await send(sim, "PUT", f"/orders/{pending_id}", replace_body)
    assert_same_shape(recording(recorded, "_v3_accounts_accountID_order_replace"), replaced)
    new_id = replaced["orderCreateTransaction"]["id"]
    cancelled = await send(sim, "PUT", f"/orders/{new_id}/cancel")
    assert_same_shape(recording(recorded, "_v3_accounts_accountID_order_cancel"), cancelled)


async def test_positions_and_close_as_recorded(sim: OandaSimulator) -> None:
    await send(sim, "POST", "/orders", {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "-20"}})
    recorded_open = recording(positions, "_v3_accounts_accountID_openpositions")["positions"]
    short = next(p for p in recorded_open if p["instrument"] == "EUR_USD")  # the recording's short position
    assert_same_shape(short, (await send(sim, "GET", "/openPositions"))["positions"][0])
    assert_same_shape(
        recording(positions, "_v3_accounts_accountID_positiondetails"),
        await send(sim, "GET", "/positions/EUR_USD"),
    )
    await send(sim, "POST", "/orders", {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "271"}})
    body = positions.responses["_v3_accounts_accountID_position_close"]["body"]
    closed = await send(sim, "PUT", "/positions/EUR_USD/close", body)
    assert_same_shape(recording(positions, "_v3_accounts_accountID_position_close"), closed)
    assert_same_shape(
        recording(positions, "_v3_accounts_accountID_positions"), await send(sim, "GET", "/positions")
    )


async def test_account_pricing_and_candles_as_recorded(sim: OandaSimulator) -> None:
    await send(sim, "POST", "/orders", {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "100"}})
    assert_same_shape(
        recording(accounts, "_v3_account_by_accountID_summary"), await send(sim, "GET", "/summary")
    )
    assert_same_shape(recording(accounts, "_v3_account_by_accountID"), await send(sim, "GET", ""))
    listed = await send(sim, "GET", "/instruments", instruments="EUR_USD,USD_JPY")
    assert_same_shape(recording(accounts, "_v3_account_by_accountID_instruments"), listed)
    prices = await send(sim, "GET", "/pricing", instruments="EUR_USD,USD_JPY")
    assert_same_shape(recording(pricing, "_v3_accounts_accountID_pricing"), prices)
    headers = {"Authorization": f"Bearer {sim.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{sim.base_url}/v3/accounts", headers=headers) as answer:
            assert_same_shape(recording(accounts, "_v3_accounts"), orjson.loads(await answer.read()))
        url = f"{sim.base_url}/v3/instruments/USD_JPY/candles"
        async with session.get(url, params={"count": "5", "granularity": "M5"}) as answer:
            assert_same_shape(
                recording(instruments, "_v3_instruments_instrument_candles"),
                orjson.loads(await answer.read()),
            )
        stream = f"{sim.stream_url}/v3/accounts/{sim.account_id}/pricing/stream"
        async with session.get(stream, params={"instruments": "USD_JPY"}) as answer:
            lines = [orjson.loads(await answer.content.readline()) for _ in range(3)]
    real = recording(pricing, "_v3_accounts_accountID_pricing_stream")
    real_price = next(m for m in real if m["type"] == "PRICE")
    real_beat = next(m for m in real if m["type"] == "HEARTBEAT")
    assert_same_shape(real_price, next(m for m in lines if m["type"] == "PRICE"))
    assert_same_shape(real_beat, next(m for m in lines if m["type"] == "HEARTBEAT"))


async def test_trades_as_recorded(sim: OandaSimulator) -> None:
    await send(sim, "POST", "/orders", {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "100"}})
    listed = await send(sim, "GET", "/trades", instrument="EUR_USD")
    assert_same_shape(recording(trades, "_v3_accounts_accountID_trades"), listed)
    assert_same_shape(
        recording(trades, "_v3_accounts_accountID_opentrades"), await send(sim, "GET", "/openTrades")
    )
    trade_id = listed["trades"][0]["id"]
    details = await send(sim, "GET", f"/trades/{trade_id}")
    assert_same_shape(recording(trades, "_v3_account_accountID_trades_details"), details)
    body = trades.responses["_v3_account_accountID_trades_close"]["body"]
    closed = await send(sim, "PUT", f"/trades/{trade_id}/close", body)
    assert_same_shape(recording(trades, "_v3_account_accountID_trades_close"), closed)


async def test_transactions_as_recorded(sim: OandaSimulator) -> None:
    limit = {
        "order": {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "-100",
            "price": "1.2",
            "stopLossOnFill": {"timeInForce": "GTC", "price": "1.22"},
            "clientExtensions": {"id": "myID", "comment": "myComment"},
        }
    }
    limit_id = (await send(sim, "POST", "/orders", limit))["orderCreateTransaction"]["id"]
    details = await send(sim, "GET", f"/transactions/{limit_id}")
    assert_same_shape(recording(transactions, "_v3_accounts_transaction_details"), details)
    ranged = await send(sim, "GET", "/transactions/idrange", **{"from": limit_id, "to": limit_id})
    assert_same_shape(recording(transactions, "_v3_accounts_transaction_idrange"), ranged)
    replaced = await send(
        sim, "PUT", f"/orders/{limit_id}", {"order": {**limit["order"], "units": "-500000"}}
    )
    first_new = int(replaced["relatedTransactionIDs"][0])
    since = await send(sim, "GET", "/transactions/sinceid", id=str(first_new))
    assert_same_shape(recording(transactions, "_v3_accounts_transaction_sinceid"), since)
    listed = await send(sim, "GET", "/transactions", pageSize="200")
    assert_same_shape(recording(transactions, "_v3_accounts_accountID_transactions"), listed)
    headers = {"Authorization": f"Bearer {sim.token}"}
    stream = f"{sim.stream_url}/v3/accounts/{sim.account_id}/transactions/stream"
    async with aiohttp.ClientSession(headers=headers) as session, session.get(stream) as answer:
        beat = orjson.loads(await answer.content.readline())
    assert_same_shape(recording(transactions, "_v3_accounts_transactions_stream")[0], beat)
