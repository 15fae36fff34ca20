"""Configuration models for one broker connection.

The shape follows the seed's JSON: ``broker_name``, ``display_name``, ``enabled``, ``credentials``,
``endpoints``, ``limits``, ``settings``, plus ``options`` for adapter-specific knobs (a paper venue's
execution profile, say). Secrets are ``SecretStr``: they print as ``**********`` everywhere and are
only revealed by the adapter that sends them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "BrokerConfiguration",
    "BrokerCredentials",
    "BrokerEndpoints",
    "BrokerLimits",
    "BrokerSettings",
    "Environment",
]

_BROKER_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
_PRACTICE_HOST_HINTS = ("practice", "paper", "sandbox", "demo", "testnet", "fxtrade-practice")


class Environment(StrEnum):
    """Which of a broker's worlds a credential belongs to. Only LIVE trades real money."""

    PRACTICE = "practice"
    PAPER = "paper"
    SANDBOX = "sandbox"
    LIVE = "live"

    @property
    def is_live(self) -> bool:
        return self is Environment.LIVE


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class BrokerCredentials(_Strict):
    """How to authenticate. ``api_key`` is the bearer token for token brokers (OANDA)."""

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    account_id: str | None = None
    environment: Environment = Environment.PRACTICE

    def __repr__(self) -> str:
        key = "set" if self.api_key else "unset"
        secret = "set" if self.secret_key else "unset"
        return (
            f"BrokerCredentials(api_key=<{key}>, secret_key=<{secret}>, "
            f"account_id={self.account_id!r}, environment={self.environment.value!r})"
        )

    __str__ = __repr__


class BrokerEndpoints(_Strict):
    """Where the broker lives. Empty for the embedded paper broker."""

    base_url: str | None = None
    stream_url: str | None = None

    @field_validator("base_url", "stream_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?|wss?)://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) or ws(s) URL")
        return value.rstrip("/") if value else value


class BrokerLimits(_Strict):
    """Client-side limits the call pipeline enforces for this broker."""

    requests_per_second: float = Field(default=50.0, gt=0, le=100_000)
    max_orders_per_second: float = Field(default=10.0, gt=0, le=100_000)


class BrokerSettings(_Strict):
    """Behaviour of calls to this broker."""

    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry_attempts: int = Field(default=3, ge=0, le=20)
    enable_streaming: bool = True


class BrokerConfiguration(_Strict):
    """Everything needed to create and run one broker adapter."""

    broker_name: str
    display_name: str = ""
    enabled: bool = True
    credentials: BrokerCredentials = Field(default_factory=BrokerCredentials)
    endpoints: BrokerEndpoints = Field(default_factory=BrokerEndpoints)
    limits: BrokerLimits = Field(default_factory=BrokerLimits)
    settings: BrokerSettings = Field(default_factory=BrokerSettings)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("broker_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _BROKER_NAME.match(value):
            raise ValueError(
                f"broker_name {value!r} must start with a lowercase letter and use only a-z, 0-9, '_' or '-'"
            )
        return value

    @model_validator(mode="after")
    def _live_is_live(self) -> Self:
        if self.credentials.environment.is_live:
            for field_name in ("base_url", "stream_url"):
                url = getattr(self.endpoints, field_name) or ""
                if any(hint in url.lower() for hint in _PRACTICE_HOST_HINTS):
                    raise ValueError(
                        f"endpoints.{field_name} {url!r} is a practice/paper host but "
                        "credentials.environment is 'live'"
                    )
        return self

    @model_validator(mode="after")
    def _default_display_name(self) -> Self:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.broker_name)
        return self

    def to_dict(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        """A plain dict in the seed's JSON shape; secrets masked unless ``reveal_secrets``."""
        data = self.model_dump(mode="json")
        creds = data["credentials"]
        for key in ("api_key", "secret_key"):
            secret: SecretStr | None = getattr(self.credentials, key)
            if secret is None:
                creds[key] = None
            else:
                creds[key] = secret.get_secret_value() if reveal_secrets else "**********"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrokerConfiguration:
        """Validate a dict in the seed's JSON shape; unknown keys are refused."""
        return cls.model_validate(data)
