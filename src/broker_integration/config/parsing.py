"""From a file's bytes to a plain tree, and the environment sections and deep merge that layer trees.

Parsing is strict where silence would hurt: duplicate keys, non-string keys, values YAML turns into
dates or bytes, an empty file, nesting too deep or too large (alias bombs) are all errors naming the
file and, where known, the line. Messages are built from the parser's position and our words, not from
the file's text, which may hold a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from broker_integration.config.errors import ConfigError

__all__ = [
    "CONFIG_SUFFIXES",
    "DeploymentEnvironment",
    "deep_merge",
    "environment_layers",
    "is_config_file_name",
    "parse_document",
]

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_NODES = 50_000


class DeploymentEnvironment(StrEnum):
    """Which section of an environment-specific file applies on top of ``default``."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


_SECTIONS = frozenset({"default", *(e.value for e in DeploymentEnvironment)})


def is_config_file_name(name: str) -> bool:
    """A file a config folder holds: a JSON or YAML name that is not hidden (editors' temp files are)."""
    return not name.startswith(".") and name.lower().endswith(CONFIG_SUFFIXES)


def parse_document(data: bytes, file: Path) -> dict[str, Any]:
    """The mapping in ``data`` (JSON or YAML by ``file``'s suffix); :class:`ConfigError` otherwise."""
    where = str(file)
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"file is larger than {MAX_FILE_BYTES // 1024} KiB", file=where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=where) from None
    if not text.strip():
        raise ConfigError("file is empty (or still being written)", file=where)
    try:
        if file.suffix.lower() == ".json":
            tree = json.loads(text, object_pairs_hook=_unique_json_object)
        else:
            tree = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=where
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {_yaml_problem(exc)}", file=where) from None
    except _DuplicateKeyError as exc:
        raise ConfigError(str(exc), file=where) from None
    except RecursionError:
        raise ConfigError(f"nesting is deeper than {MAX_DEPTH} levels", file=where) from None
    if tree is None:
        raise ConfigError("file holds no configuration (only comments or null)", file=where)
    if not isinstance(tree, dict):
        raise ConfigError(f"the top level must be a mapping, not {_kind(tree)}", file=where)
    _check_tree(tree, where)
    return tree


def environment_layers(
    document: dict[str, Any], environment: DeploymentEnvironment, file: Path
) -> list[tuple[str, dict[str, Any]]]:
    """``[(label, tree), ...]`` from highest to lowest precedence.

    A file whose top level has ``default`` or an environment name is environment-specific: the
    selected environment's section overlays ``default`` (a missing section means no overrides), and
    any other top-level key is refused. Any other file is one layer with an empty label.
    """
    if not (_SECTIONS & document.keys()):
        return [("", document)]
    unknown = sorted(set(document) - _SECTIONS)
    if unknown:
        raise ConfigError(
            f"unknown section {unknown[0]!r}: an environment-specific file has only "
            f"'default', 'development', 'staging' and 'production'",
            file=str(file),
            path=unknown[0],
        )
    layers: list[tuple[str, dict[str, Any]]] = []
    for label in (environment.value, "default"):
        section = document.get(label)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ConfigError(f"section must be a mapping, not {_kind(section)}", file=str(file), path=label)
        layers.append((label, section))
    return layers


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge key by key; lists, scalars and ``null`` replace."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


class _DuplicateKeyError(ValueError):
    pass


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {key!r} in one JSON object")
        result[key] = value
    return result


class _StrictYamlLoader(yaml.SafeLoader):
    """The safe loader, refusing a key written twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    if key_node.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                        )
                    seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "syntax error"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
        return problem
    return type(exc).__name__


def _kind(value: object) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _check_tree(tree: dict[str, Any], file: str) -> None:
    """Only JSON-like values, string keys, bounded depth and size (YAML aliases can explode a walk)."""
    budget = [MAX_NODES]

    def walk(value: Any, path: str, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ConfigError(f"more than {MAX_NODES} values (or an alias bomb)", file=file)
        if depth > MAX_DEPTH:
            raise ConfigError(f"nesting is deeper than {MAX_DEPTH} levels", file=file, path=path)
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ConfigError(f"keys must be strings, found {_kind(key)} key", file=file, path=path)
                walk(item, f"{path}.{key}" if path else key, depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", depth + 1)
        elif value is not None and not isinstance(value, str | bool | int | float):
            raise ConfigError(
                f"unsupported value of type {type(value).__name__} (quote it to make it a string)",
                file=file,
                path=path,
            )

    walk(tree, "", 0)
