"""The standardized error: one broker failure in standard terms, and :func:`make_error` to build one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from broker_integration.errors._codes import (
    DEFAULT_SUGGESTED_ACTIONS,
    TRANSIENT_CODES,
    StandardErrorCode,
    is_retryable_code,
)
from broker_integration.errors._masking import mask_secrets
from broker_integration.log import redact

__all__ = ["StandardizedError", "make_error"]


class StandardizedError(BaseModel):
    """A broker error in standard terms; safe to log, store and export (context is secret-masked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_code: StandardErrorCode
    message: str
    broker_name: str = ""
    broker_error_code: str | None = None
    http_status: int | None = None
    suggested_action: str = ""
    retryable: bool = False
    retry_after: float | None = Field(default=None, ge=0)
    #: ``False`` when the failure is known to have come before the request reached the broker (a refused
    #: connection, an open breaker, a check before sending) or the broker turned it away unexecuted at its
    #: door (a maintenance page, a 429); ``True`` when the request reached it; ``None`` when not known.
    sent: bool | None = None
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    context: Mapping[str, Any] = Field(default_factory=dict)

    @field_validator("context", mode="before")
    @classmethod
    def _mask(cls, value: Any) -> Any:
        return mask_secrets(value) if isinstance(value, Mapping) else value

    @field_validator("message", mode="after")
    @classmethod
    def _redact_message(cls, value: str) -> str:
        # Broker messages and exception texts can echo a request's headers or query; never keep a secret.
        return redact(value)

    @property
    def is_transient(self) -> bool:
        return self.error_code in TRANSIENT_CODES

    def __str__(self) -> str:
        where = f"{self.broker_name}: " if self.broker_name else ""
        theirs = f" [{self.broker_error_code}]" if self.broker_error_code else ""
        return f"{where}{self.error_code.value}{theirs}: {self.message}"


def make_error(
    code: StandardErrorCode,
    message: str,
    *,
    broker_name: str = "",
    broker_error_code: str | None = None,
    http_status: int | None = None,
    suggested_action: str | None = None,
    retryable: bool | None = None,
    retry_after: float | None = None,
    sent: bool | None = None,
    context: Mapping[str, Any] | None = None,
) -> StandardizedError:
    """Build a :class:`StandardizedError` with the code's default action and retryability filled in."""
    return StandardizedError(
        error_code=code,
        message=message,
        broker_name=broker_name,
        broker_error_code=broker_error_code,
        http_status=http_status,
        suggested_action=suggested_action or DEFAULT_SUGGESTED_ACTIONS[code],
        retryable=is_retryable_code(code) if retryable is None else retryable,
        retry_after=retry_after,
        sent=sent,
        context=context or {},
    )
