"""Helpers shared by the Binance simulator and CCXT adapter tests (imported by name: pytest puts this folder
on the path).

``raw`` and ``signed`` speak to the simulator as a bare HTTP client would, so tests can check Binance's
exact status codes, headers and bodies; the other tests go through the real ``ccxt`` client or the adapter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from broker_integration.sim.binance.auth import signature_of
from broker_integration.sim.binance.server import BinanceSimulator
from broker_integration.sim.profile import VenueProfile

#: The venue the tests trade on: around the clock, no random faults, 10 bps commission (Binance's base rate).
BINANCE = VenueProfile(name="binance", enforce_trading_hours=False, commission={"bps": "10"})


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers and the body (decoded JSON, or text when it is not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any


async def raw(
    sim: BinanceSimulator,
    method: str,
    path: str,
    *,
    query: str = "",
    body: str = "",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request with exactly the query string and form body given."""
    url = f"{sim.base_url}{path}" + (f"?{query}" if query else "")
    sent = dict(headers or {})
    if body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=body.encode() if body else None, headers=sent) as response,
    ):
        text = await response.text()
        try:
            decoded: Any = orjson.loads(text) if text else None
        except orjson.JSONDecodeError:
            decoded = text
        return Answer(response.status, dict(response.headers), decoded)


async def signed(
    sim: BinanceSimulator,
    method: str,
    path: str,
    params: dict[str, Any],
    *,
    secret: str | None = None,
    key: str | None = None,
    timestamp_ms: int | None = None,
) -> Answer:
    """A SIGNED request as Binance's documentation builds one: ``timestamp`` added, the whole parameter
    string signed with HMAC-SHA256 and sent in the query (GET, DELETE) or the body (POST)."""
    stamped = {**params, "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)}
    payload = urlencode(stamped)
    signature = signature_of(secret or sim.secret, payload)
    text = f"{payload}&signature={signature}"
    headers = {"X-MBX-APIKEY": key or sim.api_key}
    if method in ("GET", "DELETE"):
        return await raw(sim, method, path, query=text, headers=headers)
    return await raw(sim, method, path, body=text, headers=headers)
