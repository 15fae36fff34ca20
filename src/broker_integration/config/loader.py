"""Files and folders to validated broker configurations: layering, interpolation, decryption, validation.

A *file* is JSON or YAML holding one broker (``broker_name`` at the top, the seed's shape) or several
(``brokers: {name: {...}}``), optionally in the environment-specific form ``{default, development, staging,
production}``. A *folder* is every such file directly inside it; each broker is defined in one file, and
``local.{yaml,yml,json}`` (keep it out of version control) is deep-merged over all of them.

Order per broker: environment section over ``default`` (mappings merge, lists and scalars replace), then
``local``; then ``${VAR}`` references are resolved and ``ENC[...]`` values decrypted, so a reference in a
section that does not apply needs no variable; then the result is validated. Every problem is reported with
the file and the key path as written in that file (``production.brokers.oanda.settings.timeout_seconds``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.config.errors import ConfigError, ConfigIssue
from broker_integration.config.interpolation import InterpolationError, interpolate
from broker_integration.config.parsing import (
    DeploymentEnvironment,
    deep_merge,
    environment_layers,
    is_config_file_name,
    parse_document,
)
from broker_integration.config.secrets import DecryptionError, KeyRing, is_encrypted
from broker_integration.config.snapshot import MASK, is_secret_source, secret_leaves
from broker_integration.log import register_secret

__all__ = [
    "ENVIRONMENT_VAR",
    "LoadedConfig",
    "check_document",
    "config_files",
    "load_path",
    "load_sources",
    "read_sources",
    "resolve_environment",
    "restore_document",
]

ENVIRONMENT_VAR = "BROKER_INTEGRATION_ENV"
LOCAL_STEM = "local"


def resolve_environment(value: str | None, env: Mapping[str, str] | None = None) -> DeploymentEnvironment:
    """``value``, else ``$BROKER_INTEGRATION_ENV``, else development; an unknown name is an error."""
    env = os.environ if env is None else env
    name = (value or env.get(ENVIRONMENT_VAR) or DeploymentEnvironment.DEVELOPMENT.value).strip().lower()
    try:
        return DeploymentEnvironment(name)
    except ValueError:
        known = ", ".join(e.value for e in DeploymentEnvironment)
        blame = "" if value else f"${ENVIRONMENT_VAR}"  # the variable only when the name came from it
        raise ConfigError(f"unknown environment {name!r} (known: {known})", path=blame) from None


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """What a load produced: validated configs, where each came from, and the sources of its secrets."""

    configs: dict[str, BrokerConfiguration]
    origins: dict[str, str]
    secret_sources: dict[str, str]
    files: tuple[str, ...]
    plaintext_secrets: tuple[str, ...] = ()


def config_files(root: Path) -> list[Path]:
    """The files a config root stands for: itself, or the config files directly inside the folder."""
    if root.is_dir():
        return sorted(p for p in root.iterdir() if is_config_file_name(p.name) and p.is_file())
    if root.is_file():
        return [root]
    raise ConfigError("no such file or folder", file=str(root))


def read_sources(root: Path) -> dict[Path, bytes]:
    """The bytes of every file under ``root``; an empty folder is an error, not an empty configuration."""
    files = config_files(root)
    if not files:
        raise ConfigError("folder holds no .json, .yaml or .yml configuration file", file=str(root))
    sources: dict[Path, bytes] = {}
    for file in files:
        try:
            sources[file] = file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or type(exc).__name__}", file=str(file)) from None
    return sources


def load_path(
    path: str | os.PathLike[str],
    *,
    environment: DeploymentEnvironment | str | None = None,
    env: Mapping[str, str] | None = None,
    keys: KeyRing | None = None,
) -> LoadedConfig:
    """Load and validate a file or folder (see the module docstring); :class:`ConfigError` on any problem."""
    env = os.environ if env is None else env
    return load_sources(
        read_sources(Path(path)), environment=resolve_environment(environment, env), env=env, keys=keys
    )


@dataclass(frozen=True, slots=True)
class _Layer:
    file: Path
    label: str
    tree: dict[str, Any]


def load_sources(
    sources: Mapping[Path, bytes],
    *,
    environment: DeploymentEnvironment,
    env: Mapping[str, str],
    keys: KeyRing | None = None,
) -> LoadedConfig:
    """Like :func:`load_path` for bytes already read (the watcher reads them once it sees them settle)."""
    if not sources:
        raise ConfigError("no configuration files to load")
    issues: list[ConfigIssue] = []
    layers: dict[str, list[_Layer]] = {}  # highest precedence first
    defined_in: dict[str, Path] = {}
    for file in sorted(sources, key=lambda p: (p.stem.lower() == LOCAL_STEM, p.name)):
        try:
            found = _brokers_in(parse_document(sources[file], file), environment, file)
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        local = file.stem.lower() == LOCAL_STEM
        for name, broker_layers in found.items():
            if not local and name in defined_in:
                issues.append(
                    ConfigIssue(str(file), name, f"broker {name!r} is already defined in {defined_in[name]}")
                )
                continue
            defined_in.setdefault(name, file)
            layers[name] = broker_layers + layers.get(name, [])
    resolver = _Resolver(env, keys)
    configs: dict[str, BrokerConfiguration] = {}
    secret_sources: dict[str, str] = {}
    plaintext: list[str] = []
    for name in sorted(layers):
        stack = layers[name]
        try:
            config, raw = _build(name, stack, resolver)
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        configs[name] = config
        for rel, value in secret_leaves(config).items():
            if isinstance(value, str):
                register_secret(value)
            source = raw.get(rel)
            if source is not None:
                secret_sources[f"{name}.{rel}"] = source
            else:
                file, path = _locate(stack, tuple(rel.split(".")))
                plaintext.append(f"{file}: {path}")
    if environment is DeploymentEnvironment.PRODUCTION:
        issues.extend(
            ConfigIssue(None, where, "plaintext secret in a production configuration; use ${VAR} or ENC[...]")
            for where in plaintext
        )
    if issues:
        raise ConfigError.from_issues(issues)
    return LoadedConfig(
        configs=configs,
        origins={name: str(defined_in[name]) for name in configs},
        secret_sources=secret_sources,
        files=tuple(str(f) for f in sorted(sources)),
        plaintext_secrets=tuple(plaintext),
    )


def restore_document(
    document: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    keys: KeyRing | None,
    secret_for_fingerprint: Callable[[str], Any],
) -> tuple[dict[str, BrokerConfiguration], dict[str, str]]:
    """Rebuild the configs of a stored document, and the sources of their secrets.

    A secret stored as ``${VAR}`` is resolved against ``env`` now and ``ENC[...]`` is decrypted with
    ``keys`` now; a masked secret is taken from ``secret_for_fingerprint`` (secrets this process has held)
    and is an error when it is no longer known.
    """
    fingerprints: Mapping[str, str] = document.get("secrets") or {}
    resolver = _Resolver(env, keys)
    configs: dict[str, BrokerConfiguration] = {}
    sources: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for name, stored in sorted((document.get("brokers") or {}).items()):
        tree = copy.deepcopy(stored)
        for full, parent, key in _secret_slots(tree, name, fingerprints):
            raw = parent[key]
            try:
                if raw == MASK:
                    value = secret_for_fingerprint(fingerprints[full])
                    if value is None:
                        raise ConfigError(
                            "was a plaintext secret this process no longer holds; put it in the "
                            "configuration as ${VAR} or ENC[...] to make it restorable",
                            path=full,
                        )
                    parent[key] = value
                else:
                    parent[key] = resolver.resolve(raw, full)
                    sources[full] = raw
            except ConfigError as exc:
                issues.extend(exc.issues)
        try:
            configs[name] = BrokerConfiguration.model_validate(tree)
        except ValidationError as exc:
            issues.extend(ConfigIssue(None, _join(name, e["loc"]), e["msg"]) for e in _errors(exc))
    if issues:
        raise ConfigError.from_issues(issues)
    return configs, sources


def check_document(document: Mapping[str, Any]) -> list[str]:
    """Validate a stored document's structure with placeholders for its secrets; returns its brokers.

    For a process that cannot resolve the secrets (the CLI recording a rollback for a running service).
    """
    issues: list[ConfigIssue] = []
    names: list[str] = []
    for name, stored in sorted((document.get("brokers") or {}).items()):
        tree = copy.deepcopy(stored)
        for _full, parent, key in _secret_slots(tree, name, document.get("secrets") or {}):
            parent[key] = "placeholder"
        try:
            BrokerConfiguration.model_validate(tree)
            names.append(name)
        except ValidationError as exc:
            issues.extend(ConfigIssue(None, _join(name, e["loc"]), e["msg"]) for e in _errors(exc))
    if issues:
        raise ConfigError.from_issues(issues)
    return names


# ---------------------------------------------------------------------------------------------- internals


def _secret_slots(
    tree: dict[str, Any], name: str, fingerprints: Mapping[str, str]
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """``(full path, parent mapping, key)`` of each secret of broker ``name`` in its stored ``tree``."""
    for full in fingerprints:
        if not full.startswith(f"{name}."):
            continue
        parts = full.split(".")[1:]
        parent = tree
        for part in parts[:-1]:
            parent = parent[part]
        yield full, parent, parts[-1]


def _brokers_in(
    document: dict[str, Any], environment: DeploymentEnvironment, file: Path
) -> dict[str, list[_Layer]]:
    """Each broker's layers in one file, highest precedence first."""
    sections = environment_layers(document, environment, file)
    if not sections:
        return {}  # an environment-specific file with nothing for this environment
    merged: dict[str, Any] = {}
    for _, tree in reversed(sections):
        merged = deep_merge(merged, tree)
    if "brokers" not in merged:
        name = merged.get("broker_name")
        if not isinstance(name, str):
            raise ConfigError(
                "expected 'broker_name' (a file for one broker) or 'brokers' (a mapping of several)",
                file=str(file),
                path=sections[0][0],
            )
        return {name: [_Layer(file, label, tree) for label, tree in sections]}
    found: dict[str, list[_Layer]] = {}
    for label, tree in sections:
        prefix = f"{label}.brokers" if label else "brokers"
        extra = sorted(set(tree) - {"brokers"})
        if extra:
            raise ConfigError(
                "unknown key beside 'brokers' (a multi-broker file has only 'brokers')",
                file=str(file),
                path=f"{label}.{extra[0]}" if label else extra[0],
            )
        brokers = tree.get("brokers")
        if brokers is None:
            continue
        if not isinstance(brokers, dict):
            raise ConfigError(
                "'brokers' must map broker names to their settings", file=str(file), path=prefix
            )
        for name, entry in brokers.items():
            if not isinstance(entry, dict):
                raise ConfigError(
                    "a broker's settings must be a mapping", file=str(file), path=f"{prefix}.{name}"
                )
            given = entry.get("broker_name", name)
            if given != name:
                raise ConfigError(
                    f"broker_name differs from its key {name!r} (leave it out or make them equal)",
                    file=str(file),
                    path=f"{prefix}.{name}.broker_name",
                )
            found.setdefault(name, []).append(
                _Layer(file, f"{prefix}.{name}", {"broker_name": name, **entry})
            )
    return found


class _Resolver:
    """Interpolates and decrypts string values; loads the keys only when an ``ENC[...]`` value needs them."""

    def __init__(self, env: Mapping[str, str], keys: KeyRing | None) -> None:
        self._env = env
        self._keys = keys
        self._loaded = keys is not None

    def resolve(self, raw: str, path: str) -> str:
        """``raw`` with references resolved and ciphertext decrypted; :class:`ConfigError` at ``path``."""
        try:
            return self._resolve(raw, path)
        except (InterpolationError, DecryptionError) as exc:
            raise ConfigError(str(exc), path=path) from None

    def resolve_tree(
        self,
        tree: Any,
        loc: tuple[str | int, ...],
        raw: dict[str, str],
        problems: list[tuple[tuple[str | int, ...], str]],
    ) -> Any:
        """A copy of ``tree`` with strings resolved.

        ``raw`` collects the original text of each resolved string by dotted path; ``problems`` collects
        ``(loc, problem)`` for strings that will not resolve.
        """
        if isinstance(tree, dict):
            return {key: self.resolve_tree(value, (*loc, key), raw, problems) for key, value in tree.items()}
        if isinstance(tree, list):
            return [self.resolve_tree(value, (*loc, i), raw, problems) for i, value in enumerate(tree)]
        if not (isinstance(tree, str) and ("$" in tree or tree.startswith("ENC["))):
            return tree
        try:
            value = self._resolve(tree, _join("", loc))
        except (InterpolationError, DecryptionError, ConfigError) as exc:
            problems.append((loc, exc.problem if isinstance(exc, ConfigError) else str(exc)))
            return tree
        if value != tree or is_secret_source(tree):
            raw[_join("", loc)] = tree
        return value

    def _resolve(self, raw: str, path: str) -> str:
        value = interpolate(raw, self._env)
        if is_encrypted(value):
            return self._keyring(path).decrypt(value)
        if value.startswith("ENC["):
            raise DecryptionError("malformed encrypted value: expected ENC[fernet:<token>]")
        return value

    def _keyring(self, path: str) -> KeyRing:
        if not self._loaded:
            self._keys = KeyRing.from_env(self._env)
            self._loaded = True
        if self._keys is None:
            raise ConfigError(
                "value is encrypted but no key is configured: set $BROKER_INTEGRATION_CONFIG_KEYS "
                "or $BROKER_INTEGRATION_CONFIG_KEY_FILE",
                path=path,
            )
        return self._keys


def _build(name: str, stack: list[_Layer], resolver: _Resolver) -> tuple[BrokerConfiguration, dict[str, str]]:
    merged: dict[str, Any] = {}
    for layer in reversed(stack):
        merged = deep_merge(merged, layer.tree)
    raw: dict[str, str] = {}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    resolved = resolver.resolve_tree(merged, (), raw, problems)
    if problems:
        raise ConfigError.from_issues(_issue(stack, loc, problem) for loc, problem in problems)
    try:
        return BrokerConfiguration.model_validate(resolved), raw
    except ValidationError as exc:
        raise ConfigError.from_issues(
            _issue(stack, tuple(e["loc"]), e["msg"]) for e in _errors(exc)
        ) from None


def _issue(stack: list[_Layer], loc: tuple[str | int, ...], problem: str) -> ConfigIssue:
    file, path = _locate(stack, loc)
    return ConfigIssue(str(file), path, problem)


def _errors(exc: ValidationError) -> list[Any]:
    """Pydantic's errors without the input values (which may be secrets)."""
    return list(exc.errors(include_input=False, include_url=False, include_context=False))


def _locate(stack: list[_Layer], loc: tuple[str | int, ...]) -> tuple[Path, str]:
    """The file and in-file path of ``loc``: the highest layer that holds it (or its nearest parent)."""
    for length in range(len(loc), -1, -1):
        for layer in stack:
            if _holds(layer.tree, loc[:length]):
                return layer.file, _join(layer.label, loc)
    return stack[0].file, _join(stack[0].label, loc)


def _holds(tree: Any, loc: tuple[str | int, ...]) -> bool:
    for part in loc:
        in_dict = isinstance(tree, dict) and part in tree
        in_list = isinstance(tree, list) and isinstance(part, int) and 0 <= part < len(tree)
        if not (in_dict or in_list):
            return False
        tree = tree[part]
    return True


def _join(prefix: str, loc: tuple[str | int, ...] | list[str | int]) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text
