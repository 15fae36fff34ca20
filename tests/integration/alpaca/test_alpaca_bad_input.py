"""Bad input: refused before sending with the standard code when the adapter knows the rule (the assets it
loaded carry ``fractionable``, ``min_order_size``; the market clock says when stocks trade), otherwise mapped
from Alpaca's answer. Nothing reaches the venue twice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alpaca_fixtures import QUICK
from pydantic import SecretStr

from broker_integration.adapters.alpaca import AlpacaAdapter
from broker_integration.broker_config import BrokerCredentials
from broker_integration.clock import ManualClock
from broker_integration.config.errors import ConfigError
from broker_integration.errors import AuthenticationError, StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.models import Delivery, OrderSide, OrderStatus, OrderType, TimeInForce, UnifiedOrder
from broker_integration.sim.alpaca import AlpacaSimulator
from broker_integration.sim.profile import VenueProfile


def _order(instrument: str, quantity: str, **fields: object) -> UnifiedOrder:
    return UnifiedOrder(instrument=instrument, side=OrderSide.BUY, quantity=Decimal(quantity), **fields)  # type: ignore[arg-type]


def _notional(instrument: str, amount: str, **fields: object) -> UnifiedOrder:
    return UnifiedOrder(instrument=instrument, side=OrderSide.BUY, notional=Decimal(amount), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (_order("ZZZZ", "1"), StandardErrorCode.INVALID_INSTRUMENT),  # not listed
        (_order("BRK.A", "0.5"), StandardErrorCode.INVALID_ORDER),  # not fractionable
        (_order("BTC/USD", "0.00001"), StandardErrorCode.INVALID_ORDER),  # below min_order_size
        (_order("AAPL", "1", order_type=OrderType.LIMIT, price=Decimal("1.001")), StandardErrorCode.INVALID_ORDER),
        (_order("AAPL", "1", time_in_force=TimeInForce.GTD, expire_time=datetime(2099, 1, 1, tzinfo=UTC)),
         StandardErrorCode.UNSUPPORTED_OPERATION),  # Alpaca has no GTD
        # Alpaca's own rules (adapters/alpaca/rules.py), each named in the refusal
        (_notional("AAPL", "100", order_type=OrderType.LIMIT, price=Decimal(1)), StandardErrorCode.INVALID_ORDER),
        (_notional("AAPL", "100", time_in_force=TimeInForce.GTC), StandardErrorCode.INVALID_ORDER),
        (_notional("BRK.A", "100"), StandardErrorCode.INVALID_ORDER),  # not fractionable
        (_order("BTC/USD", "0.01", time_in_force=TimeInForce.OPG), StandardErrorCode.INVALID_ORDER),
        (_order("AAPL", "1", order_type=OrderType.STOP, stop_price=Decimal(900), time_in_force=TimeInForce.CLS),
         StandardErrorCode.INVALID_ORDER),
    ],
)  # fmt: skip
async def test_refused_before_sending(
    adapter: AlpacaAdapter, sim: AlpacaSimulator, order: UnifiedOrder, code: StandardErrorCode
) -> None:
    result = await adapter.place_order(order)
    assert not result.success
    assert result.error is not None
    assert result.error.error_code is code, result.error
    assert result.delivery is Delivery.NOT_SENT
    assert sim.counts.requests["place_order"] == 0
    if order.notional is not None and order.instrument == "AAPL":
        assert "notional" in result.error.message


async def test_what_only_alpaca_knows_is_mapped_from_its_answer(
    adapter: AlpacaAdapter, sim: AlpacaSimulator
) -> None:
    too_big = await adapter.place_order(_order("BRK.A", "5"))  # 2.7M of stock on 1M of equity
    assert too_big.error is not None
    assert too_big.error.error_code is StandardErrorCode.INSUFFICIENT_FUNDS
    assert too_big.delivery is Delivery.SENT
    assert too_big.status is OrderStatus.REJECTED
    short_crypto = await adapter.place_order(
        UnifiedOrder(instrument="ETH/USD", side=OrderSide.SELL, quantity=Decimal(1))
    )
    assert short_crypto.error is not None
    assert short_crypto.error.error_code is StandardErrorCode.INSUFFICIENT_FUNDS
    assert sim.counts.requests["place_order"] == 2
    assert [r for r in sim.state.records.values() if not r.hidden] == []  # Alpaca never created them


async def test_a_resent_intent_is_its_one_order(adapter: AlpacaAdapter, sim: AlpacaSimulator) -> None:
    """Alpaca refuses a second order under a client id it holds; without a journal the adapter answers with
    the order Alpaca holds, never a second one."""
    order = _order("AAPL", "1")
    first = await adapter.place_order(order)
    again = await adapter.place_order(order)
    assert first.status is OrderStatus.FILLED
    assert (again.success, again.broker_order_id, again.status) == (
        True,
        first.broker_order_id,
        OrderStatus.FILLED,
    )
    assert len(sim.engine.orders(sim.account_id, include_closed=True)) == 1


async def test_a_day_stock_order_while_the_market_is_closed() -> None:
    saturday = ManualClock(datetime(2024, 6, 8, 15, 0, tzinfo=UTC))
    profile = VenueProfile(name="alpaca", initial_balance=Decimal(1_000_000))
    async with (
        AlpacaSimulator(profile=profile, settings=QUICK, clock=saturday) as sim,
        AlpacaAdapter(sim.configuration(), event_bus=EventBus(), clock=saturday) as adapter,
    ):
        closed = await adapter.place_order(_order("AAPL", "1"))
        assert closed.error is not None
        assert closed.error.error_code is StandardErrorCode.MARKET_CLOSED
        assert closed.delivery is Delivery.NOT_SENT
        assert "2024-06-10T13:30:00+00:00" in closed.error.message  # Monday 09:30 New York, from the clock
        crypto = await adapter.place_order(_order("BTC/USD", "0.01"))  # crypto trades around the clock
        assert crypto.status is OrderStatus.FILLED
        assert sim.counts.requests["place_order"] == 1


async def test_only_day_stock_orders_wait_for_the_market_to_open() -> None:
    """Whether the clock is consulted follows the time in force the order goes with: DAY chosen or left to
    Alpaca's default is refused while closed, a chosen GTC is sent (it rests until the open)."""
    saturday = ManualClock(datetime(2024, 6, 8, 15, 0, tzinfo=UTC))
    profile = VenueProfile(name="alpaca", initial_balance=Decimal(1_000_000))
    async with (
        AlpacaSimulator(profile=profile, settings=QUICK, clock=saturday) as sim,
        AlpacaAdapter(sim.configuration(), event_bus=EventBus(), clock=saturday) as adapter,
    ):
        day = await adapter.place_order(_order("AAPL", "1", time_in_force=TimeInForce.DAY))
        assert day.error is not None
        assert day.error.error_code is StandardErrorCode.MARKET_CLOSED
        limit = {"order_type": OrderType.LIMIT, "price": Decimal("100")}
        left = await adapter.place_order(_order("AAPL", "1", **limit))
        assert left.error is not None
        assert left.error.error_code is StandardErrorCode.MARKET_CLOSED
        resting = await adapter.place_order(_order("AAPL", "1", time_in_force=TimeInForce.GTC, **limit))
        assert (resting.success, resting.status) == (True, OrderStatus.ACCEPTED)
        assert sim.counts.requests["place_order"] == 1


async def test_bad_keys_and_options_are_clear_errors(sim: AlpacaSimulator) -> None:
    config = sim.configuration()
    wrong = config.model_copy(
        update={
            "credentials": BrokerCredentials(api_key=SecretStr(sim.key_id), secret_key=SecretStr("w" * 40))
        }
    )
    with pytest.raises(AuthenticationError) as refused:
        async with AlpacaAdapter(wrong, event_bus=EventBus()):
            pass
    assert "w" * 40 not in str(refused.value)
    with pytest.raises(ConfigError, match="fill_timeout"):
        AlpacaAdapter(sim.configuration(fill_timeout=1), event_bus=EventBus())
