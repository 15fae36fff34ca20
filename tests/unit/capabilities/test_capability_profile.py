"""CapabilityProfile as a value: mapping access, readable text, JSON round trip, and diffs between profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from broker_integration.capabilities.profile import GranularityMap, TimeInForceMap
from broker_integration.capability_discovery import (
    CapabilityChangedEvent,
    CapabilityFinding,
    CapabilityMap,
    CapabilityProfile,
    CapabilityStatus,
    CapabilityTestType,
    ProfileDiff,
)
from broker_integration.events import Event
from broker_integration.models import Granularity, Instrument, InstrumentType, OrderType, TimeInForce
from broker_integration.pipeline import BrokerCapability

C = BrokerCapability
S = CapabilityStatus
WHEN = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def finding(status: CapabilityStatus, evidence: str = "because") -> CapabilityFinding:
    return CapabilityFinding(status=status, evidence=evidence)


def instrument(symbol: str, tick: str = "0.00001", minimum: str = "1") -> Instrument:
    return Instrument(
        symbol=symbol,
        broker_symbol=symbol.replace("/", "_"),
        type=InstrumentType.CURRENCY,
        tick_size=Decimal(tick),
        display_precision=5,
        min_quantity=Decimal(minimum),
    )


def profile(
    caps: dict[BrokerCapability, CapabilityStatus],
    *,
    tifs: dict[TimeInForce, CapabilityStatus] | None = None,
    instruments: tuple[Instrument, ...] = (),
    complete: bool = False,
    at: datetime = WHEN,
) -> CapabilityProfile:
    return CapabilityProfile(
        broker_name="demo",
        adapter_class="tests.Demo",
        test_type=CapabilityTestType.DYNAMIC,
        discovered_at=at,
        duration_ms=1.5,
        capabilities=CapabilityMap(
            {cap: finding(status, f"{cap.value} evidence") for cap, status in caps.items()}
        ),
        time_in_force=TimeInForceMap({tif: finding(status) for tif, status in (tifs or {}).items()}),
        granularities=GranularityMap({Granularity.M1: finding(S.VERIFIED, "2 candles")}),
        supported_instruments={i.symbol: i for i in instruments},
        instruments_complete=complete,
    )


def test_statuses_split_into_available_and_refused() -> None:
    assert {s for s in S if s.available} == {S.VERIFIED, S.DECLARED}
    assert {s for s in S if s.refused} == {S.FAILED, S.UNSUPPORTED}
    assert not S.UNKNOWN.available
    assert not S.UNKNOWN.refused


def test_test_types_are_ordered_by_depth() -> None:
    depths = [
        t.depth for t in (CapabilityTestType.STATIC, CapabilityTestType.DYNAMIC, CapabilityTestType.SYNTHETIC)
    ]
    assert depths == sorted(depths)
    assert len(set(depths)) == 3


def test_capability_map_reads_as_a_mapping_by_enum_or_by_name() -> None:
    p = profile({C.LIMIT_ORDERS: S.VERIFIED, C.STOP_ORDERS: S.FAILED})
    caps = p.capabilities
    assert len(caps) == 2
    assert list(caps) == [C.LIMIT_ORDERS, C.STOP_ORDERS]
    assert caps[C.STOP_ORDERS].status is S.FAILED
    assert caps["limit_orders"].status is S.VERIFIED
    assert "stop_orders" in caps
    assert C.MARKET_ORDERS not in caps
    assert caps.get(C.MARKET_ORDERS) is None
    assert caps.with_status(S.FAILED) == (C.STOP_ORDERS,)
    assert caps.counts() == {S.VERIFIED: 1, S.FAILED: 1}


def test_printing_the_capabilities_gives_one_aligned_line_each() -> None:
    text = str(profile({C.LIMIT_ORDERS: S.VERIFIED, C.STOP_ORDERS: S.FAILED}).capabilities)
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:2] == ["limit_orders", "verified"]
    assert lines[1].split()[:2] == ["stop_orders", "failed"]
    assert "stop_orders evidence" in lines[1]
    assert lines[0].index("verified") == lines[1].index("failed")  # columns line up
    assert (
        repr(profile({C.LIMIT_ORDERS: S.VERIFIED}).capabilities) == "FindingMap[BrokerCapability](verified=1)"
    )


def test_derived_views_follow_the_statuses() -> None:
    p = profile(
        {
            C.MARKET_ORDERS: S.DECLARED,
            C.LIMIT_ORDERS: S.VERIFIED,
            C.STOP_ORDERS: S.FAILED,
            C.STOP_LIMIT_ORDERS: S.UNKNOWN,
        },
        tifs={TimeInForce.GTC: S.VERIFIED, TimeInForce.FOK: S.UNSUPPORTED},
    )
    assert p.order_types == (OrderType.MARKET, OrderType.LIMIT)
    assert p.supported_time_in_force == (TimeInForce.GTC,)
    assert p.supported_granularities == (Granularity.M1,)
    assert p.supports(C.LIMIT_ORDERS)
    assert not p.supports(C.STOP_LIMIT_ORDERS)
    assert p.failed == (C.STOP_ORDERS,)
    assert p.verified == (C.LIMIT_ORDERS,)


def test_json_round_trip_keeps_everything_including_decimals() -> None:
    original = profile(
        {C.LIMIT_ORDERS: S.VERIFIED},
        tifs={TimeInForce.GTD: S.DECLARED},
        instruments=(instrument("EUR/USD"), instrument("BTC/USD", tick="0.01", minimum="0.0001")),
        complete=True,
    )
    text = original.to_json(indent=2)
    assert '"0.0001"' in text  # decimals travel as strings, never floats
    again = CapabilityProfile.from_json(text)
    assert again == original
    assert again.supported_instruments["BTC/USD"].min_quantity == Decimal("0.0001")
    assert again.capabilities[C.LIMIT_ORDERS].status is S.VERIFIED


def test_profile_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        profile({}, at=datetime(2024, 1, 2, 15, 0))


def test_diff_tells_appeared_from_disappeared_from_changed() -> None:
    before = profile({C.LIMIT_ORDERS: S.DECLARED, C.STOP_ORDERS: S.VERIFIED, C.POSITIONS: S.UNKNOWN})
    after = profile(
        {C.LIMIT_ORDERS: S.VERIFIED, C.STOP_ORDERS: S.FAILED, C.POSITIONS: S.VERIFIED},
        at=WHEN + timedelta(hours=1),
    )
    diff = ProfileDiff.between(before, after)
    assert diff.added_capabilities == (C.POSITIONS,)
    assert diff.removed_capabilities == (C.STOP_ORDERS,)
    assert diff.changed_capabilities == (C.LIMIT_ORDERS,)
    assert diff.appeared == ("capability positions",)
    assert diff.disappeared == ("capability stop_orders",)
    assert diff.is_material
    assert diff.has_changes
    assert "stop_orders: verified -> failed" in str(diff)


def test_a_status_change_within_available_is_not_material() -> None:
    before = profile({C.LIMIT_ORDERS: S.DECLARED})
    after = profile({C.LIMIT_ORDERS: S.VERIFIED})
    diff = ProfileDiff.between(before, after)
    assert diff.has_changes
    assert not diff.is_material


def test_instruments_appear_and_disappear_only_between_complete_listings() -> None:
    eur, gbp, jpy = instrument("EUR/USD"), instrument("GBP/USD"), instrument("USD/JPY", tick="0.001")
    before = profile({}, instruments=(eur, gbp), complete=True)
    after = profile({}, instruments=(eur, jpy), complete=True)
    diff = ProfileDiff.between(before, after)
    assert diff.added_instruments == ("USD/JPY",)
    assert diff.removed_instruments == ("GBP/USD",)
    assert "instrument GBP/USD" in diff.disappeared
    partial = profile({}, instruments=(eur,), complete=False)
    assert ProfileDiff.between(before, partial).removed_instruments == ()


def test_changed_instrument_metadata_is_a_change() -> None:
    before = profile({}, instruments=(instrument("EUR/USD", minimum="1"),), complete=True)
    after = profile({}, instruments=(instrument("EUR/USD", minimum="1000"),), complete=True)
    diff = ProfileDiff.between(before, after)
    assert diff.changed_instruments == ("EUR/USD",)
    assert not diff.is_material


def test_profiles_of_different_brokers_are_not_compared() -> None:
    other = profile({}).model_copy(update={"broker_name": "other"})
    with pytest.raises(ValueError, match="cannot compare"):
        ProfileDiff.between(profile({}), other)


def test_the_change_event_is_an_event_carrying_the_diff() -> None:
    diff = ProfileDiff.between(profile({C.STOP_ORDERS: S.VERIFIED}), profile({C.STOP_ORDERS: S.FAILED}))
    event = CapabilityChangedEvent(time=WHEN, broker_name="demo", adapter_id="demo@1", diff=diff)
    assert isinstance(event, Event)
    assert event.disappeared == ("capability stop_orders",)
    assert event.appeared == ()
