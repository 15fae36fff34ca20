"""What may change while a process runs: fields marked ``reload: False`` may not, for a broker that stays.

The account and the live/practice switch are fixed: an adapter logged in to one account must not start
sending orders to another, or from practice money to real money, because a file was edited. Removing a
broker and adding it back (two changes) is allowed; so is ``force=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.config.errors import ConfigError, ConfigIssue

__all__ = ["CODE_ORIGIN", "check_fixed_fields"]

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


def _attr(config: BrokerConfiguration, path: tuple[str, ...]) -> Any:
    value: Any = config
    for part in path:
        value = getattr(value, part)
    return value


def _show(value: Any) -> str:
    return repr(getattr(value, "value", value))
