"""The findings of one discovery while it runs, and the rules that turn a probe's outcome into a status.

Static analysis fills the state first; probes and test orders then confirm or overturn each finding:

* a probe that worked makes the finding VERIFIED;
* a conclusive failure makes a declared capability FAILED and an undeclared one UNSUPPORTED;
* an inconclusive failure (the broker was unreachable, slow, rate-limiting, closed, or refused the
  credentials) leaves the status as it was and says so in the evidence: it tells nothing about the
  capability, and pre-trade checks must not refuse orders because a broker had a bad minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from broker_integration.capabilities.options import DiscoveryOptions
from broker_integration.capabilities.profile import (
    CapabilityFinding,
    CapabilityMap,
    CapabilityProfile,
    CapabilityStatus,
    CapabilityTestType,
    GranularityMap,
    ProfileError,
    ProfileLimits,
    TimeInForceMap,
)
from broker_integration.errors import (
    TRANSIENT_CODES,
    BrokerError,
    StandardErrorCode,
    StandardizedError,
    classify_exception,
    make_error,
)
from broker_integration.models import Granularity, Instrument, PriceTick, TimeInForce
from broker_integration.pipeline import BrokerAdapter, BrokerCapability

__all__ = ["INCONCLUSIVE_CODES", "DiscoveryState", "ProbeOutcome", "is_conclusive"]

#: Failures that say nothing about whether a capability works.
INCONCLUSIVE_CODES: frozenset[StandardErrorCode] = TRANSIENT_CODES | {
    StandardErrorCode.AUTHENTICATION_FAILED,
    StandardErrorCode.MARKET_CLOSED,
    StandardErrorCode.INSUFFICIENT_FUNDS,
}

T = TypeVar("T")
K = TypeVar("K", bound=StrEnum)


def is_conclusive(error: StandardizedError) -> bool:
    """Whether ``error`` shows the capability does not work (rather than the broker having a problem)."""
    return error.error_code not in INCONCLUSIVE_CODES


@dataclass(frozen=True, slots=True)
class ProbeOutcome(Generic[T]):
    """One timed call: its value or its error, and how long it took."""

    value: T | None
    error: StandardizedError | None
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class DiscoveryState:
    """Everything one discovery has found so far; :meth:`build` freezes it into a profile."""

    adapter: BrokerAdapter
    test_type: CapabilityTestType
    options: DiscoveryOptions
    started_at: datetime
    started_ns: int
    capabilities: dict[BrokerCapability, CapabilityFinding] = field(default_factory=dict)
    time_in_force: dict[TimeInForce, CapabilityFinding] = field(default_factory=dict)
    granularities: dict[Granularity, CapabilityFinding] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    instruments_complete: bool = False
    limits: ProfileLimits = field(default_factory=ProfileLimits)
    latencies: dict[str, float] = field(default_factory=dict)
    errors: list[ProfileError] = field(default_factory=list)
    probe_instrument: str | None = None
    quote: PriceTick | None = None

    @property
    def broker_name(self) -> str:
        return self.adapter.name

    # ------------------------------------------------------------------ timed calls

    async def probe(
        self,
        name: str,
        call: Callable[[], Awaitable[T]],
        *,
        timeout: float | None = None,
        quiet: frozenset[StandardErrorCode] = frozenset(),
    ) -> ProbeOutcome[T]:
        """Run ``call`` under the probe timeout, time it, and record its latency and any error as ``name``.

        Every failure, including an adapter bug such as a ``TypeError``, becomes a standard error: a
        probe never crashes discovery. Cancellation is not caught. Errors with a ``quiet`` code are the
        answer the caller expects and are not added to the profile's errors.
        """
        clock = self.adapter.clock
        start = clock.monotonic_ns()
        value: T | None = None
        error: StandardizedError | None = None
        try:
            async with asyncio.timeout(timeout if timeout is not None else self.options.probe_timeout):
                value = await call()
        except BrokerError as exc:
            error = exc.error
        except Exception as exc:
            error = classify_exception(exc, broker_name=self.broker_name, operation=name)
        latency = max(0.0, (clock.monotonic_ns() - start) / 1e6)
        self.latencies[name] = latency
        if error is not None and error.error_code not in quiet:
            self.note_error(name, error)
        return ProbeOutcome(value, error, latency)

    def note_error(self, probe: str, error: StandardizedError) -> None:
        self.errors.append(ProfileError(probe=probe, error_code=error.error_code, message=error.message))

    def wrong_type(self, operation: str, value: object, expected: str) -> StandardizedError:
        """An adapter that answers with the wrong type has a bug: record it as an UNKNOWN error (conclusive)."""
        error = make_error(
            StandardErrorCode.UNKNOWN,
            f"{operation} returned {type(value).__name__}, not {expected}",
            broker_name=self.broker_name,
        )
        self.note_error(operation, error)
        return error

    def note_problem(self, probe: str, code: StandardErrorCode, message: str) -> None:
        self.errors.append(ProfileError(probe=probe, error_code=code, message=message))

    # ------------------------------------------------------------------ verdicts

    def table_for(self, key: BrokerCapability | TimeInForce | Granularity) -> dict[Any, CapabilityFinding]:
        """The findings table ``key`` belongs in."""
        if isinstance(key, BrokerCapability):
            return self.capabilities
        if isinstance(key, TimeInForce):
            return self.time_in_force
        return self.granularities

    def verify(
        self, table: dict[K, CapabilityFinding], key: K, evidence: str, latency_ms: float | None = None
    ) -> None:
        """Record that ``key`` works; note when the adapter had not declared it."""
        before = table.get(key)
        undeclared = before is not None and before.status in (
            CapabilityStatus.UNKNOWN,
            CapabilityStatus.UNSUPPORTED,
        )
        if undeclared and table is self.capabilities:  # adapters declare capabilities, not granularities
            evidence += " (not declared by the adapter)"
        table[key] = CapabilityFinding(
            status=CapabilityStatus.VERIFIED, evidence=evidence, source=self.test_type, latency_ms=latency_ms
        )

    def refute(
        self,
        table: dict[K, CapabilityFinding],
        key: K,
        error: StandardizedError,
        what: str,
        latency_ms: float | None = None,
    ) -> None:
        """Record a failed probe of ``key``: conclusive failures overturn it, inconclusive ones are noted."""
        before = table.get(key)
        detail = f"{what}: {error.error_code.value}: {error.message}"
        if not is_conclusive(error):
            self.inconclusive(table, key, detail)
            return
        if before is not None and before.status is CapabilityStatus.VERIFIED:
            # It has worked once; a later failure is noted, not taken as proof that it cannot work.
            table[key] = before.model_copy(update={"evidence": f"{before.evidence}; later {detail}"})
            return
        declared = before is not None and before.status is CapabilityStatus.DECLARED
        table[key] = CapabilityFinding(
            status=CapabilityStatus.FAILED if declared else CapabilityStatus.UNSUPPORTED,
            evidence=f"declared, but {detail}" if declared else detail,
            source=self.test_type,
            latency_ms=latency_ms,
            error_code=error.error_code,
        )

    def reject(self, table: dict[K, CapabilityFinding], key: K, reason: str, code: StandardErrorCode) -> None:
        """Record a conclusive failure established by our own check (not a broker error)."""
        self.refute(table, key, make_error(code, reason, broker_name=self.broker_name), "the test showed")

    def inconclusive(self, table: dict[K, CapabilityFinding], key: K, detail: str) -> None:
        """Keep the status of ``key``; add why the test could not settle it."""
        before = table.get(key)
        if before is None:
            table[key] = CapabilityFinding(
                status=CapabilityStatus.UNKNOWN, evidence=f"inconclusive: {detail}"
            )
            return
        table[key] = before.model_copy(update={"evidence": f"{before.evidence}; inconclusive: {detail}"})

    def annotate(self, table: dict[K, CapabilityFinding], key: K, note: str) -> None:
        """Add ``note`` to the evidence of an untested finding (why it was not tested)."""
        before = table.get(key)
        if before is not None and before.status is not CapabilityStatus.VERIFIED:
            table[key] = before.model_copy(update={"evidence": f"{before.evidence}; {note}"})

    def open_to_test(self, table: dict[K, CapabilityFinding], key: K) -> bool:
        """Whether a test of ``key`` makes sense: declared or unknown, and not already settled."""
        finding = table.get(key)
        return finding is not None and finding.status in (CapabilityStatus.DECLARED, CapabilityStatus.UNKNOWN)

    def refused(self, table: dict[K, CapabilityFinding], key: K) -> bool:
        finding = table.get(key)
        return finding is not None and finding.status.refused

    # ------------------------------------------------------------------ result

    def build(self) -> CapabilityProfile:
        adapter = self.adapter
        cls = type(adapter)
        credentials = adapter.credentials
        limits = self.limits.model_copy(
            update={"min_quantity": {symbol: i.min_quantity for symbol, i in self.instruments.items()}}
        )
        return CapabilityProfile(
            broker_name=adapter.name,
            adapter_class=f"{cls.__module__}.{cls.__qualname__}",
            test_type=self.test_type,
            discovered_at=self.started_at,
            duration_ms=max(0.0, (adapter.clock.monotonic_ns() - self.started_ns) / 1e6),
            environment=None if credentials is None else credentials.environment.value,
            capabilities=CapabilityMap(self.capabilities),
            time_in_force=TimeInForceMap(self.time_in_force),
            granularities=GranularityMap(self.granularities),
            supported_instruments=dict(self.instruments),
            instruments_complete=self.instruments_complete,
            probe_instrument=self.probe_instrument,
            limits=limits,
            latencies=dict(self.latencies),
            errors=tuple(self.errors),
        )
