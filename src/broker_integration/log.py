"""Logging for the library: the ``broker_integration`` logger hierarchy and secret redaction.

The library never configures the root logger. It attaches a :class:`RedactingFilter` to its own
loggers' handlers through :func:`configure_logging` (used by the CLI), and redacts Bearer tokens and
any value registered with :func:`register_secret` from every message it formats.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import TextIO

__all__ = ["LOGGER_NAME", "RedactingFilter", "configure_logging", "get_logger", "redact", "register_secret"]

LOGGER_NAME = "broker_integration"
MASK = "***"

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{4,}")
#: ``api_key=value``, ``"token": "value"``...: the key and separator kept, the value masked. Syntax is left
#: whole: a ``${VAR...}`` reference (the key named inside one, or a reference as the value) names a variable,
#: not a secret, so ``${OANDA_API_KEY:-default}`` in a hint stays as the user must write it.
_KEY_VALUE = re.compile(
    r"(?i)(\$\{\w*)?((?:api[_-]?key|secret[_-]?key|token|password|authorization)['\"]?\s*[=:]\s*['\"]?)"
    r"(?!\$\{)[^'\"\s,}]{4,}"
)
_secrets: set[str] = set()
_lock = threading.Lock()


_MIN_SECRET_LENGTH = 6


def register_secret(value: str) -> None:
    """Redact ``value`` wherever it would appear in a log line.

    Values shorter than six characters are ignored: masking them would garble ordinary words.
    """
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def _mask_value(match: re.Match[str]) -> str:
    if match.group(1):  # inside a ${VAR...} reference: syntax, kept as written
        return match.group(0)
    return match.group(2) + MASK


def redact(text: str) -> str:
    """``text`` with Bearer tokens, ``key=value`` secrets and registered secret values masked."""
    text = _BEARER.sub(r"\1" + MASK, text)
    text = _KEY_VALUE.sub(_mask_value, text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """The library logger ``name`` with redaction attached, so records are clean whoever handles them."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def configure_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send the library's log lines to ``stream`` (stderr by default) with secrets redacted."""
    logger = logging.getLogger(LOGGER_NAME)
    for earlier in [h for h in logger.handlers if isinstance(h, _ConfiguredHandler)]:
        logger.removeHandler(earlier)  # configuring again replaces, never stacks
    handler = _ConfiguredHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(_FILTER)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


class _ConfiguredHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs. Without a stream of its own it writes to whatever
    ``sys.stderr`` is when a record is emitted (a test runner or a notebook may swap it)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())
