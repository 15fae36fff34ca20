"""Synthetic test orders: on the tick, at least the minimum size, far enough that they cannot fill."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from broker_integration.capabilities.testorders import order_terms, plan_cases
from broker_integration.models import (
    Instrument,
    InstrumentType,
    OrderType,
    PriceTick,
    TimeInForce,
)
from broker_integration.pipeline import BrokerCapability

C = BrokerCapability
NOW = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
HALF = Decimal("0.5")


def tick(bid: str, ask: str, symbol: str = "EUR/USD") -> PriceTick:
    return PriceTick(instrument=symbol, bid=Decimal(bid), ask=Decimal(ask), time=NOW)


def listing(tick_size: str, minimum: str, step: str, maximum: str | None = None) -> Instrument:
    return Instrument(
        symbol="EUR/USD",
        broker_symbol="EUR_USD",
        type=InstrumentType.CURRENCY,
        tick_size=Decimal(tick_size),
        display_precision=5,
        min_quantity=Decimal(minimum),
        quantity_increment=Decimal(step),
        max_quantity=None if maximum is None else Decimal(maximum),
    )


def test_terms_sit_far_from_the_market_on_the_tick() -> None:
    terms = order_terms(tick("1.10003", "1.10017"), listing("0.00001", "1", "1"), HALF, Decimal(1))
    assert terms is not None
    assert terms.below == Decimal("0.55001")  # half the bid, rounded down (away from the market)
    assert terms.above == Decimal("1.65026")  # one and a half times the ask, rounded up
    assert terms.quantity == 1
    for level in (terms.below, terms.above, terms.trail):
        assert level % Decimal("0.00001") == 0


def test_size_is_the_minimum_rounded_up_to_the_increment() -> None:
    terms = order_terms(tick("43000.00", "43008.00"), listing("0.01", "0.00015", "0.0001"), HALF, Decimal(1))
    assert terms is not None
    assert terms.quantity == Decimal("0.0002")


def test_no_terms_when_the_minimum_exceeds_the_maximum() -> None:
    assert order_terms(tick("1.1", "1.2"), listing("0.1", "10", "10", maximum="5"), HALF, Decimal(1)) is None


def test_without_metadata_the_tick_comes_from_the_quote() -> None:
    terms = order_terms(tick("150.012", "150.030"), None, HALF, Decimal(3))
    assert terms is not None
    assert terms.tick == Decimal("0.001")
    assert terms.quantity == 3
    assert terms.below == Decimal("75.006")


@given(
    bid=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2),
    spread=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10), places=2),
    fraction=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("0.9"), places=2),
)
def test_a_buy_limit_is_below_the_bid_and_a_buy_stop_above_the_ask(
    bid: Decimal, spread: Decimal, fraction: Decimal
) -> None:
    quote = tick(str(bid), str(bid + spread), symbol="BTC/USD")
    terms = order_terms(quote, None, fraction, Decimal(1))
    if terms is None:
        assert bid * (1 - fraction) < Decimal("0.01")  # nothing on the tick lies that low
        return
    assert 0 < terms.below < quote.bid
    assert terms.above > quote.ask
    assert terms.below % terms.tick == 0
    assert terms.above % terms.tick == 0


def test_plan_puts_the_baseline_first_and_covers_what_is_open() -> None:
    terms = order_terms(tick("1.10000", "1.10020"), listing("0.00001", "1", "1"), HALF, Decimal(1))
    assert terms is not None
    counter = itertools.count(1)
    cases = plan_cases(
        terms,
        lambda: f"t-{next(counter)}",
        TimeInForce.GTC,
        {C.LIMIT_ORDERS, C.STOP_ORDERS, C.TRAILING_STOP_ORDERS, C.TAKE_PROFIT_STOP_LOSS},
        {TimeInForce.GTC, TimeInForce.IOC},
        True,
        NOW,
    )
    labels = [c.label for c in cases]
    assert labels == ["limit GTC", "stop", "trailing_stop", "limit IOC", "limit with take-profit/stop-loss"]
    assert cases[0].baseline
    assert cases[0].order.order_type is OrderType.LIMIT
    assert len({c.order.order_id for c in cases}) == len(cases)
    stop = cases[1].order
    assert stop.stop_price is not None
    assert stop.stop_price > Decimal("1.10020")
    assert cases[3].immediate
    assert cases[3].varies_only
    exits = cases[4].order
    assert exits.take_profit is not None
    assert exits.stop_loss is not None
    assert exits.stop_loss < exits.price < exits.take_profit  # type: ignore[operator]
