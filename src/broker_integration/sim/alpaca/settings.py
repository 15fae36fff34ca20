"""What an Alpaca simulator is started with: where it listens, the key pair it accepts, and its pace.

One key pair reaches one account, as at Alpaca (reference §2.1). The request limit defaults to Alpaca's
documented 200 requests a minute per key (reference §2.7), as a bucket that holds a minute's worth;
``None`` turns it off (benchmarks, fault suites). ``quote_interval`` paces the market-data stream (every
instrument whose quote changed, once per interval; ``send_unchanged_quotes`` sends them all, a firehose
for throughput tests).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

__all__ = ["AlpacaSimSettings", "new_key_id", "new_secret_key"]

_KEY = re.compile(r"^[A-Za-z0-9]{16,64}$")


def new_key_id() -> str:
    """A key id shaped like Alpaca's paper keys: ``PK`` and 18 upper-case letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "PK" + "".join(secrets.choice(alphabet) for _ in range(18))


def new_secret_key() -> str:
    """A secret shaped like Alpaca's: 40 letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(40))


@dataclass(frozen=True, slots=True)
class AlpacaSimSettings:
    """How the simulator listens and paces its answers (``None`` keys: generated at start)."""

    host: str = "127.0.0.1"
    port: int = 0
    key_id: str | None = None
    secret_key: str | None = None
    requests_per_minute: float | None = 200.0
    quote_interval: float = 0.25
    send_unchanged_quotes: bool = False
    hang_seconds: float = 30.0
    auth_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65_535:
            raise ValueError("port must be between 0 (any free port) and 65535")
        for name in ("key_id", "secret_key"):
            value = getattr(self, name)
            if value is not None and not _KEY.match(value):
                raise ValueError(f"{name} is 16 to 64 letters and digits")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive, or None for no limit")
        if self.quote_interval < 0 or self.hang_seconds < 0 or self.auth_timeout <= 0:
            raise ValueError(
                "quote_interval and hang_seconds cannot be negative, auth_timeout must be positive"
            )
