"""Fidelity: alpaca-py, Alpaca's official SDK, drives the simulator for every call our adapter makes that the
SDK offers. A call the SDK makes and the simulator answers wrongly (a shape its models refuse, a status it
does not expect) is a simulator bug. The SDK is synchronous (requests) and its stream runs its own event
loop, so both run in threads against the simulator on this loop.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestQuoteRequest,
    StockBarsRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
)
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream
from alpaca_fixtures import ALWAYS_OPEN, QUICK

from broker_integration.sim.alpaca import AlpacaSimulator


@pytest.fixture
async def sim() -> AsyncIterator[AlpacaSimulator]:
    async with AlpacaSimulator(profile=ALWAYS_OPEN, settings=QUICK) as simulator:
        yield simulator


def trading(sim: AlpacaSimulator, *, secret: str | None = None) -> TradingClient:
    return TradingClient(sim.key_id, secret or sim.secret_key, paper=True, url_override=sim.base_url)


async def test_account_clock_and_assets(sim: AlpacaSimulator) -> None:
    client = trading(sim)
    account = await asyncio.to_thread(client.get_account)
    assert str(account.id) == sim.account_id
    assert Decimal(account.equity) == Decimal(1_000_000)
    clock = await asyncio.to_thread(client.get_clock)
    assert clock.is_open
    crypto = await asyncio.to_thread(client.get_all_assets, GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert {a.symbol for a in crypto} == {"BTC/USD", "ETH/USD"}
    assert all(a.fractionable and a.min_order_size for a in crypto)
    berkshire = await asyncio.to_thread(client.get_asset, "BRK.A")
    assert not berkshire.fractionable
    with pytest.raises(APIError) as missing:
        await asyncio.to_thread(client.get_asset, "NOPE")
    assert missing.value.status_code == 404


async def test_bad_keys_are_401(sim: AlpacaSimulator) -> None:
    with pytest.raises(APIError) as refused:
        await asyncio.to_thread(trading(sim, secret="x" * 40).get_account)
    assert refused.value.status_code == 401
    assert refused.value.code == 40110000


async def test_orders_of_every_type_their_lookups_replace_and_cancel(sim: AlpacaSimulator) -> None:
    client = trading(sim)
    market = await asyncio.to_thread(
        client.submit_order,
        MarketOrderRequest(
            symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id="mkt-1"
        ),
    )
    assert market.status is OrderStatus.ACCEPTED  # Alpaca answers accepted; the fill comes afterwards
    assert market.filled_qty == "0"
    filled = await asyncio.to_thread(client.get_order_by_id, market.id)
    assert filled.status is OrderStatus.FILLED
    assert Decimal(str(filled.filled_qty)) == 3
    assert filled.filled_avg_price is not None
    by_client = await asyncio.to_thread(client.get_order_by_client_id, "mkt-1")
    assert by_client.id == market.id

    bid = Decimal(str((await asyncio.to_thread(client.get_open_position, "AAPL")).current_price))
    far = round(bid / 2, 2)
    requests: list[Any] = [
        LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=float(far)
        ),
        StopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, stop_price=float(bid * 2)
        ),
        StopLimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            stop_price=float(round(bid * 2, 2)),
            limit_price=float(round(bid * 2, 2)),
        ),
        TrailingStopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC, trail_percent=5
        ),
        MarketOrderRequest(symbol="BTC/USD", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.GTC),
    ]
    placed = [await asyncio.to_thread(client.submit_order, r) for r in requests]
    assert [p.type.value for p in placed] == ["limit", "stop", "stop_limit", "trailing_stop", "market"]
    assert placed[3].trail_percent == "5"
    assert placed[4].notional == "500"
    assert placed[4].qty is None
    bought = await asyncio.to_thread(client.get_order_by_id, placed[4].id)
    assert bought.status is OrderStatus.FILLED
    assert Decimal(str(bought.filled_qty)) * Decimal(str(bought.filled_avg_price)) <= 500

    open_orders = await asyncio.to_thread(
        client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["AAPL"])
    )
    assert {o.id for o in open_orders} == {p.id for p in placed[:4]}

    replaced = await asyncio.to_thread(
        client.replace_order_by_id,
        placed[0].id,
        ReplaceOrderRequest(limit_price=float(far - Decimal("0.01"))),
    )
    assert replaced.id != placed[0].id
    assert replaced.replaces == placed[0].id
    old = await asyncio.to_thread(client.get_order_by_id, placed[0].id)
    assert old.status is OrderStatus.REPLACED
    assert old.replaced_by == replaced.id

    await asyncio.to_thread(client.cancel_order_by_id, replaced.id)
    assert (await asyncio.to_thread(client.get_order_by_id, replaced.id)).status is OrderStatus.CANCELED
    with pytest.raises(APIError) as final:
        await asyncio.to_thread(client.cancel_order_by_id, replaced.id)
    assert (final.value.status_code, final.value.code) == (422, 42210000)
    answers = await asyncio.to_thread(client.cancel_orders)  # 207: one answer per open order
    assert sorted(a.status for a in answers) == [200, 200, 200]
    every = await asyncio.to_thread(
        client.get_orders, GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500)
    )
    assert len(every) == 7


async def test_refusals_carry_alpacas_codes(sim: AlpacaSimulator) -> None:
    client = trading(sim)
    order = MarketOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id="dup"
    )
    await asyncio.to_thread(client.submit_order, order)
    cases = [
        (order, 422, 40010001, "client_order_id must be unique"),
        (
            MarketOrderRequest(symbol="BRK.A", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
            422,
            40010001,
            "qty must be integer",
        ),
        (
            MarketOrderRequest(symbol="QQQQ", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
            422,
            40010001,
            "not found",
        ),
        (
            MarketOrderRequest(symbol="BRK.A", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
            403,
            40310000,
            "insufficient buying power",
        ),
        (
            MarketOrderRequest(symbol="ETH/USD", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC),
            403,
            40310000,
            "insufficient qty",
        ),
    ]
    for request, status, code, words in cases:
        with pytest.raises(APIError) as refused:
            await asyncio.to_thread(client.submit_order, request)
        assert (refused.value.status_code, refused.value.code) == (status, code), refused.value
        assert words in str(refused.value)
    with pytest.raises(APIError) as missing:
        await asyncio.to_thread(client.get_order_by_client_id, "never-sent")
    assert (missing.value.status_code, missing.value.code) == (404, 40410000)
    assert len(await asyncio.to_thread(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.ALL))) == 1


async def test_notional_and_auction_orders_as_alpaca_takes_them(sim: AlpacaSimulator) -> None:
    """``notional`` goes with market DAY orders on fractionable stocks; ``opg``/``cls`` with market and limit
    stock orders. What Alpaca refuses is 422 ``40010001`` and never an order."""
    client = trading(sim)
    notional = await asyncio.to_thread(
        client.submit_order,
        MarketOrderRequest(symbol="AAPL", notional=250.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
    )
    assert (notional.notional, notional.qty) == ("250.5", None)
    bought = await asyncio.to_thread(client.get_order_by_id, notional.id)
    assert bought.status is OrderStatus.FILLED
    spent = Decimal(str(bought.filled_qty)) * Decimal(str(bought.filled_avg_price))
    assert 0 < spent <= Decimal("250.5")
    auctions = [
        LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG, limit_price=1.0
        ),
        LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.CLS, limit_price=1.0
        ),
    ]
    placed = [await asyncio.to_thread(client.submit_order, r) for r in auctions]
    assert [p.time_in_force for p in placed] == [TimeInForce.OPG, TimeInForce.CLS]
    refused_requests = [
        (LimitOrderRequest(symbol="AAPL", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                           limit_price=1.0), "only supported for market orders"),
        (MarketOrderRequest(symbol="AAPL", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.GTC),
         "must be DAY orders"),
        (MarketOrderRequest(symbol="BRK.A", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
         "not fractionable"),
        (StopOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG,
                          stop_price=1000.0), "market or limit"),
        (MarketOrderRequest(symbol="BTC/USD", qty=0.01, side=OrderSide.BUY, time_in_force=TimeInForce.CLS),
         "crypto time_in_force"),
    ]  # fmt: skip
    for request, words in refused_requests:
        with pytest.raises(APIError) as refused:
            await asyncio.to_thread(client.submit_order, request)
        assert (refused.value.status_code, refused.value.code) == (422, 40010001), refused.value
        assert words in str(refused.value)
    everything = await asyncio.to_thread(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.ALL))
    assert len(everything) == 3


async def test_positions_closed_by_percentage_and_all_at_once(sim: AlpacaSimulator) -> None:
    client = trading(sim)
    for symbol, qty in (("SPY", 4), ("BTC/USD", 0.5)):
        await asyncio.to_thread(
            client.submit_order,
            MarketOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.GTC),
        )
    positions = await asyncio.to_thread(client.get_all_positions)
    assert {p.symbol for p in positions} == {"SPY", "BTCUSD"}
    half = await asyncio.to_thread(client.close_position, "SPY", ClosePositionRequest(percentage="50"))
    assert half.side is OrderSide.SELL
    assert half.qty == "2"
    assert (await asyncio.to_thread(client.get_open_position, "SPY")).qty == "2"
    closed = await asyncio.to_thread(client.close_all_positions, True)
    assert sorted(c.status for c in closed) == [200, 200]
    assert await asyncio.to_thread(client.get_all_positions) == []
    with pytest.raises(APIError) as flat:
        await asyncio.to_thread(client.close_position, "SPY")
    assert flat.value.status_code == 404


async def test_stock_and_crypto_market_data(sim: AlpacaSimulator) -> None:
    stocks = StockHistoricalDataClient(sim.key_id, sim.secret_key, url_override=sim.base_url)
    crypto = CryptoHistoricalDataClient(sim.key_id, sim.secret_key, url_override=sim.base_url)
    quotes = await asyncio.to_thread(
        stocks.get_stock_latest_quote, StockLatestQuoteRequest(symbol_or_symbols=["AAPL", "MSFT"])
    )
    assert set(quotes) == {"AAPL", "MSFT"}
    assert 0 < quotes["AAPL"].bid_price <= quotes["AAPL"].ask_price
    trades = await asyncio.to_thread(
        stocks.get_stock_latest_trade, StockLatestTradeRequest(symbol_or_symbols="AAPL")
    )
    assert trades["AAPL"].id > 2**53  # kept exact: read as an integer
    end = datetime.now(UTC)
    bars = await asyncio.to_thread(
        stocks.get_stock_bars,
        StockBarsRequest(
            symbol_or_symbols="AAPL",
            timeframe=TimeFrame.Hour,
            start=end - timedelta(days=3),
            end=end,
            limit=60,
        ),
    )
    hourly = bars.data["AAPL"]
    assert 50 <= len(hourly) <= 60  # read in pages of 10,000 with next_page_token until the limit
    assert all(a.timestamp < b.timestamp for a, b in itertools.pairwise(hourly))
    coin = await asyncio.to_thread(
        crypto.get_crypto_latest_quote, CryptoLatestQuoteRequest(symbol_or_symbols="BTC/USD")
    )
    assert coin["BTC/USD"].ask_price >= coin["BTC/USD"].bid_price > 0
    minutes = await asyncio.to_thread(
        crypto.get_crypto_bars,
        CryptoBarsRequest(
            symbol_or_symbols="BTC/USD",
            timeframe=TimeFrame.Minute,
            start=end - timedelta(minutes=30),
            end=end,
        ),
    )
    assert 25 <= len(minutes.data["BTC/USD"]) <= 31
    unknown = await asyncio.to_thread(
        stocks.get_stock_latest_quote, StockLatestQuoteRequest(symbol_or_symbols=["ZZZZ"])
    )
    assert dict(unknown) == {}


async def test_trading_stream_tells_new_and_fill(sim: AlpacaSimulator) -> None:
    stream = TradingStream(sim.key_id, sim.secret_key, paper=True, url_override=f"{sim.stream_url}/stream")
    events: list[Any] = []
    got_fill = threading.Event()

    async def on_update(update: Any) -> None:
        events.append(update)
        if _event(update) == "fill":
            got_fill.set()

    stream.subscribe_trade_updates(on_update)
    runner = threading.Thread(target=stream.run, daemon=True)
    runner.start()
    try:
        for _ in range(200):
            if sim.counts.streams_opened and sim.state.streams:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        client = trading(sim)
        placed = await asyncio.to_thread(
            client.submit_order,
            MarketOrderRequest(
                symbol="MSFT",
                qty=2,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.DAY,
                client_order_id="streamed",
            ),
        )
        assert await asyncio.to_thread(got_fill.wait, 5)
    finally:
        await asyncio.to_thread(stream.stop)
        await asyncio.to_thread(runner.join, 5)
    ours = [e for e in events if e.order.id == placed.id]
    assert [_event(e) for e in ours] == ["new", "fill"]
    fill = ours[-1]
    assert fill.qty == 2
    assert fill.price is not None
    assert fill.position_qty == 2
    assert fill.order.status is OrderStatus.FILLED
    assert fill.order.client_order_id == "streamed"


def _event(update: Any) -> str:
    """The update's event name (alpaca-py keeps an unknown name as a plain string)."""
    return str(getattr(update.event, "value", update.event))
