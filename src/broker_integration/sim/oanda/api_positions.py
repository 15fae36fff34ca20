"""The position endpoints (reference §1.6): every traded position, the open ones, one, and the closeout
(200 with the closeout order's fill or cancel; 400 + reject when there is nothing to close)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from broker_integration.sim.oanda.answers import TRANSACTION_KEYS, action_body
from broker_integration.sim.oanda.errors import V20Error
from broker_integration.sim.oanda.middleware import (
    account_of,
    renderer_of,
    respond,
)
from broker_integration.sim.oanda.parse import (
    Closeout,
    OrderExtras,
    parse_closeout,
)
from broker_integration.sim.oanda.reading import (
    last_id,
    path_instrument,
    read_json,
    state_of,
)
from broker_integration.sim.oanda.rejections import REJECT_MESSAGES, with_reject_error
from broker_integration.sim.oanda.render import V20Renderer
from broker_integration.sim.oanda.state import SimulatorState
from broker_integration.sim.records import OrderOutcome, Transaction

__all__ = ["all_positions", "close_position", "one_position", "open_positions", "positions_of"]


async def all_positions(request: web.Request) -> web.Response:
    """``GET …/positions``: every instrument the account has ever traded."""
    return _positions_answer(request, only_open=False)


async def open_positions(request: web.Request) -> web.Response:
    """``GET …/openPositions``: positions with units on either side."""
    return _positions_answer(request, only_open=True)


def _positions_answer(request: web.Request, *, only_open: bool) -> web.Response:
    state, account_id = state_of(request), account_of(request)
    positions = positions_of(state, renderer_of(request), account_id, only_open=only_open)
    return respond(request, 200, {"positions": positions, "lastTransactionID": last_id(state)})


def positions_of(
    state: SimulatorState, renderer: V20Renderer, account_id: str, *, only_open: bool
) -> list[dict[str, Any]]:
    current = {position.instrument: position for position in state.engine.positions(account_id)}
    state.history.catch_up()
    instruments = list(current) if only_open else state.history.traded_instruments(account_id)
    return [renderer.position(account_id, symbol, current.get(symbol)) for symbol in instruments]


async def one_position(request: web.Request) -> web.Response:
    """``GET …/positions/{instrument}``: the position, flat if never traded."""
    state, account_id = state_of(request), account_of(request)
    spec = path_instrument(request, state)
    current = state.engine.positions(account_id, instrument=spec.symbol)
    state.history.catch_up()
    position = renderer_of(request).position(account_id, spec.symbol, current[0] if current else None)
    return respond(request, 200, {"position": position, "lastTransactionID": last_id(state)})


async def close_position(request: web.Request) -> web.Response:
    """``PUT …/positions/{instrument}/close``: a closeout market order per side (reference §1.6)."""
    state, account_id = state_of(request), account_of(request)
    spec = path_instrument(request, state)
    sides = parse_closeout(await read_json(request))
    current = state.engine.positions(account_id, instrument=spec.symbol)
    net = current[0].units if current else Decimal(0)
    held = "long" if net > 0 else "short" if net < 0 else None
    missing = [closeout for closeout in sides if closeout.side != held]
    if missing and held is not None:
        raise V20Error(
            400,
            {
                "errorCode": "CLOSEOUT_POSITION_DOESNT_EXIST",
                "errorMessage": REJECT_MESSAGES["CLOSEOUT_POSITION_DOESNT_EXIST"],
            },
        )
    closeout = missing[0] if missing else sides[0]
    amount = None if closeout.units == "ALL" else Decimal(closeout.units)
    outcome = state.engine.close_position(account_id, spec.symbol, amount)
    return _close_answer(request, state, outcome, closeout)


def _close_answer(
    request: web.Request, state: SimulatorState, outcome: OrderOutcome, closeout: Closeout
) -> web.Response:
    extras = OrderExtras(position_fill="REDUCE_ONLY", closeout=closeout)

    def key(t: Transaction) -> str:  # longOrderCreateTransaction, shortOrderFillTransaction …
        name = TRANSACTION_KEYS[t.type]
        return f"{closeout.side}{name[0].upper()}{name[1:]}"

    body = action_body(request, state, outcome.transactions, extras, key)
    if outcome.order is None and outcome.reject_reason is not None:
        return respond(request, 400, with_reject_error(body, outcome.reject_reason, outcome.message))
    return respond(request, 200, body)
