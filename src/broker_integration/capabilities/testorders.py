"""The synthetic test orders: what each one tests, and prices and sizes that keep it from filling.

Every test order is a buy of the smallest size the instrument allows. Orders that wait below the market
(limit, market-if-touched) go ``far_fraction`` below the bid; orders that wait above it (stop, stop-limit)
go as far above the ask; a trailing stop trails by ``far_fraction`` of the mid. Prices are rounded to the
instrument's tick, away from the market, so no test order can fill or trigger in ordinary conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from broker_integration.models import Instrument, OrderSide, OrderType, PriceTick, TimeInForce, UnifiedOrder
from broker_integration.pipeline import BrokerCapability

__all__ = ["BASELINE_TIFS", "OrderTerms", "TestCase", "client_order_id", "order_terms", "plan_cases"]

C = BrokerCapability

#: Order types besides the baseline limit, in the order they are tested.
_OTHER_TYPES: tuple[tuple[OrderType, BrokerCapability], ...] = (
    (OrderType.STOP, C.STOP_ORDERS),
    (OrderType.STOP_LIMIT, C.STOP_LIMIT_ORDERS),
    (OrderType.MARKET_IF_TOUCHED, C.MARKET_IF_TOUCHED_ORDERS),
    (OrderType.TRAILING_STOP, C.TRAILING_STOP_ORDERS),
)
#: The baseline's time in force: the first of these the adapter does not exclude.
BASELINE_TIFS = (TimeInForce.GTC, TimeInForce.GTD, TimeInForce.DAY)
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})


def client_order_id(sequence: int, token: str) -> str:
    """A client order id that marks the order as a discovery test order."""
    return f"capdisc-{token}-{sequence:02d}"


def _down(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(ROUND_FLOOR) * tick


def _up(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(ROUND_CEILING) * tick


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """Where and how big test orders in one instrument are."""

    instrument: str
    quantity: Decimal
    tick: Decimal
    below: Decimal  # a buy price far below the bid
    above: Decimal  # a buy stop far above the ask
    trail: Decimal  # a trailing distance far larger than ordinary moves


def order_terms(
    quote: PriceTick, instrument: Instrument | None, far_fraction: Decimal, fallback_quantity: Decimal
) -> OrderTerms | None:
    """Terms for test orders in ``quote``'s instrument; ``None`` if no such order can be sized.

    Without instrument metadata the tick is read from the quote's decimals and the size is
    ``fallback_quantity``.
    """
    if instrument is not None:
        tick = instrument.tick_size
        step = instrument.quantity_increment
        quantity = _up(max(instrument.min_quantity, step), step)
        if instrument.max_quantity is not None and quantity > instrument.max_quantity:
            return None
    else:
        exponent = min(quote.bid.as_tuple().exponent, quote.ask.as_tuple().exponent)
        tick = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
        quantity = fallback_quantity
    below = _down(quote.bid * (1 - far_fraction), tick)
    above = _up(quote.ask * (1 + far_fraction), tick)
    trail = _up(quote.mid * far_fraction, tick)
    if below <= 0:
        return None
    return OrderTerms(quote.instrument, quantity, tick, below, above, trail)


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test order and the finding it settles: an order type (``capability``) or a time in force.

    ``baseline`` is the resting limit order that the lookup, modify and cancel tests also use.
    ``varies_only`` says the order differs from an accepted baseline in what it tests alone, so a
    refusal of it is a refusal of that one thing.
    """

    label: str
    order: UnifiedOrder
    capability: BrokerCapability | None = None
    time_in_force: TimeInForce | None = None
    baseline: bool = False
    varies_only: bool = False

    __test__ = False  # not a pytest test class, whatever its name

    @property
    def immediate(self) -> bool:
        """IOC/FOK: the order ends at once, unfilled, instead of resting."""
        return self.order.time_in_force in _IMMEDIATE


def _order(
    terms: OrderTerms, order_id: str, kind: OrderType, tif: TimeInForce, now: datetime, **prices: Decimal
) -> UnifiedOrder:
    return UnifiedOrder(
        order_id=order_id,
        instrument=terms.instrument,
        side=OrderSide.BUY,
        order_type=kind,
        quantity=terms.quantity,
        time_in_force=tif,
        expire_time=now + timedelta(days=1) if tif is TimeInForce.GTD else None,
        metadata={"purpose": "capability discovery test order"},
        **prices,
    )


def baseline_case(terms: OrderTerms, order_id: str, tif: TimeInForce, now: datetime) -> TestCase:
    """The resting limit order: tests limit orders and its time in force."""
    order = _order(terms, order_id, OrderType.LIMIT, tif, now, price=terms.below)
    return TestCase(f"limit {tif.value}", order, C.LIMIT_ORDERS, tif, baseline=True)


def _type_prices(terms: OrderTerms, kind: OrderType) -> dict[str, Decimal]:
    """Levels for a buy of ``kind`` that wait far from the market."""
    return {
        OrderType.STOP: {"stop_price": terms.above},
        OrderType.STOP_LIMIT: {"stop_price": terms.above, "price": terms.above},
        OrderType.MARKET_IF_TOUCHED: {"price": terms.below},
        OrderType.TRAILING_STOP: {"trailing_distance": terms.trail},
    }[kind]


def time_in_force_case(terms: OrderTerms, order_id: str, tif: TimeInForce, now: datetime) -> TestCase:
    """A far limit order with ``tif``: like the baseline but for its time in force."""
    order = _order(terms, order_id, OrderType.LIMIT, tif, now, price=terms.below)
    return TestCase(f"limit {tif.value}", order, time_in_force=tif, varies_only=True)


def exits_case(terms: OrderTerms, order_id: str, tif: TimeInForce, now: datetime) -> TestCase:
    """A far limit order with a take-profit above and a stop-loss below its price, attached on fill."""
    distance = max(terms.tick, _down(terms.below / 10, terms.tick))
    exits = {"price": terms.below, "take_profit": terms.below + distance}
    if terms.below - distance > 0:
        exits["stop_loss"] = terms.below - distance
    order = _order(terms, order_id, OrderType.LIMIT, tif, now, **exits)
    return TestCase("limit with take-profit/stop-loss", order, C.TAKE_PROFIT_STOP_LOSS, varies_only=True)


def plan_cases(
    terms: OrderTerms,
    new_id: Callable[[], str],
    baseline_tif: TimeInForce,
    order_types: Collection[BrokerCapability],
    tifs: Collection[TimeInForce],
    exits: bool,
    now: datetime,
) -> list[TestCase]:
    """Every test order worth placing, most important first: the baseline limit, the other order types in
    ``order_types``, the other times in force in ``tifs``, then exits if ``exits``."""
    cases = [baseline_case(terms, new_id(), baseline_tif, now)]
    for kind, capability in _OTHER_TYPES:
        if capability in order_types:
            order = _order(terms, new_id(), kind, baseline_tif, now, **_type_prices(terms, kind))
            cases.append(TestCase(kind.value, order, capability))
    for tif in TimeInForce:
        if tif in tifs and tif is not baseline_tif:
            cases.append(time_in_force_case(terms, new_id(), tif, now))
    if exits:
        cases.append(exits_case(terms, new_id(), baseline_tif, now))
    return cases
