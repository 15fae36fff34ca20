"""Typed adapter options: each adapter reads ``config.options`` through a frozen model of its own.

An adapter's knobs live in the configuration's free-form ``options`` mapping (the seed's JSON has no other
place for them). Reading them with ``options.get(key, default)`` ignores a misspelt key and turns a wrong
type into a crash far from its cause; an :class:`AdapterOptions` model refuses both when the adapter is
made, with a :class:`~broker_integration.config.errors.ConfigError` naming the broker and the key (and,
for a misspelt key, the option it most resembles). Values are never echoed: an option may hold a secret.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from broker_integration.config.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from broker_integration.broker_config import BrokerConfiguration

__all__ = ["AdapterOptions"]


class AdapterOptions(BaseModel):
    """Base of an adapter's options model: frozen, unknown keys refused, input kept out of errors.

    Subclasses name their adapter in ``adapter`` (for messages) and declare one field per option.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    #: The adapter these options belong to, as messages name it ("the oanda adapter").
    adapter: ClassVar[str] = "this"

    @classmethod
    def option_keys(cls) -> tuple[str, ...]:
        """The top-level keys the adapter reads from ``options``, sorted."""
        return tuple(sorted(cls.model_fields))

    @classmethod
    def from_configuration(cls, config: BrokerConfiguration | None) -> Self:
        """The options of ``config`` (defaults when there is none), or a ``ConfigError`` naming the broker
        and every key that is unknown or invalid."""
        if config is None:
            return cls.from_options({}, broker_name=cls.adapter)
        return cls.from_options(config.options, broker_name=config.broker_name)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, broker_name: str) -> Self:
        """Validate one broker's ``options``; see :meth:`from_configuration`."""
        try:
            return cls.model_validate(dict(options))
        except ValidationError as exc:
            raise ConfigError.from_issues(cls._issues(exc, broker_name)) from None

    @classmethod
    def option_key(cls, loc: tuple[int | str, ...]) -> str:
        """The dotted option key a validation error's location points at (a subclass that nests its
        fields differently from the flat options it reads maps them back here)."""
        return ".".join(str(part) for part in loc)

    @classmethod
    def _issues(cls, exc: ValidationError, broker_name: str) -> list[ConfigIssue]:
        issues = []
        for error in exc.errors(include_input=False, include_url=False, include_context=False):
            key = cls.option_key(tuple(error["loc"]))
            path = f"{broker_name}.options.{key}" if key else f"{broker_name}.options"
            if error["type"] == "extra_forbidden":
                problem = cls._unknown(key)
            else:
                problem = error["msg"].removeprefix("Value error, ")
            issues.append(ConfigIssue(None, path, problem))
        return issues

    @classmethod
    def _unknown(cls, key: str) -> str:
        known = cls.option_keys()
        problem = f"not an option of the {cls.adapter} adapter"
        if "." not in key:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            if close:
                problem += f"; did you mean {close[0]!r}?"
        return f"{problem} (its options: {', '.join(known)})"
