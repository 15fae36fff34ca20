"""Capability discovery of the OANDA adapter against the OANDA v20 simulator, over a loopback socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from capability_venues import on_nth_call

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.capabilities.cleanup import VERIFY_PROBE
from broker_integration.capability_discovery import (
    CapabilityDiscoveryEngine,
    CapabilityStatus,
    CapabilityTestType,
)
from broker_integration.events import EventBus
from broker_integration.models import Granularity, TimeInForce
from broker_integration.pipeline import BrokerCapability
from broker_integration.sim.faults import Fault, FaultKind
from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import VenueProfile

C = BrokerCapability
S = CapabilityStatus


@pytest.fixture
async def sim() -> AsyncIterator[OandaSimulator]:
    """A simulator open around the clock (so the tests do not depend on the day of the week)."""
    profile = VenueProfile(name="oanda", enforce_trading_hours=False)
    async with OandaSimulator(
        profile=profile, settings=SimulatorSettings(heartbeat_interval=0.2)
    ) as simulator:
        yield simulator


@pytest.fixture
async def oanda(sim: OandaSimulator) -> AsyncIterator[OandaAdapter]:
    async with OandaAdapter(sim.configuration(stream_heartbeat_timeout=2.0), event_bus=EventBus()) as adapter:
        yield adapter


def open_at_simulator(sim: OandaSimulator) -> list[str]:
    return [o.order_id for o in sim.engine.orders(sim.account_id)]


async def test_dynamic_discovery_of_oanda(sim: OandaSimulator, oanda: OandaAdapter) -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(oanda, CapabilityTestType.DYNAMIC)
    caps = profile.capabilities
    for capability in (
        C.INSTRUMENTS,
        C.CURRENT_PRICES,
        C.STREAMING_PRICES,
        C.HISTORICAL_DATA,
        C.ACCOUNT_SUMMARY,
    ):
        assert caps[capability].status is S.VERIFIED, capability
    assert len(profile.supported_instruments) == len(sim.engine.instruments())
    assert profile.instruments_complete
    assert set(profile.supported_granularities) == set(Granularity)
    assert profile.latencies["stream_prices[first tick]"] > 0
    assert profile.errors == ()
    assert sim.engine.orders(sim.account_id, include_closed=True) == []


async def test_synthetic_discovery_of_oanda_leaves_no_order_at_the_simulator(
    sim: OandaSimulator, oanda: OandaAdapter
) -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(oanda, CapabilityTestType.SYNTHETIC)
    caps = profile.capabilities
    for capability in (
        C.LIMIT_ORDERS,
        C.STOP_ORDERS,
        C.MARKET_IF_TOUCHED_ORDERS,
        C.TAKE_PROFIT_STOP_LOSS,
        C.MODIFY_ORDERS,
        C.CANCEL_ORDERS,
        C.CLIENT_ORDER_ID_LOOKUP,
    ):
        assert caps[capability].status is S.VERIFIED, (capability, caps[capability].evidence)
    # OANDA's declaration leaves these out, so the pipeline refuses them and no test order is sent
    assert caps[C.STOP_LIMIT_ORDERS].status is S.UNSUPPORTED
    assert caps[C.TRAILING_STOP_ORDERS].status is S.UNSUPPORTED
    auctions = {TimeInForce.OPG, TimeInForce.CLS}  # OANDA has none: refused by the pipeline, never sent
    assert all(profile.time_in_force[t].status is S.VERIFIED for t in set(TimeInForce) - auctions)
    assert all(profile.time_in_force[t].status is S.UNSUPPORTED for t in auctions)
    assert open_at_simulator(sim) == []
    placed = sim.engine.orders(sim.account_id, include_closed=True)
    assert placed
    assert all(o.filled_units == 0 for o in placed)
    assert not [e for e in profile.errors if e.probe == VERIFY_PROBE]


async def test_a_lost_answer_half_way_leaves_no_order_at_the_simulator(
    sim: OandaSimulator, oanda: OandaAdapter
) -> None:
    on_nth_call(
        oanda.event_bus,
        "place_order",
        2,
        lambda: sim.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"]),
    )
    profile = await CapabilityDiscoveryEngine().discover_capabilities(oanda, CapabilityTestType.SYNTHETIC)
    assert any(e.probe == "place_order[market_if_touched]" for e in profile.errors)
    assert profile.capabilities[C.MARKET_IF_TOUCHED_ORDERS].status is S.DECLARED  # inconclusive
    assert open_at_simulator(sim) == []
    lost = [
        o
        for o in sim.engine.orders(sim.account_id, include_closed=True)
        if o.order_type.value == "market_if_touched"
    ]
    assert lost, "the order whose answer was lost did reach the simulator"
