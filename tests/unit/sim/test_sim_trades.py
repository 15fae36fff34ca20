"""The engine's trades: each fill that opens units is a trade, reduced oldest first by opposite fills or
closed one by one; the netted position is unchanged by the trade bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from broker_integration.models import OrderSide, OrderType
from broker_integration.sim import OrderRequest, RejectReason, TransactionType, VenueEngine
from broker_integration.sim.records import (
    CreateReason,
    FillReason,
    TradeEffect,
    TradeRejectReason,
    TradeState,
)


def _fill(engine: VenueEngine, account: str, side: OrderSide, size: str) -> tuple[int, TradeEffect]:
    """Place a market order; return its fill's transaction id and what the fill did to the trades."""
    outcome = engine.submit_order(account, OrderRequest("EUR/USD", side, Decimal(size)))
    fill = next(t for t in outcome.transactions if t.type is TransactionType.ORDER_FILL)
    assert fill.trades is not None
    return fill.id, fill.trades


def test_fills_open_reduce_and_close_the_oldest_trades_first(engine: VenueEngine, account: str) -> None:
    first, opened = _fill(engine, account, OrderSide.BUY, "100")
    assert opened.opened is not None
    assert opened.opened.trade_id == str(first)
    second, _ = _fill(engine, account, OrderSide.BUY, "50")
    assert [t.trade_id for t in engine.trades(account)] == [str(first), str(second)]
    _, reduce = _fill(engine, account, OrderSide.SELL, "120")
    assert [c.trade_id for c in reduce.closed] == [str(first)]
    assert reduce.reduced is not None
    assert (reduce.reduced.trade_id, reduce.reduced.units) == (str(second), Decimal(-20))
    flip_id, flip = _fill(engine, account, OrderSide.SELL, "40")
    assert [c.trade_id for c in flip.closed] == [str(second)]
    assert flip.opened is not None
    assert (flip.opened.trade_id, flip.opened.units) == (str(flip_id), Decimal(-10))
    open_units = sum((t.current_units for t in engine.trades(account)), Decimal(0))
    assert open_units == engine.positions(account)[0].units == Decimal(-10)
    everything = engine.trades(account, include_closed=True)
    assert [t.state for t in everything] == [TradeState.CLOSED, TradeState.CLOSED, TradeState.OPEN]
    booked = sum((t.pl for t in engine.transactions(account_id=account) if t.pl is not None), Decimal(0))
    assert sum((t.realized_pl for t in everything), Decimal(0)) == booked, "trades share the booked P&L"


def test_closing_one_trade_reduces_that_trade_not_the_oldest(engine: VenueEngine, account: str) -> None:
    first, _ = _fill(engine, account, OrderSide.BUY, "100")
    second, _ = _fill(engine, account, OrderSide.BUY, "60")
    partly = engine.close_trade(account, str(second), Decimal(25))
    assert partly.reject_reason is None
    assert partly.order is not None
    kinds = [(t.type, t.reason) for t in partly.transactions]
    assert kinds == [
        (TransactionType.ORDER_CREATE, CreateReason.TRADE_CLOSE),
        (TransactionType.ORDER_FILL, FillReason.MARKET_ORDER_TRADE_CLOSE),
    ]
    fill = partly.transactions[1]
    assert fill.side is OrderSide.SELL
    assert fill.units == Decimal(25)
    assert fill.trades is not None
    assert fill.trades.reduced is not None
    assert fill.trades.reduced.trade_id == str(second)
    assert {t.trade_id: t.current_units for t in engine.trades(account)} == {
        str(first): Decimal(100),
        str(second): Decimal(35),
    }
    rest = engine.close_trade(account, str(second))
    assert rest.reject_reason is None
    closed = engine.find_trade(account, str(second))
    assert closed is not None
    assert closed.state is TradeState.CLOSED
    assert closed.closing_transaction_ids == (fill.id, rest.transactions[-1].id)
    assert closed.closed_at is not None
    assert closed.average_close_price is not None
    assert engine.positions(account)[0].units == Decimal(100), "the position nets the same fills"


@pytest.mark.parametrize(
    ("trade", "units", "reason"),
    [
        ("999", None, TradeRejectReason.TRADE_DOESNT_EXIST),
        ("open", Decimal(101), TradeRejectReason.CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE),
        ("open", Decimal("0.5"), RejectReason.UNITS_PRECISION_EXCEEDED),
        ("open", Decimal(0), RejectReason.UNITS_INVALID),
    ],
)
def test_trade_close_refusals_are_logged_and_change_nothing(
    engine: VenueEngine, account: str, trade: str, units: Decimal | None, reason: object
) -> None:
    opened, _ = _fill(engine, account, OrderSide.BUY, "100")
    trade_id = str(opened) if trade == "open" else trade
    refused = engine.close_trade(account, trade_id, units)
    assert refused.order is None
    assert refused.reject_reason == reason
    assert [(t.type, t.reason) for t in refused.transactions] == [(TransactionType.ORDER_REJECT, reason)]
    assert refused.transactions[0].details["trade_id"] == trade_id
    assert [t.current_units for t in engine.trades(account)] == [Decimal(100)]


def test_a_closed_trade_cannot_be_closed_again(engine: VenueEngine, account: str) -> None:
    opened, _ = _fill(engine, account, OrderSide.BUY, "100")
    assert engine.close_trade(account, str(opened)).reject_reason is None
    again = engine.close_trade(account, str(opened))
    assert again.reject_reason is TradeRejectReason.TRADE_DOESNT_EXIST
    assert engine.trades(account) == []
    assert engine.positions(account) == []


@pytest.mark.parametrize(
    ("units", "price", "reason"),
    [
        ("1e30", None, RejectReason.UNITS_LIMIT_EXCEEDED),
        ("1000000000000000000000000000000.5", None, RejectReason.UNITS_LIMIT_EXCEEDED),
        ("12345678901234567890.5", None, RejectReason.UNITS_PRECISION_EXCEEDED),
        ("10", "1e30", RejectReason.PRICE_INVALID),
        ("10", "1e-30", RejectReason.PRICE_PRECISION_EXCEEDED),
    ],
)
def test_absurd_sizes_and_prices_are_refused_not_raised(
    make_engine: Callable[..., VenueEngine], units: str, price: str | None, reason: RejectReason
) -> None:
    engine = make_engine()
    account = engine.open_account().account_id
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    request = OrderRequest(
        "EUR/USD",
        OrderSide.BUY,
        Decimal(units),
        order_type=kind,
        price=None if price is None else Decimal(price),
    )
    assert engine.submit_order(account, request).reject_reason is reason
