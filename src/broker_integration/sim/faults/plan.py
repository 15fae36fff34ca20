"""The fault plan: whether a venue's face should misbehave on a call, and how.

A face (the in-process paper adapter, an HTTP simulator) asks :meth:`FaultPlan.next_fault` once per call
before touching the engine. Faults scripted with :meth:`FaultPlan.inject` come first (a fault-injection
suite uses them to make the next ``place_order`` lose its response, say); otherwise the profile's random
rates decide, from a seeded generator, so a run with a given seed misbehaves the same way every time.
Only :attr:`FaultKind.RESPONSE_LOST` lets the request execute; the others fail before it reaches the
venue, so a faulted order was never placed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.rng import derive_key

__all__ = ["Fault", "FaultKind", "FaultPlan"]


class FaultKind(StrEnum):
    LATENCY_SPIKE = "latency_spike"  # the answer comes, but late
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503 before executing
    RATE_LIMITED = "rate_limited"  # 429 with retry-after, before executing
    TIMEOUT = "timeout"  # no answer; the request never reached the venue
    CONNECTION_RESET = "connection_reset"  # the connection dropped before the request was read
    RESPONSE_LOST = "response_lost"  # executed, but the answer never arrived

    @property
    def executes(self) -> bool:
        """Whether the request still runs against the engine when this fault occurs."""
        return self in (FaultKind.LATENCY_SPIKE, FaultKind.RESPONSE_LOST)


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour: its kind, extra delay before it shows, and a retry-after for 429s."""

    kind: FaultKind
    delay_s: float = 0.0
    retry_after_s: float | None = None
    message: str = ""


@dataclass(slots=True)
class _Scripted:
    fault: Fault
    operations: frozenset[str] | None
    remaining: int


class FaultPlan:
    """Decides call by call whether a face misbehaves: scripted faults first, then the profile's rates."""

    def __init__(self, profile: VenueProfile) -> None:
        self.profile = profile
        self.random_faults_enabled = True
        #: Faults dealt so far, by (operation, kind).
        self.dealt: Counter[tuple[str, FaultKind]] = Counter()
        self._scripted: list[_Scripted] = []
        self._fault_rng = random.Random(derive_key(profile.seed, "faults"))
        self._latency_rng = random.Random(derive_key(profile.seed, "latency"))

    def inject(self, fault: Fault, *, operations: Iterable[str] | None = None, count: int = 1) -> None:
        """Make the next ``count`` calls of ``operations`` (all operations if ``None``) suffer ``fault``."""
        if count < 1:
            raise ValueError("count must be at least 1")
        ops = frozenset(operations) if operations is not None else None
        self._scripted.append(_Scripted(fault, ops, count))

    def clear(self) -> None:
        """Drop every scripted fault that has not fired yet."""
        self._scripted.clear()

    @property
    def pending(self) -> int:
        """Scripted faults still to fire."""
        return sum(s.remaining for s in self._scripted)

    def next_fault(self, operation: str, *, mutating: bool) -> Fault | None:
        """The fault for this call of ``operation``, if any. ``mutating`` calls may lose their response."""
        fault = self._scripted_fault(operation)
        if fault is None and self.random_faults_enabled and self.profile.has_random_faults:
            fault = self._random_fault(mutating=mutating)
        if fault is not None:
            self.dealt[(operation, fault.kind)] += 1
        return fault

    def _scripted_fault(self, operation: str) -> Fault | None:
        for scripted in self._scripted:
            if scripted.operations is None or operation in scripted.operations:
                scripted.remaining -= 1
                if scripted.remaining == 0:
                    self._scripted.remove(scripted)
                return scripted.fault
        return None

    def latency_seconds(self) -> float:
        """One draw of the profile's normal response latency."""
        return self.profile.latency.sample_seconds(self._latency_rng)

    def _random_fault(self, *, mutating: bool) -> Fault | None:
        p = self.profile
        draw = self._fault_rng.random()
        table = (
            (p.error_rate, Fault(FaultKind.SERVICE_UNAVAILABLE, message="simulated outage")),
            (p.rate_limit_rate, Fault(FaultKind.RATE_LIMITED, retry_after_s=p.retry_after_s)),
            (p.timeout_rate, Fault(FaultKind.TIMEOUT)),
            (p.response_lost_rate if mutating else 0.0, Fault(FaultKind.RESPONSE_LOST)),
            (p.latency_spike_rate, Fault(FaultKind.LATENCY_SPIKE, delay_s=p.latency_spike_ms / 1_000)),
        )
        threshold = 0.0
        for rate, fault in table:
            threshold += rate
            if draw < threshold:
                return fault
        return None
