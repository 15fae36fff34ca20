"""Capability discovery of the CCXT adapter against the Binance simulator: what ccxt's ``has`` flags declare
is verified against the venue (ccxt's flags are sometimes wrong), and the profile says how each stream is
served."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.capability_discovery import (
    CapabilityDiscoveryEngine,
    CapabilityStatus,
    CapabilityTestType,
)
from broker_integration.events import EventBus
from broker_integration.models import Granularity
from broker_integration.pipeline import BrokerCapability
from broker_integration.sim.binance import BinanceSimulator
from broker_integration.sim.faults import Fault, FaultKind

C = BrokerCapability
S = CapabilityStatus


@pytest.fixture
async def venue(sim: BinanceSimulator) -> AsyncIterator[CcxtAdapter]:
    async with CcxtAdapter(sim.configuration(), event_bus=EventBus()) as adapter:
        yield adapter


async def test_dynamic_discovery_verifies_what_the_has_flags_declare(venue: CcxtAdapter) -> None:
    engine = CapabilityDiscoveryEngine()
    engine.options = engine.options.model_copy(update={"granularities": (Granularity.H1, Granularity.M2)})
    profile = await engine.discover_capabilities(venue, CapabilityTestType.DYNAMIC)
    caps = profile.capabilities
    for capability in (
        C.INSTRUMENTS,
        C.CURRENT_PRICES,
        C.STREAMING_PRICES,
        C.HISTORICAL_DATA,
        C.ACCOUNT_SUMMARY,
    ):
        assert caps[capability].status is S.VERIFIED, (capability, caps[capability])
    # ccxt's timeframes offer 1h, not 2m: the probe of each width says so
    assert profile.granularities[Granularity.H1].status is S.VERIFIED
    assert profile.granularities[Granularity.M2].status is S.UNSUPPORTED
    assert caps[C.POSITIONS].status.refused  # spot: balances, not positions
    assert set(profile.supported_instruments) == {"BTC/USDT", "ETH/USDT"}
    assert profile.limits.published_requests_per_second == pytest.approx(20)


async def test_the_profile_says_how_streams_are_served_and_a_silent_one_is_not_taken_on_trust(
    venue: CcxtAdapter, sim: BinanceSimulator
) -> None:
    static = await CapabilityDiscoveryEngine().discover_capabilities(venue, CapabilityTestType.STATIC)
    assert static.capabilities[C.STREAMING_PRICES].status is S.DECLARED
    assert "websocket: ccxt.pro watchBidsAsks" in static.capabilities[C.STREAMING_PRICES].evidence
    assert "websocket: ccxt.pro watchOrders" in static.capabilities[C.ORDER_UPDATES].evidence
    sim.inject(Fault(FaultKind.TIMEOUT), operations=["stream_prices"], count=100)  # opens, then silence
    engine = CapabilityDiscoveryEngine()
    engine.options = engine.options.model_copy(
        update={"stream_timeout": 0.5, "granularities": (Granularity.H1,)}
    )
    dynamic = await engine.discover_capabilities(venue, CapabilityTestType.DYNAMIC)
    streamed = dynamic.capabilities[C.STREAMING_PRICES]
    assert streamed.status is not S.VERIFIED  # a timeout proves nothing either way: declared, and noted
    assert "no streamed tick: TIMEOUT" in streamed.evidence
    assert dynamic.capabilities[C.CURRENT_PRICES].status is S.VERIFIED
