"""The transaction stream: ``GET …/transactions/stream``, chunked newline-delimited JSON [spec].

From the moment the request is made, each transaction the venue writes for the account is sent as one
line, rendered as ``GET …/transactions/{id}`` renders it (fills of resting orders included: the stream
looks at the venue every :data:`_POLL` seconds, which also lets the venue match resting orders), and a
``{"type":"HEARTBEAT","lastTransactionID":…,"time":…}`` line [rec: oandapyV20 stream fixture] every
heartbeat interval (5 s at OANDA, ``SimulatorSettings.heartbeat_interval`` here).

A TIMEOUT fault, or :meth:`OandaSimulator.silence_streams`, makes it go silent like the price stream.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from broker_integration.sim.oanda.api_transactions import render
from broker_integration.sim.oanda.middleware import account_of, renderer_of, silent_stream_requested
from broker_integration.sim.oanda.reading import last_id, state_of
from broker_integration.sim.oanda.stream import connected, open_stream, stay_silent

__all__ = ["transaction_stream"]

_POLL = 0.05  # seconds between looks at the venue's log


async def transaction_stream(request: web.Request) -> web.StreamResponse:
    state, account_id, renderer = state_of(request), account_of(request), renderer_of(request)
    engine = state.engine
    seen = engine.last_transaction_id
    response = await open_stream(request, state)
    loop = asyncio.get_running_loop()
    beat = state.settings.heartbeat_interval
    next_beat = loop.time() + beat
    try:
        if silent_stream_requested(request):
            await stay_silent(request, state)
            return response
        while not state.closing.is_set() and connected(request):
            if state.silenced:
                await stay_silent(request, state)
                break
            new = engine.transactions(account_id=account_id, since_id=seen)
            seen = engine.last_transaction_id
            lines = [orjson.dumps(render(state, renderer, t)) for t in new]
            if loop.time() >= next_beat:
                heartbeat = {"type": "HEARTBEAT", "lastTransactionID": last_id(state)}
                heartbeat["time"] = renderer.time(engine.clock.now())
                lines.append(orjson.dumps(heartbeat))
                state.counts.heartbeats_sent += 1
                next_beat = loop.time() + beat
            if lines:
                await response.write(b"\n".join(lines) + b"\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.closing.wait(), min(_POLL, max(0.0, next_beat - loop.time())))
    except ConnectionError:
        pass  # the client went away
    finally:
        state.streams.pop(id(request), None)
    return response
