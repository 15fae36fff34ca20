"""``ConfigError``: the one exception configuration code raises, naming the file, the key path and the problem.

Every message is built from our own words, never from the offending input, and passes through the log
redactor, so a secret cannot ride out on an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from broker_integration.log import redact

__all__ = ["ConfigError", "ConfigIssue"]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: where (``file``, dotted key ``path``) and what."""

    file: str | None
    path: str
    problem: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.path) if part)
        return f"{where}: {self.problem}" if where else self.problem


class ConfigError(ValueError):
    """A configuration that cannot be loaded, validated or applied; the previous one stays active."""

    issues: tuple[ConfigIssue, ...]

    def __init__(self, problem: str, *, file: str | None = None, path: str = "") -> None:
        self._set([ConfigIssue(file, path, problem)])

    @classmethod
    def from_issues(cls, issues: Iterable[ConfigIssue]) -> ConfigError:
        """One error carrying several problems (e.g. every invalid field of a file)."""
        listed = list(issues)
        if not listed:
            raise ValueError("a ConfigError needs at least one issue")
        error = cls.__new__(cls)
        error._set(listed)
        return error

    def _set(self, issues: list[ConfigIssue]) -> None:
        self.issues = tuple(ConfigIssue(i.file, i.path, redact(i.problem)) for i in issues)
        if len(self.issues) == 1:
            text = str(self.issues[0])
        else:
            lines = "\n".join(f"  {issue}" for issue in self.issues)
            text = f"invalid configuration ({len(self.issues)} problems):\n{lines}"
        super().__init__(text)

    @property
    def file(self) -> str | None:
        """The file of the first problem."""
        return self.issues[0].file

    @property
    def path(self) -> str:
        """The key path of the first problem."""
        return self.issues[0].path

    @property
    def problem(self) -> str:
        """What is wrong, for the first problem."""
        return self.issues[0].problem

    def with_file(self, file: str) -> ConfigError:
        """The same error with ``file`` filled in where it was unknown."""
        return ConfigError.from_issues(ConfigIssue(i.file or file, i.path, i.problem) for i in self.issues)
