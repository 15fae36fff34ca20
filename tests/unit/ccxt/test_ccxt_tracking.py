"""Order updates from successive views of an order (what ccxt gives, from watchOrders or a poll), and ccxt's
structures in the unified model's types."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from broker_integration.adapters.ccxt.parsing import (
    decimal,
    instrument,
    order_status,
    parse_candle,
    parse_order,
)
from broker_integration.adapters.ccxt.tracking import OrderDirectory, UpdateTracker
from broker_integration.models import Granularity, OrderStatus, OrderType, OrderUpdateKind


def view(status: str, filled: float, cost: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": "7",
        "clientOrderId": "bi-7",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "price": 100.0,
        "amount": 1.0,
        "filled": filled,
        "cost": cost,
        "average": cost / filled if filled else None,
        "status": status,
        "timestamp": 1_700_000_000_000,
        **extra,
    }


def test_each_fill_is_told_with_its_own_quantity_and_price() -> None:
    tracker = UpdateTracker("acct")
    [accepted] = tracker.updates(view("open", 0, 0))
    assert accepted.kind is OrderUpdateKind.ACCEPTED
    assert accepted.client_order_id == "bi-7"
    [partial] = tracker.updates(view("open", 0.4, 40.0))
    assert (partial.kind, partial.fill_quantity, partial.fill_price) == (
        OrderUpdateKind.PARTIALLY_FILLED,
        Decimal("0.4"),
        Decimal(100),
    )
    assert tracker.updates(view("open", 0.4, 40.0)) == []  # nothing changed, nothing told
    [rest] = tracker.updates(view("closed", 1.0, 100.6))
    assert (rest.kind, rest.fill_quantity, rest.filled_quantity) == (
        OrderUpdateKind.FILLED,
        Decimal("0.6"),
        Decimal(1),
    )
    assert rest.fill_price == (Decimal("100.6") - Decimal(40)) / Decimal("0.6")


def test_a_cancel_after_a_partial_fill_tells_the_fill_then_the_cancel() -> None:
    tracker = UpdateTracker()
    tracker.updates(view("open", 0, 0))
    told = tracker.updates(view("canceled", 0.25, 25.0))
    assert [u.kind for u in told] == [OrderUpdateKind.PARTIALLY_FILLED, OrderUpdateKind.CANCELLED]
    assert told[1].filled_quantity == Decimal("0.25")


def test_an_order_first_seen_filled_is_told_accepted_then_filled_and_a_baseline_is_not_told() -> None:
    tracker = UpdateTracker()
    told = tracker.updates(view("closed", 1.0, 101.0))
    assert [u.kind for u in told] == [OrderUpdateKind.ACCEPTED, OrderUpdateKind.FILLED]
    assert told[1].fill_price == Decimal(101)
    quiet = UpdateTracker()
    quiet.baseline(view("open", 0, 0))
    assert quiet.is_open("7")
    assert [u.kind for u in quiet.updates(view("expired", 0, 0))] == [OrderUpdateKind.EXPIRED]
    assert not quiet.is_open("7")


def test_the_directory_finds_an_order_by_either_id_and_remembers_symbols() -> None:
    directory = OrderDirectory(limit=2)
    directory.remember("BTC/USDT", None, "bi-1")
    directory.remember("BTC/USDT", "11", "bi-1")
    directory.remember("ETH/USDT", "12", "bi-2")
    found = directory.find("bi-1")
    assert found is not None
    assert found.broker_order_id == "11"
    assert list(directory.symbols) == ["BTC/USDT", "ETH/USDT"]
    directory.remember("ETH/USDT", "13", "bi-3")
    assert directory.find("11") is None  # the least recently met is forgotten past the bound


def test_an_order_met_again_is_forgotten_last() -> None:
    directory = OrderDirectory(limit=2)
    directory.remember("BTC/USDT", "11", "bi-1")
    directory.remember("BTC/USDT", "12", "bi-2")
    directory.remember("BTC/USDT", "11", "bi-1")  # met again: now the most recently met under both ids
    directory.remember("BTC/USDT", "13", "bi-3")
    assert directory.find("12") is None
    assert directory.find("bi-2") is None
    assert directory.find("11") == directory.find("bi-1") is not None
    assert directory.find("13") is not None


def test_the_answer_to_an_order_sent_without_an_exchange_id_replaces_its_record() -> None:
    directory = OrderDirectory()
    directory.remember("BTC/USDT", None, "bi-1")  # before sending
    sent = directory.by_client("bi-1")
    assert sent is not None
    assert sent.broker_order_id is None
    assert directory.find("11") is None
    directory.remember("BTC/USDT", "11", "bi-1")  # the answer
    assert directory.by_client("bi-1") == directory.find("11")
    found = directory.find("11")
    assert found is not None
    assert (found.symbol, found.broker_order_id) == ("BTC/USDT", "11")


def test_ccxt_structures_in_the_models_types() -> None:
    assert order_status(view("open", 0.5, 50)) is OrderStatus.PARTIALLY_FILLED
    assert order_status(view("canceled", 0, 0)) is OrderStatus.CANCELLED
    stop = parse_order(view("open", 0, 0, triggerPrice=90.0, timeInForce="GTC"))
    assert (stop.order_type, stop.stop_price, stop.price) == (OrderType.STOP_LIMIT, Decimal(90), Decimal(100))
    assert parse_order(view("open", 0, 0), client_order_id="mine").client_order_id == "mine"
    market = {
        "symbol": "BTC/USDT",
        "id": "BTCUSDT",
        "type": "spot",
        "quote": "USDT",
        "precision": {"price": 0.01, "amount": 1e-05},
        "limits": {"amount": {"min": 1e-05, "max": 9000.0}},
    }
    listed = instrument(market)
    assert listed is not None
    assert (listed.tick_size, listed.quantity_increment, listed.min_quantity) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
    )
    places = instrument({**market, "precision": {"price": 2, "amount": 5}}, precision_mode=2)
    assert places is not None
    assert (places.tick_size, places.quantity_increment) == (Decimal("0.01"), Decimal("0.00001"))
    assert instrument({**market, "symbol": "not a symbol!"}) is None
    now = datetime(2024, 1, 2, tzinfo=UTC)
    candle = parse_candle([1_704_150_000_000, 10.0, 12.0, 9.0, 11.0, 3.7], "BTC/USDT", Granularity.H1, now)
    assert candle is not None
    assert (candle.open, candle.high, candle.low, candle.close, candle.volume) == (10, 12, 9, 11, 3)
    assert parse_candle([1_704_150_000_000, None, 1, 1, 1, 0], "BTC/USDT", Granularity.H1, now) is None


def test_ccxts_numbers_become_the_decimals_they_print_as_and_non_numbers_none() -> None:
    assert decimal(0.1) == Decimal("0.1")  # not 0.1000000000000000055511151231257827...
    assert decimal(33607.41) == Decimal("33607.41")
    assert decimal(1e-8) == Decimal("0.00000001")
    assert decimal(-0.5) == Decimal("-0.5")
    assert decimal("0.00100000") == Decimal("0.001")
    assert decimal(7) == Decimal(7)
    for nothing in (None, float("inf"), float("-inf"), float("nan"), "Infinity", "abc", [1]):
        assert decimal(nothing) is None, nothing
