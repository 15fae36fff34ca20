"""Discovery against adapters users write: partial ones, over-claiming ones, and one that fills everything."""

from __future__ import annotations

from decimal import Decimal

from capability_venues import (
    FillEverythingAdapter,
    NoListingAdapter,
    OverclaimingMock,
    PartialAdapter,
    calls_of,
)

from broker_integration.capabilities.cleanup import VERIFY_PROBE
from broker_integration.capability_discovery import (
    CapabilityDiscoveryEngine,
    CapabilityStatus,
    CapabilityTestType,
)
from broker_integration.errors import StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.models import (
    AccountSummary,
    Granularity,
    HealthStatus,
    Instrument,
    OrderSide,
    OrderType,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerCapability
from broker_integration.testing import MockBrokerAdapter

C = BrokerCapability
S = CapabilityStatus


async def test_a_partial_adapter_gets_a_profile_not_a_crash() -> None:
    adapter = PartialAdapter(event_bus=EventBus())
    profile = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
    caps = profile.capabilities
    for missing in (C.STREAMING_PRICES, C.HISTORICAL_DATA, C.INSTRUMENTS, C.POSITIONS, C.MODIFY_ORDERS):
        assert caps[missing].status is S.UNSUPPORTED, missing
        assert "not implemented" in caps[missing].evidence
    assert all(f.status is S.UNSUPPORTED for f in profile.granularities.values())
    # what it does implement is found by probing and test orders, although it declares nothing
    assert caps[C.ACCOUNT_SUMMARY].status is S.VERIFIED
    assert caps[C.CURRENT_PRICES].status is S.VERIFIED
    assert caps[C.HEALTH_CHECK].status is S.VERIFIED  # the base class's check through the summary
    assert caps[C.LIMIT_ORDERS].status is S.VERIFIED
    assert "(not declared by the adapter)" in caps[C.LIMIT_ORDERS].evidence
    assert caps[C.CANCEL_ORDERS].status is S.VERIFIED
    assert caps[C.CLIENT_ORDER_ID_LOOKUP].status is S.VERIFIED  # the base class's lookup through get_orders
    # stop orders raise NotImplementedError: not declared, so unsupported (not failed)
    assert caps[C.STOP_ORDERS].status is S.UNSUPPORTED
    assert caps[C.STOP_ORDERS].error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert profile.time_in_force[TimeInForce.IOC].status is S.VERIFIED
    # without instrument metadata the tick came from the quote and the size from the fallback
    assert not profile.instruments_complete
    assert adapter.book
    assert all(o.quantity == 1 for o in adapter.book.values())
    assert adapter.open_orders == []
    assert not [e for e in profile.errors if e.probe == VERIFY_PROBE]


async def test_a_partial_adapter_that_cannot_list_orders_says_the_clean_up_is_unchecked() -> None:
    adapter = NoListingAdapter(event_bus=EventBus())
    profile = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
    [report] = [e for e in profile.errors if e.probe == VERIFY_PROBE]
    assert "could not check at the venue" in report.message
    assert adapter.open_orders == []  # the orders were cancelled; only the check was impossible
    assert profile.capabilities[C.CLIENT_ORDER_ID_LOOKUP].status is S.UNSUPPORTED


async def test_declared_capabilities_that_fail_their_probes_are_reported_as_failed() -> None:
    async with OverclaimingMock(event_bus=EventBus()) as adapter:
        profile = await CapabilityDiscoveryEngine().discover_capabilities(
            adapter, CapabilityTestType.SYNTHETIC
        )
        caps = profile.capabilities
        history = caps[C.HISTORICAL_DATA]
        assert history.status is S.FAILED
        assert history.evidence.startswith("declared, but candles failed at every granularity")
        assert "TypeError" in history.evidence or "NoneType" in history.evidence
        assert all(f.status is S.UNSUPPORTED for f in profile.granularities.values())
        stream = caps[C.STREAMING_PRICES]
        assert stream.status is S.FAILED
        assert stream.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
        stops = caps[C.STOP_ORDERS]
        assert stops.status is S.FAILED
        assert "cannot place stop orders" in stops.evidence
        assert caps[C.LIMIT_ORDERS].status is S.VERIFIED
        assert await adapter.get_orders() == []


async def test_enforcing_the_profile_refuses_the_failed_order_type_before_sending() -> None:
    async with OverclaimingMock(event_bus=EventBus()) as adapter:
        engine = CapabilityDiscoveryEngine()
        await engine.discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
        engine.enforce(adapter)
        sent_before = sum(1 for op, _, _ in adapter.calls if op == "place_order")
        stop = UnifiedOrder(
            instrument="EUR/USD",
            side=OrderSide.BUY,
            order_type=OrderType.STOP,
            quantity=Decimal(1000),
            stop_price=Decimal("1.2"),
        )
        result = await adapter.place_order(stop)
        assert result.error is not None
        assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
        assert "failed" in result.error.message
        assert sum(1 for op, _, _ in adapter.calls if op == "place_order") == sent_before


async def test_a_test_order_that_fills_stops_the_tests_and_is_reported() -> None:
    adapter = FillEverythingAdapter(event_bus=EventBus())
    events = calls_of(adapter.event_bus)
    profile = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.SYNTHETIC)
    assert len(adapter.placed) == 1  # no second order after the first filled
    assert sum(1 for e in events if e.operation == "place_order") == 1
    limit = profile.capabilities[C.LIMIT_ORDERS]
    assert limit.status is S.UNSUPPORTED  # not declared, and it does not honour limit prices
    assert "filled at 1.10" in limit.evidence
    assert any("check the account's positions" in e.message for e in profile.errors)
    assert "filled unexpectedly" in profile.capabilities[C.STOP_ORDERS].evidence


async def test_a_granularity_that_fails_is_unsupported_while_others_work() -> None:
    class SomeGranularities(OverclaimingMock):
        async def get_historical_data(self, instrument, granularity=Granularity.H1, **kwargs):  # type: ignore[no-untyped-def]
            if granularity in (Granularity.S5, Granularity.MONTH):
                from broker_integration.errors import InvalidOrderError

                raise InvalidOrderError(f"granularity {granularity.value} is not offered")
            self.history_works = True
            return await super().get_historical_data(instrument, granularity, **kwargs)

    async with SomeGranularities(event_bus=EventBus()) as adapter:
        profile = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.DYNAMIC)
        assert profile.capabilities[C.HISTORICAL_DATA].status is S.VERIFIED
        assert profile.granularities[Granularity.S5].status is S.UNSUPPORTED
        assert profile.granularities[Granularity.MONTH].status is S.UNSUPPORTED
        assert profile.granularities[Granularity.H1].status is S.VERIFIED
        assert Granularity.S5 not in profile.supported_granularities


class _WrongTypesMock(MockBrokerAdapter):
    """Answers the read-only probes with plain JSON where the interface promises models (an adapter bug)."""

    broker_name = "wrong-types"

    async def health_check(self) -> HealthStatus:
        return {"state": "healthy"}  # type: ignore[return-value]

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return {"id": "001", "currency": "USD"}  # type: ignore[return-value]

    async def get_instruments(self) -> list[Instrument]:
        return [{"name": "EUR_USD"}]  # type: ignore[list-item]


async def test_answers_of_the_wrong_type_refute_what_they_probe_as_the_adapters_bug() -> None:
    async with _WrongTypesMock(event_bus=EventBus()) as adapter:
        profile = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.DYNAMIC)
    caps = profile.capabilities
    for capability, answered in (
        (C.HEALTH_CHECK, "health_check returned dict, not HealthStatus"),
        (C.ACCOUNT_SUMMARY, "get_account_summary returned dict, not AccountSummary"),
        (C.INSTRUMENTS, "get_instruments returned list, not a list of Instrument"),
    ):
        finding = caps[capability]
        assert finding.status is S.FAILED, capability
        assert finding.error_code is StandardErrorCode.UNKNOWN
        assert f"the probe: UNKNOWN: {answered}" in finding.evidence
        assert any(e.probe == answered.split()[0] and e.message == answered for e in profile.errors)
    assert not profile.instruments_complete
    assert caps[C.CURRENT_PRICES].status is S.VERIFIED  # the wrong answers spoil nothing else
