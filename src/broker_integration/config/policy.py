"""What may change while a process runs: fields marked ``reload: False`` may not, for a broker that stays.

The account and the live/practice switch are fixed: an adapter logged in to one account must not start
sending orders to another, or from practice money to real money, because a file was edited. Removing a
broker and adding it back (two changes) is allowed; so is ``force=True``.

A watched file's reload that would *drop* keys the active configuration sets (:func:`dropped_paths`) is held
back by the watcher and applied only if the files still say so a little later (:class:`ReloadHeld`): a file
whose writer closed it half-written and is about to append the rest must not send its brokers back to
defaults meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.config.errors import ConfigError, ConfigIssue

__all__ = ["CODE_ORIGIN", "ReloadHeld", "check_fixed_fields", "dropped_paths", "set_paths"]

#: The origin of a broker set from code rather than loaded from a file.
CODE_ORIGIN = "code"


def check_fixed_fields(
    old: Mapping[str, BrokerConfiguration], new: Mapping[str, BrokerConfiguration], origins: Mapping[str, str]
) -> None:
    """Raise :class:`ConfigError` naming every fixed field that ``new`` changes for a broker in both."""
    issues: list[ConfigIssue] = []
    for name in sorted(old.keys() & new.keys()):
        for path in BrokerConfiguration.restart_required_paths():
            before, after = _attr(old[name], path), _attr(new[name], path)
            if before != after:
                origin = origins.get(name)
                issues.append(
                    ConfigIssue(
                        origin if origin and origin != CODE_ORIGIN else None,
                        f"{name}.{'.'.join(path)}",
                        f"cannot change while running ({_show(before)} -> {_show(after)}); restart the process "
                        "to apply it (or pass force=True)",
                    )
                )
    if issues:
        raise ConfigError.from_issues(issues)


class ReloadHeld(Exception):
    """A reload not applied (yet): it would drop the key paths in ``dropped``, which the active one sets."""

    def __init__(self, dropped: tuple[str, ...]) -> None:
        super().__init__(f"the reload would drop {', '.join(dropped)}")
        self.dropped = dropped


def set_paths(config: BaseModel) -> set[str]:
    """Dotted paths of the keys ``config`` was given (not defaulted), down to leaves and into ``options``."""
    paths: set[str] = set()
    for name in config.model_fields_set:
        value = getattr(config, name)
        inner = set_paths(value) if isinstance(value, BaseModel) else _leaves(value)
        paths.update({f"{name}.{path}" for path in inner} or {name})
    return paths


def dropped_paths(
    old: Mapping[str, BrokerConfiguration], new: Mapping[str, BrokerConfiguration]
) -> tuple[str, ...]:
    """Key paths set in ``old`` that ``new`` no longer sets; a broker ``new`` lacks counts as its name."""
    dropped: list[str] = []
    for name in sorted(old):
        if name not in new:
            dropped.append(name)
        else:
            dropped.extend(f"{name}.{path}" for path in sorted(set_paths(old[name]) - set_paths(new[name])))
    return tuple(dropped)


def _leaves(value: Any) -> set[str]:
    if not isinstance(value, Mapping):
        return set()
    paths: set[str] = set()
    for key, inner in value.items():
        paths.update({f"{key}.{path}" for path in _leaves(inner)} or {str(key)})
    return paths


def _attr(config: BrokerConfiguration, path: tuple[str, ...]) -> Any:
    value: Any = config
    for part in path:
        value = getattr(value, part)
    return value


def _show(value: Any) -> str:
    return repr(getattr(value, "value", value))
