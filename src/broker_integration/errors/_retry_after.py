"""How long a broker asks us to wait: ``Retry-After`` (seconds or an HTTP date) and ``X-RateLimit-Reset``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["clean_seconds", "parse_retry_after"]

_MAX_RETRY_AFTER = 86_400.0  # a day: anything longer in a header is nonsense or a ban


def clean_seconds(value: object) -> float | None:
    """``value`` as a wait in seconds, clamped to 0 … one day; ``None`` when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` (and ``RateLimit-Reset``) is read as a Unix time when it is larger than 10⁹,
    else as seconds. Returns ``None`` when no header gives a usable value; never raises.
    """
    try:
        lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    except Exception:
        return None
    now = now or datetime.now(UTC)
    value = lowered.get("retry-after")
    if value:
        seconds = clean_seconds(value)
        if seconds is None:
            try:
                when = parsedate_to_datetime(value)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                seconds = clean_seconds((when - now).total_seconds())
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = None
        if seconds is not None:
            return seconds
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        try:
            reset = float(lowered.get(name, "nan"))
        except (TypeError, ValueError, OverflowError):
            continue
        if not math.isnan(reset):
            return clean_seconds(reset - now.timestamp() if reset > 1e9 else reset)
    return None
