"""Mapping a broker's own error onto the standard codes: :func:`resolve_error_mapping` finds the row,
:func:`map_broker_error` builds the :class:`StandardizedError`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from broker_integration.errors._codes import (
    AMBIGUOUS_IF_SENT,
    DEFAULT_SUGGESTED_ACTIONS,
    StandardErrorCode,
    is_retryable_code,
)
from broker_integration.errors._model import StandardizedError
from broker_integration.errors._registry import GENERIC_TABLE_NAME, get_error_table, table_key
from broker_integration.errors._retry_after import clean_seconds, parse_retry_after
from broker_integration.errors._table import ErrorMatch, MatchSource, ParsedRule
from broker_integration.errors._unmapped import note_unmapped

if TYPE_CHECKING:
    from broker_integration.clock import Clock

__all__ = ["map_broker_error", "resolve_error_mapping"]

_MAX_MESSAGE = 1000  # characters kept in a StandardizedError's message (an HTML 503 page is long)
_MAX_SEARCH = 4000  # characters of a message searched by patterns
_MAX_CODE = 200  # characters kept of a broker's error code


def _clean_code(code: object) -> str | None:
    if code is None or isinstance(code, bool):
        return None
    text = str(code).strip()[:_MAX_CODE]
    return text or None


def _clean_status(status: object) -> int | None:
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        return status
    return None


def resolve_error_mapping(
    broker_name: str,
    broker_error_code: str | int | None = None,
    message: str = "",
    http_status: int | None = None,
) -> ErrorMatch:
    """Which standard code and action the tables give, and which row decided; no logging, no counting.

    Levels, each tried on the broker's table and then on the generic HTTP table: the broker code
    (message-refined first), message patterns, the HTTP status (exact, then class). No hit: UNKNOWN.
    The action is the row's own, else the broker's override for the code, else the library default.
    """
    key = table_key(broker_name)
    code = _clean_code(broker_error_code)
    text = message[:_MAX_SEARCH] if isinstance(message, str) else ""
    status = _clean_status(http_status)
    own = get_error_table(key)
    generic = get_error_table(GENERIC_TABLE_NAME)
    chain = [(name, t) for name, t in ((key, own), (GENERIC_TABLE_NAME, generic)) if t is not None]
    if own is not None and own is generic:
        chain = chain[:1]
    advisor = own or generic

    def action(rule: ParsedRule) -> str:
        if rule.action:
            return rule.action
        return advisor.action_for(rule.code) if advisor else DEFAULT_SUGGESTED_ACTIONS[rule.code]

    for level in ("code", "message", "status"):
        for name, table in chain:
            if level == "code":
                hit = table._match_code(code, text) if code is not None else None
            elif level == "message":
                hit = table._match_message(text)
            else:
                hit = table._match_status(status) if status is not None else None
            if hit is not None:
                rule, source, matched = hit
                return ErrorMatch(rule.code, action(rule), source, name, matched)
    unknown = StandardErrorCode.UNKNOWN
    return ErrorMatch(
        unknown,
        advisor.action_for(unknown) if advisor else DEFAULT_SUGGESTED_ACTIONS[unknown],
        MatchSource.UNMAPPED,
    )


def map_broker_error(
    broker_name: str,
    broker_error_code: str | int | None = None,
    message: str = "",
    *,
    http_status: int | None = None,
    context: Mapping[str, Any] | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
    may_have_executed: bool = False,
    clock: Clock | None = None,
) -> StandardizedError:
    """The :class:`StandardizedError` for a broker's own error code, message and HTTP status.

    >>> map_broker_error("oanda", "INSUFFICIENT_MARGIN", "Insufficient margin for order").error_code
    <StandardErrorCode.INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS'>

    The lookup is :func:`resolve_error_mapping`; an error no table knows becomes UNKNOWN, is logged once
    per ``(broker, code)`` and counted in :func:`unmapped_error_counts`. ``retryable`` follows the code
    (:func:`is_retryable_code`). ``retry_after`` is the argument if given, else read from ``headers``
    (``Retry-After``, ``X-RateLimit-Reset``) for rate limits and outages, else the table's default for a
    rate limit. ``may_have_executed`` (an order request that may have reached the broker) turns a
    timeout, connection error or outage into OUTCOME_UNKNOWN, which is never blindly retried. The
    message is redacted and the context secret-masked. Never raises on odd input.
    """
    name = "" if broker_name is None else str(broker_name).strip()
    code = _clean_code(broker_error_code)
    text = message if isinstance(message, str) else ("" if message is None else str(message))
    status = _clean_status(http_status)
    match = resolve_error_mapping(name, code, text, status)
    if match.source is MatchSource.UNMAPPED:
        note_unmapped(name, code, status, text)
    extra: dict[str, Any] = {str(k): v for k, v in context.items()} if isinstance(context, Mapping) else {}
    std, action = match.code, match.suggested_action
    table = get_error_table(name) or get_error_table(GENERIC_TABLE_NAME)
    if may_have_executed and std in AMBIGUOUS_IF_SENT:
        extra.setdefault("mapped_code", std.value)
        std = StandardErrorCode.OUTCOME_UNKNOWN
        action = table.action_for(std) if table else DEFAULT_SUGGESTED_ACTIONS[std]
    now = clock.now() if clock is not None else datetime.now(UTC)
    wait = clean_seconds(retry_after)
    if (
        wait is None
        and headers
        and std in (StandardErrorCode.RATE_LIMITED, StandardErrorCode.SERVICE_UNAVAILABLE)
    ):
        wait = parse_retry_after(headers, now=now)
    if wait is None and std is StandardErrorCode.RATE_LIMITED:
        wait = table.default_retry_after if table else 1.0
    shown = " ".join(text.split())
    if len(shown) > _MAX_MESSAGE:
        shown = shown[: _MAX_MESSAGE - 1] + "…"
    if not shown:
        shown = code or (f"HTTP {status}" if status is not None else "unspecified broker error")
    return StandardizedError(
        error_code=std,
        message=shown,
        broker_name=name,
        broker_error_code=code,
        http_status=status,
        suggested_action=action,
        retryable=is_retryable_code(std),
        retry_after=wait,
        timestamp=now,
        context=extra,
    )
