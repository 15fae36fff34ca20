"""``GET /api/v3/account`` (``rest-api.md`` "Account information"): the account's commission rates,
permissions and balances, each asset ``free`` and ``locked`` (see :mod:`.wallet`)."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from broker_integration.sim.binance.errors import BinanceError
from broker_integration.sim.binance.face import key_of, params_of, respond, state_of
from broker_integration.sim.binance.markets import decimal_text
from broker_integration.sim.binance.render import balance_json, millis
from broker_integration.sim.binance.wallet import balances

__all__ = ["account"]


async def account(request: web.Request) -> web.Response:
    state, params = state_of(request), params_of(request)
    omit_zero = params.choice(
        "omitZeroBalances",
        ("true", "false"),
        BinanceError(400, -1130, "Data sent for parameter 'omitZeroBalances' is not valid."),
    )
    params.finish()
    key = key_of(request)
    engine = state.engine
    rate = engine.profile.commission.bps / Decimal(10_000)
    wallet = list(balances(engine, key.account_id, state.listing).values())
    if omit_zero == "true":
        wallet = [b for b in wallet if b.total > 0]
    rates = {
        "maker": decimal_text(rate),
        "taker": decimal_text(rate),
        "buyer": decimal_text(Decimal(0)),
        "seller": decimal_text(Decimal(0)),
    }
    body = {
        "makerCommission": int(engine.profile.commission.bps),
        "takerCommission": int(engine.profile.commission.bps),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": rates,
        "canTrade": key.can_trade,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": millis(engine.clock.now()),
        "accountType": "SPOT",
        "balances": [balance_json(b) for b in wallet],
        "permissions": ["SPOT"],
        "uid": state.settings.user_id,
    }
    return respond(request, body)
