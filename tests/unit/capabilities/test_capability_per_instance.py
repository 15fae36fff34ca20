"""An adapter declares per instance (a CCXT-style adapter: per exchange): capability discovery, the pipeline's
refusals, the published limits and the conformance suite's reading all follow the instance's declaration,
not the class's attributes."""

from __future__ import annotations

from typing import ClassVar

from broker_integration.broker_config import BrokerConfiguration, BrokerLimits
from broker_integration.capabilities.static import declared_capabilities
from broker_integration.capability_discovery import CapabilityDiscoveryEngine, CapabilityStatus
from broker_integration.errors import StandardErrorCode
from broker_integration.models import OrderStatus, OrderType, TimeInForce, UnifiedOrder
from broker_integration.pipeline import AdapterDeclaration, BrokerCapability
from broker_integration.testing import MockBrokerAdapter

C = BrokerCapability
S = CapabilityStatus

#: What each "exchange" offers: one takes only market orders at a slow pace, the other limit orders too.
EXCHANGES: dict[str, AdapterDeclaration] = {
    "slow": AdapterDeclaration(
        frozenset({C.MARKET_ORDERS, C.ACCOUNT_SUMMARY, C.CANCEL_ORDERS}),
        frozenset({TimeInForce.IOC}),
        BrokerLimits(requests_per_second=4, max_orders_per_second=2),
    ),
    "fast": AdapterDeclaration(
        frozenset({C.MARKET_ORDERS, C.LIMIT_ORDERS, C.ACCOUNT_SUMMARY, C.CANCEL_ORDERS}),
        frozenset({TimeInForce.IOC, TimeInForce.GTC}),
        BrokerLimits(requests_per_second=900, max_orders_per_second=300),
    ),
}


class ExchangeAdapter(MockBrokerAdapter):
    """One class, many exchanges: the class declares the union, each instance its exchange's share."""

    broker_name = "exchange"
    capabilities: ClassVar[frozenset[BrokerCapability] | None] = frozenset(C)
    supported_time_in_force: ClassVar[frozenset[TimeInForce] | None] = frozenset(TimeInForce)
    default_limits: ClassVar[BrokerLimits | None] = BrokerLimits(
        requests_per_second=1, max_orders_per_second=1
    )

    @property
    def declaration(self) -> AdapterDeclaration:
        assert self.config is not None
        return EXCHANGES[self.config.options["exchange"]]


def exchange(name: str) -> ExchangeAdapter:
    return ExchangeAdapter(BrokerConfiguration(broker_name=f"ex-{name}", options={"exchange": name}))


async def test_static_discovery_reads_each_instances_declaration() -> None:
    engine = CapabilityDiscoveryEngine()
    slow = await engine.discover_capabilities(exchange("slow"), test_type="static")
    fast = await engine.discover_capabilities(exchange("fast"), test_type="static")
    assert slow.capabilities[C.LIMIT_ORDERS].status is S.UNSUPPORTED
    assert fast.capabilities[C.LIMIT_ORDERS].status is S.DECLARED
    assert slow.capabilities[C.STREAMING_PRICES].status is not S.DECLARED  # the class's union does not leak
    assert slow.time_in_force[TimeInForce.GTC].status is S.UNSUPPORTED
    assert fast.time_in_force[TimeInForce.GTC].status is S.DECLARED
    assert slow.limits.published_requests_per_second == 4
    assert fast.limits.published_max_orders_per_second == 300


async def test_the_published_limits_of_the_instance_are_enforced_when_the_configuration_sets_none() -> None:
    slow, fast = exchange("slow"), exchange("fast")
    assert slow.resilience is not None
    assert slow.resilience.requests is not None
    assert slow.resilience.requests.rate == 4
    assert fast.resilience is not None
    assert fast.resilience.orders is not None
    assert fast.resilience.orders.rate == 300


async def test_the_pipeline_refuses_what_this_instance_does_not_declare() -> None:
    limit = UnifiedOrder(
        instrument="EUR/USD",
        side="buy",
        order_type=OrderType.LIMIT,
        quantity=1,
        price="1.0",
        time_in_force="GTC",
    )
    async with exchange("slow") as slow, exchange("fast") as fast:
        refused = await slow.place_order(limit)
        assert refused.status is OrderStatus.REJECTED
        assert refused.error is not None
        assert refused.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
        assert (await fast.place_order(limit)).success
        assert [call for call in slow.calls if call[0] == "place_order"] == []  # never reached the venue


def test_declared_capabilities_follow_the_instance_or_what_the_class_implements() -> None:
    assert declared_capabilities(exchange("slow")) == EXCHANGES["slow"].capabilities
    assert declared_capabilities(exchange("fast")) == EXCHANGES["fast"].capabilities

    class Undeclared(MockBrokerAdapter):
        capabilities = None

    undeclared = Undeclared()
    assert undeclared.declaration.capabilities is None
    assert declared_capabilities(undeclared) == Undeclared.implied_capabilities()
    assert C.MARKET_ORDERS in declared_capabilities(undeclared)
