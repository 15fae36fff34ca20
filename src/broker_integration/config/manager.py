"""``ConfigManager``: the applied broker configurations, how they change, and who hears about it.

Every change (from code, a file, a reload or a rollback) goes through one path: build the candidate set
of configurations, validate it, refuse changes to fields that are fixed while running, record it as a
version, then swap it in as one immutable :class:`ConfigSnapshot` and publish a
:class:`ConfigChangedEvent`. A change that fails anywhere leaves the previous snapshot in place and
publishes a :class:`ConfigFailedEvent`. Changes are serialized by one lock. The async methods take it in a
worker thread, so parsing, validation and the store write never block the event loop; the seed's sync
methods do the same work in their caller's thread. Readers never wait: :meth:`ConfigManager.get_configuration`
reads one reference.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr, ValidationError

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.config.errors import ConfigError, ConfigIssue
from broker_integration.config.events import ConfigChangedEvent, ConfigFailedEvent, ConfigReloadHeldEvent
from broker_integration.config.loader import load_sources, read_sources, resolve_environment, restore_document
from broker_integration.config.parsing import DeploymentEnvironment
from broker_integration.config.policy import CODE_ORIGIN, ReloadHeld, check_fixed_fields, dropped_paths
from broker_integration.config.secrets import KeyRing
from broker_integration.config.snapshot import (
    ConfigChange,
    ConfigSnapshot,
    ConfigSource,
    build_document,
    content_hash,
    diff_documents,
    empty_document,
    fingerprint,
    legacy_fingerprint,
    secret_leaves,
)
from broker_integration.config.versions import (
    ConfigVersion,
    MemoryVersionLog,
    NewVersion,
    StoreVersionLog,
    VersionLog,
    run_blocking,
)
from broker_integration.events import EventBus, Subscription, get_event_bus
from broker_integration.log import get_logger, register_secret

if TYPE_CHECKING:
    from broker_integration.config.rotation import AdapterBinding
    from broker_integration.config.watcher import ConfigWatcher, ReloadSettings
    from broker_integration.pipeline import BrokerAdapter

__all__ = ["ConfigManager", "get_global_config_manager"]

_log = get_logger("broker_integration.config")

_SECRET_CACHE_SIZE = 512  # entries: each held secret is found under two fingerprints
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Candidate:
    configs: dict[str, BrokerConfiguration]
    origins: dict[str, str]
    secret_sources: dict[str, str]


_Build = Callable[[ConfigSnapshot], _Candidate]
_Guard = Callable[[ConfigSnapshot, _Candidate], None]
_Outcome = tuple[ConfigSnapshot, ConfigChangedEvent | None]


class ConfigManager:
    """The broker configurations a process runs with, loaded from code and files, versioned and watched.

    ``environment`` picks the section of environment-specific files (default:
    ``$BROKER_INTEGRATION_ENV``, else development). Versions go to the store at ``store_url`` (default:
    the library's store) under ``scope``, or stay in memory with ``persist=False``. ``keys`` decrypt
    ``ENC[...]`` values (default: from the environment, looked up when first needed). ``env`` replaces
    ``os.environ`` for ``${VAR}`` references.
    """

    def __init__(
        self,
        *,
        environment: DeploymentEnvironment | str | None = None,
        store_url: str | None = None,
        persist: bool = True,
        scope: str = "default",
        keys: KeyRing | None = None,
        env: Mapping[str, str] | None = None,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._env = env
        self._environment = resolve_environment(
            environment.value if isinstance(environment, DeploymentEnvironment) else environment, self.env
        )
        self._scope = scope
        self._keys = keys
        self._log: VersionLog = StoreVersionLog(store_url, scope) if persist else MemoryVersionLog(scope)
        self._event_bus = event_bus
        self._clock = clock or SYSTEM_CLOCK
        self._lock = threading.Lock()
        self._roots: dict[Path, None] = {}
        self._secrets: OrderedDict[str, SecretStr] = OrderedDict()
        self._fingerprint_key: bytes | None = None
        self._watchers: list[ConfigWatcher] = []
        self._bindings: list[AdapterBinding] = []
        empty = empty_document(self._environment.value)
        self._snapshot = ConfigSnapshot(
            version=None,
            environment=self._environment.value,
            document=empty,
            content_hash=content_hash(empty),
        )

    # ------------------------------------------------------------------ properties

    @property
    def env(self) -> Mapping[str, str]:
        """The variables ``${VAR}`` references resolve against."""
        return os.environ if self._env is None else self._env

    @property
    def environment(self) -> DeploymentEnvironment:
        return self._environment

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def manager_id(self) -> str:
        """Tells this manager's events apart from another's on a shared bus."""
        return f"{self._scope}@{id(self):x}"

    @property
    def event_bus(self) -> EventBus:
        return self._event_bus or get_event_bus()

    @property
    def version_log(self) -> VersionLog:
        return self._log

    @property
    def current(self) -> ConfigSnapshot:
        """The applied configuration: one immutable snapshot. Take it once per operation."""
        return self._snapshot

    @property
    def version(self) -> int | None:
        """The applied version number (``None`` before anything was applied)."""
        return self._snapshot.version

    @property
    def roots(self) -> tuple[Path, ...]:
        """Files and folders loaded so far (what :meth:`reload` re-reads)."""
        return tuple(self._roots)

    # ------------------------------------------------------------------ the seed's API

    def get_configuration(self, name: str) -> BrokerConfiguration | None:
        """The applied configuration of broker ``name``, or ``None``."""
        return self._snapshot.configs.get(name)

    def list_configurations(self) -> list[str]:
        """Names of the configured brokers, sorted."""
        return sorted(self._snapshot.configs)

    def get_all_configurations(self) -> dict[str, BrokerConfiguration]:
        return dict(self._snapshot.configs)

    def set_configuration(
        self, name: str, config: BrokerConfiguration | Mapping[str, Any], *, force: bool = False
    ) -> ConfigSnapshot:
        """Apply ``config`` for broker ``name`` as a new version.

        ``force`` allows changing fields that are fixed while running (account, live/practice). Blocks
        for the store write; from async code prefer :meth:`aset_configuration`.
        """
        return self._run(ConfigSource.CODE, lambda: self._set_blocking(name, config, force))

    async def aset_configuration(
        self, name: str, config: BrokerConfiguration | Mapping[str, Any], *, force: bool = False
    ) -> ConfigSnapshot:
        """:meth:`set_configuration` without blocking the event loop."""
        return await self._arun(ConfigSource.CODE, lambda: self._set_blocking(name, config, force))

    def remove_configuration(self, name: str) -> bool:
        """Remove broker ``name`` (a new version); ``False`` if it was not configured."""
        if name not in self._snapshot.configs:
            return False
        self._run(ConfigSource.CODE, lambda: self._remove_blocking(name))
        return True

    async def aremove_configuration(self, name: str) -> bool:
        if name not in self._snapshot.configs:
            return False
        await self._arun(ConfigSource.CODE, lambda: self._remove_blocking(name))
        return True

    # ------------------------------------------------------------------ files

    def load(self, path: str | os.PathLike[str]) -> ConfigSnapshot:
        """Load a file or folder and apply it; brokers it defined before and no longer does are removed."""
        root = _absolute(path)
        return self._run(ConfigSource.FILE, lambda: self._load_blocking(root, None, ConfigSource.FILE))

    async def aload(self, path: str | os.PathLike[str]) -> ConfigSnapshot:
        """:meth:`load` with reading, parsing and validation off the event loop."""
        root = _absolute(path)
        return await self._arun(ConfigSource.FILE, lambda: self._load_blocking(root, None, ConfigSource.FILE))

    async def reload(self) -> ConfigSnapshot:
        """Re-read every loaded file and folder now (what the watcher does on a change)."""
        if not self._roots:
            raise ConfigError("nothing to reload: no configuration file or folder has been loaded")
        snapshot = self._snapshot
        for root in list(self._roots):
            snapshot = await self.reload_sources(root, None)
        return snapshot

    async def reload_sources(
        self, root: Path, sources: Mapping[Path, bytes] | None, *, hold_drops_s: float | None = None
    ) -> ConfigSnapshot:
        """Apply ``root`` from ``sources`` (bytes already read and complete), or re-read it when ``None``.

        With ``hold_drops_s`` (the watcher's guard against files still being written), a reload that
        would drop keys the active configuration sets for brokers of ``root`` is not applied: it is logged,
        a :class:`ConfigReloadHeldEvent` says it will be re-checked in ``hold_drops_s`` seconds, and
        :class:`~broker_integration.config.policy.ReloadHeld` is raised.
        """
        hold = hold_drops_s is not None
        try:
            return await self._arun(
                ConfigSource.RELOAD, lambda: self._load_blocking(root, sources, ConfigSource.RELOAD, hold)
            )
        except ReloadHeld as held:
            self._publish_held(root, held, hold_drops_s or 0.0)
            raise

    def watch(
        self, path: str | os.PathLike[str] | None = None, settings: ReloadSettings | None = None
    ) -> ConfigWatcher:
        """A watcher that reloads ``path`` (default: the one loaded root) when its files change.

        Use ``async with manager.watch("config/"):`` or ``await watcher.start()``.
        """
        from broker_integration.config.watcher import ConfigWatcher

        if path is None:
            if len(self._roots) != 1:
                raise ConfigError("say which file or folder to watch (none or several are loaded)")
            root = next(iter(self._roots))
        else:
            root = _absolute(path)
        watcher = ConfigWatcher(self, root, settings)
        self._watchers.append(watcher)
        return watcher

    # ------------------------------------------------------------------ versions

    async def history(self, limit: int | None = None) -> list[ConfigVersion]:
        """Recorded versions, newest first."""
        return await self._log.history(limit)

    async def get_version(self, version: int) -> ConfigVersion:
        return await self._log.get(version)

    async def diff(self, old: int, new: int | None = None) -> tuple[ConfigChange, ...]:
        """Changes from version ``old`` to version ``new`` (default: the latest), secret-masked."""
        before = await self._log.get(old)
        after = await self._log.get(new) if new is not None else await self._log.latest()
        if after is None:
            raise ConfigError("there are no recorded versions")
        return diff_documents(before.document, after.document)

    async def rollback(self, version: int, *, force: bool = False) -> ConfigSnapshot:
        """Re-apply version ``version`` as a new version (``rollback_of`` set).

        Secrets come back from their recorded sources: ``${VAR}`` is resolved against today's
        environment, ``ENC[...]`` decrypted with today's keys, and a plaintext secret (set from code) is
        restored only while this process still holds it. The files are not rewritten: the next edit of
        a watched file applies the file again.
        """
        try:
            target = await self._log.get(version)
        except ConfigError as exc:
            self._publish_failure(ConfigSource.ROLLBACK, exc)
            raise
        return await self._arun(ConfigSource.ROLLBACK, lambda: self._restore_blocking(target, force))

    async def adopt(self, recorded: ConfigVersion) -> ConfigSnapshot:
        """Apply a version another process recorded (a CLI rollback) without recording it again."""
        return await self._arun(ConfigSource.ROLLBACK, lambda: self._restore_blocking(recorded, False))

    # ------------------------------------------------------------------ subscribers and adapters

    def subscribe(self, handler: Callable[[ConfigChangedEvent], None]) -> Subscription:
        """Call ``handler`` with every :class:`ConfigChangedEvent` of this manager."""
        return self.event_bus.subscribe(
            ConfigChangedEvent, handler, where=lambda e: e.manager_id == self.manager_id
        )

    def bind_adapter(
        self, name: str, adapter: BrokerAdapter, *, drain_timeout: float = 60.0
    ) -> AdapterBinding:
        """Keep ``adapter`` on broker ``name``'s configuration; credential changes re-authenticate it.

        Must be called from the event loop the adapter runs on. See :class:`AdapterBinding`.
        """
        from broker_integration.config.rotation import AdapterBinding

        binding = AdapterBinding(self, name, adapter, drain_timeout=drain_timeout)
        self._bindings.append(binding)
        return binding

    async def aclose(self) -> None:
        """Stop this manager's watchers and release its adapter bindings."""
        watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            await watcher.stop()
        bindings, self._bindings = self._bindings, []
        for binding in bindings:
            await binding.close()

    def __repr__(self) -> str:
        return (
            f"ConfigManager(scope={self._scope!r}, environment={self._environment.value!r}, "
            f"version={self.version}, brokers={self.list_configurations()})"
        )

    # ------------------------------------------------------------------ the one change path

    def _run(self, source: ConfigSource, work: Callable[[], _Outcome]) -> ConfigSnapshot:
        try:
            snapshot, event = work()
        except ConfigError as exc:
            self._publish_failure(source, exc)
            raise
        if event is not None:
            self.event_bus.publish(event)
        return snapshot

    async def _arun(self, source: ConfigSource, work: Callable[[], _Outcome]) -> ConfigSnapshot:
        try:
            snapshot, event = await asyncio.to_thread(work)
        except ConfigError as exc:
            self._publish_failure(source, exc)
            raise
        if event is not None:
            self.event_bus.publish(event)
        return snapshot

    def _publish_failure(self, source: ConfigSource, error: ConfigError) -> None:
        active = self._snapshot.version
        if source is ConfigSource.RELOAD:
            _log.error("configuration reload failed; version %s stays active:\n%s", active, error)
        else:
            _log.warning(
                "configuration change (%s) refused; version %s stays active:\n%s", source.value, active, error
            )
        self.event_bus.publish(
            ConfigFailedEvent(
                time=self._clock.now(),
                manager_id=self.manager_id,
                scope=self._scope,
                source=source,
                error=error,
                active_version=active,
            )
        )

    def _publish_held(self, root: Path, held: ReloadHeld, recheck_after_s: float) -> None:
        active = self._snapshot.version
        shown = ", ".join(held.dropped[:10]) + (
            f" (+{len(held.dropped) - 10})" if len(held.dropped) > 10 else ""
        )
        _log.warning(
            "configuration reload of %s held back: it drops %s, which version %s sets; a writer may still be "
            "adding them, so it is re-checked in %.1f s and applied then if the files are unchanged",
            root,
            shown,
            active,
            recheck_after_s,
        )
        self.event_bus.publish(
            ConfigReloadHeldEvent(
                time=self._clock.now(),
                manager_id=self.manager_id,
                scope=self._scope,
                root=str(root),
                dropped=held.dropped,
                active_version=active,
                recheck_after_s=recheck_after_s,
            )
        )

    def _set_blocking(
        self, name: str, config: BrokerConfiguration | Mapping[str, Any], force: bool
    ) -> _Outcome:
        if not isinstance(config, BrokerConfiguration):
            try:
                config = BrokerConfiguration.model_validate({"broker_name": name, **config})
            except ValidationError as exc:
                raise ConfigError.from_issues(
                    ConfigIssue(None, ".".join([name, *map(str, e["loc"])]), e["msg"])
                    for e in exc.errors(include_input=False, include_url=False, include_context=False)
                ) from None
        if config.broker_name != name:
            raise ConfigError(
                f"broker_name {config.broker_name!r} differs from the name it is set under", path=name
            )
        new = config

        def build(current: ConfigSnapshot) -> _Candidate:
            return _Candidate(
                configs={**current.configs, name: new},
                origins={**current.origins, name: CODE_ORIGIN},
                secret_sources=_without(current.secret_sources, name),
            )

        return self._commit(build, source=ConfigSource.CODE, detail=f"set {name}", force=force)

    def _remove_blocking(self, name: str) -> _Outcome:
        def build(current: ConfigSnapshot) -> _Candidate:
            return _Candidate(
                configs={k: v for k, v in current.configs.items() if k != name},
                origins={k: v for k, v in current.origins.items() if k != name},
                secret_sources=_without(current.secret_sources, name),
            )

        return self._commit(build, source=ConfigSource.CODE, detail=f"remove {name}", force=False)

    def _load_blocking(
        self, root: Path, sources: Mapping[Path, bytes] | None, source: ConfigSource, hold_drops: bool = False
    ) -> _Outcome:
        loaded = load_sources(
            read_sources(root) if sources is None else sources,
            environment=self._environment,
            env=self.env,
            keys=self._keys,
        )
        for where in loaded.plaintext_secrets:
            _log.warning("%s: plaintext secret in a configuration file; use ${VAR} or ENC[...]", where)

        def build(current: ConfigSnapshot) -> _Candidate:
            kept = {k for k in current.configs if not _within(current.origins.get(k), root)}
            return _Candidate(
                configs={**{k: current.configs[k] for k in kept}, **loaded.configs},
                origins={**{k: current.origins[k] for k in kept if k in current.origins}, **loaded.origins},
                secret_sources={
                    **{p: s for p, s in current.secret_sources.items() if p.split(".", 1)[0] in kept},
                    **loaded.secret_sources,
                },
            )

        def keeps_keys(current: ConfigSnapshot, _candidate: _Candidate) -> None:
            mine = {k: v for k, v in current.configs.items() if _within(current.origins.get(k), root)}
            dropped = dropped_paths(mine, loaded.configs)
            if dropped:
                raise ReloadHeld(dropped)

        outcome = self._commit(
            build,
            source=source,
            detail=", ".join(loaded.files),
            force=False,
            guard=keeps_keys if hold_drops else None,
        )
        self._roots[root] = None
        return outcome

    def _restore_blocking(self, target: ConfigVersion, force: bool) -> _Outcome:
        if target.environment != self._environment.value and not force:
            raise ConfigError(
                f"version {target.version} was applied in {target.environment!r} but this process runs "
                f"{self._environment.value!r}; pass force=True to apply it anyway"
            )
        configs, sources = restore_document(
            target.document, env=self.env, keys=self._keys, secret_for_fingerprint=self._held_secret
        )
        origins = {name: str(target.origins.get(name, CODE_ORIGIN)) for name in configs}
        rollback_of = target.rollback_of if target.source is ConfigSource.ROLLBACK else target.version
        return self._commit(
            lambda _current: _Candidate(configs, origins, sources),
            source=ConfigSource.ROLLBACK,
            detail=f"rollback to version {rollback_of}",
            force=force,
            rollback_of=rollback_of,
        )

    def _commit(
        self,
        build: _Build,
        *,
        source: ConfigSource,
        detail: str,
        force: bool,
        rollback_of: int | None = None,
        guard: _Guard | None = None,
    ) -> _Outcome:
        """Validate, check, record and swap; the only place the snapshot changes.

        ``guard`` may refuse a candidate that changes something (by raising) before anything is recorded.
        """
        key = self._key()
        with self._lock:
            current = self._snapshot
            candidate = build(current)
            document = build_document(
                candidate.configs, candidate.secret_sources, self._environment.value, fingerprint_key=key
            )
            digest = content_hash(document)
            if digest == current.content_hash:
                return current, None
            if guard is not None:
                guard(current, candidate)
            if not force:
                check_fixed_fields(current.configs, candidate.configs, candidate.origins)
            now = self._clock.now()
            recorded = self._record(
                NewVersion(
                    source=source,
                    detail=detail,
                    environment=self._environment.value,
                    content_hash=digest,
                    document=document,
                    origins=candidate.origins,
                    created_at=now,
                    rollback_of=rollback_of,
                )
            )
            snapshot = ConfigSnapshot(
                version=recorded.version,
                environment=self._environment.value,
                configs=MappingProxyType(dict(candidate.configs)),
                source=source,
                applied_at=now,
                origins=MappingProxyType(dict(candidate.origins)),
                document=MappingProxyType(document),
                content_hash=digest,
                secret_sources=MappingProxyType(dict(candidate.secret_sources)),
            )
            self._hold_secrets(candidate.configs, key)
            self._snapshot = snapshot
        changes = diff_documents(current.document if current.version is not None else None, document)
        _log.info(
            "configuration version %d applied (%s: %s); changed: %s",
            recorded.version,
            source.value,
            detail,
            ", ".join(c.path for c in changes) or "nothing",
        )
        event = ConfigChangedEvent(
            time=now,
            manager_id=self.manager_id,
            scope=self._scope,
            version=recorded.version,
            previous_version=current.version,
            source=source,
            changes=changes,
            rollback_of=rollback_of,
        )
        return snapshot, event

    def _record(self, entry: NewVersion) -> ConfigVersion:
        return self._in_store(lambda: self._log.record(entry))

    def _key(self) -> bytes:
        """The version log's fingerprint key, fetched once (a store that cannot give it cannot record either)."""
        if self._fingerprint_key is None:
            self._fingerprint_key = self._in_store(self._log.fingerprint_key)
        return self._fingerprint_key

    def _in_store(self, factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        try:
            return run_blocking(factory)
        except ConfigError:
            raise
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0][:200]
            raise ConfigError(
                f"could not record the version in {self._log.description}: {type(exc).__name__}: {first_line}"
            ) from None

    def _hold_secrets(self, configs: Mapping[str, BrokerConfiguration], key: bytes) -> None:
        """Remember applied secrets by fingerprint (memory only), so a rollback can restore plaintext ones.

        Each is found by its keyed fingerprint and by the unkeyed one versions recorded before keyed
        fingerprints carry, so rolling back to such a version still restores it.
        """
        for config in configs.values():
            for value in secret_leaves(config).values():
                if isinstance(value, str):
                    register_secret(value)
                held = SecretStr(json.dumps(value))
                for print_ in (fingerprint(value, key), legacy_fingerprint(value)):
                    self._secrets[print_] = held
                    self._secrets.move_to_end(print_)
        while len(self._secrets) > _SECRET_CACHE_SIZE:
            self._secrets.popitem(last=False)

    def _held_secret(self, print_: str) -> Any:
        held = self._secrets.get(print_)
        return None if held is None else json.loads(held.get_secret_value())


def _absolute(path: str | os.PathLike[str]) -> Path:
    """An absolute, normalised path that keeps symlinks (a Kubernetes ConfigMap file is a symlink whose
    target directory is replaced on every update, so resolving it would pin a directory about to vanish)."""
    return Path(os.path.abspath(path))


def _within(origin: str | None, root: Path) -> bool:
    if not origin or origin == CODE_ORIGIN:
        return False
    path = Path(origin)
    return path == root or path.parent == root


def _without(sources: Mapping[str, str], name: str) -> dict[str, str]:
    return {path: raw for path, raw in sources.items() if path.split(".", 1)[0] != name}


_global_manager: ConfigManager | None = None
_global_lock = threading.Lock()


def get_global_config_manager() -> ConfigManager:
    """The process-wide manager the seed's examples use (created on first call with the defaults)."""
    global _global_manager
    with _global_lock:
        if _global_manager is None:
            _global_manager = ConfigManager()
        return _global_manager
