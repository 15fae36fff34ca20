"""What an OANDA simulator is started with: where it listens, who may use it, and how its connection behaves.

Tokens and accounts are fixed at start, as at OANDA: a token reaches the accounts listed for it and no
others (any other account id gets OANDA's 403). The connection knobs default to OANDA's documented
behaviour (reference §1.7, §1.9): heartbeats every 5 s, at most one price per instrument per 250 ms
window, about 100 requests per second on one connection.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

__all__ = ["Credential", "SimulatorSettings", "new_account_id", "new_token"]

_ACCOUNT_ID = re.compile(r"^\d{3}-\d{3}-\d+-\d{3}$")
_TOKEN = re.compile(r"^[A-Za-z0-9\-_.]{16,128}$")


def new_token() -> str:
    """A fresh token shaped like OANDA's personal access tokens: two 32-hex-digit halves."""
    return f"{secrets.token_hex(16)}-{secrets.token_hex(16)}"


def new_account_id(user_id: int, number: int) -> str:
    """An OANDA-style v20 account id, ``site-division-user-account`` (reference §1.1)."""
    return f"101-004-{user_id}-{number:03d}"


@dataclass(frozen=True, slots=True)
class Credential:
    """One token and the accounts it may act on (the first is the one ``OandaSimulator.account_id`` names)."""

    token: str
    account_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.token):
            raise ValueError("a token is 16 to 128 characters of letters, digits, '-', '_' or '.'")
        if not self.account_ids:
            raise ValueError("a token must reach at least one account")
        for account_id in self.account_ids:
            if not _ACCOUNT_ID.match(account_id):
                raise ValueError(f"{account_id!r} is not an OANDA v20 account id such as 101-004-1435156-001")


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """How the simulator listens and paces its answers.

    ``credentials`` empty means one generated token reaching one new account. ``max_requests_per_second``
    is per TCP connection (``None`` turns the limit off, e.g. for benchmarks of the client side).
    ``heartbeat_interval`` paces the heartbeats of both streams, prices and transactions (5 s at OANDA;
    shorter in tests). ``price_interval`` is the price stream's window; ``send_unchanged_prices`` sends
    every instrument every window even when its price did not move (a firehose for throughput tests, not
    OANDA's behaviour). ``hang_seconds`` is how long a request that suffers a TIMEOUT fault is held
    before its connection is dropped. ``user_id`` is the OANDA user id in account ids and transactions.
    ``accounts`` is how many accounts the generated token reaches when ``credentials`` is empty (several
    accounts under one login, as an OANDA user can have).

    ``read_after_write_lag`` makes ``GET …/orders/{orderSpecifier}`` answer 404 NO_SUCH_ORDER for that
    many seconds after the order last changed, as OANDA was seen to for 0.25 to 0.5 s after a fill
    (reference §1.5 [rec]); 0 turns it off. It applies to that order lookup only. What never lags: the
    transaction history (``…/transactions``, ``/idrange``, ``/sinceid``, ``/transactions/{id}`` and the
    transaction stream: OANDA documents no delay there, and a client proves what happened to an order
    from it), the order lists (``…/orders``, ``…/pendingOrders``), trades, positions and the account.
    """

    host: str = "127.0.0.1"
    port: int = 0
    credentials: tuple[Credential, ...] = field(default_factory=tuple)
    heartbeat_interval: float = 5.0
    price_interval: float = 0.25
    send_unchanged_prices: bool = False
    max_requests_per_second: float | None = 100.0
    hang_seconds: float = 30.0
    read_after_write_lag: float = 0.0
    user_id: int = 1435156
    accounts: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65_535:
            raise ValueError("port must be between 0 (any free port) and 65535")
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive")
        if not 1 <= self.accounts <= 999:
            raise ValueError("accounts must be between 1 and 999")
        if self.price_interval < 0:
            raise ValueError("price_interval cannot be negative")
        if self.max_requests_per_second is not None and self.max_requests_per_second <= 0:
            raise ValueError("max_requests_per_second must be positive, or None for no limit")
        if self.hang_seconds < 0 or self.read_after_write_lag < 0:
            raise ValueError("hang_seconds and read_after_write_lag cannot be negative")
        if self.user_id <= 0:
            raise ValueError("user_id must be positive")
        tokens = [c.token for c in self.credentials]
        if len(tokens) != len(set(tokens)):
            raise ValueError("each token may appear once in credentials")

    def resolved_credentials(self) -> tuple[Credential, ...]:
        """The credentials to serve: the configured ones, or one generated token and account."""
        if self.credentials:
            return self.credentials
        ids = tuple(new_account_id(self.user_id, number) for number in range(1, self.accounts + 1))
        return (Credential(new_token(), ids),)
