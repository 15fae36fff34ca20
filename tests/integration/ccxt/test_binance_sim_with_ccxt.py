"""The Binance spot simulator with the real ``ccxt`` ``binance`` class as its client: ccxt builds and signs
every request and parses every answer, so a call ccxt makes and the simulator gets wrong fails here."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.records import OrderState


async def test_markets_carry_the_symbols_filters_as_limits_and_precision(exchange: Any) -> None:
    markets = await exchange.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc = markets["BTC/USDT"]
    assert btc["id"] == "BTCUSDT"
    assert btc["spot"] is True
    assert btc["precision"]["amount"] == pytest.approx(0.00001)
    assert btc["precision"]["price"] == pytest.approx(0.01)
    assert btc["limits"]["amount"]["min"] == pytest.approx(0.00001)
    assert btc["limits"]["cost"]["min"] == pytest.approx(5)
    assert btc["limits"]["market"]["max"] == pytest.approx(120)


async def test_a_market_buy_fills_and_moves_both_balances(exchange: Any, sim: BinanceSimulator) -> None:
    before = await exchange.fetch_balance()
    order = await exchange.create_order(
        "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "t-buy-1"}
    )
    assert order["status"] == "closed"
    assert order["clientOrderId"] == "t-buy-1"
    assert order["filled"] == pytest.approx(0.01)
    after = await exchange.fetch_balance()
    assert after["BTC"]["total"] - before["BTC"]["total"] == pytest.approx(0.01)
    paid = before["USDT"]["total"] - after["USDT"]["total"]
    assert paid == pytest.approx(order["cost"] * 1.001, rel=1e-6)  # the cost and 10 bps commission
    assert order["fee"]["currency"] == "USDT"
    [view] = [
        v for v in sim.engine.orders(sim.account_id, include_closed=True) if v.client_order_id == "t-buy-1"
    ]
    assert view.state is OrderState.FILLED


async def test_a_resting_limit_is_found_replaced_and_cancelled(exchange: Any) -> None:
    ticker = await exchange.fetch_ticker("BTC/USDT")
    price = round(ticker["bid"] * 0.6, 2)
    placed = await exchange.create_order(
        "BTC/USDT", "limit", "buy", 0.01, price, params={"clientOrderId": "t-rest"}
    )
    assert placed["status"] == "open"
    balance = await exchange.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(0.01 * price)  # the order holds its cost back
    by_id = await exchange.fetch_order(placed["id"], "BTC/USDT")
    by_client = await exchange.fetch_order(None, "BTC/USDT", params={"clientOrderId": "t-rest"})
    assert by_id["id"] == by_client["id"] == placed["id"]
    assert [o["id"] for o in await exchange.fetch_open_orders("BTC/USDT")] == [placed["id"]]

    edited = await exchange.edit_order(
        placed["id"], "BTC/USDT", "limit", "buy", 0.01, price + 1, params={"clientOrderId": "t-rest"}
    )
    assert edited["id"] != placed["id"]
    assert edited["price"] == pytest.approx(price + 1)
    assert edited["clientOrderId"] == "t-rest"  # a client id is unique among open orders only
    assert (await exchange.fetch_order(placed["id"], "BTC/USDT"))["status"] == "canceled"

    cancelled = await exchange.cancel_order(edited["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    assert cancelled["info"]["origClientOrderId"] == "t-rest"
    assert await exchange.fetch_open_orders("BTC/USDT") == []
    with pytest.raises(ccxt.OrderNotFound):
        await exchange.cancel_order(edited["id"], "BTC/USDT")
    history = {o["id"]: o["status"] for o in await exchange.fetch_orders("BTC/USDT")}
    assert history[placed["id"]] == history[edited["id"]] == "canceled"
    assert all(o["status"] == "closed" for o in await exchange.fetch_closed_orders("BTC/USDT"))  # filled only


async def test_a_client_order_id_is_unique_among_open_orders_only(
    exchange: Any, sim: BinanceSimulator
) -> None:
    """Binance: "A unique id among open orders ... accepted only when the previous one is filled": a
    filled market order's id may be used again, and the second order executes too."""
    ticker = await exchange.fetch_ticker("BTC/USDT")
    far = round(ticker["bid"] * 0.6, 2)
    await exchange.create_order("BTC/USDT", "limit", "buy", 0.01, far, params={"clientOrderId": "t-dup"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await exchange.create_order("BTC/USDT", "limit", "buy", 0.01, far, params={"clientOrderId": "t-dup"})
    await exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "t-again"})
    await exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "t-again"})
    filled = [
        v for v in sim.engine.orders(sim.account_id, include_closed=True) if v.client_order_id == "t-again"
    ]
    assert [v.state for v in filled] == [OrderState.FILLED, OrderState.FILLED]


async def test_an_order_the_balance_cannot_cover_is_refused_and_never_stored(exchange: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await exchange.create_order("BTC/USDT", "market", "sell", 5, params={"clientOrderId": "t-broke"})
    with pytest.raises(ccxt.OrderNotFound):
        await exchange.fetch_order(None, "BTC/USDT", params={"clientOrderId": "t-broke"})
    with pytest.raises(ccxt.InsufficientFunds):
        await exchange.create_order("ETH/USDT", "market", "sell", 1)  # holds no ether at all


@pytest.mark.parametrize(
    ("fields", "failure"),
    [
        ({"quantity": "0.000001", "price": "30000"}, "LOT_SIZE"),
        ({"quantity": "0.000015", "price": "30000"}, "LOT_SIZE"),  # off the 0.00001 step
        ({"quantity": "0.0001", "price": "30000"}, "NOTIONAL"),  # 3 USDT, below 5
        ({"quantity": "0.01", "price": "30000.005"}, "PRICE_FILTER"),
        ({"quantity": "0.01", "price": "1000"}, "PERCENT_PRICE_BY_SIDE"),  # far below 0.2 x the average
    ],
)
async def test_filters_refuse_what_binance_refuses(
    exchange: Any, fields: dict[str, str], failure: str
) -> None:
    """Raw requests through ccxt's implicit API: ccxt's own rounding cannot hide the simulator's checks."""
    await exchange.load_markets()
    request = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", **fields}
    with pytest.raises(ccxt.ExchangeError, match=f"Filter failure: {failure}"):
        await exchange.privatePostOrder(request)


async def test_requests_are_checked_as_binance_checks_them(exchange: Any) -> None:
    await exchange.load_markets()
    with pytest.raises(ccxt.BadRequest, match="-1104"):  # a parameter the endpoint does not read
        await exchange.privateGetAccount({"colour": "blue"})
    with pytest.raises(ccxt.BadRequest, match="-1102"):  # LIMIT without a price
        await exchange.privatePostOrder(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
        )
    with pytest.raises(ccxt.BadSymbol):
        await exchange.publicGetTicker24hr({"symbol": "DOGEUSDT"})
    with pytest.raises(ccxt.InvalidOrder, match="not supported for this symbol"):
        await exchange.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "TAKE_PROFIT",
                "quantity": "0.01",
                "stopPrice": "99999",
            }
        )


async def test_a_wrong_secret_or_key_is_refused_and_a_skewed_clock_is_fixed_by_ccxt(
    sim: BinanceSimulator,
) -> None:
    wrong_secret = ccxt.binance({**sim.ccxt_config(), "secret": "x" * 64})
    wrong_key = ccxt.binance({**sim.ccxt_config(), "apiKey": "y" * 64})
    for client in (wrong_secret, wrong_key):
        client.timeout_on_exit = 0
        try:
            with pytest.raises(ccxt.AuthenticationError):
                await client.fetch_balance()
        finally:
            await client.close()
    sim.skew_clock(-5.0)  # the server 5 s behind: the client's timestamps are "ahead of the server's time"
    skewed = ccxt.binance(sim.ccxt_config())
    skewed.timeout_on_exit = 0
    try:
        with pytest.raises(ccxt.InvalidNonce):
            await skewed.fetch_balance()
        await skewed.load_time_difference()  # ccxt's remedy: read the server's clock and sign with it
        assert (await skewed.fetch_balance())["USDT"]["total"] > 0
    finally:
        await skewed.close()


async def test_an_order_held_past_its_recv_window_is_refused_unexecuted(
    exchange: Any, sim: BinanceSimulator
) -> None:
    """Binance checks the window again just before the matching engine: a request held up by the network
    for longer than ``recvWindow`` never executes."""
    await exchange.load_markets()
    sim.inject(Fault(FaultKind.LATENCY_SPIKE, delay_s=0.3), operations=["place_order"])
    with pytest.raises(ccxt.InvalidNonce):
        await exchange.create_order(
            "BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "t-late", "recvWindow": 100}
        )
    assert sim.engine.find_order(sim.account_id, client_order_id="t-late") is None


async def test_weight_limits_answer_429_then_ban_with_418() -> None:
    settings = SimulatorSettings(request_weight_per_minute=30, ban_after=2, ban_seconds=60)
    async with BinanceSimulator(settings=settings) as sim:
        client = ccxt.binance(sim.ccxt_config())
        client.timeout_on_exit = 0
        try:
            await client.load_markets()  # exchangeInfo: weight 20
            assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "20"
            with pytest.raises(ccxt.DDoSProtection, match="-1003"):
                await client.fetch_balance()  # account: 20 more would make 40, over 30
            assert client.last_response_headers["Retry-After"]
            with pytest.raises(ccxt.DDoSProtection):
                await client.fetch_balance()  # the second refusal in the minute: banned
            with pytest.raises(ccxt.DDoSProtection, match="IP banned until"):
                await client.fetch_time()  # weight 1 would fit, but the IP is banned
        finally:
            await client.close()


async def test_an_order_whose_answer_was_lost_executed_anyway(exchange: Any, sim: BinanceSimulator) -> None:
    await exchange.load_markets()
    sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])
    with pytest.raises(ccxt.NetworkError):
        await exchange.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "t-lost"})
    found = await exchange.fetch_order(None, "BTC/USDT", params={"clientOrderId": "t-lost"})
    assert found["status"] == "closed"
    assert Decimal(str(found["filled"])) == Decimal("0.001")


async def test_klines_page_forward_from_a_start_time(exchange: Any) -> None:
    first = await exchange.fetch_ohlcv("BTC/USDT", "1h", limit=10)
    assert len(first) == 10
    assert all(b[0] - a[0] == 3_600_000 for a, b in itertools.pairwise(first))
    page = await exchange.fetch_ohlcv("BTC/USDT", "1h", since=first[2][0], limit=3)
    assert [row[0] for row in page] == [row[0] for row in first[2:5]]
    assert page[0][1:5] == first[2][1:5]
    with pytest.raises(ccxt.BadRequest):
        await exchange.publicGetKlines({"symbol": "BTCUSDT", "interval": "7m"})
