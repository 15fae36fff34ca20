"""Bad input to the CCXT adapter is refused with a clear error before anything is sent: a symbol the venue
does not list, a size or price its market's limits and precision forbid (ccxt's ``markets[...]['limits']``
and ``precision``), an order worth less than its minimum cost, a candle width it does not offer. What only
the venue can judge is sent, and its refusal comes back in standard terms."""

from __future__ import annotations

import decimal
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.errors import InvalidInstrumentError, StandardErrorCode, UnsupportedOperationError
from broker_integration.events import EventBus
from broker_integration.models import Delivery, Granularity, OrderSide, OrderStatus, OrderType, UnifiedOrder
from broker_integration.sim.binance import BinanceSimulator

C = StandardErrorCode


@pytest.fixture
async def venue(sim: BinanceSimulator) -> AsyncIterator[CcxtAdapter]:
    async with CcxtAdapter(
        sim.configuration(order_updates="polling", prices="polling"), event_bus=EventBus()
    ) as adapter:
        yield adapter


def limit(quantity: str, price: str, instrument: str = "BTC/USDT") -> UnifiedOrder:
    return UnifiedOrder(
        instrument=instrument,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        price=Decimal(price),
        time_in_force="GTC",
    )


@pytest.mark.parametrize(
    ("order", "code", "said"),
    [
        (
            UnifiedOrder(instrument="DOGE/USDT", side="buy", quantity=1),
            C.INVALID_INSTRUMENT,
            "does not list DOGE/USDT",
        ),
        (limit("0.000001", "30000"), C.INVALID_ORDER, "below the minimum order size 0.00001"),
        (limit("0.000015", "30000"), C.INVALID_ORDER, "trades in steps of 0.00001"),
        (limit("0.01", "30000.005"), C.INVALID_ORDER, "off the BTC/USDT tick size 0.01"),
        (limit("0.0001", "30000"), C.INVALID_ORDER, "below binance's minimum order value of 5"),
    ],
)
async def test_what_the_market_forbids_is_refused_unsent(
    venue: CcxtAdapter, sim: BinanceSimulator, order: UnifiedOrder, code: StandardErrorCode, said: str
) -> None:
    result = await venue.place_order(order)
    assert result.status is OrderStatus.REJECTED
    assert result.delivery is Delivery.NOT_SENT
    assert result.error is not None
    assert result.error.error_code is code
    assert said in result.error.message
    assert sim.counts.requests["place_order"] == 0


async def test_a_markets_facts_kept_after_its_first_order_still_refuse_what_it_forbids(
    venue: CcxtAdapter, sim: BinanceSimulator
) -> None:
    """What an order needs of its market is worked out once; the checks from it hold on every order after,
    and again once the markets are read anew."""
    filled = await venue.place_order(
        UnifiedOrder(instrument="BTC/USDT", side="buy", quantity=Decimal("0.001"))
    )
    assert filled.status is OrderStatus.FILLED, filled.message
    assert filled.quote_home_rate == 1  # priced in USDT, the account's cash
    for _ in range(2):
        small = await venue.place_order(limit("0.0001", "30000"))
        assert small.delivery is Delivery.NOT_SENT
        assert small.error is not None
        assert "below binance's minimum order value of 5" in small.error.message
        unlisted = await venue.place_order(UnifiedOrder(instrument="DOGE/USDT", side="buy", quantity=1))
        assert unlisted.error is not None
        assert unlisted.error.error_code is C.INVALID_INSTRUMENT
        await venue.get_instruments()
    assert sim.counts.requests["place_order"] == 1


async def test_reads_of_an_unlisted_symbol_or_an_unoffered_width_are_refused_unsent(
    venue: CcxtAdapter, sim: BinanceSimulator
) -> None:
    before = sum(sim.counts.requests.values())
    with pytest.raises(InvalidInstrumentError, match="does not list DOGE/USDT"):
        await venue.get_current_price("DOGE/USDT")
    with pytest.raises(UnsupportedOperationError, match="binance has no M2 candles"):
        await venue.get_historical_data("BTC/USDT", Granularity.M2, count=5)
    assert sum(sim.counts.requests.values()) == before


async def test_what_only_the_venue_judges_is_sent_and_its_refusal_standardized(venue: CcxtAdapter) -> None:
    far = await venue.place_order(limit("0.01", "1000"))  # PERCENT_PRICE_BY_SIDE: far below the average price
    assert far.delivery is Delivery.SENT
    assert far.error is not None
    assert far.error.error_code is C.INVALID_ORDER
    assert "Filter failure: PERCENT_PRICE_BY_SIDE" in far.error.message
    broke = await venue.place_order(UnifiedOrder(instrument="BTC/USDT", side="sell", quantity=Decimal(3)))
    assert broke.error is not None
    assert broke.error.error_code is C.INSUFFICIENT_FUNDS


async def test_the_callers_decimal_context_is_left_as_it_was(venue: CcxtAdapter) -> None:
    """ccxt's decimal_to_precision sets rounding to ROUND_HALF_UP and traps Underflow on the current decimal
    context; the adapter runs ccxt in a context of its own, so the caller's money keeps rounding half even."""
    context = decimal.getcontext()
    assert context.rounding == decimal.ROUND_HALF_EVEN
    assert not context.traps[decimal.Underflow]
    result = await venue.place_order(limit("0.01", "30000"))  # ccxt formats its amount and price
    assert result.success, result.error
    assert decimal.getcontext().rounding == decimal.ROUND_HALF_EVEN
    assert not decimal.getcontext().traps[decimal.Underflow]
    assert Decimal("1.234565").quantize(Decimal("0.00001")) == Decimal("1.23456")
