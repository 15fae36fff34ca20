"""Reading a v20 request: its simulator state, JSON body, query parameters and path segments, with
OANDA's schema-level 400 (``Invalid value specified for '<field>'``) for what cannot be read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.errors import V20Error, invalid_value, missing_data
from broker_integration.sim.oanda.formats import numeric, parse_time
from broker_integration.sim.oanda.state import STATE, SimulatorState

__all__ = [
    "flag",
    "instrument_filter",
    "instrument_list",
    "int_param",
    "last_id",
    "order_specifier",
    "path_instrument",
    "read_json",
    "specifier",
    "state_of",
    "time_param",
]

_TRUE_FALSE = {"true": True, "false": False}


def state_of(request: web.Request) -> SimulatorState:
    return request.app[STATE]


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise missing_data()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise V20Error(400, {"errorMessage": "The request body is not valid JSON"}) from None


def last_id(state: SimulatorState) -> str:
    return str(state.engine.last_transaction_id)


def instrument_list(state: SimulatorState, text: str, field: str) -> list[InstrumentSpec]:
    specs = []
    for name in text.split(","):
        spec = state.names.spec(name)
        if spec is None:
            raise invalid_value(field)
        specs.append(spec)
    return specs


def instrument_filter(request: web.Request, state: SimulatorState) -> str | None:
    """The engine symbol of the ``instrument`` query parameter, ``None`` when absent (a list filter)."""
    name = request.query.get("instrument")
    if name is None:
        return None
    spec = state.names.spec(name)
    if spec is None:
        raise invalid_value("instrument")
    return spec.symbol


def path_instrument(request: web.Request, state: SimulatorState) -> InstrumentSpec:
    spec = state.names.spec(request.match_info["instrument"])
    if spec is None:
        raise invalid_value("instrument")
    return spec


def specifier(text: str) -> tuple[str | None, str | None] | None:
    """An order or trade specifier: an OANDA id (``2304``) or ``@`` and a client id (``@my_id``) [spec];
    ``None`` when it is neither."""
    number = numeric(text)
    if number is not None:
        return str(number), None
    if text.startswith("@") and len(text) > 1:
        return None, text[1:]
    return None


def order_specifier(request: web.Request) -> tuple[str | None, str | None]:
    """``orderSpecifier``: an OANDA order id (``2304``) or ``@`` and a client order id (``@my_id``)."""
    parsed = specifier(request.match_info["orderSpecifier"])
    if parsed is None:
        raise invalid_value("orderSpecifier")
    return parsed


def int_param(text: str | None, field: str, default: int | None, maximum: int | None) -> int | None:
    if text is None:
        return default
    number = numeric(text)
    if number is None or number < 1 or (maximum is not None and number > maximum):
        raise invalid_value(field)
    return number


def time_param(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise invalid_value(field) from None


def flag(text: str | None, field: str, *, default: bool) -> bool:
    if text is None:
        return default
    value = _TRUE_FALSE.get(text.lower())
    if value is None:
        raise invalid_value(field)
    return value
