"""Binance's request security for SIGNED endpoints (``rest-api.md``, "Request Security", "SIGNED Endpoint
security", "Timing security"), checked as Binance does:

* the ``X-MBX-APIKEY`` header names a key: missing or malformed ``-2014`` (401), unknown ``-2015`` (401);
* ``timestamp`` is mandatory (``-1102``); ``recvWindow`` defaults to 5,000 ms and may not exceed 60,000;
* ``signature`` is the HMAC-SHA256 of the query string concatenated with the body (each without the
  ``signature`` parameter), keyed with the secret, in hex, compared without regard to case (``-1022``);
* the request is processed only if ``timestamp < serverTime + 1000`` and ``serverTime - timestamp <=
  recvWindow`` (``-1021``), and checked again just before it reaches the matching engine
  (:func:`still_in_window`): a request held up past its window is refused unexecuted.

Timestamps may be in milliseconds or microseconds (16 digits), as Binance takes both.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from decimal import Decimal

from broker_integration.sim.binance.errors import (
    bad_recv_window,
    bad_signature,
    illegal_characters,
    invalid_api_key,
    key_format,
    mandatory,
    timestamp_ahead,
    timestamp_outside_window,
)
from broker_integration.sim.binance.params import Params
from broker_integration.sim.binance.settings import ApiKey

__all__ = ["API_KEY_HEADER", "SignedRequest", "authenticate", "signature_of", "still_in_window"]

API_KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW_MS = Decimal(5_000)
MAX_RECV_WINDOW_MS = Decimal(60_000)
#: How far ahead of the server's clock a timestamp may be.
AHEAD_MS = Decimal(1_000)
_KEY = re.compile(r"^[A-Za-z0-9]{1,128}$", re.ASCII)
_RECV_WINDOW = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,3})?$", re.ASCII)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose key, signature and timing passed: who sent it and when it stops being valid."""

    key: ApiKey
    timestamp_ms: Decimal
    recv_window_ms: Decimal


def signature_of(secret: str, payload: str) -> str:
    """The HMAC-SHA256 signature Binance expects of ``payload`` (hex)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def api_key_of(header: str | None, keys: dict[str, ApiKey]) -> ApiKey:
    """The key the ``X-MBX-APIKEY`` header names: ``-2014`` when missing or malformed, ``-2015`` unknown."""
    if header is None or not _KEY.match(header):
        raise key_format()
    key = keys.get(header)
    if key is None:
        raise invalid_api_key()
    return key


def _without_signature(raw: str) -> tuple[str, list[str]]:
    """``raw`` without its ``signature`` parameter, and the signatures it carried."""
    kept: list[str] = []
    signatures: list[str] = []
    for part in raw.split("&") if raw else ():
        if part.startswith("signature="):
            signatures.append(part.removeprefix("signature="))
        else:
            kept.append(part)
    return "&".join(kept), signatures


def _milliseconds(value: Decimal) -> Decimal:
    """A timestamp in milliseconds, whether it was sent in milliseconds or microseconds."""
    return value / 1_000 if value >= 10**15 else value


def authenticate(
    params: Params, header: str | None, keys: dict[str, ApiKey], server_ms: int
) -> SignedRequest:
    """Check a SIGNED request's key, parameters, signature and timing; raise Binance's error if one fails."""
    key = api_key_of(header, keys)
    timestamp = params.long("timestamp", required=True)
    assert timestamp is not None
    window_text = params.text("recvWindow")
    if window_text is None:
        window = DEFAULT_RECV_WINDOW_MS
    elif not _RECV_WINDOW.match(window_text):
        raise illegal_characters("recvWindow", "^[0-9]{1,6}(\\.[0-9]{1,3})?$")
    else:
        window = Decimal(window_text)
        if window > MAX_RECV_WINDOW_MS:
            raise bad_recv_window()
    query, in_query = _without_signature(params.raw_query)
    body, in_body = _without_signature(params.raw_body)
    params.accept("signature")
    sent = in_query + in_body
    if len(sent) != 1 or not sent[0]:
        raise bad_signature() if sent else mandatory("signature")
    expected = signature_of(key.secret, query + body)
    if not hmac.compare_digest(expected, sent[0].lower()):
        raise bad_signature()
    stamp = _milliseconds(Decimal(timestamp))
    if stamp >= server_ms + AHEAD_MS:
        raise timestamp_ahead()
    if server_ms - stamp > window:
        raise timestamp_outside_window()
    return SignedRequest(key, stamp, window)


def still_in_window(signed: SignedRequest, server_ms: int) -> None:
    """The second timing check, just before the matching engine: ``-1021`` if the window has passed."""
    if server_ms - signed.timestamp_ms > signed.recv_window_ms:
        raise timestamp_outside_window()
