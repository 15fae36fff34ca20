"""What a Binance spot simulator is started with: where it listens, whose API keys it accepts, what the
accounts hold at the start, and the request limits it enforces.

Defaults follow Binance's spot documentation (github.com/binance/binance-spot-api-docs, ``rest-api.md``
"LIMITS" and ``GET /api/v3/exchangeInfo``'s ``rateLimits``): 6,000 request weight per minute per IP, 100
new orders per 10 seconds and 200,000 per day per account; an IP that keeps sending after its 429s is
banned with 418 (Binance scales the ban from 2 minutes to 3 days; the simulator bans for ``ban_seconds``).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["ApiKey", "SimulatorSettings", "new_api_key"]

_KEY = re.compile(r"^[A-Za-z0-9]{16,128}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_ASSET = re.compile(r"^[A-Z0-9]{2,10}$")
_ALPHABET = string.ascii_letters + string.digits


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_api_key(account_id: str = "spot-001") -> ApiKey:
    """A fresh HMAC key pair shaped like Binance's: 64 letters and digits each."""
    return ApiKey(_random_text(64), _random_text(64), account_id)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One HMAC-SHA256 API key, its secret and the account it acts on. ``can_trade`` false: a read-only key
    (Binance keys cannot trade until trading is enabled for them)."""

    key: str
    secret: str
    account_id: str
    can_trade: bool = True

    def __post_init__(self) -> None:
        if not _KEY.match(self.key) or not _KEY.match(self.secret):
            raise ValueError("an API key and its secret are 16 to 128 letters or digits")
        if not _ACCOUNT.match(self.account_id):
            raise ValueError(f"{self.account_id!r} is not an account id (letters, digits, '-' or '_')")

    def __repr__(self) -> str:
        return f"ApiKey(key={self.key[:6]}…, secret=***, account_id={self.account_id!r})"


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """How the simulator listens, who may use it and how hard it may be used.

    ``keys`` empty means one generated key for one new account. ``quote_asset`` is the asset every listed
    pair is quoted in and the accounts' cash; accounts open with the venue profile's ``initial_balance`` of
    it, and ``holdings`` (asset → amount) are bought at the venue's price when the simulator starts, so
    an account can sell from the first order. ``request_weight_per_minute`` is per IP (``None``: no
    limit), ``orders_per_10s``/``orders_per_day`` per account (``None``: none); ``ban_after`` requests
    refused with 429 within one minute get the IP banned (418) for ``ban_seconds``. ``hang_seconds`` is
    how long a request that drew a TIMEOUT fault is held before its connection is dropped. ``user_id`` is
    the ``uid`` the account endpoint reports.
    """

    host: str = "127.0.0.1"
    port: int = 0
    keys: tuple[ApiKey, ...] = ()
    quote_asset: str = "USDT"
    holdings: tuple[tuple[str, Decimal], ...] = ()
    request_weight_per_minute: int | None = 6_000
    orders_per_10s: int | None = 100
    orders_per_day: int | None = 200_000
    ban_after: int = 50
    ban_seconds: float = 120.0
    hang_seconds: float = 30.0
    user_id: int = 354937868
    #: Seconds between the market streams' book-ticker pushes (Binance pushes on every change, at most
    #: every 100 ms here so a test or demo is not flooded).
    stream_interval: float = 0.1
    _holdings: dict[str, Decimal] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65_535:
            raise ValueError("port must be between 0 (any free port) and 65535")
        if not _ASSET.match(self.quote_asset):
            raise ValueError(f"{self.quote_asset!r} is not an asset name such as USDT")
        for limit in (self.request_weight_per_minute, self.orders_per_10s, self.orders_per_day):
            if limit is not None and limit <= 0:
                raise ValueError("request and order limits must be positive, or None for no limit")
        if self.ban_after < 1 or self.ban_seconds < 0 or self.hang_seconds < 0:
            raise ValueError("ban_after must be at least 1; ban_seconds and hang_seconds not negative")
        if self.stream_interval <= 0:
            raise ValueError("stream_interval must be positive")
        holdings: dict[str, Decimal] = {}
        for asset, amount in self.holdings:
            if not _ASSET.match(asset) or asset == self.quote_asset:
                raise ValueError(f"holdings: {asset!r} is not a base asset (the quote asset is the cash)")
            if not Decimal(amount).is_finite() or Decimal(amount) < 0:
                raise ValueError(f"holdings: {asset} needs a positive amount")
            holdings[asset] = Decimal(amount)
        object.__setattr__(self, "_holdings", holdings)
        names = [k.key for k in self.keys]
        if len(names) != len(set(names)):
            raise ValueError("each API key may appear once in keys")

    @property
    def opening_holdings(self) -> dict[str, Decimal]:
        """Base assets each account holds from the start, by asset."""
        return dict(self._holdings)

    def resolved_keys(self) -> tuple[ApiKey, ...]:
        """The keys to accept: the configured ones, or one generated key for one account."""
        return self.keys or (new_api_key(),)
