"""The paper broker through the public adapter interface: orders, data, accounts, errors and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from broker_integration.adapters.paper import DEFAULT_ACCOUNT_ID, PaperBrokerAdapter
from broker_integration.adapters.paper.errors import REJECT_REASON_CODES, SIMULATOR_ERROR_CODES
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.clock import ManualClock
from broker_integration.errors import (
    InvalidInstrumentError,
    InvalidOrderError,
    OrderNotFoundError,
    PermissionDeniedError,
    StandardErrorCode,
)
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    Granularity,
    OrderModification,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerCapability
from broker_integration.sim import RejectReason, VenueEngine, VenueProfile

PIP = Decimal("0.0001")


def market(
    side: OrderSide = OrderSide.BUY,
    quantity: int | str = 10_000,
    instrument: str = "EUR/USD",
    **fields: object,
) -> UnifiedOrder:
    return UnifiedOrder(instrument=instrument, side=side, quantity=Decimal(quantity), **fields)  # type: ignore[arg-type]


async def far_limit(adapter: PaperBrokerAdapter, **fields: object) -> UnifiedOrder:
    bid = (await adapter.get_current_price("EUR/USD")).bid
    return UnifiedOrder(
        instrument="EUR/USD",
        side=OrderSide.BUY,
        quantity=Decimal(1_000),
        order_type=OrderType.LIMIT,
        price=bid - 100 * PIP,
        **fields,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------------------ construction


def test_declares_what_it_does() -> None:
    caps = PaperBrokerAdapter.declared_capabilities()
    assert PaperBrokerAdapter.broker_name == "paper"
    assert BrokerCapability.TRAILING_STOP_ORDERS in caps
    assert BrokerCapability.STREAMING_PRICES in caps
    assert BrokerCapability.TAKE_PROFIT_STOP_LOSS not in caps  # refused clearly instead
    # every time in force but the auctions, which the engine does not run
    assert PaperBrokerAdapter.supported_time_in_force == frozenset(TimeInForce) - {
        TimeInForce.OPG,
        TimeInForce.CLS,
    }
    assert set(REJECT_REASON_CODES) == set(RejectReason)  # every refusal maps to a standard code
    assert SIMULATOR_ERROR_CODES


async def test_works_without_any_configuration() -> None:
    async with PaperBrokerAdapter(event_bus=EventBus()) as paper:
        assert paper.is_authenticated
        assert paper.account_id == DEFAULT_ACCOUNT_ID
        assert (await paper.get_account_summary()).balance == Decimal(100_000)
        assert await paper.authenticate(BrokerCredentials(account_id="whatever"))


def test_options_configure_the_venue_and_account(
    clock: ManualClock, paper_config: Callable[..., BrokerConfiguration]
) -> None:
    config = BrokerConfiguration(
        broker_name="paper-b",
        credentials=BrokerCredentials(account_id="from-credentials"),
        options={
            "preset": "ecn",
            "seed": 3,
            "initial_balance": "2500",
            "currency": "EUR",
            "latency": {"median_ms": 0},
        },
    )
    paper = PaperBrokerAdapter(config, clock=clock)
    assert paper.name == "paper-b"
    assert paper.account_id == "from-credentials"
    assert paper.profile.name == "ecn"
    assert paper.profile.seed == 3
    snapshot = paper.engine.account("from-credentials")
    assert snapshot.balance == Decimal(2_500)
    assert snapshot.currency == "EUR"
    assert PaperBrokerAdapter(paper_config(account_id="opt-1"), clock=clock).account_id == "opt-1"
    with pytest.raises(ValueError, match="sead"):
        PaperBrokerAdapter(paper_config(sead=3), clock=clock)
    with pytest.raises(ValueError, match="poll_interval"):
        PaperBrokerAdapter(paper_config(poll_interval=0), clock=clock)


async def test_two_adapters_can_share_one_venue(
    clock: ManualClock, paper_config: Callable[..., BrokerConfiguration]
) -> None:
    venue = VenueEngine(VenueProfile(seed=1), clock=clock)
    first = PaperBrokerAdapter(
        BrokerConfiguration(broker_name="paper", options={"account_id": "a"}), engine=venue
    )
    second = PaperBrokerAdapter(
        BrokerConfiguration(broker_name="paper", options={"account_id": "b"}), engine=venue
    )
    assert (await first.place_order(market())).success
    assert [a.account_id for a in await second.get_accounts()] == ["a", "b"]
    assert await second.get_positions() == []
    assert len(await first.get_positions()) == 1
    with pytest.raises(ValueError, match="shared engine"):
        PaperBrokerAdapter(paper_config(), engine=venue)


# ------------------------------------------------------------------------------------ orders


async def test_market_order_result(adapter: PaperBrokerAdapter) -> None:
    quote = await adapter.get_current_price("EUR/USD")
    order = market()
    result = await adapter.place_order(order)
    assert result.success
    assert result.status is OrderStatus.FILLED
    assert result.client_order_id == order.order_id
    assert result.broker_order_id
    assert result.filled_quantity == Decimal(10_000)
    assert result.average_fill_price == quote.ask
    assert result.broker_name == "paper"
    assert result.completed_at == adapter.clock.now()
    (fill,) = result.metadata["fills"]
    assert fill["price"] == quote.ask
    assert fill["bid"] == quote.bid
    position = (await adapter.get_positions("eur_usd"))[0]
    assert position.quantity == Decimal(10_000)
    assert position.side is OrderSide.BUY
    assert position.long_quantity == Decimal(10_000)
    assert position.short_quantity == 0


async def test_resting_limit_fills_later_and_is_found_by_client_id(
    adapter: PaperBrokerAdapter, clock: ManualClock
) -> None:
    bid = (await adapter.get_current_price("EUR/USD")).bid
    order = UnifiedOrder(
        instrument="EUR/USD",
        side=OrderSide.BUY,
        quantity=Decimal(1_000),
        order_type=OrderType.LIMIT,
        price=bid - 2 * PIP,
        order_id="wait-for-dip",
    )
    placed = await adapter.place_order(order)
    assert placed.status is OrderStatus.ACCEPTED
    assert placed.filled_quantity == 0
    for _ in range(48):  # look again every half hour until the market dips to the limit
        clock.advance(1_800)
        found = await adapter.get_order("wait-for-dip")
        if found.status is OrderStatus.FILLED:
            break
    assert found.broker_order_id == placed.broker_order_id
    assert found.status is OrderStatus.FILLED
    assert found.average_fill_price == order.price
    assert await adapter.get_orders() == []
    assert [o.broker_order_id for o in await adapter.get_orders(include_closed=True)] == [
        placed.broker_order_id
    ]


async def test_modify_replaces_with_a_new_id(adapter: PaperBrokerAdapter) -> None:
    order = await far_limit(adapter)
    placed = await adapter.place_order(order)
    assert order.price is not None
    modified = await adapter.modify_order(order.order_id, OrderModification(price=order.price - PIP))
    assert modified.success
    assert modified.status is OrderStatus.ACCEPTED
    assert modified.replaces_order_id == placed.broker_order_id != modified.broker_order_id
    old = await adapter.get_order(placed.broker_order_id)  # type: ignore[arg-type]
    assert old.status is OrderStatus.CANCELLED
    assert old.replaced_by_order_id == modified.broker_order_id
    live = await adapter.get_order(order.order_id)
    assert live.broker_order_id == modified.broker_order_id
    assert live.price == order.price - PIP
    missing = await adapter.modify_order("nope", OrderModification(price=Decimal(1)))
    assert not missing.success
    assert missing.error is not None
    assert missing.error.error_code is StandardErrorCode.ORDER_NOT_FOUND
    exits = await adapter.modify_order(order.order_id, OrderModification(take_profit=Decimal(2)))
    assert exits.error is not None
    assert exits.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION


async def test_cancel(adapter: PaperBrokerAdapter) -> None:
    placed = await adapter.place_order(await far_limit(adapter))
    cancelled = await adapter.cancel_order(placed.broker_order_id)  # type: ignore[arg-type]
    assert cancelled.success
    assert cancelled.status is OrderStatus.CANCELLED
    again = await adapter.cancel_order(placed.broker_order_id)  # type: ignore[arg-type]
    assert not again.success
    assert again.status is OrderStatus.REJECTED
    assert again.error is not None
    assert again.error.broker_error_code == "ORDER_DOESNT_EXIST"
    with pytest.raises(OrderNotFoundError):
        await adapter.get_order("no-such-order")


async def test_times_in_force_through_the_adapter(
    make_adapter: Callable[..., PaperBrokerAdapter], clock: ManualClock
) -> None:
    paper = make_adapter(partial_fill_probability=1.0)
    ioc = await paper.place_order(market(time_in_force=TimeInForce.IOC))
    assert ioc.success
    assert ioc.status is OrderStatus.CANCELLED
    assert 0 < ioc.filled_quantity < Decimal(10_000)
    assert ioc.average_fill_price is not None
    fok = await paper.place_order(market())
    assert not fok.success
    assert fok.status is OrderStatus.REJECTED
    assert fok.filled_quantity == 0
    assert fok.error is not None
    assert fok.error.broker_error_code == "FOK_NOT_FILLED"
    resting = await paper.place_order(
        await far_limit(paper, time_in_force=TimeInForce.GTD, expire_time=clock.now() + timedelta(hours=1))
    )
    assert resting.status is OrderStatus.ACCEPTED
    clock.advance(2 * 3_600)
    assert (await paper.get_order(resting.broker_order_id)).status is OrderStatus.EXPIRED  # type: ignore[arg-type]
    touch = (await paper.get_current_price("EUR/USD")).ask
    partial = await paper.place_order(
        UnifiedOrder(
            instrument="EUR/USD",
            side=OrderSide.BUY,
            quantity=Decimal(5_000),
            order_type=OrderType.LIMIT,
            price=touch,
        )
    )
    assert partial.success
    assert partial.status is OrderStatus.PARTIALLY_FILLED


@pytest.mark.parametrize(
    ("order", "code", "reason"),
    [
        (market(quantity=50_000_000), StandardErrorCode.INSUFFICIENT_FUNDS, "INSUFFICIENT_MARGIN"),
        (market(instrument="XYZ"), StandardErrorCode.INVALID_INSTRUMENT, "INSTRUMENT_UNKNOWN"),
        (market(quantity="0.5"), StandardErrorCode.INVALID_ORDER, "UNITS_PRECISION_EXCEEDED"),
        (market(time_in_force=TimeInForce.DAY), StandardErrorCode.INVALID_ORDER, "TIME_IN_FORCE_INVALID"),
    ],
)
async def test_refusals_map_to_standard_codes(
    adapter: PaperBrokerAdapter, order: UnifiedOrder, code: StandardErrorCode, reason: str
) -> None:
    result = await adapter.place_order(order)
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is code
    assert result.error.broker_error_code == reason
    assert result.error.broker_name == "paper"
    assert result.error.suggested_action


async def test_market_closed_and_duplicates(adapter: PaperBrokerAdapter, clock: ManualClock) -> None:
    first = await adapter.place_order(market(order_id="intent-7"))
    duplicate = await adapter.place_order(market(order_id="intent-7"))
    assert first.success
    assert duplicate.error is not None
    assert duplicate.error.error_code is StandardErrorCode.DUPLICATE_ORDER
    clock.advance(4 * 86_400)  # Saturday
    closed = await adapter.place_order(market())
    assert closed.error is not None
    assert closed.error.error_code is StandardErrorCode.MARKET_CLOSED
    assert not (await adapter.get_current_price("EUR/USD")).tradeable
    crypto = await adapter.place_order(market(quantity="0.01", instrument="BTC/USD"))
    assert crypto.success
    unsupported = await adapter.place_order(
        UnifiedOrder(
            instrument="BTC/USD",
            side=OrderSide.BUY,
            quantity=Decimal("0.01"),
            order_type=OrderType.LIMIT,
            price=Decimal(1_000),
            take_profit=Decimal(90_000),
        )
    )
    assert unsupported.error is not None
    assert unsupported.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION


async def test_close_position_and_account_summary(adapter: PaperBrokerAdapter, clock: ManualClock) -> None:
    await adapter.place_order(market(OrderSide.SELL, 20_000))
    clock.advance(600)
    summary = await adapter.get_account_summary()
    assert summary.open_position_count == 1
    assert summary.margin_used > 0
    assert summary.equity == summary.balance + summary.unrealized_pnl
    part = await adapter.close_position("EUR/USD", Decimal(5_000))
    assert part.success
    assert part.status is OrderStatus.FILLED
    assert part.side is OrderSide.BUY
    assert (await adapter.get_positions())[0].quantity == Decimal(-15_000)
    rest = await adapter.close_position("eur_usd")
    assert rest.filled_quantity == Decimal(15_000)
    after = await adapter.get_account_summary()
    assert after.open_position_count == 0
    assert after.margin_used == 0
    assert after.unrealized_pnl == 0
    assert after.balance == Decimal(100_000) + after.realized_pnl
    flat = await adapter.close_position("EUR/USD")
    assert flat.error is not None
    assert flat.error.error_code is StandardErrorCode.POSITION_NOT_FOUND
    with pytest.raises(PermissionDeniedError):
        await adapter.get_account_summary("someone-else")


# ------------------------------------------------------------------------------------ market data


async def test_prices_candles_and_instruments(adapter: PaperBrokerAdapter) -> None:
    prices = await adapter.get_current_prices(["EUR/USD", "usd_jpy", "AAPL"])
    assert set(prices) == {"EUR/USD", "USD/JPY", "AAPL"}
    assert all(t.bid < t.ask and t.tradeable for t in prices.values())
    candles = await adapter.get_historical_data("EUR/USD", Granularity.D, count=5_000)
    assert len(candles) == 5_000
    assert not candles[-1].complete
    assert candles[-1].close == prices["EUR/USD"].mid
    window = await adapter.get_historical_data(
        "EUR/USD", Granularity.M5, start=adapter.clock.now() - timedelta(hours=1), end=adapter.clock.now()
    )
    assert len(window) == 12
    assert all(c.granularity is Granularity.M5 for c in window)
    instruments = {i.symbol: i for i in await adapter.get_instruments()}
    assert instruments["USD/JPY"].pip_location == -2
    assert instruments["EUR/USD"].tick_size == Decimal("0.00001")
    assert instruments["BTC/USD"].min_quantity == Decimal("0.0001")
    with pytest.raises(InvalidInstrumentError):
        await adapter.get_current_price("QQQ/ZZZ")
    with pytest.raises(InvalidOrderError, match="5000") as refused:
        await adapter.get_historical_data("EUR/USD", Granularity.M1, count=6_000)
    assert "candles" in refused.value.suggested_action


# ------------------------------------------------------------------------------------ events


async def test_every_call_emits_one_call_event_on_the_private_bus(
    adapter: PaperBrokerAdapter, events: list[CallEvent]
) -> None:
    before = len(events)
    result = await adapter.place_order(market())
    await adapter.get_positions()
    await adapter.get_account_summary()
    emitted = events[before:]
    assert [e.operation for e in emitted] == ["place_order", "get_positions", "get_account_summary"]
    assert emitted[0].order_result == result
    assert emitted[0].success
    assert all(e.broker_name == "paper" and e.adapter_id == adapter.adapter_id for e in emitted)
    refused = await adapter.place_order(market(instrument="XYZ"))
    assert events[-1].operation == "place_order"
    assert not events[-1].success
    assert events[-1].error == refused.error


async def test_venues_with_different_profiles_differ_measurably(
    make_adapter: Callable[..., PaperBrokerAdapter], clock: ManualClock
) -> None:
    tight = make_adapter(name="tight")
    wide = make_adapter(name="wide", spread_multiplier=3.0, commission={"bps": "1"})
    spreads: dict[str, list[Decimal]] = {"tight": [], "wide": []}
    costs: dict[str, Decimal] = {"tight": Decimal(0), "wide": Decimal(0)}
    for _ in range(50):
        clock.advance(7)
        for paper in (tight, wide):
            quote = await paper.get_current_price("EUR/USD")
            spreads[paper.profile.name].append(quote.spread)
            result = await paper.place_order(market())
            assert result.average_fill_price is not None
            costs[paper.profile.name] += (result.average_fill_price - quote.mid) * 10_000 + result.commission
            await paper.close_position("EUR/USD")
    mean = {name: sum(values) / len(values) for name, values in spreads.items()}
    assert 2.5 < mean["wide"] / mean["tight"] < 3.5
    assert costs["wide"] > 3 * costs["tight"] > 0
