"""The price stream: ``GET …/pricing/stream``, chunked newline-delimited JSON (reference §1.7).

The current prices come first (``snapshot=true``, the default), then each instrument's price whenever it
changed, at most once per price window (250 ms at OANDA), and a ``HEARTBEAT`` line every heartbeat
interval (5 s at OANDA). Argument errors are answered as ordinary JSON errors before the stream starts.

A stream that drew a TIMEOUT fault, or every open stream after :meth:`OandaSimulator.silence_streams`,
sends nothing more — no prices, no heartbeats — while keeping its connection open: the silent stream a
client must detect by the missing heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal

import orjson
from aiohttp import web

from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.errors import invalid_value
from broker_integration.sim.oanda.middleware import renderer_of, request_id_of, silent_stream_requested
from broker_integration.sim.oanda.render import V20Renderer
from broker_integration.sim.oanda.state import STATE, SimulatorState

__all__ = ["connected", "open_stream", "pricing_stream", "stay_silent"]

_SILENT_POLL = 0.05  # how often a silent stream checks whether its client or the server went away
_FIREHOSE_LINES = 64  # lines per write when every window sends every price


async def pricing_stream(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    names = request.query.get("instruments")
    if not names:
        raise invalid_value("instruments")
    specs = []
    for name in names.split(","):
        spec = state.names.spec(name)
        if spec is None:
            raise invalid_value("instruments")
        specs.append(spec)
    snapshot = request.query.get("snapshot", "true").lower()
    if snapshot not in ("true", "false"):
        raise invalid_value("snapshot")
    response = await open_stream(request, state)
    stream = _PriceStream(state, renderer_of(request), response, specs)
    try:
        if snapshot == "true":
            await stream.send_prices(force=True)
        if silent_stream_requested(request):
            await stay_silent(request, state)
        else:
            await stream.run(request)
    except ConnectionError:
        pass  # the client went away (reset, or lost while the server waited to write)
    finally:
        state.streams.pop(id(request), None)
    return response


async def open_stream(request: web.Request, state: SimulatorState) -> web.StreamResponse:
    """Start a chunked 200 answer and register it among the open streams (the caller unregisters it)."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/octet-stream"})
    response.headers["RequestID"] = request_id_of(request)
    response.enable_chunked_encoding()
    await response.prepare(request)
    state.counts.streams_opened += 1
    state.streams[id(request)] = request
    return response


async def stay_silent(request: web.Request, state: SimulatorState) -> None:
    """Hold the connection open without a byte until the client or the server gives up."""
    while not state.closing.is_set() and connected(request):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.closing.wait(), _SILENT_POLL)


def connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


class _PriceStream:
    """One client's stream: what it last saw of each instrument, and when its next lines are due."""

    def __init__(
        self,
        state: SimulatorState,
        renderer: V20Renderer,
        response: web.StreamResponse,
        specs: Sequence[InstrumentSpec],
    ) -> None:
        self._state = state
        self._renderer = renderer
        self._response = response
        self._specs = specs
        self._seen: dict[str, tuple[Decimal, Decimal, bool]] = {}
        self._lines: dict[str, bytes] = {}

    async def send_prices(self, *, force: bool) -> None:
        lines = self._price_lines(force=force)
        if lines:
            await self._write(lines)

    def _price_lines(self, *, force: bool) -> list[bytes]:
        """The lines of the instruments whose price changed since this stream last sent it (all with
        ``force``); an unchanged price is sent as the same bytes, without rendering it again."""
        lines = []
        engine, renderer = self._state.engine, self._renderer
        for spec in self._specs:
            quote = engine.quote(spec.symbol)
            seen = (quote.bid, quote.ask, quote.tradeable)
            changed = self._seen.get(spec.symbol) != seen
            if changed:
                self._seen[spec.symbol] = seen
                self._lines[spec.symbol] = orjson.dumps(renderer.price(quote))
            if changed or force:
                lines.append(self._lines[spec.symbol])
        self._state.counts.prices_sent += len(lines)
        return lines

    async def _write(self, lines: list[bytes]) -> None:
        await self._response.write(b"\n".join(lines) + b"\n")

    async def run(self, request: web.Request) -> None:
        """Send changed prices each window and a heartbeat each interval until the stream ends or goes silent."""
        state, settings = self._state, self._state.settings
        loop = asyncio.get_running_loop()
        window, beat = settings.price_interval, settings.heartbeat_interval
        next_window, next_beat = loop.time() + window, loop.time() + beat
        firehose = window == 0 and settings.send_unchanged_prices
        while not state.closing.is_set() and connected(request):
            if state.silenced:
                await stay_silent(request, state)
                return
            wait = min(next_window, next_beat) - loop.time()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.closing.wait(), wait)
                continue
            lines: list[bytes] = []
            now = loop.time()
            if now >= next_window:
                lines.extend(self._price_lines(force=settings.send_unchanged_prices))
                while firehose and len(lines) < _FIREHOSE_LINES:
                    lines.extend(self._price_lines(force=True))
                next_window = now + window
            if now >= next_beat:
                lines.append(orjson.dumps(self._renderer.heartbeat(state.engine.clock.now())))
                state.counts.heartbeats_sent += 1
                next_beat = now + beat
            if lines:
                await self._write(lines)
            if window == 0:
                await asyncio.sleep(0)  # a zero window must still let the server serve others
