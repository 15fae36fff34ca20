"""Events the configuration manager publishes on the event bus.

Every field is secret-masked: changes carry masked document values, failures carry a
:class:`~broker_integration.config.errors.ConfigError` whose text never holds an input value.
"""

from __future__ import annotations

from dataclasses import dataclass

from broker_integration.config.errors import ConfigError
from broker_integration.config.snapshot import ConfigChange, ConfigSource
from broker_integration.events import Event

__all__ = ["ConfigChangedEvent", "ConfigFailedEvent", "ConfigReloadHeldEvent", "CredentialRotationEvent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChangedEvent(Event):
    """A new configuration version was applied (swapped in as a whole)."""

    manager_id: str
    scope: str
    version: int
    previous_version: int | None
    source: ConfigSource
    changes: tuple[ConfigChange, ...]
    rollback_of: int | None = None

    @property
    def changed_paths(self) -> tuple[str, ...]:
        """Dotted key paths that changed, e.g. ``oanda.settings.timeout_seconds``."""
        return tuple(change.path for change in self.changes)

    @property
    def brokers(self) -> frozenset[str]:
        """Names of the brokers whose configuration changed (added and removed included)."""
        return frozenset(path.split(".", 1)[0] for path in self.changed_paths if path != "environment")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigFailedEvent(Event):
    """A configuration was not applied; the previous one stays active."""

    manager_id: str
    scope: str
    source: ConfigSource
    error: ConfigError
    active_version: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigReloadHeldEvent(Event):
    """A watched file's reload was held back: it would drop the key paths in ``dropped``, which the active
    configuration sets (a writer may still be adding them). It is re-checked after ``recheck_after_s`` and
    applied then if the files are unchanged; ``active_version`` stays active meanwhile."""

    manager_id: str
    scope: str
    root: str
    dropped: tuple[str, ...]
    active_version: int | None
    recheck_after_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialRotationEvent(Event):
    """A bound adapter was given new credentials (``success``) or kept its old ones (``not success``)."""

    manager_id: str
    broker_name: str
    adapter_id: str
    version: int | None
    success: bool
    message: str = ""
