"""Capability discovery of every demo venue at the three depths: static, dynamic and synthetic.

Each venue is discovered at each depth in turn (a synthetic discovery places test orders that cannot fill
and cancels them), venues in parallel. Problems a broker has during discovery (an outage at the flaky
venue, say) are part of the profile and shown; discovery itself raising is unexpected and stops the demo.
Afterwards each venue gets pre-trade checks from its deepest profile, so the order flow that follows is
checked against what discovery found, as an application would do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from broker_integration.capabilities import CapabilityDiscoveryEngine
from broker_integration.capabilities.options import DiscoveryOptions
from broker_integration.capabilities.profile import CapabilityProfile, CapabilityTestType
from broker_integration.demo.options import DemoError
from broker_integration.pipeline import BrokerAdapter
from broker_integration.store import Store

__all__ = ["DISCOVERY_DEPTHS", "DiscoveryRun", "discover_venues"]

DISCOVERY_DEPTHS = (CapabilityTestType.STATIC, CapabilityTestType.DYNAMIC, CapabilityTestType.SYNTHETIC)


@dataclass(frozen=True)
class DiscoveryRun:
    """One discovery: the venue, the depth, and the profile it produced."""

    broker: str
    test_type: CapabilityTestType
    profile: CapabilityProfile


async def _discover(
    engine: CapabilityDiscoveryEngine, name: str, adapter: BrokerAdapter
) -> list[DiscoveryRun]:
    runs = []
    for depth in DISCOVERY_DEPTHS:
        try:
            profile = await engine.discover_capabilities(adapter, depth)
        except Exception as exc:
            raise DemoError(
                f"capability discovery ({depth.value}) of {name} failed unexpectedly: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        runs.append(DiscoveryRun(name, depth, profile))
    return runs


async def discover_venues(
    adapters: Mapping[str, BrokerAdapter], store: Store, instruments: Sequence[str]
) -> list[DiscoveryRun]:
    """Every venue at every depth, venues in parallel, probing ``instruments`` first; then install each
    venue's pre-trade checks. Runs are listed by venue, then depth."""
    options = DiscoveryOptions(probe_instruments=tuple(instruments))
    async with CapabilityDiscoveryEngine(options=options, store=store) as engine:
        try:
            async with asyncio.TaskGroup() as group:  # one failure cancels the other venues' discoveries
                tasks = [group.create_task(_discover(engine, name, a)) for name, a in adapters.items()]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        for adapter in adapters.values():
            engine.enforce(adapter)
    return [run for task in tasks for run in task.result()]
