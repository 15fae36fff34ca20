"""The applied configuration as one immutable value, its secret-masked document, content hash and diff.

A :class:`ConfigSnapshot` is swapped in as a whole, so a reader that takes one snapshot sees one version.
Its *document* is what versions store and what diffs compare: every broker's ``to_dict()`` with each secret
replaced by its *source* when that source holds no secret itself (``${VAR}`` or ``ENC[...]``) and by
``**********`` otherwise, plus a keyed fingerprint per secret so a changed secret still changes the content
hash.

The fingerprint is an HMAC-SHA256 under a random key of the store's own (see
:meth:`~broker_integration.config.versions.StoreVersionLog.fingerprint_key`), so a fingerprint, or a content
hash over it, cannot be used to confirm a guessed secret by anyone who cannot read that key. Versions
recorded before keyed fingerprints carry the first 8 hex digits of a plain SHA-256 instead; they still load
and roll back, but nothing printed shows such a fingerprint (see :func:`printable`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.config.interpolation import is_pure_reference
from broker_integration.config.secrets import is_encrypted
from broker_integration.errors import mask_secrets

__all__ = [
    "MASK",
    "ChangeKind",
    "ConfigChange",
    "ConfigSnapshot",
    "ConfigSource",
    "build_document",
    "content_hash",
    "diff_documents",
    "empty_document",
    "fingerprint",
    "has_unkeyed_fingerprints",
    "legacy_fingerprint",
    "printable",
    "secret_leaves",
]

MASK = "**********"

#: How a keyed fingerprint starts; an unkeyed one (recorded by earlier versions) is 8 bare hex digits.
KEYED_PREFIX = "hmac:"


class ConfigSource(StrEnum):
    """Where an applied configuration came from."""

    CODE = "code"
    FILE = "file"
    RELOAD = "reload"
    ROLLBACK = "rollback"


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One changed key path; ``old`` and ``new`` are secret-masked document values."""

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind.value, "old": self.old, "new": self.new}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfigChange:
        return cls(str(data["path"]), ChangeKind(data["kind"]), data.get("old"), data.get("new"))


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    """Every broker's configuration at one version. Immutable; take one per operation."""

    version: int | None
    environment: str
    configs: Mapping[str, BrokerConfiguration] = field(default_factory=lambda: MappingProxyType({}))
    source: ConfigSource | None = None
    applied_at: datetime | None = None
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    document: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    content_hash: str = ""
    secret_sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def get(self, name: str) -> BrokerConfiguration | None:
        return self.configs.get(name)

    def names(self) -> list[str]:
        return sorted(self.configs)


def fingerprint(value: Any, key: bytes) -> str:
    """``hmac:`` and 16 hex digits of the HMAC-SHA256 of a secret under ``key`` (the store's).

    Tells two secrets apart, so a changed secret changes the content hash, without letting anyone who lacks
    the key test a guess against it (a plain hash would: hash the guess and compare).
    """
    if not key:
        raise ValueError("a secret's fingerprint needs a key")
    digest = hmac.new(key, _canonical(value).encode(), hashlib.sha256).hexdigest()
    return f"{KEYED_PREFIX}{digest[:16]}"


def legacy_fingerprint(value: Any) -> str:
    """The unkeyed fingerprint versions recorded before keyed ones carry (8 hex digits of a SHA-256).

    Never written any more: a process computes it only in memory, to recognise a plaintext secret it holds
    when rolling back to such a version.
    """
    return hashlib.sha256(_canonical(value).encode()).hexdigest()[:8]


def _is_keyed(print_: str) -> bool:
    return print_.startswith(KEYED_PREFIX)


def has_unkeyed_fingerprints(document: Mapping[str, Any]) -> bool:
    """Whether a stored document holds a fingerprint of the old, unkeyed kind (a recorded old version)."""
    return any(not _is_keyed(str(p)) for p in (document.get("secrets") or {}).values())


def printable(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` for showing: each secret's fingerprint replaced by the mask (the paths stay listed)."""
    shown = dict(document)
    shown["secrets"] = {path: MASK for path in document.get("secrets") or {}}
    return shown


def content_hash(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(document).encode()).hexdigest()


def secret_leaves(config: BrokerConfiguration) -> dict[str, Any]:
    """``{"credentials.api_key": plaintext, "options.token": value, ...}`` for every secret that is set."""
    leaves: dict[str, Any] = {}
    for path in BrokerConfiguration.secret_paths():
        value: Any = config
        for part in path:
            value = getattr(value, part)
        if value is not None:
            leaves[".".join(path)] = value.get_secret_value()
    for path, value in _secret_options(config.options, ("options",)):
        leaves[".".join(path)] = value
    return leaves


def is_secret_source(raw: str) -> bool:
    """Whether a secret's text in a file may be stored: a bare reference or ciphertext, nothing more."""
    return is_pure_reference(raw) or is_encrypted(raw)


def empty_document(environment: str | None) -> dict[str, Any]:
    """The document of no brokers."""
    return {"environment": environment, "brokers": {}, "secrets": {}}


def build_document(
    configs: Mapping[str, BrokerConfiguration],
    secret_sources: Mapping[str, str],
    environment: str,
    *,
    fingerprint_key: bytes,
) -> dict[str, Any]:
    """The storable, secret-free form of ``configs`` (see the module docstring)."""
    brokers: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for name in sorted(configs):
        config = configs[name]
        data = config.to_dict()
        for rel, plain in secret_leaves(config).items():
            full = f"{name}.{rel}"
            secrets[full] = fingerprint(plain, fingerprint_key)
            raw = secret_sources.get(full)
            _set_path(data, rel.split("."), raw if raw is not None and is_secret_source(raw) else MASK)
        brokers[name] = data
    return {"environment": environment, "brokers": brokers, "secrets": secrets}


def diff_documents(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[ConfigChange, ...]:
    """Changes from ``old`` (``None``: nothing) to ``new``; secrets compare by source and fingerprint.

    An unkeyed fingerprint (an old version) cannot be compared with a keyed one: such a secret counts as
    changed only when its source changed.
    """
    old = old or empty_document(new.get("environment"))
    changes: list[ConfigChange] = []
    if old.get("environment") != new.get("environment"):
        changes.append(
            ConfigChange("environment", ChangeKind.CHANGED, old.get("environment"), new.get("environment"))
        )
    secrets = (dict(old.get("secrets") or {}), dict(new.get("secrets") or {}))
    changes.extend(_diff(old.get("brokers") or {}, new.get("brokers") or {}, "", secrets))
    return tuple(changes)


def _diff(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    prefix: str,
    secrets: tuple[dict[str, str], dict[str, str]],
) -> Iterator[ConfigChange]:
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}.{key}" if prefix else key
        if key not in new:
            yield ConfigChange(path, ChangeKind.REMOVED, old=old[key])
        elif key not in old:
            yield ConfigChange(path, ChangeKind.ADDED, new=new[key])
        elif isinstance(old[key], Mapping) and isinstance(new[key], Mapping):
            yield from _diff(old[key], new[key], path, secrets)
        elif old[key] != new[key] or _secret_changed(secrets[0].get(path), secrets[1].get(path)):
            yield ConfigChange(path, ChangeKind.CHANGED, old=old[key], new=new[key])


def _secret_changed(old: str | None, new: str | None) -> bool:
    if old is not None and new is not None and _is_keyed(old) != _is_keyed(new):
        return False
    return old != new


def _secret_options(
    options: Mapping[str, Any], prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Option values under secret-looking keys, by the same test error contexts use."""
    for key, value in options.items():
        if _is_secret_key(key):
            yield (*prefix, key), value
        elif isinstance(value, Mapping):
            yield from _secret_options(value, (*prefix, key))


def _is_secret_key(key: str) -> bool:
    probe = object()
    return mask_secrets({key: probe})[key] is not probe


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        data = data[part]
    data[parts[-1]] = value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
