"""Static discovery: findings from an adapter and its configuration alone, without a single broker call.

The adapter instance says what it declares (:attr:`BrokerAdapter.declaration`: capabilities, time in
force and published limits, which may differ per instance, e.g. per exchange), its class what it
implements (:meth:`BrokerAdapter.implemented_operations`); the configuration says which limits apply and
whether streaming is switched off. A capability declared without any method behind it is reported as
FAILED here already: it is the class of bug CCXT's ``has`` flags show (CCXT manual, "Exchange Properties").
"""

from __future__ import annotations

from broker_integration.capabilities.profile import CapabilityFinding, CapabilityStatus, ProfileLimits
from broker_integration.capabilities.state import DiscoveryState
from broker_integration.models import TimeInForce
from broker_integration.pipeline import (
    CAPABILITY_OPERATIONS,
    ORDER_TYPE_CAPABILITY,
    BrokerAdapter,
    BrokerCapability,
    Operation,
)

__all__ = ["ORDER_CAPABILITIES", "analyse_statically", "declared_capabilities"]

C = BrokerCapability

#: Capabilities the pipeline itself refuses when a class's declaration leaves them out.
ORDER_CAPABILITIES: frozenset[BrokerCapability] = frozenset(ORDER_TYPE_CAPABILITY.values()) | {
    C.TAKE_PROFIT_STOP_LOSS,
    C.NOTIONAL_ORDERS,
}


def declared_capabilities(adapter: BrokerAdapter) -> frozenset[BrokerCapability]:
    """What ``adapter`` declares it can do; when it declares no capability set, what its implemented methods
    imply."""
    declared = adapter.declaration.capabilities
    return declared if declared is not None else type(adapter).implied_capabilities()


def analyse_statically(state: DiscoveryState) -> None:
    """Fill ``state`` with the findings the adapter's declaration, class and configuration support."""
    adapter = state.adapter
    cls = type(adapter)
    implemented = cls.implemented_operations()
    declaration = adapter.declaration
    implied = cls.implied_capabilities()
    for capability in BrokerCapability:
        finding = _capability_finding(
            cls.__name__, declaration.capabilities, implied, capability, implemented
        )
        note = declaration.notes.get(capability)
        if note and finding.status is CapabilityStatus.DECLARED:
            finding = finding.model_copy(update={"evidence": f"{finding.evidence}: {note}"})
        state.capabilities[capability] = finding
    config = adapter.config
    if config is not None and not config.settings.enable_streaming:
        state.capabilities[C.STREAMING_PRICES] = CapabilityFinding(
            status=CapabilityStatus.UNSUPPORTED,
            evidence="switched off in the configuration (settings.enable_streaming: false)",
        )
    for tif in TimeInForce:
        state.time_in_force[tif] = _time_in_force_finding(
            cls.__name__, declaration.time_in_force, tif, implemented
        )
    history = state.capabilities[C.HISTORICAL_DATA].status
    for granularity in state.options.granularities:
        state.granularities[granularity] = (
            CapabilityFinding(status=CapabilityStatus.UNSUPPORTED, evidence="no historical data")
            if history.refused
            else CapabilityFinding(
                status=CapabilityStatus.UNKNOWN,
                evidence="adapters do not declare granularities; a dynamic probe asks for candles",
            )
        )
    state.limits = _limits(adapter)


def _capability_finding(
    name: str,
    declared: frozenset[BrokerCapability] | None,
    implied: frozenset[BrokerCapability],
    capability: BrokerCapability,
    implemented: frozenset[Operation],
) -> CapabilityFinding:
    needed = CAPABILITY_OPERATIONS[capability]
    present = sorted(op.value for op in needed & implemented)
    wanted = " or ".join(sorted(op.value for op in needed))
    if declared is not None and capability in declared:
        if present:
            return CapabilityFinding(status=CapabilityStatus.DECLARED, evidence=f"declared by {name}")
        return CapabilityFinding(
            status=CapabilityStatus.FAILED,
            evidence=f"declared by {name}, but it implements none of {wanted}",
        )
    if not present:
        return CapabilityFinding(
            status=CapabilityStatus.UNSUPPORTED,
            evidence=f"not implemented: {name} does not override {wanted}",
        )
    if declared is not None:
        if capability in ORDER_CAPABILITIES:
            return CapabilityFinding(
                status=CapabilityStatus.UNSUPPORTED,
                evidence=f"not declared by {name}; the call pipeline refuses such orders",
            )
        return CapabilityFinding(
            status=CapabilityStatus.UNKNOWN,
            evidence=f"{', '.join(present)} is implemented but not declared by {name}",
        )
    if capability in implied:
        return CapabilityFinding(
            status=CapabilityStatus.DECLARED,
            evidence=f"implied by {name} implementing {', '.join(present)} (it declares no capability set)",
        )
    return CapabilityFinding(
        status=CapabilityStatus.UNKNOWN,
        evidence=f"{name} declares no capability set; {', '.join(present)} is implemented",
    )


def _time_in_force_finding(
    name: str, declared: frozenset[TimeInForce] | None, tif: TimeInForce, implemented: frozenset[Operation]
) -> CapabilityFinding:
    if Operation.PLACE_ORDER not in implemented:
        return CapabilityFinding(
            status=CapabilityStatus.UNSUPPORTED, evidence=f"{name} does not place orders"
        )
    if declared is None:
        return CapabilityFinding(
            status=CapabilityStatus.UNKNOWN, evidence=f"{name} declares no time-in-force set"
        )
    if tif in declared:
        return CapabilityFinding(status=CapabilityStatus.DECLARED, evidence=f"declared by {name}")
    return CapabilityFinding(
        status=CapabilityStatus.UNSUPPORTED,
        evidence=f"not declared by {name}; the call pipeline refuses it",
    )


def _limits(adapter: BrokerAdapter) -> ProfileLimits:
    """The limits the pipeline enforces (read from its resilience stages) and those the adapter publishes."""
    published = adapter.declaration.default_limits
    resilience = adapter.resilience
    config = adapter.config
    if config is None:
        source = "none: the adapter has no configuration"
    elif "limits" in config.model_fields_set or published is None:
        source = "configuration"
    else:
        source = "the adapter's published limits"
    requests = resilience.requests if resilience is not None else None
    orders = resilience.orders if resilience is not None else None
    return ProfileLimits(
        requests_per_second=None if requests is None else requests.rate,
        max_orders_per_second=None if orders is None else orders.rate,
        published_requests_per_second=None if published is None else published.requests_per_second,
        published_max_orders_per_second=None if published is None else published.max_orders_per_second,
        timeout_seconds=None if resilience is None else resilience.timeout_seconds,
        rate_source=source,
    )
