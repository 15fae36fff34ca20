"""Mapping an HTTP error response: the broker's code and message are read out of its body first."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from broker_integration.errors._mapping import map_broker_error
from broker_integration.errors._model import StandardizedError
from broker_integration.errors._registry import GENERIC_TABLE_NAME, get_error_table
from broker_integration.errors._table import ErrorMappingTable

if TYPE_CHECKING:
    from broker_integration.clock import Clock

__all__ = ["map_http_error"]


def _dig(body: Mapping[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def map_http_error(
    broker_name: str,
    http_status: int | None,
    body: bytes | str | Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    may_have_executed: bool = False,
    clock: Clock | None = None,
) -> StandardizedError:
    """Map an HTTP error response: pull the code and message out of ``body`` and call :func:`map_broker_error`.

    The body's code and message are read from the broker table's ``code_fields``/``message_fields``
    (OANDA: ``errorCode``, the reject transaction's ``rejectReason`` …; Alpaca: ``code``/``message``).
    A body that is not JSON (an HTML maintenance page) becomes the message, whitespace collapsed.
    A JSON body is kept, secret-masked, in the error's context under ``body``.
    """
    table = get_error_table(broker_name) or get_error_table(GENERIC_TABLE_NAME)
    parsed: Any = body
    if isinstance(body, bytes | bytearray):
        parsed = bytes(body).decode("utf-8", errors="replace")
    if isinstance(parsed, str) and parsed.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            parsed = json.loads(parsed)
    extra: dict[str, Any] = {str(k): v for k, v in context.items()} if isinstance(context, Mapping) else {}
    code: str | None = None
    message = ""
    if isinstance(parsed, Mapping):
        fields = table or ErrorMappingTable()
        for path in fields.code_fields:
            value = _dig(parsed, path)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                code = str(value)
                break
        for path in fields.message_fields:
            value = _dig(parsed, path)
            if isinstance(value, str) and value.strip():
                message = value
                break
        extra.setdefault("body", dict(parsed))
    elif isinstance(parsed, str):
        message = " ".join(parsed.split())[:300]
    return map_broker_error(
        broker_name,
        code,
        message,
        http_status=http_status,
        headers=headers,
        context=extra,
        may_have_executed=may_have_executed,
        clock=clock,
    )
