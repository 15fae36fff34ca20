"""Positions, P&L, margin and commission; order replace, cancel, client ids and the transaction log."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from broker_integration.clock import ManualClock
from broker_integration.models import OrderSide, OrderType
from broker_integration.sim import (
    CancelReason,
    CreateReason,
    OrderChanges,
    OrderRequest,
    OrderState,
    RejectReason,
    TransactionType,
    UnknownAccountError,
    UnknownInstrumentError,
    VenueEngine,
)
from broker_integration.sim.accounts import PositionBook

BUY, SELL = OrderSide.BUY, OrderSide.SELL
PIP = Decimal("0.0001")


def buy(units: int, symbol: str = "EUR/USD", **fields: object) -> OrderRequest:
    return OrderRequest(symbol, BUY, Decimal(units), **fields)  # type: ignore[arg-type]


def sell(units: int, symbol: str = "EUR/USD", **fields: object) -> OrderRequest:
    return OrderRequest(symbol, SELL, Decimal(units), **fields)  # type: ignore[arg-type]


def resting_buy(engine: VenueEngine, pips_below: int = 100, **fields: object) -> OrderRequest:
    price = engine.quote("EUR/USD").bid - pips_below * PIP
    return OrderRequest("EUR/USD", BUY, Decimal(1_000), OrderType.LIMIT, price=price, **fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ positions


def test_position_book_nets_averages_and_realizes() -> None:
    book = PositionBook("EUR/USD")
    assert book.apply_fill(Decimal(10_000), Decimal("1.10000")) == 0
    assert book.apply_fill(Decimal(5_000), Decimal("1.10300")) == 0
    assert book.average_price == Decimal("1.101")
    realized = book.apply_fill(Decimal(-20_000), Decimal("1.10500"))
    assert realized == Decimal(15_000) * (Decimal("1.10500") - Decimal("1.101"))
    assert book.units == Decimal(-5_000)
    assert book.average_price == Decimal("1.10500")  # flipped short at the fill price
    assert book.unrealized(Decimal("1.10400"), Decimal("1.10450")) == Decimal("0.00050") * 5_000
    assert book.apply_fill(Decimal(5_000), Decimal("1.10600")) == Decimal(-5_000) * Decimal("0.00100")
    assert book.units == 0
    assert book.average_price is None


def test_netting_average_price_and_pnl_through_the_engine(
    engine: VenueEngine, account: str, clock: ManualClock
) -> None:
    first = engine.quote("EUR/USD")
    engine.submit_order(account, buy(10_000))
    clock.advance(600)
    second = engine.quote("EUR/USD")
    engine.submit_order(account, buy(30_000))
    (position,) = engine.positions(account)
    expected_average = (10_000 * first.ask + 30_000 * second.ask) / 40_000
    assert position.units == Decimal(40_000)
    assert position.average_price == expected_average.normalize()
    assert position.unrealized_pl == ((second.bid - expected_average) * 40_000).quantize(Decimal("0.0001"))
    clock.advance(600)
    third = engine.quote("EUR/USD")
    reduced = engine.submit_order(account, sell(25_000))
    realized = ((third.bid - expected_average) * 25_000).quantize(Decimal("0.0001"))
    assert reduced.transactions[-1].pl == realized
    snapshot = engine.account(account)
    assert snapshot.balance == Decimal(100_000) + realized
    assert snapshot.realized_pl == realized
    assert snapshot.nav == snapshot.balance + snapshot.unrealized_pl
    assert snapshot.margin_available == snapshot.nav - snapshot.margin_used
    (position,) = engine.positions(account)
    assert position.units == Decimal(15_000)
    assert position.average_price == expected_average.normalize()


def test_pnl_in_another_quote_currency_is_converted(
    engine: VenueEngine, account: str, clock: ManualClock
) -> None:
    opened = engine.submit_order(account, buy(100_000, "USD/JPY")).transactions[-1]
    clock.advance(3_600)
    closed = engine.close_position(account, "USD/JPY")
    fill = closed.transactions[-1]
    assert fill.reason == "MARKET_ORDER_POSITION_CLOSEOUT"
    assert fill.price is not None
    assert opened.price is not None
    assert fill.pl is not None
    yen = (fill.price - opened.price) * 100_000
    mid = engine.quote("USD/JPY").mid
    assert abs(fill.pl - yen / mid) < Decimal("0.01")  # converted to USD at the venue's own rate
    (margin_free,) = [engine.account(account)]
    assert margin_free.margin_used == 0
    assert margin_free.open_position_count == 0


def test_margin_is_rate_times_notional_in_account_currency(engine: VenueEngine, account: str) -> None:
    engine.submit_order(account, buy(100_000, "USD/JPY"))
    engine.submit_order(account, buy(10, "AAPL"))
    by_symbol = {p.instrument: p for p in engine.positions(account)}
    assert by_symbol["USD/JPY"].margin_used == Decimal("0.0333") * 100_000  # USD units: notional is the units
    assert by_symbol["AAPL"].margin_used == (Decimal("0.5") * 10 * engine.quote("AAPL").mid).quantize(
        Decimal("0.0001")
    )
    assert engine.account(account).margin_used == sum(p.margin_used for p in by_symbol.values())


def test_close_position_in_full_in_part_and_when_flat(engine: VenueEngine, account: str) -> None:
    engine.submit_order(account, sell(9_000))
    part = engine.close_position(account, "EUR/USD", Decimal(4_000))
    assert part.ok
    assert part.order is not None
    assert part.order.side is BUY
    assert part.order.create_reason is CreateReason.POSITION_CLOSEOUT
    assert engine.positions(account)[0].units == Decimal(-5_000)
    too_much = engine.close_position(account, "EUR/USD", Decimal(6_000))
    assert too_much.reject_reason is RejectReason.CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE
    assert engine.close_position(account, "EUR/USD").ok
    assert engine.positions(account) == []
    flat = engine.close_position(account, "EUR/USD")
    assert flat.reject_reason is RejectReason.CLOSEOUT_POSITION_DOESNT_EXIST
    assert engine.close_position(account, "NOPE/USD").reject_reason is RejectReason.INSTRUMENT_UNKNOWN


def test_commission_is_charged_to_the_balance_and_reported(make_engine: Callable[..., VenueEngine]) -> None:
    engine = make_engine(commission={"bps": "2", "minimum": "1.00"})
    account = engine.open_account().account_id
    quote = engine.quote("EUR/USD")
    big = engine.submit_order(account, buy(100_000))
    small = engine.submit_order(account, buy(1_000))
    expected_big = (100_000 * quote.ask * Decimal("0.0002")).quantize(Decimal("0.0001"))
    assert big.order is not None
    assert big.order.commission == expected_big
    assert big.transactions[-1].commission == expected_big
    assert small.order is not None
    assert small.order.commission == Decimal("1.0000")
    snapshot = engine.account(account)
    assert snapshot.commission == expected_big + 1
    assert snapshot.balance == Decimal(100_000) - expected_big - 1
    assert engine.positions(account)[0].commission == expected_big + 1


# ------------------------------------------------------------------------------------ replace and cancel


def test_replace_is_cancel_plus_new_order_linked_both_ways(engine: VenueEngine, account: str) -> None:
    placed = engine.submit_order(account, resting_buy(engine, client_order_id="my-limit"))
    assert placed.order is not None
    new_price = placed.order.price - PIP  # type: ignore[operator]
    replaced = engine.replace_order(
        account, OrderChanges(price=new_price, units=Decimal(2_000)), placed.order.order_id
    )
    assert replaced.ok
    assert replaced.order is not None
    assert replaced.previous is not None
    old, new = replaced.previous, replaced.order
    assert [t.type for t in replaced.transactions] == [
        TransactionType.ORDER_CANCEL,
        TransactionType.ORDER_CREATE,
    ]
    assert int(new.order_id) == int(old.order_id) + 2 == replaced.transactions[-1].id
    assert old.state is OrderState.CANCELLED
    assert old.cancel_reason is CancelReason.CLIENT_REQUEST_REPLACED
    assert old.replaced_by_order_id == new.order_id
    assert new.replaces_order_id == old.order_id
    assert new.price == new_price
    assert new.units == Decimal(2_000)
    assert new.create_reason is CreateReason.REPLACEMENT
    assert new.client_order_id == "my-limit"
    assert engine.find_order(account, client_order_id="my-limit") == new
    assert [o.order_id for o in engine.orders(account)] == [new.order_id]


def test_replace_that_would_be_refused_leaves_the_order_alone(engine: VenueEngine, account: str) -> None:
    placed = engine.submit_order(account, resting_buy(engine))
    assert placed.order is not None
    bad = engine.replace_order(account, OrderChanges(price=Decimal("1.000001")), placed.order.order_id)
    assert bad.reject_reason is RejectReason.PRICE_PRECISION_EXCEEDED
    assert bad.order is None
    assert bad.previous is not None
    assert engine.find_order(account, placed.order.order_id).state is OrderState.PENDING  # type: ignore[union-attr]
    missing = engine.replace_order(account, OrderChanges(price=Decimal(1)), "999999")
    assert missing.reject_reason is RejectReason.ORDER_DOESNT_EXIST


def test_cancel_and_cancelling_twice(engine: VenueEngine, account: str) -> None:
    placed = engine.submit_order(account, resting_buy(engine, client_order_id="c-1"))
    cancelled = engine.cancel_order(account, client_order_id="c-1")
    assert cancelled.ok
    assert cancelled.order is not None
    assert cancelled.order.state is OrderState.CANCELLED
    assert cancelled.order.cancel_reason is CancelReason.CLIENT_REQUEST
    again = engine.cancel_order(account, placed.order.order_id)  # type: ignore[union-attr]
    assert again.reject_reason is RejectReason.ORDER_DOESNT_EXIST
    assert again.transactions[-1].type is TransactionType.ORDER_CANCEL_REJECT
    unknown = engine.cancel_order(account, "no-such-order")
    assert unknown.reject_reason is RejectReason.ORDER_DOESNT_EXIST
    assert unknown.order is None


def test_client_order_ids_are_unique_per_account_for_good(engine: VenueEngine, account: str) -> None:
    assert engine.submit_order(account, buy(1_000, client_order_id="intent-1")).ok
    again = engine.submit_order(account, buy(1_000, client_order_id="intent-1"))
    assert (
        again.reject_reason is RejectReason.CLIENT_ORDER_ID_ALREADY_EXISTS
    )  # even though the first is filled
    other = engine.open_account("other").account_id
    assert engine.submit_order(other, buy(1_000, client_order_id="intent-1")).ok  # per account
    found = engine.find_order(account, client_order_id="intent-1")
    assert found is not None
    assert found.state is OrderState.FILLED
    assert engine.find_order(account, client_order_id="nobody") is None
    assert engine.find_order(other, found.order_id) is None  # another account's order is invisible


def test_orders_listing_filters(engine: VenueEngine, account: str) -> None:
    engine.submit_order(account, resting_buy(engine))
    engine.submit_order(account, buy(1_000))
    engine.submit_order(
        account, OrderRequest("AAPL", BUY, Decimal(1), OrderType.LIMIT, price=Decimal("1.00"))
    )
    assert len(engine.orders(account)) == 2
    assert len(engine.orders(account, instrument="EUR_USD")) == 1
    assert len(engine.orders(account, include_closed=True)) == 3
    with pytest.raises(UnknownInstrumentError):
        engine.orders(account, instrument="NOPE/ZZZ")


# ------------------------------------------------------------------------------------ log and accounts


def test_transaction_ids_increase_by_one_and_filter(
    engine: VenueEngine, account: str, clock: ManualClock
) -> None:
    other = engine.open_account("second", balance=Decimal(5_000), alias="small").account_id
    engine.submit_order(account, buy(1_000))
    engine.submit_order(other, sell(1_000))
    clock.advance(timedelta(hours=1).total_seconds())
    engine.submit_order(account, resting_buy(engine))
    log = engine.transactions()
    assert [t.id for t in log] == list(range(1, len(log) + 1))
    assert engine.last_transaction_id == log[-1].id
    assert all(earlier.time <= later.time for earlier, later in itertools.pairwise(log))
    assert [t.id for t in engine.transactions(since_id=4)] == [t.id for t in log if t.id > 4]
    assert {t.account_id for t in engine.transactions(account_id=other)} == {other}
    assert log[0].type is TransactionType.ACCOUNT_OPEN
    assert engine.account(other).balance == Decimal(5_000)
    assert engine.account(other).alias == "small"


def test_accounts_are_checked(engine: VenueEngine, account: str) -> None:
    with pytest.raises(UnknownAccountError):
        engine.account("nobody")
    with pytest.raises(UnknownAccountError):
        engine.submit_order("nobody", buy(1))
    with pytest.raises(ValueError, match="exists"):
        engine.open_account(account)
    with pytest.raises(ValueError, match="convert"):
        engine.open_account("gold", currency="XAU")
    euro = engine.open_account("euro", currency="EUR")
    assert euro.currency == "EUR"
    engine.submit_order("euro", buy(10, "AAPL"))
    assert engine.account("euro").margin_used > 0
    assert [a.account_id for a in engine.accounts()] == [account, "euro"]


def test_random_refusals_follow_the_profile_rate(make_engine: Callable[..., VenueEngine]) -> None:
    engine = make_engine(rejection_rate=0.3)
    account = engine.open_account().account_id
    outcomes = [engine.submit_order(account, buy(1_000) if i % 2 else sell(1_000)) for i in range(400)]
    refused = [o for o in outcomes if o.reject_reason is RejectReason.INSUFFICIENT_LIQUIDITY]
    assert len(refused) + sum(o.ok for o in outcomes) == 400
    assert 0.22 < len(refused) / 400 < 0.38
