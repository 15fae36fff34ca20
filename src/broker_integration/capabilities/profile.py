"""``CapabilityProfile``: what discovery learned about one broker, with the evidence for each finding.

A profile holds one :class:`CapabilityFinding` (status, evidence, which test established it) per
capability, per time in force and per candle granularity, the instruments the broker lists with their
sizes and ticks, the limits in force, the measured latency of each probe and the errors met. It is
immutable, exports to JSON and reads back from it (the cache stores it that way), and prints as text a
person can read: ``print(profile.capabilities)`` gives one aligned line per capability.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel

from broker_integration.errors import StandardErrorCode
from broker_integration.models import Granularity, Instrument, OrderType, TimeInForce, UtcDatetime
from broker_integration.pipeline import ORDER_TYPE_CAPABILITY, BrokerCapability

if TYPE_CHECKING:
    from broker_integration.pipeline import BrokerAdapter
    from broker_integration.pipeline.stages.profile import PreTradeGuard

__all__ = [
    "CapabilityFinding",
    "CapabilityMap",
    "CapabilityProfile",
    "CapabilityStatus",
    "CapabilityTestType",
    "FindingMap",
    "GranularityMap",
    "ProfileError",
    "ProfileLimits",
    "TimeInForceMap",
]


class CapabilityTestType(StrEnum):
    """How deeply discovery looks. Each level includes the ones before it."""

    STATIC = "static"  # the adapter's declaration and configuration; no broker calls
    DYNAMIC = "dynamic"  # plus read-only probes (accounts, instruments, prices, candles, a streamed tick)
    SYNTHETIC = "synthetic"  # plus test orders that cannot fill, each cancelled at once

    @property
    def depth(self) -> int:
        """0, 1 or 2: a profile of greater depth answers every question a shallower one does."""
        return _DEPTH[self]


_DEPTH = {CapabilityTestType.STATIC: 0, CapabilityTestType.DYNAMIC: 1, CapabilityTestType.SYNTHETIC: 2}


class CapabilityStatus(StrEnum):
    """What discovery concluded about one capability.

    ``UNKNOWN`` is a capability the adapter neither declares nor excludes (an adapter that declares no
    capability set, say) and that no test settled. Only ``FAILED`` and ``UNSUPPORTED`` make pre-trade
    checks refuse an order.
    """

    VERIFIED = "verified"  # a probe or a test order showed it working
    DECLARED = "declared"  # the adapter claims it; not tested, or the test was inconclusive
    UNKNOWN = "unknown"  # neither claimed nor excluded, and untested
    FAILED = "failed"  # declared, but its probe or test order failed
    UNSUPPORTED = "unsupported"  # not implemented, excluded by the declaration, or refused by the broker

    @property
    def available(self) -> bool:
        """Claimed or shown to work: what a profile diff counts as present."""
        return self in (CapabilityStatus.VERIFIED, CapabilityStatus.DECLARED)

    @property
    def refused(self) -> bool:
        """Known not to work: pre-trade checks refuse orders that need it."""
        return self in (CapabilityStatus.FAILED, CapabilityStatus.UNSUPPORTED)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CapabilityFinding(_Frozen):
    """One conclusion and why: ``evidence`` is a sentence a person can check."""

    status: CapabilityStatus
    evidence: str
    source: CapabilityTestType = CapabilityTestType.STATIC
    latency_ms: Annotated[float, Field(ge=0)] | None = None
    error_code: StandardErrorCode | None = None

    def __str__(self) -> str:
        return f"{self.status.value}: {self.evidence}"


K = TypeVar("K", bound=StrEnum)


class FindingMap(RootModel[dict[K, CapabilityFinding]], Generic[K]):
    """Findings keyed by capability (or time in force, or granularity); a read-only mapping.

    ``str()`` is an aligned table, one line per key, so printing it reads naturally.
    """

    model_config = ConfigDict(frozen=True)

    def __getitem__(self, key: K | str) -> CapabilityFinding:
        return self.root[key]  # type: ignore[index]  # StrEnum keys hash and compare as their value

    def __iter__(self) -> Iterator[K]:  # type: ignore[override]  # a mapping iterates over its keys
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def __contains__(self, key: object) -> bool:
        return key in self.root

    def get(self, key: K | str) -> CapabilityFinding | None:
        return self.root.get(key)  # type: ignore[arg-type]

    def keys(self) -> KeysView[K]:
        return self.root.keys()

    def values(self) -> ValuesView[CapabilityFinding]:
        return self.root.values()

    def items(self) -> ItemsView[K, CapabilityFinding]:
        return self.root.items()

    def status(self, key: K | str) -> CapabilityStatus | None:
        """The status of ``key``, or ``None`` when the map has no finding for it."""
        finding = self.get(key)
        return None if finding is None else finding.status

    def with_status(self, *statuses: CapabilityStatus) -> tuple[K, ...]:
        """The keys whose finding has one of ``statuses``, in the map's order."""
        return tuple(key for key, finding in self.root.items() if finding.status in statuses)

    def counts(self) -> dict[CapabilityStatus, int]:
        """How many findings have each status (only statuses that occur)."""
        counted: dict[CapabilityStatus, int] = {}
        for finding in self.root.values():
            counted[finding.status] = counted.get(finding.status, 0) + 1
        return counted

    def __str__(self) -> str:
        if not self.root:
            return "(no findings)"
        width = max(len(str(key)) for key in self.root)
        status_width = max(len(s.value) for s in CapabilityStatus)
        return "\n".join(
            f"{key!s:<{width}}  {finding.status.value:<{status_width}}  {finding.evidence}"
            for key, finding in self.root.items()
        )

    def __repr__(self) -> str:
        counted = ", ".join(f"{status.value}={n}" for status, n in self.counts().items())
        return f"{type(self).__name__}({counted})"


CapabilityMap = FindingMap[BrokerCapability]
TimeInForceMap = FindingMap[TimeInForce]
GranularityMap = FindingMap[Granularity]


class ProfileLimits(_Frozen):
    """Limits that apply to this broker, and where each figure comes from.

    ``requests_per_second`` / ``max_orders_per_second`` are what this library enforces client-side
    (``None``: no limit, as for an adapter without configuration); ``published_*`` are the limits the
    adapter says the broker publishes. ``min_quantity`` is each listed instrument's minimum order size.
    """

    requests_per_second: float | None = None
    max_orders_per_second: float | None = None
    published_requests_per_second: float | None = None
    published_max_orders_per_second: float | None = None
    timeout_seconds: float | None = None
    rate_source: str = ""
    min_quantity: dict[str, Decimal] = Field(default_factory=dict)


class ProfileError(_Frozen):
    """One error met during discovery: the probe that met it and the standard code and message."""

    probe: str
    error_code: StandardErrorCode
    message: str

    def __str__(self) -> str:
        return f"{self.probe}: {self.error_code.value}: {self.message}"


class CapabilityProfile(_Frozen):
    """What one broker can do, as discovered at ``discovered_at`` by a ``test_type`` discovery.

    ``supported_instruments`` maps canonical symbols to the broker's metadata for them;
    ``instruments_complete`` says the map is the broker's full listing (only then do pre-trade checks
    refuse an instrument that is not in it). ``latencies`` are milliseconds per probe, measured with the
    adapter's monotonic clock around each call.
    """

    broker_name: str
    adapter_class: str
    test_type: CapabilityTestType
    discovered_at: UtcDatetime
    duration_ms: Annotated[float, Field(ge=0)]
    environment: str | None = None
    capabilities: CapabilityMap
    time_in_force: TimeInForceMap
    granularities: GranularityMap
    supported_instruments: dict[str, Instrument] = Field(default_factory=dict)
    instruments_complete: bool = False
    probe_instrument: str | None = None
    limits: ProfileLimits = Field(default_factory=ProfileLimits)
    latencies: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    errors: tuple[ProfileError, ...] = ()

    # ------------------------------------------------------------------ questions

    def status(self, capability: BrokerCapability | str) -> CapabilityStatus | None:
        return self.capabilities.status(capability)

    def supports(self, capability: BrokerCapability | str) -> bool:
        """Declared or verified (not failed, unsupported or unknown)."""
        status = self.capabilities.status(capability)
        return status is not None and status.available

    @property
    def order_types(self) -> tuple[OrderType, ...]:
        """Order types whose capability is declared or verified."""
        return tuple(kind for kind, cap in ORDER_TYPE_CAPABILITY.items() if self.supports(cap))

    @property
    def supported_time_in_force(self) -> tuple[TimeInForce, ...]:
        return self.time_in_force.with_status(CapabilityStatus.VERIFIED, CapabilityStatus.DECLARED)

    @property
    def supported_granularities(self) -> tuple[Granularity, ...]:
        return self.granularities.with_status(CapabilityStatus.VERIFIED, CapabilityStatus.DECLARED)

    @property
    def verified(self) -> tuple[BrokerCapability, ...]:
        return self.capabilities.with_status(CapabilityStatus.VERIFIED)

    @property
    def failed(self) -> tuple[BrokerCapability, ...]:
        return self.capabilities.with_status(CapabilityStatus.FAILED)

    def instrument(self, symbol: str) -> Instrument | None:
        """The broker's metadata for ``symbol`` (canonical spelling), if the profile lists it."""
        return self.supported_instruments.get(symbol)

    # ------------------------------------------------------------------ export

    def to_json(self, *, indent: int | None = None) -> str:
        """The profile as JSON (decimals as strings, times as ISO 8601 UTC); :meth:`from_json` reads it."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> CapabilityProfile:
        return cls.model_validate_json(text)

    def install_pre_trade_checks(self, adapter: BrokerAdapter) -> PreTradeGuard:
        """Make ``adapter``'s call pipeline refuse, before sending, orders this profile says it cannot take."""
        from broker_integration.pipeline import attach

        guard = attach(adapter, profile=self)
        assert guard is not None
        return guard

    def summary(self) -> str:
        """A few lines: who, when, how, and how many findings of each status."""
        counted = ", ".join(f"{n} {status.value}" for status, n in self.capabilities.counts().items())
        lines = [
            f"{self.broker_name} ({self.adapter_class}), {self.test_type.value} discovery at "
            f"{self.discovered_at.isoformat(timespec='seconds')} in {self.duration_ms:.1f} ms",
            f"capabilities: {counted}",
            f"order types: {', '.join(k.value for k in self.order_types) or 'none'}",
            f"time in force: {', '.join(t.value for t in self.supported_time_in_force) or 'none'}",
            f"granularities: {', '.join(g.value for g in self.supported_granularities) or 'none'}",
            f"instruments: {len(self.supported_instruments)}"
            + (" (complete listing)" if self.instruments_complete else ""),
        ]
        if self.errors:
            lines.append(f"errors: {len(self.errors)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
