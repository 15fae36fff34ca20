"""Transaction cost analysis against hand-computed vectors: buys and sells, partial fills, an unfilled
remainder, costs in the account currency, and the arrival quote travelling with the call.

Every expected figure below is worked out by hand in the comment next to it (s = +1 buy, -1 sell; m, b, a
the arrival mid, bid, ask; P the average fill price; q filled, Q intended; r the quote-home rate).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    OrderResult,
    OrderStatus,
    OrderType,
    PriceTick,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.tca import (
    Arrival,
    ArrivalSource,
    arrival_quote,
    current_arrival_quote,
    measure_execution,
    needs_end_quote,
)
from broker_integration.testing import MockBrokerAdapter
from broker_integration.unified_errors import StandardErrorCode, make_error

NOW = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def quote(bid: str, ask: str, instrument: str = "EUR/USD") -> PriceTick:
    return PriceTick(instrument=instrument, bid=Decimal(bid), ask=Decimal(ask), time=NOW)


def order(side: str, quantity: int, instrument: str = "EUR/USD", **fields: object) -> UnifiedOrder:
    return UnifiedOrder.model_validate(
        {"instrument": instrument, "side": side, "quantity": Decimal(quantity), **fields}
    )


def result(
    status: OrderStatus,
    filled: int,
    price: str | None,
    *,
    commission: str = "0",
    fees: str = "0",
    rate: str | None = None,
) -> OrderResult:
    return OrderResult(
        success=True,
        status=status,
        filled_quantity=Decimal(filled),
        average_fill_price=Decimal(price) if price is not None else None,
        commission=Decimal(commission),
        fees=Decimal(fees),
        quote_home_rate=Decimal(rate) if rate is not None else None,
        completed_at=NOW,
    )


def test_a_buy_partly_filled_with_its_rest_cancelled_pays_for_the_rest_at_the_later_price() -> None:
    ioc = order("buy", 10_000, time_in_force=TimeInForce.IOC)
    filled = result(OrderStatus.PARTIALLY_FILLED, 6_000, "1.1003", commission="0.30", fees="0.06")
    assert needs_end_quote(ioc, filled)  # IOC: the 4,000 not filled were cancelled at once
    e = measure_execution(ioc, filled, quote("1.1000", "1.1002"), end_quote=quote("1.1004", "1.1006"))
    # m = 1.1001; slippage (1.1003 - 1.1001) / 1.1001 = 1.8180165 bps
    assert e.slippage_bps == pytest.approx(1.8180165440)
    # half spread 0.0001 / 1.1001 = 0.9090083 bps; quoted spread twice that
    assert e.spread_cost_bps == pytest.approx(0.9090082720)
    assert e.quoted_spread_bps == pytest.approx(1.8180165440)
    # effective spread 2 x 0.0002 / 1.1001 = 3.6360331 bps: twice the quoted one
    assert e.effective_spread_bps == pytest.approx(3.6360330879)
    assert e.effective_to_quoted == pytest.approx(2.0)
    # bought 0.0001 above the ask: improvement -0.0001 / 1.1001 = -0.9090083 bps, -0.0001 x 6,000 = -0.60
    assert e.price_improvement_bps == pytest.approx(-0.9090082720)
    assert e.price_improvement == Decimal("-0.60000")
    # commission and fees 0.36 over 6,000 x 1.1003 = 6,601.8: 0.5453058 bps
    assert e.commission == Decimal("0.36")
    assert e.commission_bps == pytest.approx(0.5453058257)
    # execution cost 0.0002 x 6,000 = 1.20; opportunity (1.1005 - 1.1001) x 4,000 = 1.60; + fees 0.36
    assert e.execution_cost == Decimal("1.20000")
    assert e.end_mid == Decimal("1.1005")
    assert e.opportunity_cost == Decimal("1.60000")
    assert e.shortfall == Decimal("3.16000")
    # over the paper notional 10,000 x 1.1001 = 11,001: 2.8724661 bps
    assert e.intended_notional == Decimal("11001.0000")
    assert e.shortfall_bps == pytest.approx(2.8724661394)
    assert e.arrival_source is ArrivalSource.CALL
    assert (e.arrival_bid, e.arrival_ask, e.arrival_mid) == (
        Decimal("1.1000"),
        Decimal("1.1002"),
        Decimal("1.1001"),
    )


def test_a_sell_inside_the_spread_in_another_quote_currency_is_costed_in_the_account_currency() -> None:
    # USD/JPY on a USD account: one yen is worth r = 0.0066 dollars at the fill
    sell = order("sell", 20_000, "USD/JPY")
    filled = result(OrderStatus.FILLED, 20_000, "150.01", commission="0.80", rate="0.0066")
    assert not needs_end_quote(sell, filled)
    e = measure_execution(sell, filled, quote("150.00", "150.04", "USD/JPY"))
    # m = 150.02; sold 0.01 below the mid: slippage -(150.01 - 150.02) / 150.02 = 0.6665778 bps
    assert e.slippage_bps == pytest.approx(0.6665777896)
    # effective 2 x 0.01 / 150.02 over quoted 0.04 / 150.02: half the quoted spread
    assert e.effective_to_quoted == pytest.approx(0.5)
    # sold 0.01 above the bid: +0.6665778 bps, 0.01 x 20,000 yen x 0.0066 = 1.32 dollars
    assert e.price_improvement_bps == pytest.approx(0.6665777896)
    assert e.price_improvement == Decimal("1.320000")
    # 0.80 over 20,000 x 150.01 x 0.0066 = 19,801.32 dollars: 0.4040135 bps
    assert e.filled_notional == Decimal("19801.320000")
    assert e.commission_bps == pytest.approx(0.4040134698)
    # filled in full: no opportunity cost; shortfall 1.32 + 0.80 = 2.12 over 19,802.64 = 1.0705643 bps
    assert e.opportunity_cost == 0
    assert e.end_mid is None
    assert e.shortfall == Decimal("2.120000")
    assert e.shortfall_bps == pytest.approx(1.0705643288)
    assert e.fully_filled


def test_a_sell_below_the_bid_whose_rest_was_cancelled_while_the_market_fell() -> None:
    sell = order("sell", 5_000)
    cancelled = result(OrderStatus.CANCELLED, 2_000, "1.1999")
    e = measure_execution(sell, cancelled, quote("1.2000", "1.2004"), end_quote=quote("1.1990", "1.1994"))
    # m = 1.2002; slippage -(1.1999 - 1.2002) / 1.2002 = 2.4995834 bps
    assert e.slippage_bps == pytest.approx(2.4995834028)
    # sold 0.0001 below the bid: improvement -0.8331945 bps, -0.0001 x 2,000 = -0.20
    assert e.price_improvement_bps == pytest.approx(-0.8331944676)
    assert e.price_improvement == Decimal("-0.2000")
    assert e.effective_to_quoted == pytest.approx(0.0006 / 0.0004)
    # execution 0.0003 x 2,000 = 0.60; unsold 3,000 lost -(1.1992 - 1.2002) = 0.0010 each: 3.00
    assert e.execution_cost == Decimal("0.6000")
    assert e.opportunity_cost == Decimal("3.0000")
    # 3.60 over 5,000 x 1.2002 = 6,001: 5.9990002 bps
    assert e.shortfall == Decimal("3.6000")
    assert e.shortfall_bps == pytest.approx(5.9990001666)
    assert e.commission_bps == 0.0


def test_an_order_that_filled_nothing_costs_only_its_opportunity() -> None:
    ioc = order("buy", 1_000, order_type=OrderType.LIMIT, price=Decimal("1.0990"), time_in_force="IOC")
    nothing = result(OrderStatus.CANCELLED, 0, None)
    e = measure_execution(ioc, nothing, quote("1.1000", "1.1002"), end_quote=quote("1.1003", "1.1005"))
    assert e.slippage_bps is None
    assert e.commission_bps is None
    assert e.price_improvement is None
    assert e.execution_cost == 0
    # (1.1004 - 1.1001) x 1,000 = 0.30 over 1,000 x 1.1001: 2.7270248 bps
    assert e.opportunity_cost == Decimal("0.3000")
    assert e.shortfall == Decimal("0.3000")
    assert e.shortfall_bps == pytest.approx(2.7270248159)


def test_a_shortfall_is_only_final_when_the_order_has_ended_and_the_rest_has_a_later_price() -> None:
    arrival = quote("1.1000", "1.1002")
    resting = order("buy", 10_000, order_type=OrderType.LIMIT, price=Decimal("1.1003"), time_in_force="GTC")
    working = result(OrderStatus.PARTIALLY_FILLED, 6_000, "1.1003")
    assert not needs_end_quote(resting, working)  # still working: the rest may fill
    open_order = measure_execution(resting, working, arrival, end_quote=quote("1.1004", "1.1006"))
    assert open_order.execution_cost == Decimal("1.20000")  # the filled part is measured
    assert (open_order.opportunity_cost, open_order.shortfall, open_order.end_mid) == (None, None, None)

    ioc = order("buy", 10_000, time_in_force=TimeInForce.IOC)
    no_later_price = measure_execution(ioc, working, arrival)
    assert no_later_price.shortfall is None
    assert no_later_price.shortfall_bps is None
    other_instrument = measure_execution(ioc, working, arrival, end_quote=quote("1.27", "1.2702", "GBP/USD"))
    assert other_instrument.shortfall is None


def test_a_mid_alone_gives_slippage_and_effective_spread_but_no_quote_based_figures() -> None:
    bench = Arrival("EUR/USD", Decimal("1.1001"), ArrivalSource.ORDER)
    e = measure_execution(order("buy", 1_000), result(OrderStatus.FILLED, 1_000, "1.1002"), bench)
    assert e.slippage_bps == pytest.approx(0.9090082720)  # 0.0001 / 1.1001
    assert e.effective_spread_bps == pytest.approx(1.8180165440)
    assert e.spread_cost_bps is None
    assert e.quoted_spread_bps is None
    assert e.effective_to_quoted is None
    assert e.price_improvement_bps is None
    assert e.price_improvement is None
    assert e.shortfall == Decimal("0.1000")  # 0.0001 x 1,000, nothing else
    assert (e.arrival_mid, e.arrival_bid, e.arrival_source) == (Decimal("1.1001"), None, ArrivalSource.ORDER)


def test_a_locked_quote_has_no_effective_to_quoted_ratio() -> None:
    e = measure_execution(
        order("buy", 1_000), result(OrderStatus.FILLED, 1_000, "1.1001"), quote("1.1", "1.1")
    )
    assert e.spread_cost_bps == 0.0
    assert e.effective_to_quoted is None  # 0 / 0
    assert e.price_improvement_bps == pytest.approx(-0.9090909091)  # 0.0001 above the ask of 1.1


def test_a_refused_order_has_no_execution_figures() -> None:
    refused = OrderResult(
        success=False,
        status=OrderStatus.REJECTED,
        error=make_error(StandardErrorCode.INSUFFICIENT_FUNDS, "no money"),
    )
    buy = order("buy", 1_000)
    assert not needs_end_quote(buy, refused)
    e = measure_execution(buy, refused, quote("1.1000", "1.1002"), end_quote=quote("1.2", "1.2002"))
    assert (e.slippage_bps, e.price_improvement, e.shortfall, e.opportunity_cost) == (None, None, None, None)
    assert e.error_code == "INSUFFICIENT_FUNDS"


def test_without_an_order_the_result_states_the_intent() -> None:
    closed = OrderResult(
        success=True,
        status=OrderStatus.FILLED,
        instrument="EUR/USD",
        side="sell",
        filled_quantity=Decimal(1_000),
        average_fill_price=Decimal("1.0999"),
        completed_at=NOW,
    )
    e = measure_execution(None, closed, quote("1.1000", "1.1002"))
    assert e.requested_quantity == Decimal(1_000)  # what it closed
    assert e.slippage_bps == pytest.approx(1.8180165440)  # sold 0.0002 below the mid of 1.1001
    assert e.shortfall == Decimal("0.2000")


async def test_the_arrival_quote_travels_with_the_order_call_and_only_inside_its_block() -> None:
    bus = EventBus()
    events: list[CallEvent] = []
    bus.subscribe(CallEvent, events.append)
    adapter = MockBrokerAdapter(event_bus=bus)
    await adapter.authenticate()
    tick = await adapter.get_current_price("EUR/USD")
    outer = quote("1.0", "1.2")
    with arrival_quote(outer):
        with arrival_quote(tick):
            assert current_arrival_quote() is tick
            placed = asyncio.create_task(adapter.place_order(order("buy", 1_000)))  # a task copies it
            await placed
        assert current_arrival_quote() is outer
    assert current_arrival_quote() is None
    await adapter.place_order(order("buy", 1_000))
    arrivals = [(e.operation, e.arrival) for e in events if e.operation != "authenticate"]
    assert arrivals == [("get_current_price", None), ("place_order", tick), ("place_order", None)]


def test_an_arrival_mid_that_is_not_a_price_is_refused() -> None:
    with pytest.raises(ValueError, match="an arrival mid must be a positive price, not 0"):
        Arrival("EUR/USD", Decimal(0), ArrivalSource.ORDER)
    with pytest.raises(ValueError, match="not NaN"):
        Arrival("EUR/USD", Decimal("NaN"), ArrivalSource.ORDER)
