"""Secrets kept out of errors: a context mapping masked, a validation error described without its input."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["MASK", "describe_validation_error", "is_secret_key", "mask_secrets"]

_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|authorization|credential|signature)", re.I
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.I)
MASK = "***"


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error as ``"field: problem; field: problem"``, never with the input (it may be a secret)."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        text = err["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in err["loc"])
        problems.append(f"{where}: {text}" if where else text)
    return "; ".join(problems)


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret (``token``, ``password``, ``api_key`` ...)."""
    return _SECRET_KEY.search(str(key)) is not None


def mask_secrets(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context`` with every value under a secret-looking key replaced by ``***``.

    Nested mappings, and mappings and strings inside lists and tuples, are masked too; Bearer tokens
    in string values are masked wherever they appear.
    """
    masked: dict[str, Any] = {}
    for key, value in context.items():
        if is_secret_key(key):
            masked[key] = MASK
        else:
            masked[key] = _mask_value(value)
    return masked


def _mask_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_secrets(value)
    if isinstance(value, str):
        return _BEARER.sub(r"\1" + MASK, value)
    if isinstance(value, list):
        return [_mask_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_mask_value(item) for item in value)
    return value
