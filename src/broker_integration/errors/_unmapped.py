"""Errors no table knows: counted per ``(broker, code)`` and logged once each, so gaps in tables show up."""

from __future__ import annotations

import threading
from collections import Counter

from broker_integration.errors._registry import table_key
from broker_integration.log import get_logger

__all__ = ["note_unmapped", "reset_unmapped_error_counts", "unmapped_error_counts"]

_log = get_logger("broker_integration.errors")

_MAX_UNMAPPED_KEYS = 10_000  # distinct keys kept; any further key counts as (broker, "<other>")

_unmapped: Counter[tuple[str, str]] = Counter()
_unmapped_lock = threading.Lock()


def note_unmapped(broker: str, code: str | None, status: int | None, message: str) -> None:
    """Count one error that mapped to UNKNOWN; the first of its kind is logged with the table to extend."""
    key = (table_key(broker) or "-", code or (f"HTTP {status}" if status is not None else "-"))
    with _unmapped_lock:
        if key not in _unmapped and len(_unmapped) >= _MAX_UNMAPPED_KEYS:
            key = (key[0], "<other>")
        first = key not in _unmapped
        _unmapped[key] += 1
    if first:
        _log.warning(
            "unmapped error from %s: code %s, HTTP %s, message %r -> UNKNOWN; add it to the %s error table",
            key[0],
            code or "-",
            status if status is not None else "-",
            message[:200],
            key[0],
        )


def unmapped_error_counts() -> dict[tuple[str, str], int]:
    """How often each ``(broker, broker code)`` mapped to UNKNOWN in this process (``HTTP 418``, ``-`` if none)."""
    with _unmapped_lock:
        return dict(_unmapped)


def reset_unmapped_error_counts() -> None:
    """Forget the unmapped-error counts (each key will be logged again on its next occurrence)."""
    with _unmapped_lock:
        _unmapped.clear()
