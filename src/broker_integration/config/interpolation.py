"""``${VAR}`` references in configuration values, a strict subset of Compose interpolation.

``${VAR}`` is the variable (an unset one is an error, never an empty string: a literal ``${TOKEN}``
silently becoming a password is the bug this prevents), ``${VAR:-default}`` falls back when the variable is
unset or empty, ``${VAR:?message}`` fails with ``message`` when it is unset or empty, and ``$$`` is a
literal ``$``. A ``$`` followed by anything else is left alone. Only values are interpolated, never keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["InterpolationError", "has_reference", "interpolate", "is_pure_reference"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PURE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::\?[^}]*|:-)?\}")


class InterpolationError(ValueError):
    """A reference that cannot be resolved; the message never contains a variable's value."""


def has_reference(text: str) -> bool:
    """Whether ``text`` contains something :func:`interpolate` would change."""
    return "$" in text


def is_pure_reference(text: str) -> bool:
    """``${VAR}``, ``${VAR:?message}`` or ``${VAR:-}`` (an empty default) and nothing else: a value whose
    text holds no secret of its own."""
    return _PURE.fullmatch(text) is not None


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every reference replaced by its value from ``env``."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            out.append("$")
            i = dollar + 2
        elif following == "{":
            end = text.find("}", dollar + 2)
            if end < 0:
                raise InterpolationError("unterminated '${' reference (no closing '}')")
            out.append(_resolve(text[dollar + 2 : end], env))
            i = end + 1
        else:
            out.append("$")
            i = dollar + 1
    return "".join(out)


def _resolve(body: str, env: Mapping[str, str]) -> str:
    match = _NAME.match(body)
    if match is None:
        raise InterpolationError(
            "invalid reference: '${' must be followed by a variable name (letters, digits, '_'; "
            "not starting with a digit); write '$$' for a literal '$'"
        )
    name, rest = match.group(), body[match.end() :]
    value = env.get(name)
    if rest == "":
        if value is None:
            raise InterpolationError(
                f"environment variable {name} is not set (write ${{{name}:-default}} to allow a default)"
            )
        return value
    if rest.startswith(":-"):
        return value if value else rest[2:]
    if rest.startswith(":?"):
        if not value:
            raise InterpolationError(f"{name}: {rest[2:] or 'is not set or empty'}")
        return value
    raise InterpolationError(
        f"unsupported form of reference to {name}: use ${{{name}}}, ${{{name}:-default}} or ${{{name}:?message}}"
    )
