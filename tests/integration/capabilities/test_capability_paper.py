"""Capability discovery against the embedded paper broker, checked at the venue itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from capability_venues import calls_of, on_nth_call, paper_config, venue_orders

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials, Environment
from broker_integration.capabilities.cleanup import VERIFY_PROBE
from broker_integration.capability_discovery import (
    CapabilityDiscoveryEngine,
    CapabilityStatus,
    CapabilityTestType,
    DiscoveryOptions,
)
from broker_integration.clock import ManualClock
from broker_integration.errors import PermissionDeniedError, StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.models import Delivery, Granularity, OrderSide, OrderType, TimeInForce, UnifiedOrder
from broker_integration.pipeline import BrokerCapability
from broker_integration.sim.faults import Fault, FaultKind

C = BrokerCapability
S = CapabilityStatus

#: What synthetic discovery verifies on the paper venue (market orders and closing would trade).
SYNTHETIC_VERIFIED = {
    C.LIMIT_ORDERS,
    C.STOP_ORDERS,
    C.STOP_LIMIT_ORDERS,
    C.MARKET_IF_TOUCHED_ORDERS,
    C.TRAILING_STOP_ORDERS,
    C.MODIFY_ORDERS,
    C.CANCEL_ORDERS,
    C.CLIENT_ORDER_ID_LOOKUP,
}
DYNAMIC_VERIFIED = {
    C.HEALTH_CHECK,
    C.MULTIPLE_ACCOUNTS,
    C.ACCOUNT_SUMMARY,
    C.INSTRUMENTS,
    C.CURRENT_PRICES,
    C.ORDER_LISTING,
    C.POSITIONS,
    C.HISTORICAL_DATA,
    C.STREAMING_PRICES,
    C.FRACTIONAL_QUANTITY,
}


async def test_the_quick_start_works_as_written(
    paper: PaperBrokerAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = CapabilityDiscoveryEngine()
    profile = await engine.discover_capabilities(paper, CapabilityTestType.DYNAMIC)
    print(profile.capabilities)
    print(len(profile.supported_instruments))
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "10"
    assert any(line.split()[:2] == ["instruments", "verified"] for line in out)
    assert len(out) == len(BrokerCapability) + 1
    again = await engine.discover_capabilities(paper, test_type=CapabilityTestType.DYNAMIC)
    assert again.test_type is CapabilityTestType.DYNAMIC


async def test_dynamic_discovery_verifies_the_read_side_and_places_nothing(paper: PaperBrokerAdapter) -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(paper, CapabilityTestType.DYNAMIC)
    assert set(profile.verified) == DYNAMIC_VERIFIED
    assert profile.instruments_complete
    assert len(profile.supported_instruments) == 10
    assert profile.supported_instruments["BTC/USD"].min_quantity == Decimal("0.0001")
    assert profile.limits.min_quantity["EUR/USD"] == 1
    assert set(profile.supported_granularities) == set(Granularity)
    assert profile.probe_instrument == "EUR/USD"
    for probe in (
        "authenticate",
        "get_instruments",
        "get_current_price[EUR/USD]",
        "stream_prices[first tick]",
    ):
        assert probe in profile.latencies
    assert sum(1 for p in profile.latencies if p.startswith("get_historical_data[")) == len(Granularity)
    assert profile.capabilities[C.LIMIT_ORDERS].status is S.DECLARED
    assert "only synthetic discovery" in profile.capabilities[C.LIMIT_ORDERS].evidence
    assert venue_orders(paper, include_closed=True) == []
    assert profile.errors == ()


async def test_synthetic_discovery_verifies_orders_and_leaves_nothing_open(paper: PaperBrokerAdapter) -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(paper, CapabilityTestType.SYNTHETIC)
    verified = set(profile.verified)
    assert verified >= SYNTHETIC_VERIFIED | DYNAMIC_VERIFIED  # a superset of dynamic discovery
    auctions = {TimeInForce.OPG, TimeInForce.CLS}  # not declared: refused by the pipeline, never sent
    assert set(profile.supported_time_in_force) == set(TimeInForce) - auctions
    assert all(f.status is S.VERIFIED for t, f in profile.time_in_force.items() if t not in auctions)
    assert all(profile.time_in_force[t].status is S.UNSUPPORTED for t in auctions)
    assert profile.capabilities[C.MARKET_ORDERS].status is S.DECLARED
    assert "would fill" in profile.capabilities[C.MARKET_ORDERS].evidence
    assert profile.capabilities[C.TAKE_PROFIT_STOP_LOSS].status is S.UNSUPPORTED  # not declared by paper
    # at the venue: every test order is closed, none filled, and the account is flat
    assert venue_orders(paper) == []
    placed = venue_orders(paper, include_closed=True)
    assert placed
    assert all(o.filled_units == 0 for o in placed)
    assert all((o.client_order_id or "").startswith("capdisc-") for o in placed)
    assert paper.engine.positions(paper.account_id) == []
    assert not [e for e in profile.errors if e.probe == VERIFY_PROBE]


async def test_the_number_of_test_orders_is_bounded(paper: PaperBrokerAdapter) -> None:
    engine = CapabilityDiscoveryEngine(options=DiscoveryOptions(max_synthetic_orders=3))
    events = calls_of(paper.event_bus)
    profile = await engine.discover_capabilities(paper, CapabilityTestType.SYNTHETIC)
    assert sum(1 for e in events if e.operation == "place_order") == 3
    assert len({o.client_order_id for o in venue_orders(paper, include_closed=True)}) == 3
    assert venue_orders(paper) == []
    untested = profile.time_in_force[TimeInForce.FOK]
    assert untested.status is S.DECLARED
    assert "budget of 3 test orders" in untested.evidence


async def test_an_order_executed_but_unanswered_half_way_is_cleaned_up(paper: PaperBrokerAdapter) -> None:
    # the third test order reaches the venue, but its answer is lost: discovery never learns its id
    lost = Fault(FaultKind.RESPONSE_LOST)
    on_nth_call(
        paper.event_bus,
        "place_order",
        2,
        lambda: paper.engine.faults.inject(lost, operations=["place_order"]),
    )
    profile = await CapabilityDiscoveryEngine().discover_capabilities(paper, CapabilityTestType.SYNTHETIC)
    assert any(e.error_code is StandardErrorCode.OUTCOME_UNKNOWN for e in profile.errors)
    third = profile.capabilities[C.STOP_LIMIT_ORDERS]  # the order after limit and stop
    assert third.status is S.DECLARED
    assert "unknown" in third.evidence
    assert venue_orders(paper) == []  # the clean-up found it by client id and cancelled it
    assert len(venue_orders(paper, include_closed=True)) >= 3


async def test_a_cancelled_discovery_still_cleans_up(clock: ManualClock) -> None:
    # a little latency so the discovery task really waits (and can be cancelled) inside broker calls
    config = paper_config(latency={"median_ms": 0.5, "sigma": 0.1})
    async with PaperBrokerAdapter(config, event_bus=EventBus(), clock=clock) as adapter:
        task = asyncio.create_task(
            CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
        )
        on_nth_call(adapter.event_bus, "place_order", 2, task.cancel)
        on_nth_call(adapter.event_bus, "cancel_order", 2, task.cancel)  # and once more during the clean-up
        with pytest.raises(asyncio.CancelledError):
            await task
        placed = {o.client_order_id for o in venue_orders(adapter, include_closed=True)}
        assert len(placed) == 2  # it stopped placing orders at once
        assert venue_orders(adapter) == []  # and cancelled the one it had not cancelled yet


async def test_a_venue_that_refuses_to_cancel_is_reported(paper: PaperBrokerAdapter) -> None:
    paper.engine.faults.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["cancel_order"], count=1_000)
    engine = CapabilityDiscoveryEngine(options=DiscoveryOptions(max_synthetic_orders=2))
    profile = await engine.discover_capabilities(paper, CapabilityTestType.SYNTHETIC)
    still_open = venue_orders(paper)
    assert len(still_open) == 2
    # one error names every order that may be open (after so many failures the breaker may also have
    # stopped the venue check: then the report says the orders could not be checked)
    [report] = [e for e in profile.errors if e.probe == VERIFY_PROBE]
    assert "left open" in report.message or "could not check" in report.message
    for order in still_open:
        assert order.client_order_id is not None
        assert order.client_order_id in report.message
    # the refusals were transient: they say nothing against cancelling
    assert profile.capabilities[C.CANCEL_ORDERS].status is S.DECLARED
    paper.engine.faults.clear()
    for order in still_open:
        assert paper.engine.cancel_order(paper.account_id, order.order_id).ok


async def test_synthetic_discovery_refuses_a_live_account_unless_allowed(clock: ManualClock) -> None:
    live = BrokerConfiguration(
        broker_name="paper",
        credentials=BrokerCredentials(environment=Environment.LIVE),
        options={"seed": 7},
    )
    async with PaperBrokerAdapter(live, event_bus=EventBus(), clock=clock) as adapter:
        events = calls_of(adapter.event_bus)
        with pytest.raises(PermissionDeniedError, match="live"):
            await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
        assert events == []
        dynamic = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.DYNAMIC)
        assert dynamic.environment == "live"
        allowed = await CapabilityDiscoveryEngine(
            options=DiscoveryOptions(max_synthetic_orders=1)
        ).discover_capabilities(adapter, CapabilityTestType.SYNTHETIC, allow_live=True)
        assert allowed.capabilities[C.LIMIT_ORDERS].status is S.VERIFIED
        assert venue_orders(adapter) == []


async def test_a_transient_probe_failure_is_inconclusive_not_failed(paper: PaperBrokerAdapter) -> None:
    paper.engine.faults.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["get_instruments"])
    profile = await CapabilityDiscoveryEngine().discover_capabilities(paper, CapabilityTestType.DYNAMIC)
    finding = profile.capabilities[C.INSTRUMENTS]
    assert finding.status is S.DECLARED
    assert "inconclusive: listing instruments failed: SERVICE_UNAVAILABLE" in finding.evidence
    assert [e.probe for e in profile.errors] == ["get_instruments"]
    assert not profile.instruments_complete
    assert profile.probe_instrument == "EUR/USD"  # from the fallback list


async def test_probes_use_an_instrument_whose_market_is_open() -> None:
    saturday = ManualClock(datetime(2024, 1, 6, 15, 0, tzinfo=UTC))  # FX and US equities are closed
    config = paper_config(enforce_trading_hours=True)
    async with PaperBrokerAdapter(config, event_bus=EventBus(), clock=saturday) as adapter:
        profile = await CapabilityDiscoveryEngine().discover_capabilities(
            adapter, CapabilityTestType.SYNTHETIC
        )
        assert profile.probe_instrument == "BTC/USD"
        assert profile.capabilities[C.LIMIT_ORDERS].status is S.VERIFIED
        placed = venue_orders(adapter, include_closed=True)
        assert placed
        assert {o.instrument for o in placed} == {"BTC/USD"}
        assert venue_orders(adapter) == []


async def test_enforced_profile_refuses_what_the_venue_cannot_take(paper: PaperBrokerAdapter) -> None:
    engine = CapabilityDiscoveryEngine()
    await engine.discover_capabilities(paper, CapabilityTestType.SYNTHETIC)
    engine.enforce(paper)
    before = len(venue_orders(paper, include_closed=True))
    tiny = UnifiedOrder(instrument="BTC/USD", side=OrderSide.BUY, quantity=Decimal("0.00005"))
    unlisted = UnifiedOrder(instrument="NZD/USD", side=OrderSide.BUY, quantity=Decimal(1000))
    off_tick = UnifiedOrder(
        instrument="EUR/USD",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(1000),
        price=Decimal("1.000001"),
    )
    for order, code in (
        (tiny, StandardErrorCode.INVALID_ORDER),
        (unlisted, StandardErrorCode.INVALID_INSTRUMENT),
        (off_tick, StandardErrorCode.INVALID_ORDER),
    ):
        result = await paper.place_order(order)
        assert result.error is not None
        assert result.error.error_code is code, order
        assert result.delivery is Delivery.NOT_SENT
    assert len(venue_orders(paper, include_closed=True)) == before  # none reached the venue
    fine = await paper.place_order(
        UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1000))
    )
    assert fine.success
