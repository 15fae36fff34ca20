"""The seed's module name for the adapter interface: ``BrokerAdapter`` and its vocabulary, re-exported from
:mod:`broker_integration.pipeline`."""

from broker_integration.pipeline import (
    CAPABILITY_OPERATIONS,
    DERIVED_DEFAULTS,
    ORDER_TYPE_CAPABILITY,
    AdapterDeclaration,
    BrokerAdapter,
    BrokerCapability,
    CallContext,
    CallInterceptor,
    InterceptorPriority,
    Operation,
    Proceed,
    construct_adapter,
    note_request_sent,
)

__all__ = [
    "CAPABILITY_OPERATIONS",
    "DERIVED_DEFAULTS",
    "ORDER_TYPE_CAPABILITY",
    "AdapterDeclaration",
    "BrokerAdapter",
    "BrokerCapability",
    "CallContext",
    "CallInterceptor",
    "InterceptorPriority",
    "Operation",
    "Proceed",
    "construct_adapter",
    "note_request_sent",
]
