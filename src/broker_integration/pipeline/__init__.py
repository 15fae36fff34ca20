"""The one call pipeline every broker adapter runs through.

* :class:`BrokerAdapter` — the base class; subclasses write protocol translation only.
* :data:`OPERATIONS` — one :class:`OpSpec` row per :class:`Operation`: the facts every stage reads.
* :func:`build_pipeline` / :func:`attach` — the one place an adapter's stages are assembled (resilience from
  the configuration, the order journal, a capability profile's pre-trade checks, the credentials gate).
* :class:`CallContext`, :class:`InterceptorPriority`, :class:`CallInterceptor` — for writing a stage.
* :func:`note_request_sent` — protocol code says when a request leaves the process.
* :func:`construct_adapter` — instantiate an adapter class with only its configuration, wired.
"""

from broker_integration.pipeline.adapter import AdapterDeclaration, BrokerAdapter, construct_adapter
from broker_integration.pipeline.build import STAGE_NAMES, attach, build_pipeline
from broker_integration.pipeline.context import (
    CallContext,
    CallInterceptor,
    InterceptorPriority,
    Proceed,
    note_request_sent,
)
from broker_integration.pipeline.operations import (
    CAPABILITY_OPERATIONS,
    DERIVED_DEFAULTS,
    OPERATIONS,
    ORDER_TYPE_CAPABILITY,
    BrokerCapability,
    Operation,
    OpSpec,
)
from broker_integration.pipeline.resilience import (
    BreakerState,
    CircuitBreaker,
    RateLimiter,
    Resilience,
    RetryBudget,
    RetryPolicy,
)

__all__ = [
    "CAPABILITY_OPERATIONS",
    "DERIVED_DEFAULTS",
    "OPERATIONS",
    "ORDER_TYPE_CAPABILITY",
    "STAGE_NAMES",
    "AdapterDeclaration",
    "BreakerState",
    "BrokerAdapter",
    "BrokerCapability",
    "CallContext",
    "CallInterceptor",
    "CircuitBreaker",
    "InterceptorPriority",
    "OpSpec",
    "Operation",
    "Proceed",
    "RateLimiter",
    "Resilience",
    "RetryBudget",
    "RetryPolicy",
    "attach",
    "build_pipeline",
    "construct_adapter",
    "note_request_sent",
]
