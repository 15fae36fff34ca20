"""The seed's module name for capability discovery: the public names of :mod:`broker_integration.capabilities`."""

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
