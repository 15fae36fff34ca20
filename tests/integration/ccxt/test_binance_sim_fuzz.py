"""The Binance simulator never crashes on input: random parameters, signed or not, to every endpoint get a
2xx or Binance's own 4xx error body (``{"code", "msg"}``), never a 500."""

from __future__ import annotations

import random
from typing import Any

from ccxt_fixtures import raw, signed

from broker_integration.sim.binance import BinanceSimulator

ENDPOINTS = (
    ("GET", "/api/v3/exchangeInfo", False),
    ("GET", "/api/v3/klines", False),
    ("GET", "/api/v3/ticker/24hr", False),
    ("GET", "/api/v3/ticker/bookTicker", False),
    ("GET", "/api/v3/avgPrice", False),
    ("POST", "/api/v3/order", True),
    ("DELETE", "/api/v3/order", True),
    ("GET", "/api/v3/order", True),
    ("POST", "/api/v3/order/cancelReplace", True),
    ("GET", "/api/v3/openOrders", True),
    ("GET", "/api/v3/allOrders", True),
    ("GET", "/api/v3/account", True),
)
NAMES = (
    "symbol", "symbols", "side", "type", "quantity", "quoteOrderQty", "price", "stopPrice", "timeInForce",
    "newClientOrderId", "orderId", "origClientOrderId", "cancelOrderId", "cancelReplaceMode", "interval",
    "startTime", "endTime", "limit", "recvWindow", "newOrderRespType", "icebergQty", "omitZeroBalances", "x",
)  # fmt: skip
VALUES = (
    "BTCUSDT", "btcusdt", "ETHUSDT", "NOPE", "BUY", "SELL", "LIMIT", "MARKET", "STOP_LOSS_LIMIT", "LIMIT_MAKER",
    "GTC", "IOC", "FOK", "0.001", "0.00001", "1e5", "-1", "0", "99999999999999999999999", "30000", "30000.001",
    "", "nan", "1h", "7m", "[\"BTCUSDT\"]", "[1,2]", "{", "STOP_ON_FAILURE", "ü", "9" * 30, "true", "FULL",
)  # fmt: skip


def random_params(rng: random.Random) -> dict[str, Any]:
    return {rng.choice(NAMES): rng.choice(VALUES) for _ in range(rng.randint(0, 7))}


async def test_random_requests_never_crash_the_simulator(sim: BinanceSimulator) -> None:
    rng = random.Random(18)
    statuses: set[int] = set()
    for _ in range(150):
        method, path, is_signed = rng.choice(ENDPOINTS)
        params = random_params(rng)
        if is_signed:
            answer = await signed(sim, method, path, params)
        else:
            query = "&".join(f"{k}={v}" for k, v in params.items())
            answer = await raw(sim, method, path, query=query)
        statuses.add(answer.status)
        assert answer.status < 500, (method, path, params, answer)
        if answer.status >= 400:
            assert isinstance(answer.body, dict), answer
            assert isinstance(answer.body["code"], int)
            assert answer.body["msg"]
    assert 200 in statuses  # the probe reaches handlers, not only refusals
    assert 400 in statuses
