"""broker_integration: one interface to many brokers.

The names here are the public API; everything else is reachable from its module but may change.

* :class:`BrokerFactory` creates authenticated adapters (``"paper"`` is always there, no account needed).
* :class:`BrokerAdapter` is the interface every broker is driven through; subclass it to add a broker.
* :class:`UnifiedOrder` and the other value types in :mod:`broker_integration.models` are what adapters speak.
* :class:`BrokerConfiguration` and its parts describe one broker connection; :class:`ConfigManager`
  (:func:`get_global_config_manager`) loads them from JSON/YAML with environments, secrets, hot reload
  and versions.
* :class:`BrokerError` (with :class:`StandardErrorCode`) is what every failure looks like;
  :func:`map_broker_error` turns a broker's own error code into one, and :class:`ErrorAnalyzer` finds patterns.
* :class:`CapabilityDiscoveryEngine` finds out what a broker really supports (declared, probed, or
  verified with test orders that cannot fill) and the pipeline then refuses orders the broker cannot take.
* :class:`EventBus` carries one :class:`CallEvent` per broker call, for metrics and audits, and an
  :class:`OrderSettledEvent` when an order whose outcome was unknown is found out later.
* :class:`BrokerABTestingFramework` splits order flow across brokers as an experiment
  (:class:`TrafficSplit`, :class:`RoutingStrategy`) and says which is better, with what confidence.
* :class:`PerformanceMetricsCollector` measures every broker's latency, reliability, cost and fills and
  compares them over a :class:`ComparisonPeriod`.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.ab_testing_framework import (
        ABOrderResult,
        BrokerABTestingFramework,
        RoutingStrategy,
        TestResults,
        TrafficSplit,
    )
    from broker_integration.broker_config import (
        BrokerConfiguration,
        BrokerCredentials,
        BrokerEndpoints,
        BrokerLimits,
        BrokerSettings,
        Environment,
    )
    from broker_integration.broker_factory import (
        BrokerFactory,
        FactoryError,
    )
    from broker_integration.capabilities import (
        CapabilityDiscoveryEngine,
        CapabilityProfile,
        CapabilityStatus,
        CapabilityTestType,
    )
    from broker_integration.clock import (
        Clock,
        ManualClock,
        SystemClock,
    )
    from broker_integration.config import (
        ConfigChangedEvent,
        ConfigError,
        ConfigManager,
        get_global_config_manager,
    )
    from broker_integration.errors import (
        AuthenticationError,
        BrokerError,
        ErrorAnalyzer,
        ErrorMappingTable,
        OutcomeUnknownError,
        PermanentBrokerError,
        StandardErrorCode,
        StandardizedError,
        TransientBrokerError,
        UnsupportedOperationError,
        map_broker_error,
        register_error_table,
    )
    from broker_integration.events import (
        CallEvent,
        EventBus,
        HealthEvent,
        OrderSettledEvent,
        OrderUpdateEvent,
        get_event_bus,
    )
    from broker_integration.models import (
        Account,
        AccountSummary,
        Candle,
        Delivery,
        Granularity,
        HealthState,
        HealthStatus,
        Instrument,
        InstrumentType,
        Order,
        OrderModification,
        OrderResult,
        OrderSide,
        OrderStatus,
        OrderType,
        OrderUpdate,
        OrderUpdateKind,
        Position,
        PriceTick,
        TimeInForce,
        UnifiedOrder,
    )
    from broker_integration.performance_metrics import (
        ComparisonPeriod,
        PerformanceMetricsCollector,
    )
    from broker_integration.pipeline import (
        BrokerAdapter,
        BrokerCapability,
        build_pipeline,
    )
    from broker_integration.store import (
        Store,
    )

__version__ = "0.1.0"

#: Every public name → the module defining it. Nothing is imported with the package: each name is imported
#: on first use (PEP 562), so ``import broker_integration`` and the command line start at once and load
#: pydantic, SQLAlchemy, numpy or aiohttp only when a name that needs them is used.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "broker_integration.ab_testing_framework": (
        "ABOrderResult",
        "BrokerABTestingFramework",
        "RoutingStrategy",
        "TestResults",
        "TrafficSplit",
    ),
    "broker_integration.broker_config": (
        "BrokerConfiguration",
        "BrokerCredentials",
        "BrokerEndpoints",
        "BrokerLimits",
        "BrokerSettings",
        "Environment",
    ),
    "broker_integration.broker_factory": (
        "BrokerFactory",
        "FactoryError",
    ),
    "broker_integration.capabilities": (
        "CapabilityDiscoveryEngine",
        "CapabilityProfile",
        "CapabilityStatus",
        "CapabilityTestType",
    ),
    "broker_integration.clock": (
        "Clock",
        "ManualClock",
        "SystemClock",
    ),
    "broker_integration.config": (
        "ConfigChangedEvent",
        "ConfigError",
        "ConfigManager",
        "get_global_config_manager",
    ),
    "broker_integration.errors": (
        "AuthenticationError",
        "BrokerError",
        "ErrorAnalyzer",
        "ErrorMappingTable",
        "OutcomeUnknownError",
        "PermanentBrokerError",
        "StandardErrorCode",
        "StandardizedError",
        "TransientBrokerError",
        "UnsupportedOperationError",
        "map_broker_error",
        "register_error_table",
    ),
    "broker_integration.events": (
        "CallEvent",
        "EventBus",
        "HealthEvent",
        "OrderSettledEvent",
        "OrderUpdateEvent",
        "get_event_bus",
    ),
    "broker_integration.models": (
        "Account",
        "AccountSummary",
        "Candle",
        "Delivery",
        "Granularity",
        "HealthState",
        "HealthStatus",
        "Instrument",
        "InstrumentType",
        "Order",
        "OrderModification",
        "OrderResult",
        "OrderSide",
        "OrderStatus",
        "OrderType",
        "OrderUpdate",
        "OrderUpdateKind",
        "Position",
        "PriceTick",
        "TimeInForce",
        "UnifiedOrder",
    ),
    "broker_integration.performance_metrics": (
        "ComparisonPeriod",
        "PerformanceMetricsCollector",
    ),
    "broker_integration.pipeline": (
        "BrokerAdapter",
        "BrokerCapability",
        "build_pipeline",
    ),
    "broker_integration.store": ("Store",),
}

__getattr__ = lazy_exports(__name__, {name: module for module, names in _EXPORTS.items() for name in names})


__all__ = [
    "ABOrderResult",
    "Account",
    "AccountSummary",
    "AuthenticationError",
    "BrokerABTestingFramework",
    "BrokerAdapter",
    "BrokerCapability",
    "BrokerConfiguration",
    "BrokerCredentials",
    "BrokerEndpoints",
    "BrokerError",
    "BrokerFactory",
    "BrokerLimits",
    "BrokerSettings",
    "CallEvent",
    "Candle",
    "CapabilityDiscoveryEngine",
    "CapabilityProfile",
    "CapabilityStatus",
    "CapabilityTestType",
    "Clock",
    "ComparisonPeriod",
    "ConfigChangedEvent",
    "ConfigError",
    "ConfigManager",
    "Delivery",
    "Environment",
    "ErrorAnalyzer",
    "ErrorMappingTable",
    "EventBus",
    "FactoryError",
    "Granularity",
    "HealthEvent",
    "HealthState",
    "HealthStatus",
    "Instrument",
    "InstrumentType",
    "ManualClock",
    "Order",
    "OrderModification",
    "OrderResult",
    "OrderSettledEvent",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "OrderUpdateEvent",
    "OrderUpdateKind",
    "OutcomeUnknownError",
    "PerformanceMetricsCollector",
    "PermanentBrokerError",
    "Position",
    "PriceTick",
    "RoutingStrategy",
    "StandardErrorCode",
    "StandardizedError",
    "Store",
    "SystemClock",
    "TestResults",
    "TimeInForce",
    "TrafficSplit",
    "TransientBrokerError",
    "UnifiedOrder",
    "UnsupportedOperationError",
    "__version__",
    "build_pipeline",
    "get_event_bus",
    "get_global_config_manager",
    "map_broker_error",
    "register_error_table",
]
