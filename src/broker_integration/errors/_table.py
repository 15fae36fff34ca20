"""The mapping-table engine: one broker's errors as data (:class:`ErrorMappingTable`), validated when built.

A table answers one lookup level at a time (the broker's code, a message pattern, the HTTP status);
:func:`~broker_integration.errors.resolve_error_mapping` runs the levels over the broker's table and the
generic HTTP table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

from broker_integration.errors._codes import DEFAULT_SUGGESTED_ACTIONS, StandardErrorCode

__all__ = ["ErrorMappingTable", "ErrorMatch", "ErrorRule", "MappingRow", "MatchSource", "PatternRule"]

ErrorRule: TypeAlias = StandardErrorCode | tuple[StandardErrorCode, str]
"""A table entry: a standard code, or a code with a suggested action specific to this entry."""

PatternRule: TypeAlias = tuple[str, StandardErrorCode] | tuple[str, StandardErrorCode, str]
"""A message rule: a regular expression (searched case-insensitively), its code, optionally an action."""


class MatchSource(StrEnum):
    """Which kind of table row decided a mapping; ``UNMAPPED`` means none did (the code is UNKNOWN)."""

    EXACT = "exact"
    BY_MESSAGE = "by_message"
    PATTERN = "pattern"
    HTTP_STATUS = "http_status"
    HTTP_STATUS_CLASS = "http_status_class"
    UNMAPPED = "unmapped"


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """A table row's outcome after validation: the code, and the row's own action if it has one."""

    code: StandardErrorCode
    action: str | None


@dataclass(frozen=True, slots=True)
class _Pattern:
    source: str
    regex: re.Pattern[str]
    rule: ParsedRule


def _parse_rule(value: object, where: str) -> ParsedRule:
    if isinstance(value, StandardErrorCode):
        return ParsedRule(value, None)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], StandardErrorCode)
        and isinstance(value[1], str)
        and value[1].strip()
    ):
        return ParsedRule(value[0], value[1])
    raise TypeError(f"{where}: expected a StandardErrorCode or (StandardErrorCode, action), got {value!r}")


def _parse_pattern(value: object, where: str) -> _Pattern:
    if not (isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[0], str) and value[0]):
        raise TypeError(f"{where}: expected (regex, code) or (regex, code, action), got {value!r}")
    try:
        regex = re.compile(value[0], re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{where}: invalid pattern {value[0]!r}: {exc}") from exc
    rule = _parse_rule(value[1] if len(value) == 2 else (value[1], value[2]), where)
    return _Pattern(value[0], regex, rule)


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One row of a table, for listing and testing: ``key`` is a code, a pattern or an HTTP status.

    For ``BY_MESSAGE`` rows ``key`` is the broker code and ``pattern`` the message pattern that refines it;
    for ``HTTP_STATUS_CLASS`` rows ``key`` reads like ``5xx``.
    """

    kind: MatchSource
    key: str
    code: StandardErrorCode
    suggested_action: str
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorMatch:
    """The outcome of a table lookup: the code, the action, and which row of which table decided it."""

    code: StandardErrorCode
    suggested_action: str
    source: MatchSource
    table: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class ErrorMappingTable:
    """One broker's errors as data, in the spirit of CCXT's ``exceptions = {'exact': …, 'broad': …}``.

    Lookup order, first hit wins: ``by_message`` (for codes a broker overloads, the code's own message
    patterns), ``exact`` (the broker's error code), ``patterns`` (regexes searched in the message,
    case-insensitively, in order), ``http_status``, then ``http_status_class`` (``4`` for any 4xx, ``5``
    for any 5xx). :func:`~broker_integration.errors.resolve_error_mapping` runs each level over this
    table and then over the generic HTTP table before going to the next level.

    A rule is a code, or ``(code, suggested_action)``; ``suggested_actions`` overrides the default
    action per code for this broker. ``code_fields``/``message_fields`` are dotted paths into a JSON
    error body, tried in order by :func:`~broker_integration.errors.map_http_error`.
    ``default_retry_after`` is the wait, in seconds, put on a rate-limit error that came without a
    Retry-After header.

    The table validates itself at construction, so a bad row fails when its module is imported.
    """

    exact: Mapping[str, ErrorRule] = field(default_factory=dict)
    patterns: Sequence[PatternRule] = ()
    http_status: Mapping[int, ErrorRule] = field(default_factory=dict)
    by_message: Mapping[str, Sequence[PatternRule]] = field(default_factory=dict)
    http_status_class: Mapping[int, ErrorRule] = field(default_factory=dict)
    suggested_actions: Mapping[StandardErrorCode, str] = field(default_factory=dict)
    code_fields: Sequence[str] = ("errorCode", "code")
    message_fields: Sequence[str] = ("errorMessage", "message")
    default_retry_after: float = 1.0
    description: str = ""
    _exact: Mapping[str, ParsedRule] = field(init=False, repr=False, compare=False)
    _by_message: Mapping[str, tuple[_Pattern, ...]] = field(init=False, repr=False, compare=False)
    _patterns: tuple[_Pattern, ...] = field(init=False, repr=False, compare=False)
    _status: Mapping[int, ParsedRule] = field(init=False, repr=False, compare=False)
    _status_class: Mapping[int, ParsedRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact: dict[str, ParsedRule] = {}
        for key, value in self.exact.items():
            name = str(key).strip()
            if not name or name in exact:
                raise ValueError(f"exact: empty or duplicate code {key!r}")
            exact[name] = _parse_rule(value, f"exact[{key!r}]")
        by_message = {
            str(key).strip(): tuple(_parse_pattern(p, f"by_message[{key!r}]") for p in rules)
            for key, rules in self.by_message.items()
        }
        patterns = tuple(_parse_pattern(p, "patterns") for p in self.patterns)
        status: dict[int, ParsedRule] = {}
        for status_key, value in self.http_status.items():
            if (
                isinstance(status_key, bool)
                or not isinstance(status_key, int)
                or not 100 <= status_key <= 599
            ):
                raise ValueError(f"http_status: {status_key!r} is not an HTTP status")
            status[status_key] = _parse_rule(value, f"http_status[{status_key}]")
        status_class: dict[int, ParsedRule] = {}
        for class_key, value in self.http_status_class.items():
            if isinstance(class_key, bool) or not isinstance(class_key, int) or not 1 <= class_key <= 5:
                raise ValueError(f"http_status_class: {class_key!r} is not a status class (1-5)")
            status_class[class_key] = _parse_rule(value, f"http_status_class[{class_key}]")
        for code, action in self.suggested_actions.items():
            if not isinstance(code, StandardErrorCode) or not isinstance(action, str) or not action.strip():
                raise TypeError(f"suggested_actions: bad entry {code!r}: {action!r}")
        if not math.isfinite(self.default_retry_after) or self.default_retry_after < 0:
            raise ValueError("default_retry_after must be a finite number of seconds >= 0")
        freeze = object.__setattr__
        freeze(self, "exact", MappingProxyType(dict(self.exact)))
        freeze(self, "patterns", tuple(self.patterns))
        freeze(self, "http_status", MappingProxyType(dict(self.http_status)))
        freeze(self, "by_message", MappingProxyType({k: tuple(v) for k, v in self.by_message.items()}))
        freeze(self, "http_status_class", MappingProxyType(dict(self.http_status_class)))
        freeze(self, "suggested_actions", MappingProxyType(dict(self.suggested_actions)))
        freeze(self, "code_fields", tuple(self.code_fields))
        freeze(self, "message_fields", tuple(self.message_fields))
        freeze(self, "_exact", MappingProxyType(exact))
        freeze(self, "_by_message", MappingProxyType(by_message))
        freeze(self, "_patterns", patterns)
        freeze(self, "_status", MappingProxyType(status))
        freeze(self, "_status_class", MappingProxyType(status_class))

    # -- lookups, one per level ------------------------------------------------------------------

    def _match_code(self, code: str, message: str = "") -> tuple[ParsedRule, MatchSource, str] | None:
        """The rule for the broker code ``code`` (its message patterns first), or ``None``."""
        for key in (code, code.upper()):
            for pattern in self._by_message.get(key, ()):
                if pattern.regex.search(message):
                    return pattern.rule, MatchSource.BY_MESSAGE, f"{key} ~ {pattern.source}"
            rule = self._exact.get(key)
            if rule is not None:
                return rule, MatchSource.EXACT, key
        return None

    def _match_message(self, message: str) -> tuple[ParsedRule, MatchSource, str] | None:
        """The first pattern rule found in ``message``, or ``None``."""
        if message:
            for pattern in self._patterns:
                if pattern.regex.search(message):
                    return pattern.rule, MatchSource.PATTERN, pattern.source
        return None

    def _match_status(self, status: int) -> tuple[ParsedRule, MatchSource, str] | None:
        """The rule for HTTP ``status`` (exact status, then its class), or ``None``."""
        rule = self._status.get(status)
        if rule is not None:
            return rule, MatchSource.HTTP_STATUS, str(status)
        rule = self._status_class.get(status // 100)
        if rule is not None:
            return rule, MatchSource.HTTP_STATUS_CLASS, f"{status // 100}xx"
        return None

    def action_for(self, code: StandardErrorCode) -> str:
        """This broker's suggested action for ``code``, or the library default."""
        return self.suggested_actions.get(code) or DEFAULT_SUGGESTED_ACTIONS[code]

    def rows(self) -> tuple[MappingRow, ...]:
        """Every row of the table, in lookup order, with its effective suggested action."""
        rows: list[MappingRow] = []

        def add(kind: MatchSource, key: str, rule: ParsedRule, pattern: str | None = None) -> None:
            rows.append(MappingRow(kind, key, rule.code, rule.action or self.action_for(rule.code), pattern))

        for key, patterns in self._by_message.items():
            for p in patterns:
                add(MatchSource.BY_MESSAGE, key, p.rule, p.source)
        for key, rule in self._exact.items():
            add(MatchSource.EXACT, key, rule)
        for p in self._patterns:
            add(MatchSource.PATTERN, p.source, p.rule)
        for status, rule in sorted(self._status.items()):
            add(MatchSource.HTTP_STATUS, str(status), rule)
        for klass, rule in sorted(self._status_class.items()):
            add(MatchSource.HTTP_STATUS_CLASS, f"{klass}xx", rule)
        return tuple(rows)
