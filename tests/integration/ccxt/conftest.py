"""Shared set-up for the Binance simulator and the CCXT adapter, over real loopback sockets: the simulator,
and the real ``ccxt`` ``binance`` class pointed at it."""

from __future__ import annotations

import decimal
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from ccxt_fixtures import BINANCE

from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings


@pytest.fixture(autouse=True)
def _decimal_context_restored() -> Iterator[None]:
    """ccxt's ``decimal_to_precision`` sets the current decimal context's rounding and Underflow trap in
    place; a test that calls ccxt directly must not leave that to the tests after it."""
    context = decimal.getcontext()
    saved = context.copy()
    yield
    context.prec, context.rounding = saved.prec, saved.rounding
    for signal, trapped in saved.traps.items():
        context.traps[signal] = trapped


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSimulator]:
    """A Binance spot simulator whose account holds 100,000 USDT and 1 BTC."""
    settings = SimulatorSettings(holdings=(("BTC", Decimal(1)),))
    async with BinanceSimulator(profile=BINANCE, settings=settings) as simulator:
        yield simulator


@pytest.fixture
async def exchange(sim: BinanceSimulator) -> AsyncIterator[Any]:
    """ccxt's ``binance`` class (async) pointed at ``sim``, its own rate limiter off."""
    import ccxt.async_support as ccxt

    client = ccxt.binance(sim.ccxt_config())
    client.timeout_on_exit = 0  # ccxt waits 250 ms on close by default; nothing here needs it
    try:
        yield client
    finally:
        await client.close()
