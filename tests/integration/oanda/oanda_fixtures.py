"""Helpers shared by the OANDA simulator tests (imported by name: pytest puts this folder on the path).

``raw`` speaks to the simulator as a bare HTTP client would, so tests can check OANDA's exact status
codes and bodies; the adapter tests go through :class:`OandaAdapter` as users do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from broker_integration.broker_config import BrokerConfiguration, BrokerSettings
from broker_integration.sim.instruments import InstrumentSpec, default_instruments
from broker_integration.sim.oanda import OandaSimulator
from broker_integration.sim.profile import VenueProfile

#: A venue that trades around the clock, so tests do not depend on the day of the week.
ALWAYS_OPEN = VenueProfile(name="oanda", enforce_trading_hours=False)
#: A venue that keeps FX hours (closed from Friday 17:00 to Sunday 17:00 New York time).
FX_HOURS = VenueProfile(name="oanda", enforce_trading_hours=True)
#: Friday 5 January 2024, 15:00 UTC (10:00 New York): FX is open. A day later it is closed.
FRIDAY = datetime(2024, 1, 5, 15, 0, tzinfo=UTC)
SATURDAY = datetime(2024, 1, 6, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers and the body (decoded JSON, or text when it is not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any
    text: str


async def raw(
    sim: OandaSimulator,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    token: str | None = "",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> Answer:
    """One request to the simulator; ``token=""`` uses the simulator's own, ``None`` sends none."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token or sim.token}"
    payload = data if data is not None else (orjson.dumps(body) if body is not None else None)
    if payload is not None:
        sent.setdefault("Content-Type", "application/json")
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{sim.base_url}{path}", data=payload, params=params, headers=sent
        ) as response,
    ):
        text = await response.text()
        try:
            decoded: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            decoded = None
        return Answer(response.status, dict(response.headers), decoded, text)


def account_path(sim: OandaSimulator, suffix: str = "") -> str:
    return f"/v3/accounts/{sim.account_id}{suffix}"


def market(instrument: str, units: str, client_id: str | None = None) -> dict[str, Any]:
    """A v20 market order request body."""
    order: dict[str, Any] = {"type": "MARKET", "instrument": instrument, "units": units}
    if client_id is not None:
        order["clientExtensions"] = {"id": client_id}
    return {"order": order}


def limit(instrument: str, units: str, price: str, client_id: str | None = None) -> dict[str, Any]:
    """A v20 limit order request body (GTC)."""
    body = market(instrument, units, client_id)
    body["order"].update({"type": "LIMIT", "price": price, "timeInForce": "GTC"})
    return body


def with_min_units(minimum: Decimal) -> tuple[InstrumentSpec, ...]:
    """The default listing with EUR/USD needing at least ``minimum`` units per order."""
    specs = []
    for spec in default_instruments():
        if spec.symbol == "EUR/USD":
            info = spec.instrument.model_copy(update={"min_quantity": minimum})
            spec = dataclasses.replace(spec, instrument=info)
        specs.append(spec)
    return tuple(specs)


def no_retries(config: BrokerConfiguration, **settings: Any) -> BrokerConfiguration:
    """``config`` with automatic retries of reads switched off (so a fault shows as the caller's error)."""
    return config.model_copy(update={"settings": BrokerSettings(retry_attempts=0, **settings)})
