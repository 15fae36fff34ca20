"""Configuration models for one broker connection.

The shape follows the seed's JSON: ``broker_name``, ``display_name``, ``enabled``, ``credentials``,
``endpoints``, ``limits``, ``settings``, plus ``options`` for adapter-specific knobs (a paper venue's
execution profile, say). Secrets are ``SecretStr``: they print as ``**********`` everywhere and are
only revealed by the adapter that sends them. Models are frozen, refuse unknown keys and never echo
their input in validation errors (a token pasted into the wrong field would otherwise leak).

Fields marked ``json_schema_extra={"reload": False}`` (the account and the live/practice switch) cannot
change while a process runs; :mod:`broker_integration.config` refuses such a change on reload.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any, Self, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from broker_integration.adapters.hosts import live_hosts, practice_hosts
from broker_integration.errors import is_secret_key, mask_secrets

__all__ = [
    "BrokerConfiguration",
    "BrokerCredentials",
    "BrokerEndpoints",
    "BrokerLimits",
    "BrokerSettings",
    "Environment",
]

_BROKER_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
#: Words in an endpoint that mark a practice world at venues whose hosts are not declared.
_PRACTICE_HOST_HINTS = ("practice", "paper", "sandbox", "demo", "testnet")
_SECRET_MASK = "**********"  # noqa: S105 - the mask, not a password
#: A secret made only of asterisks is a mask copied from printed or exported output, never a real secret.
_MASKED = re.compile(r"^\*{3,}$")


def _refuse_mask(value: str, where: str) -> None:
    if _MASKED.match(value):
        raise ValueError(
            f"{where} holds the mask {value!r}, not a secret: this value was copied from printed or exported "
            "configuration (to_dict(masked=True), a log, `config show`); pass the configuration itself or "
            "config.to_dict(), which carries the secrets"
        )


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
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, hide_input_in_errors=True)

    def __getitem__(self, key: str) -> Any:
        """Read access by key (``config["endpoints"]["base_url"]``), so adapter code written for the seed's
        ``Dict[str, Any]`` configuration and credentials runs unchanged; secrets stay ``SecretStr``."""
        if key in type(self).model_fields:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]``, or ``default`` for a key the model does not have."""
        return getattr(self, key) if key in type(self).model_fields else default


class BrokerCredentials(_Strict):
    """How to authenticate. ``api_key`` is the bearer token for token brokers (OANDA)."""

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    account_id: str | None = Field(default=None, json_schema_extra={"reload": False})
    environment: Environment = Field(default=Environment.PRACTICE, json_schema_extra={"reload": False})

    @field_validator("api_key", "secret_key")
    @classmethod
    def _not_a_mask(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _refuse_mask(value.get_secret_value(), "this secret")
        return value

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
            raise ValueError("not an http(s) or ws(s) URL")
        return value.rstrip("/") if value else value


class BrokerLimits(_Strict):
    """Client-side limits the call pipeline enforces for this broker."""

    requests_per_second: float = Field(default=50.0, gt=0, le=100_000)
    max_orders_per_second: float = Field(default=10.0, gt=0, le=100_000)
    shared: bool = Field(
        default=False,
        description="Hold these limits in the store, shared by every process trading this broker account "
        "(the factory given a store, or build_pipeline(..., store=)); otherwise each process has its own.",
    )

    @model_validator(mode="after")
    def _orders_are_requests(self) -> Self:
        both_given = {"requests_per_second", "max_orders_per_second"} <= self.model_fields_set
        if both_given and self.max_orders_per_second > self.requests_per_second:
            raise ValueError(
                f"max_orders_per_second ({self.max_orders_per_second:g}) exceeds requests_per_second "
                f"({self.requests_per_second:g}); every order is a request"
            )
        return self


class BrokerSettings(_Strict):
    """Behaviour of calls to this broker."""

    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry_attempts: int = Field(default=3, ge=0, le=20)
    enable_streaming: bool = True


class BrokerConfiguration(_Strict):
    """Everything needed to create and run one broker adapter."""

    broker_name: str
    display_name: str = ""
    adapter: str | None = Field(
        default=None,
        description="The registered adapter type that serves this broker (default: broker_name); lets two "
        "venues of one type, e.g. two paper venues, be configured side by side.",
    )
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
                "broker_name must start with a lowercase letter and use only a-z, 0-9, '_' or '-' "
                "(at most 40 characters)"
            )
        return value

    @field_validator("adapter")
    @classmethod
    def _adapter_name(cls, value: str | None) -> str | None:
        if value is not None and not _BROKER_NAME.match(value):
            raise ValueError("adapter must name a registered adapter: lowercase letters, digits, '_' or '-'")
        return value

    @field_validator("options", mode="before")
    @classmethod
    def _plain_option_secrets(cls, value: Any) -> Any:
        """Secret options arrive as ``SecretStr`` from :meth:`to_dict`; keep their values, refuse masks."""
        return _unwrap_secret_options(value) if isinstance(value, Mapping) else value

    @property
    def adapter_type(self) -> str:
        """The adapter registration that serves this broker."""
        return self.adapter or self.broker_name

    @model_validator(mode="after")
    def _live_is_live(self) -> Self:
        """Refuse live credentials on a practice host and practice credentials on a real-money host, from the
        hosts each built-in venue declares (:mod:`broker_integration.adapters.hosts`) and, for other venues,
        the words practice hosts carry."""
        live = self.credentials.environment.is_live
        for field_name in ("base_url", "stream_url"):
            url: str | None = getattr(self.endpoints, field_name)
            if not url:
                continue
            host = (urlsplit(url).hostname or "").lower()
            hinted = any(hint in url.lower() for hint in _PRACTICE_HOST_HINTS)
            if live and (hinted or host in practice_hosts()):
                raise ValueError(
                    f"endpoints.{field_name} is a practice/paper host but credentials.environment is 'live'"
                )
            if not live and host in live_hosts():
                raise ValueError(
                    f"endpoints.{field_name} is a live (real money) host but credentials.environment "
                    f"is {self.credentials.environment.value!r}"
                )
        return self

    @model_validator(mode="after")
    def _default_display_name(self) -> Self:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.broker_name)
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, (mask_secrets(value) if name == "options" else value)

    def to_dict(self, *, reveal_secrets: bool = False, masked: bool = False) -> dict[str, Any]:
        """A plain dict in the seed's JSON shape, which :meth:`from_dict` (and so
        ``factory.create_adapter(name, config.to_dict())``) turns back into this configuration.

        Secrets — the ``SecretStr`` credentials and any ``options`` entry under a secret-looking key
        (``token``, ``password``, ``api_key`` ...) — are ``SecretStr`` values: they carry the real secret to
        the adapter and print as ``**********``. ``masked=True`` replaces them by the mask instead, for
        printing and exports (a masked dict is refused by :meth:`from_dict`); ``reveal_secrets=True`` gives
        them as plain strings.
        """
        if reveal_secrets and masked:
            raise ValueError("to_dict: reveal_secrets and masked exclude each other")
        data = self.model_dump(mode="json")
        if data["adapter"] is None:
            del data["adapter"]  # optional; left out so the seed's shape round-trips unchanged
        if not data["limits"]["shared"]:
            del data["limits"]["shared"]  # likewise (and recorded configuration versions keep their hash)
        creds = data["credentials"]
        for key in ("api_key", "secret_key"):
            secret: SecretStr | None = getattr(self.credentials, key)
            if secret is None:
                creds[key] = None
            elif reveal_secrets:
                creds[key] = secret.get_secret_value()
            else:
                creds[key] = _SECRET_MASK if masked else secret
        if masked:
            data["options"] = mask_secrets(data["options"])
        elif not reveal_secrets:
            data["options"] = _wrap_secret_options(data["options"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrokerConfiguration:
        """Validate a dict in the seed's JSON shape; unknown keys are refused."""
        return cls.model_validate(data)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of one broker's configuration (fields fixed at run time carry ``"reload": false``)."""
        return cls.model_json_schema(mode="validation")

    @classmethod
    def restart_required_paths(cls) -> tuple[tuple[str, ...], ...]:
        """Paths of the fields that cannot change while a process runs (``reload: False`` in the schema)."""
        return tuple(path for path, info in _walk_fields(cls) if _extra(info).get("reload") is False)

    @classmethod
    def secret_paths(cls) -> tuple[tuple[str, ...], ...]:
        """Paths of the ``SecretStr`` fields, e.g. ``("credentials", "api_key")``."""
        return tuple(path for path, info in _walk_fields(cls) if SecretStr in _flat_types(info.annotation))


def _wrap_secret_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with each string under a secret-looking key as a ``SecretStr``."""
    wrapped: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, Mapping):
            wrapped[key] = _wrap_secret_options(value)
        elif isinstance(value, str) and is_secret_key(key):
            wrapped[key] = SecretStr(value)
        else:
            wrapped[key] = value
    return wrapped


def _unwrap_secret_options(options: Mapping[str, Any], prefix: str = "options") -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in options.items():
        where = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            value = _unwrap_secret_options(value, where)
        elif isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str) and is_secret_key(key):
            _refuse_mask(value, where)
        plain[key] = value
    return plain


def _extra(info: Any) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _flat_types(annotation: Any) -> tuple[Any, ...]:
    args = get_args(annotation)
    return args if args else (annotation,)


def _walk_fields(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk_fields(annotation, path)
        else:
            yield path, info
