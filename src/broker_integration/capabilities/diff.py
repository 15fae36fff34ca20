"""What changed between two profiles of one broker, and the event that announces it.

A capability (or time in force, or granularity) *appears* when it becomes declared or verified and was
not before, and *disappears* in the opposite case; any other change of status (declared → verified, say)
is a mere *change*. Instruments appear and disappear only between two complete listings: a partial one
says nothing about what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from broker_integration.capabilities.profile import CapabilityProfile, CapabilityStatus, FindingMap
from broker_integration.events import Event
from broker_integration.models import UtcDatetime
from broker_integration.pipeline import BrokerCapability

__all__ = ["CapabilityChangedEvent", "ProfileDiff", "StatusChange"]


class StatusChange(BaseModel):
    """One finding whose status moved; ``kind`` is ``capability``, ``time_in_force`` or ``granularity``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str
    before: CapabilityStatus | None
    after: CapabilityStatus | None

    @property
    def appeared(self) -> bool:
        return (self.after is not None and self.after.available) and not (
            self.before is not None and self.before.available
        )

    @property
    def disappeared(self) -> bool:
        return (self.before is not None and self.before.available) and not (
            self.after is not None and self.after.available
        )

    def __str__(self) -> str:
        before = self.before.value if self.before else "absent"
        after = self.after.value if self.after else "absent"
        return f"{self.kind} {self.name}: {before} -> {after}"


def _changes(kind: str, before: FindingMap[Any], after: FindingMap[Any]) -> list[StatusChange]:
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    changes = []
    for key in keys:
        old, new = before.status(key), after.status(key)
        if old != new:
            changes.append(StatusChange(kind=kind, name=str(key), before=old, after=new))
    return changes


class ProfileDiff(BaseModel):
    """The differences from ``before`` to ``after`` (two profiles of one broker)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker_name: str
    before_at: UtcDatetime
    after_at: UtcDatetime
    changes: tuple[StatusChange, ...] = ()
    added_instruments: tuple[str, ...] = ()
    removed_instruments: tuple[str, ...] = ()
    changed_instruments: tuple[str, ...] = ()

    @classmethod
    def between(cls, before: CapabilityProfile, after: CapabilityProfile) -> ProfileDiff:
        if before.broker_name != after.broker_name:
            raise ValueError(f"cannot compare profiles of {before.broker_name!r} and {after.broker_name!r}")
        changes = [
            *_changes("capability", before.capabilities, after.capabilities),
            *_changes("time_in_force", before.time_in_force, after.time_in_force),
            *_changes("granularity", before.granularities, after.granularities),
        ]
        old, new = before.supported_instruments, after.supported_instruments
        both_complete = before.instruments_complete and after.instruments_complete
        return cls(
            broker_name=after.broker_name,
            before_at=before.discovered_at,
            after_at=after.discovered_at,
            changes=tuple(changes),
            added_instruments=tuple(s for s in new if s not in old) if both_complete else (),
            removed_instruments=tuple(s for s in old if s not in new) if both_complete else (),
            changed_instruments=tuple(s for s in new if s in old and old[s] != new[s]),
        )

    # ------------------------------------------------------------------ views

    def _capabilities(self, *, appeared: bool | None) -> tuple[BrokerCapability, ...]:
        picked = []
        for change in self.changes:
            if change.kind != "capability":
                continue
            if appeared is True and not change.appeared:
                continue
            if appeared is False and not change.disappeared:
                continue
            if appeared is None and (change.appeared or change.disappeared):
                continue
            picked.append(BrokerCapability(change.name))
        return tuple(picked)

    @property
    def added_capabilities(self) -> tuple[BrokerCapability, ...]:
        """Capabilities now declared or verified that were not before."""
        return self._capabilities(appeared=True)

    @property
    def removed_capabilities(self) -> tuple[BrokerCapability, ...]:
        """Capabilities that were declared or verified and are not any more."""
        return self._capabilities(appeared=False)

    @property
    def changed_capabilities(self) -> tuple[BrokerCapability, ...]:
        """Capabilities whose status changed without appearing or disappearing."""
        return self._capabilities(appeared=None)

    @property
    def appeared(self) -> tuple[str, ...]:
        """Everything that appeared, as ``kind name`` (``instrument EUR/USD`` for instruments)."""
        return tuple(f"{c.kind} {c.name}" for c in self.changes if c.appeared) + tuple(
            f"instrument {s}" for s in self.added_instruments
        )

    @property
    def disappeared(self) -> tuple[str, ...]:
        return tuple(f"{c.kind} {c.name}" for c in self.changes if c.disappeared) + tuple(
            f"instrument {s}" for s in self.removed_instruments
        )

    @property
    def is_material(self) -> bool:
        """Something appeared or disappeared (what the change event is for)."""
        return bool(self.appeared or self.disappeared)

    @property
    def has_changes(self) -> bool:
        return bool(
            self.changes or self.added_instruments or self.removed_instruments or self.changed_instruments
        )

    def __str__(self) -> str:
        if not self.has_changes:
            return f"{self.broker_name}: no changes"
        lines = [
            f"{self.broker_name}: {self.before_at.isoformat(timespec='seconds')} -> {self.after_at.isoformat(timespec='seconds')}"
        ]
        lines += [f"  {change}" for change in self.changes]
        lines += [f"  instrument {s}: added" for s in self.added_instruments]
        lines += [f"  instrument {s}: removed" for s in self.removed_instruments]
        lines += [f"  instrument {s}: metadata changed" for s in self.changed_instruments]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class CapabilityChangedEvent(Event):
    """A re-discovery found that a capability, time in force, granularity or instrument appeared or
    disappeared; published on the adapter's event bus."""

    broker_name: str
    adapter_id: str
    diff: ProfileDiff

    @property
    def appeared(self) -> tuple[str, ...]:
        return self.diff.appeared

    @property
    def disappeared(self) -> tuple[str, ...]:
        return self.diff.disappeared
