"""Order types and times in force on the venue engine, driven by a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from broker_integration.clock import ManualClock
from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim import (
    CancelReason,
    OrderRequest,
    OrderState,
    RejectReason,
    TransactionType,
    VenueEngine,
    step_of,
    time_of,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
PIP = Decimal("0.0001")
TICK = Decimal("0.00001")


def market(
    side: OrderSide, units: int | str = 10_000, symbol: str = "EUR/USD", **fields: object
) -> OrderRequest:
    return OrderRequest(symbol, side, Decimal(units), **fields)  # type: ignore[arg-type]


def limit(side: OrderSide, price: Decimal, units: int = 10_000, **fields: object) -> OrderRequest:
    return OrderRequest("EUR/USD", side, Decimal(units), OrderType.LIMIT, price=price, **fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ market orders


def test_market_orders_fill_at_the_touch(engine: VenueEngine, account: str) -> None:
    quote = engine.quote("EUR/USD")
    bought = engine.submit_order(account, market(BUY))
    sold = engine.submit_order(account, market(SELL, 4_000))
    assert bought.ok
    assert sold.ok
    assert bought.order is not None
    assert sold.order is not None
    assert bought.order.state is OrderState.FILLED
    assert bought.order.average_fill_price == quote.ask
    assert sold.order.average_fill_price == quote.bid
    assert [t.type for t in bought.transactions] == [TransactionType.ORDER_CREATE, TransactionType.ORDER_FILL]
    fill = bought.transactions[-1]
    assert fill.units == Decimal(10_000)
    assert fill.price == quote.ask
    assert fill.side is BUY
    assert fill.details["bid"] == quote.bid
    assert fill.details["ask"] == quote.ask
    assert bought.order.time_in_force is TimeInForce.FOK  # the default for market orders, as at OANDA


def test_slippage_moves_market_fills_against_the_order(make_engine: Callable[..., VenueEngine]) -> None:
    engine = make_engine(slippage_bps=2.0)
    account = engine.open_account().account_id
    quote = engine.quote("EUR/USD")
    buys = [engine.submit_order(account, market(BUY, 1_000)).order for _ in range(20)]
    sells = [engine.submit_order(account, market(SELL, 1_000)).order for _ in range(20)]
    buy_prices = [o.average_fill_price for o in buys if o is not None]
    sell_prices = [o.average_fill_price for o in sells if o is not None]
    assert all(p is not None and p >= quote.ask for p in buy_prices)
    assert all(p is not None and p <= quote.bid for p in sell_prices)
    mean_slip = sum((p - quote.ask for p in buy_prices if p is not None), Decimal(0)) / len(buy_prices)
    assert Decimal("0.00005") < mean_slip < Decimal("0.0005")  # 2 bps of ~1.05 is ~2 pips on average


def test_ioc_market_order_partially_fills_and_cancels_the_rest(
    make_engine: Callable[..., VenueEngine],
) -> None:
    engine = make_engine(partial_fill_probability=1.0, partial_fill_min_fraction=0.3)
    account = engine.open_account().account_id
    outcome = engine.submit_order(account, market(BUY, 10_000, time_in_force=TimeInForce.IOC))
    assert outcome.ok
    order = outcome.order
    assert order is not None
    assert Decimal(3_000) <= order.filled_units < Decimal(10_000)
    assert order.state is OrderState.CANCELLED
    assert order.cancel_reason is CancelReason.IOC_REMAINDER
    assert [t.type for t in outcome.transactions] == [
        TransactionType.ORDER_CREATE,
        TransactionType.ORDER_FILL,
        TransactionType.ORDER_CANCEL,
    ]
    assert engine.positions(account)[0].units == order.filled_units


def test_fok_market_order_is_killed_when_it_cannot_fill_in_full(
    make_engine: Callable[..., VenueEngine],
) -> None:
    engine = make_engine(partial_fill_probability=1.0)
    account = engine.open_account().account_id
    outcome = engine.submit_order(account, market(BUY))
    assert not outcome.ok
    assert outcome.reject_reason is RejectReason.FOK_NOT_FILLED
    assert outcome.order is not None
    assert outcome.order.filled_units == 0
    assert outcome.order.was_refused
    assert engine.positions(account) == []


# ------------------------------------------------------------------------------------ limit orders


def test_marketable_limit_fills_at_the_touch_not_the_limit(engine: VenueEngine, account: str) -> None:
    quote = engine.quote("EUR/USD")
    outcome = engine.submit_order(account, limit(BUY, quote.ask + 20 * PIP))
    assert outcome.order is not None
    assert outcome.order.state is OrderState.FILLED
    assert outcome.order.average_fill_price == quote.ask


def test_resting_limit_fills_at_its_price_when_the_market_crosses_it(
    engine: VenueEngine, account: str, clock: ManualClock, first_second: Callable[..., datetime]
) -> None:
    start = clock.now()
    price = engine.quote("EUR/USD").ask - 3 * PIP
    crossing = first_second(engine, "EUR/USD", start, lambda q: q.ask <= price)
    placed = engine.submit_order(account, limit(BUY, price, client_order_id="dip-buyer"))
    assert placed.ok
    assert placed.order is not None
    assert placed.order.state is OrderState.PENDING
    clock.set(crossing - timedelta(seconds=1))
    assert engine.find_order(account, placed.order.order_id).state is OrderState.PENDING  # type: ignore[union-attr]
    clock.set(crossing + timedelta(minutes=5))
    order = engine.find_order(account, client_order_id="dip-buyer")
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_fill_price == price
    fill = engine.transactions(since_id=placed.transactions[-1].id)[0]
    assert fill.type is TransactionType.ORDER_FILL
    assert fill.time == crossing
    assert fill.reason == "LIMIT_ORDER"


def test_sell_limit_fills_when_the_bid_rises_to_it(
    engine: VenueEngine, account: str, clock: ManualClock, first_second: Callable[..., datetime]
) -> None:
    price = engine.quote("EUR/USD").bid + 3 * PIP
    crossing = first_second(engine, "EUR/USD", clock.now(), lambda q: q.bid >= price)
    placed = engine.submit_order(account, limit(SELL, price))
    clock.set(crossing)
    order = engine.find_order(account, placed.order.order_id)  # type: ignore[union-attr]
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_fill_price == price


def test_fok_and_ioc_limits_that_are_not_marketable_are_killed(engine: VenueEngine, account: str) -> None:
    far = engine.quote("EUR/USD").bid - 50 * PIP
    fok = engine.submit_order(account, limit(BUY, far, time_in_force=TimeInForce.FOK))
    ioc = engine.submit_order(account, limit(BUY, far, time_in_force=TimeInForce.IOC))
    assert fok.reject_reason is RejectReason.FOK_NOT_FILLED
    assert ioc.reject_reason is RejectReason.IOC_NOT_FILLED
    assert engine.orders(account) == []


def test_partially_filled_resting_limit_stays_open_with_the_rest(
    make_engine: Callable[..., VenueEngine],
) -> None:
    engine = make_engine(partial_fill_probability=1.0, partial_fill_min_fraction=0.2)
    account = engine.open_account().account_id
    outcome = engine.submit_order(
        account, limit(BUY, engine.quote("EUR/USD").ask, time_in_force=TimeInForce.GTC)
    )
    order = outcome.order
    assert outcome.ok
    assert order is not None
    assert 0 < order.filled_units < order.units
    assert order.state is OrderState.PENDING
    assert order.is_open
    assert [o.order_id for o in engine.orders(account)] == [order.order_id]


# ------------------------------------------------------------------------------------ stop family


def test_stop_order_becomes_market_when_the_price_moves_through_it(
    engine: VenueEngine, account: str, clock: ManualClock, first_second: Callable[..., datetime]
) -> None:
    stop = engine.quote("EUR/USD").ask + 3 * PIP
    trigger = first_second(engine, "EUR/USD", clock.now(), lambda q: q.ask >= stop)
    placed = engine.submit_order(
        account, OrderRequest("EUR/USD", BUY, Decimal(1_000), OrderType.STOP, stop_price=stop)
    )
    assert placed.order is not None
    assert placed.order.state is OrderState.PENDING
    clock.set(trigger + timedelta(hours=1))
    order = engine.find_order(account, placed.order.order_id)
    assert order is not None
    assert order.state is OrderState.FILLED
    assert (
        order.average_fill_price == engine.quote_at("EUR/USD", trigger).ask
    )  # at the touch, at or past the stop
    assert order.average_fill_price is not None
    assert order.average_fill_price >= stop


def test_stop_already_through_fills_at_once(engine: VenueEngine, account: str) -> None:
    quote = engine.quote("EUR/USD")
    outcome = engine.submit_order(
        account, OrderRequest("EUR/USD", SELL, Decimal(1_000), OrderType.STOP, stop_price=quote.bid + PIP)
    )
    assert outcome.order is not None
    assert outcome.order.state is OrderState.FILLED
    assert outcome.order.average_fill_price == quote.bid


def test_stop_limit_triggers_then_rests_as_a_limit(
    engine: VenueEngine, account: str, clock: ManualClock, first_second: Callable[..., datetime]
) -> None:
    start = clock.now()
    stop = engine.quote("EUR/USD").ask + 2 * PIP
    trigger = first_second(engine, "EUR/USD", start, lambda q: q.ask >= stop)
    price = stop - 2 * PIP  # below the stop: not fillable at the moment it triggers
    refill = first_second(engine, "EUR/USD", trigger, lambda q: q.ask <= price)
    placed = engine.submit_order(
        account,
        OrderRequest("EUR/USD", BUY, Decimal(1_000), OrderType.STOP_LIMIT, price=price, stop_price=stop),
    )
    assert placed.order is not None
    assert placed.order.state is OrderState.PENDING
    clock.set(trigger)
    assert engine.find_order(account, placed.order.order_id).state is OrderState.TRIGGERED  # type: ignore[union-attr]
    clock.set(refill)
    order = engine.find_order(account, placed.order.order_id)
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_fill_price == price


def test_market_if_touched_fills_at_market_once_touched(
    engine: VenueEngine, account: str, clock: ManualClock, first_second: Callable[..., datetime]
) -> None:
    level = engine.quote("EUR/USD").ask - 2 * PIP
    touched = first_second(engine, "EUR/USD", clock.now(), lambda q: q.ask <= level)
    placed = engine.submit_order(
        account, OrderRequest("EUR/USD", BUY, Decimal(1_000), OrderType.MARKET_IF_TOUCHED, price=level)
    )
    clock.set(touched)
    order = engine.find_order(account, placed.order.order_id)  # type: ignore[union-attr]
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_fill_price == engine.quote_at("EUR/USD", touched).ask


def test_trailing_stop_follows_the_best_bid_and_triggers_on_the_pullback(
    engine: VenueEngine, account: str, clock: ManualClock
) -> None:
    start = clock.now()
    distance = 5 * PIP
    placed = engine.submit_order(
        account,
        OrderRequest("EUR/USD", SELL, Decimal(1_000), OrderType.TRAILING_STOP, trailing_distance=distance),
    )
    assert placed.order is not None
    assert placed.order.trailing_stop_value == engine.quote("EUR/USD").bid - distance
    peak = engine.quote("EUR/USD").bid
    expected: datetime | None = None
    for second in range(1, 86_400):
        when = start + timedelta(seconds=second)
        bid = engine.quote_at("EUR/USD", when).bid
        peak = max(peak, bid)
        if bid <= peak - distance:
            expected = when
            break
    assert expected is not None
    clock.set(expected - timedelta(seconds=1))
    pending = engine.find_order(account, placed.order.order_id)
    assert pending is not None
    assert pending.state is OrderState.PENDING
    assert pending.trailing_stop_value is not None
    assert pending.trailing_stop_value >= placed.order.trailing_stop_value
    clock.set(expected)
    order = engine.find_order(account, placed.order.order_id)
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_fill_price == engine.quote_at("EUR/USD", expected).bid


# ------------------------------------------------------------------------------------ expiry


def test_day_order_expires_at_the_fx_day_end(engine: VenueEngine, account: str, clock: ManualClock) -> None:
    far = engine.quote("EUR/USD").bid - 500 * PIP
    placed = engine.submit_order(account, limit(BUY, far, time_in_force=TimeInForce.DAY))
    assert placed.order is not None
    cutoff = datetime(2024, 1, 2, 22, 0, tzinfo=UTC)  # 17:00 New York (EST)
    assert placed.order.expire_time == cutoff
    clock.set(cutoff - timedelta(seconds=1))
    assert engine.orders(account)
    clock.set(cutoff + timedelta(hours=3))
    order = engine.find_order(account, placed.order.order_id)
    assert order is not None
    assert order.state is OrderState.CANCELLED
    assert order.cancel_reason is CancelReason.TIME_IN_FORCE_EXPIRED
    expiry = engine.transactions(since_id=placed.transactions[-1].id)[0]
    assert expiry.type is TransactionType.ORDER_CANCEL
    assert expiry.time == cutoff


def test_equity_day_order_expires_at_the_close(engine: VenueEngine, account: str, clock: ManualClock) -> None:
    far = (engine.quote("AAPL").bid / 2).quantize(Decimal("0.01"))
    request = OrderRequest("AAPL", BUY, Decimal(1), OrderType.LIMIT, price=far, time_in_force=TimeInForce.DAY)
    placed = engine.submit_order(account, request)
    assert placed.order is not None
    assert placed.order.expire_time == datetime(2024, 1, 2, 21, 0, tzinfo=UTC)  # 16:00 New York
    clock.set(datetime(2024, 1, 3, 9, 0, tzinfo=UTC))
    assert (
        engine.find_order(account, placed.order.order_id).cancel_reason is CancelReason.TIME_IN_FORCE_EXPIRED
    )  # type: ignore[union-attr]


def test_gtd_order_expires_at_its_time(engine: VenueEngine, account: str, clock: ManualClock) -> None:
    expiry = clock.now() + timedelta(minutes=90)
    far = engine.quote("EUR/USD").bid - 500 * PIP
    placed = engine.submit_order(account, limit(BUY, far, time_in_force=TimeInForce.GTD, expire_time=expiry))
    clock.advance(89 * 60)
    assert len(engine.orders(account)) == 1
    clock.advance(120)
    assert engine.orders(account) == []
    order = engine.find_order(account, placed.order.order_id)  # type: ignore[union-attr]
    assert order is not None
    assert order.cancel_reason is CancelReason.TIME_IN_FORCE_EXPIRED


def test_gtd_in_the_past_and_wrong_time_in_force_are_rejected(engine: VenueEngine, account: str) -> None:
    past = engine.clock.now() - timedelta(seconds=1)
    price = engine.quote("EUR/USD").bid - 50 * PIP
    stale = engine.submit_order(account, limit(BUY, price, time_in_force=TimeInForce.GTD, expire_time=past))
    gtc_market = engine.submit_order(account, market(BUY, time_in_force=TimeInForce.GTC))
    ioc_stop = engine.submit_order(
        account,
        OrderRequest(
            "EUR/USD", BUY, Decimal(1), OrderType.STOP, stop_price=price, time_in_force=TimeInForce.IOC
        ),
    )
    assert stale.reject_reason is RejectReason.TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST
    assert gtc_market.reject_reason is RejectReason.TIME_IN_FORCE_INVALID
    assert ioc_stop.reject_reason is RejectReason.TIME_IN_FORCE_INVALID
    assert all(o.order is None for o in (stale, gtc_market, ioc_stop))  # refused before becoming orders
    assert [t.type for t in stale.transactions] == [TransactionType.ORDER_REJECT]


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (market(BUY, 10, symbol="XAU/JPY"), RejectReason.INSTRUMENT_UNKNOWN),
        (market(BUY, "0.5"), RejectReason.UNITS_PRECISION_EXCEEDED),
        (market(BUY, 0), RejectReason.UNITS_INVALID),
        (market(BUY, 200_000_000), RejectReason.UNITS_LIMIT_EXCEEDED),
        (market(BUY, "0.00005", symbol="BTC/USD"), RejectReason.UNITS_PRECISION_EXCEEDED),
        (limit(BUY, Decimal("1.000001")), RejectReason.PRICE_PRECISION_EXCEEDED),
        (OrderRequest("EUR/USD", BUY, Decimal(1), OrderType.LIMIT), RejectReason.PRICE_MISSING),
        (market(BUY, price=Decimal(1)), RejectReason.PRICE_INVALID),
        (
            OrderRequest("EUR/USD", SELL, Decimal(1), OrderType.TRAILING_STOP),
            RejectReason.PRICE_DISTANCE_MISSING,
        ),
    ],
)
def test_invalid_requests_are_rejected_with_a_reason(
    engine: VenueEngine, account: str, request_: OrderRequest, reason: RejectReason
) -> None:
    outcome = engine.submit_order(account, request_)
    assert outcome.reject_reason is reason
    assert outcome.order is None
    assert outcome.transactions[-1].type is TransactionType.ORDER_REJECT
    assert outcome.transactions[-1].reason is reason


def test_minimum_size_is_enforced(clock: ManualClock) -> None:
    from broker_integration.sim import DEFAULT_INSTRUMENTS, InstrumentSpec

    eur = DEFAULT_INSTRUMENTS[0]
    lots = InstrumentSpec(
        instrument=eur.instrument.model_copy(update={"min_quantity": Decimal(1_000)}),
        base_price=eur.base_price,
        annual_volatility=eur.annual_volatility,
        spread=eur.spread,
        hours=eur.hours,
    )
    engine = VenueEngine(clock=clock, instruments=[lots])
    account = engine.open_account().account_id
    assert engine.submit_order(account, market(BUY, 999)).reject_reason is RejectReason.UNITS_MINIMUM_NOT_MET
    assert engine.submit_order(account, market(BUY, 1_000)).ok


# ------------------------------------------------------------------------------------ margin and hours


def test_insufficient_margin_is_refused_but_reducing_is_allowed(engine: VenueEngine, account: str) -> None:
    huge = engine.submit_order(account, market(BUY, 5_000_000))  # 3.33 % of ~5.2M USD > 100k NAV
    assert huge.reject_reason is RejectReason.INSUFFICIENT_MARGIN
    assert huge.order is not None
    assert huge.order.state is OrderState.CANCELLED
    assert engine.positions(account) == []
    assert engine.submit_order(account, market(BUY, 2_000_000)).ok  # ~70k margin fits
    assert (
        engine.submit_order(account, market(BUY, 1_000_000)).reject_reason is RejectReason.INSUFFICIENT_MARGIN
    )
    assert engine.submit_order(account, market(SELL, 1_500_000)).ok  # reducing never needs margin


def test_orders_in_a_closed_market_are_refused(
    make_engine: Callable[..., VenueEngine], clock: ManualClock
) -> None:
    engine = make_engine()
    account = engine.open_account().account_id
    clock.set(datetime(2024, 1, 3, 14, 0, tzinfo=UTC))  # Wednesday 09:00 New York: before the equity open
    early = engine.submit_order(account, market(BUY, 1, symbol="AAPL"))
    assert early.reject_reason is RejectReason.MARKET_HALTED
    assert not engine.quote("AAPL").tradeable
    clock.set(datetime(2024, 1, 3, 14, 30, tzinfo=UTC))  # 09:30 New York: the open
    assert engine.submit_order(account, market(BUY, 1, symbol="AAPL")).ok
    clock.set(datetime(2024, 1, 6, 12, 0, tzinfo=UTC))  # Saturday
    assert (
        engine.submit_order(account, market(BUY, symbol="EUR/USD")).reject_reason
        is RejectReason.MARKET_HALTED
    )
    assert (
        engine.submit_order(account, limit(BUY, Decimal("0.5"))).reject_reason is RejectReason.MARKET_HALTED
    )
    clock.set(datetime(2024, 1, 7, 12, 0, tzinfo=UTC))  # Sunday: crypto trades
    assert engine.submit_order(account, market(BUY, "0.01", symbol="BTC/USD")).ok
    assert engine.is_tradeable("BTC/USD")
    assert not engine.is_tradeable("EUR/USD")


def test_hours_can_be_switched_off(make_engine: Callable[..., VenueEngine], clock: ManualClock) -> None:
    clock.set(datetime(2024, 1, 6, 12, 0, tzinfo=UTC))  # Saturday
    engine = make_engine(enforce_trading_hours=False)
    account = engine.open_account().account_id
    assert engine.submit_order(account, market(BUY, 1, symbol="AAPL")).ok
    assert engine.quote("EUR/USD").tradeable


def test_resting_orders_wait_for_the_open_and_fill_at_the_gap(
    engine: VenueEngine, account: str, clock: ManualClock
) -> None:
    friday_close = datetime(2024, 1, 5, 22, 0, tzinfo=UTC)  # 17:00 New York
    sunday_open = datetime(2024, 1, 7, 22, 0, tzinfo=UTC)
    clock.set(friday_close - timedelta(minutes=1))
    last_minute = [engine.quote_at("EUR/USD", friday_close - timedelta(seconds=s)) for s in range(0, 61)]
    reopen = engine.quote_at("EUR/USD", sunday_open)
    if reopen.ask < min(q.ask for q in last_minute):  # the market gapped down over the weekend
        side, price = BUY, min(q.ask for q in last_minute) - TICK
        better = reopen.ask
    else:
        side, price = SELL, max(q.bid for q in last_minute) + TICK
        better = reopen.bid
    placed = engine.submit_order(account, limit(side, price))
    assert placed.order is not None
    assert placed.order.state is OrderState.PENDING
    clock.set(sunday_open - timedelta(seconds=1))
    assert engine.find_order(account, placed.order.order_id).state is OrderState.PENDING  # type: ignore[union-attr]
    clock.set(sunday_open + timedelta(minutes=1))
    order = engine.find_order(account, placed.order.order_id)
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_fill_price == better  # the opening price, better than the limit
    assert engine.transactions()[-1].time == sunday_open


# ------------------------------------------------------------------------------------ catch-up


def test_long_clock_jumps_are_cheap_and_still_trigger(
    engine: VenueEngine, account: str, clock: ManualClock
) -> None:
    quote = engine.quote("EUR/USD")
    for i in range(50):
        engine.submit_order(account, limit(BUY, quote.bid - (100 + i) * PIP))
    far = engine.submit_order(account, limit(BUY, Decimal("0.40000")))  # 60 % below: never reached
    clock.advance(365 * 86_400)
    engine.sync()
    assert engine.find_order(account, far.order.order_id).state is OrderState.PENDING  # type: ignore[union-attr]
    filled = [o for o in engine.orders(account, include_closed=True) if o.state is OrderState.FILLED]
    assert filled  # a year moves EUR/USD more than 150 pips
    for order in filled:
        fill = next(t for t in engine.transactions() if t.id == order.fill_transaction_ids[0])
        assert engine.quote_at("EUR/USD", fill.time).ask <= order.price  # type: ignore[operator]
    assert step_of(time_of(123_456)) == 123_456
