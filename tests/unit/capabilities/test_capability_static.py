"""Static discovery: findings from the class and configuration alone, with no broker call at all."""

from __future__ import annotations

from decimal import Decimal

import pytest

from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerLimits,
    BrokerSettings,
)
from broker_integration.capability_discovery import (
    CapabilityDiscoveryEngine,
    CapabilityStatus,
    CapabilityTestType,
)
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import AccountSummary, OrderResult, OrderStatus, TimeInForce, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter, BrokerCapability
from broker_integration.testing import MockBrokerAdapter

C = BrokerCapability
S = CapabilityStatus


class ReadmeStyleAdapter(BrokerAdapter):
    """A user's adapter as the guide writes one: three methods, no declaration."""

    broker_name = "mybroker"

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        return True

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        return OrderResult(success=True, broker_order_id="1", status=OrderStatus.ACCEPTED)

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return AccountSummary(
            account_id="main",
            currency="USD",
            balance=Decimal(1),
            equity=Decimal(1),
            margin_available=Decimal(1),
            time=self.clock.now(),
        )


class OverclaimingAdapter(MockBrokerAdapter):
    """Declares closing positions and trailing stops but inherits no close_position implementation."""

    broker_name = "overclaiming"
    capabilities = MockBrokerAdapter.capabilities | {C.TRAILING_STOP_ORDERS}  # type: ignore[operator]
    close_position = BrokerAdapter.close_position


async def test_static_discovery_makes_no_broker_call() -> None:
    bus = EventBus()
    calls: list[CallEvent] = []
    bus.subscribe(CallEvent, calls.append)
    adapter = MockBrokerAdapter(event_bus=bus)
    profile = await CapabilityDiscoveryEngine().discover_capabilities(adapter, CapabilityTestType.STATIC)
    assert calls == []
    assert adapter.calls == []  # the mock records every call that reaches it
    assert profile.test_type is CapabilityTestType.STATIC
    assert profile.latencies == {}
    assert profile.supported_instruments == {}


async def test_declared_capabilities_are_declared_and_the_rest_unsupported() -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(MockBrokerAdapter(), test_type="static")
    caps = profile.capabilities
    for capability in MockBrokerAdapter.declared_capabilities():
        assert caps[capability].status is S.DECLARED, capability
    # order types outside the declaration are refused by the pipeline, so they are unsupported
    assert caps[C.TRAILING_STOP_ORDERS].status is S.UNSUPPORTED
    assert "pipeline refuses" in caps[C.TRAILING_STOP_ORDERS].evidence
    assert profile.time_in_force[TimeInForce.DAY].status is S.UNSUPPORTED
    assert profile.time_in_force[TimeInForce.GTC].status is S.DECLARED


async def test_a_declared_capability_without_an_implementation_fails_statically() -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(OverclaimingAdapter(), "static")
    finding = profile.capabilities[C.CLOSE_POSITION]
    assert finding.status is S.FAILED
    assert "implements none of close_position" in finding.evidence


async def test_missing_methods_of_a_partial_adapter_are_unsupported() -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(ReadmeStyleAdapter(), "static")
    caps = profile.capabilities
    assert caps[C.MARKET_ORDERS].status is S.DECLARED  # implied by place_order
    assert caps[C.ACCOUNT_SUMMARY].status is S.DECLARED
    # the base class checks health through the summary, but the class claims nothing: a probe will tell
    assert caps[C.HEALTH_CHECK].status is S.UNKNOWN
    for missing in (C.CANCEL_ORDERS, C.STREAMING_PRICES, C.HISTORICAL_DATA, C.INSTRUMENTS, C.POSITIONS):
        assert caps[missing].status is S.UNSUPPORTED, missing
        assert "not implemented" in caps[missing].evidence
    # with no declaration, other order types are neither claimed nor excluded
    assert caps[C.LIMIT_ORDERS].status is S.UNKNOWN
    assert profile.time_in_force[TimeInForce.IOC].status is S.UNKNOWN
    assert all(f.status is S.UNSUPPORTED for f in profile.granularities.values())


async def test_configuration_can_switch_streaming_off() -> None:
    config = BrokerConfiguration(broker_name="mock", settings=BrokerSettings(enable_streaming=False))
    profile = await CapabilityDiscoveryEngine().discover_capabilities(MockBrokerAdapter(config), "static")
    finding = profile.capabilities[C.STREAMING_PRICES]
    assert finding.status is S.UNSUPPORTED
    assert "enable_streaming" in finding.evidence


async def test_limits_are_the_ones_the_pipeline_enforces() -> None:
    config = BrokerConfiguration(
        broker_name="mock",
        limits=BrokerLimits(requests_per_second=20, max_orders_per_second=5),
        settings=BrokerSettings(timeout_seconds=7),
        credentials=BrokerCredentials(account_id="a-1"),
    )
    profile = await CapabilityDiscoveryEngine().discover_capabilities(MockBrokerAdapter(config), "static")
    limits = profile.limits
    assert (limits.requests_per_second, limits.max_orders_per_second) == (20, 5)
    assert limits.timeout_seconds == 7
    assert limits.rate_source == "configuration"
    assert profile.environment == "practice"


async def test_without_configuration_no_client_side_rate_applies() -> None:
    profile = await CapabilityDiscoveryEngine().discover_capabilities(ReadmeStyleAdapter(), "static")
    assert profile.limits.requests_per_second is None
    assert profile.limits.rate_source.startswith("none")


async def test_an_unknown_test_type_is_refused() -> None:
    with pytest.raises(ValueError, match="thorough"):
        await CapabilityDiscoveryEngine().discover_capabilities(MockBrokerAdapter(), "thorough")
