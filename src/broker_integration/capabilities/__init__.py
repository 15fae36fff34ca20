"""Capability discovery: what each broker can really do, verified rather than taken on trust.

Quick start::

    engine = CapabilityDiscoveryEngine()
    profile = await engine.discover_capabilities(adapter, CapabilityTestType.DYNAMIC)
    print(profile.capabilities)
    print(len(profile.supported_instruments))
    engine.enforce(adapter, profile)  # refuse, before sending, orders the broker cannot take

The engine (:class:`CapabilityDiscoveryEngine`) and its results (:class:`CapabilityProfile` with a
:class:`CapabilityFinding` per capability, :class:`CapabilityStatus`, :class:`ProfileDiff` and the
:class:`CapabilityChangedEvent` a re-discovery publishes). Implementation modules: ``profile``, ``options``,
``state``, ``static``, ``probes`` (dynamic), ``testorders`` + ``synthetic`` + ``cleanup`` (test orders),
``diff``, ``cache``, ``schedule``, ``engine`` and ``cli`` (``broker-integration discover``).
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.capabilities.diff import CapabilityChangedEvent, ProfileDiff, StatusChange
    from broker_integration.capabilities.engine import CapabilityDiscoveryEngine
    from broker_integration.capabilities.options import DiscoveryOptions
    from broker_integration.capabilities.profile import (
        CapabilityFinding,
        CapabilityMap,
        CapabilityProfile,
        CapabilityStatus,
        CapabilityTestType,
        ProfileError,
        ProfileLimits,
    )
    from broker_integration.pipeline.stages.profile import PreTradeGuard

_SOURCES = {
    "CapabilityChangedEvent": "broker_integration.capabilities.diff",
    "ProfileDiff": "broker_integration.capabilities.diff",
    "StatusChange": "broker_integration.capabilities.diff",
    "CapabilityDiscoveryEngine": "broker_integration.capabilities.engine",
    "DiscoveryOptions": "broker_integration.capabilities.options",
    "CapabilityFinding": "broker_integration.capabilities.profile",
    "CapabilityMap": "broker_integration.capabilities.profile",
    "CapabilityProfile": "broker_integration.capabilities.profile",
    "CapabilityStatus": "broker_integration.capabilities.profile",
    "CapabilityTestType": "broker_integration.capabilities.profile",
    "ProfileError": "broker_integration.capabilities.profile",
    "ProfileLimits": "broker_integration.capabilities.profile",
    "PreTradeGuard": "broker_integration.pipeline.stages.profile",
}
__getattr__ = lazy_exports(__name__, _SOURCES)

__all__ = [
    "CapabilityChangedEvent",
    "CapabilityDiscoveryEngine",
    "CapabilityFinding",
    "CapabilityMap",
    "CapabilityProfile",
    "CapabilityStatus",
    "CapabilityTestType",
    "DiscoveryOptions",
    "PreTradeGuard",
    "ProfileDiff",
    "ProfileError",
    "ProfileLimits",
    "StatusChange",
]
