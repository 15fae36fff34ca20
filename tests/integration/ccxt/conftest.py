"""Shared set-up for the Binance simulator and the CCXT adapter, over real loopback sockets: the simulator,
and the real ``ccxt`` ``binance`` class pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from ccxt_fixtures import BINANCE

from broker_integration.sim.binance import BinanceSimulator, SimulatorSettings


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
