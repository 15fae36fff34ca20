"""The simulator's two websockets (reference §2.4, §2.6).

``/stream`` speaks ``trade_updates``: the client authenticates with ``{"action":"authenticate","data":
{"key_id","secret_key"}}`` (answered ``authorized`` or ``unauthorized``, then closed), listens with
``{"action":"listen","data":{"streams":["trade_updates"]}}`` and gets every order event from then on, each as
one binary frame of JSON, as paper does.

``/v2/{feed}`` (stocks) and ``/v1beta3/crypto/{loc}`` (crypto) speak market data: ``[{"T":"success",
"msg":"connected"}]`` on connect, ``auth`` within ``auth_timeout`` (``402 auth failed``, ``404 auth timeout``
otherwise), ``subscribe``/``unsubscribe`` answered with the full subscription, then quote frames (``T: q``)
every ``quote_interval``. JSON text by default; msgpack when the client asks for it with
``Content-Type: application/msgpack`` (as alpaca-py does).

A stream that drew a TIMEOUT fault, or every stream while :meth:`AlpacaSimulator.silence_streams` is on,
goes silent: it sends nothing and reads nothing, so the client's pings go unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from broker_integration.sim.alpaca.render import quote_json
from broker_integration.sim.alpaca.state import AlpacaState
from broker_integration.sim.alpaca.trading import state_of
from broker_integration.sim.faults import silent_stream_requested

__all__ = ["market_data_stream", "trade_updates_stream"]

_POLL = 0.05  # seconds between looks at the venue (which also lets it match resting orders)


async def _serve(
    request: web.Request, session: Callable[[AlpacaState, web.WebSocketResponse], Awaitable[None]]
) -> web.WebSocketResponse:
    """Open the websocket and run its ``session``, or keep it silent when a TIMEOUT fault was drawn for it; a
    client that goes ends it quietly, and however it ends the stream is forgotten and its connection closed."""
    state = state_of(request)
    ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    state.streams[id(ws)] = ws
    state.counts.streams_opened += 1
    try:
        if silent_stream_requested(request):
            await _stay_silent(state)
        else:
            await session(state, ws)
    except (ConnectionError, TimeoutError, asyncio.CancelledError):
        pass
    finally:
        await _close(state, ws)
    return ws


@contextlib.asynccontextmanager
async def _reading(reader_loop: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``reader_loop`` (the client's frames, read so its pings are answered) as a task while the block
    sends, and stop it when the block ends."""
    reader = asyncio.get_running_loop().create_task(reader_loop)
    try:
        yield reader
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def _close(state: AlpacaState, ws: web.WebSocketResponse) -> None:
    """Forget a stream that ended and close its connection if the client has not."""
    state.streams.pop(id(ws), None)
    if not ws.closed:
        with contextlib.suppress(Exception):
            await ws.close()


async def _stay_silent(state: AlpacaState) -> None:
    """Send nothing, read nothing (pings go unanswered) until the server stops or the hang ends."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.closing.wait(), state.settings.hang_seconds)


async def _receive(
    ws: web.WebSocketResponse, decode: Callable[[bytes | str], Any], timeout: float | None
) -> Any:
    message = await ws.receive(timeout=timeout)
    if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
        try:
            return decode(message.data)
        except ValueError:
            return None
    raise ConnectionResetError("the client closed the stream")


# ------------------------------------------------------------------------------------ trade updates


async def trade_updates_stream(request: web.Request) -> web.StreamResponse:
    return await _serve(request, _trade_updates)


async def _trade_updates(state: AlpacaState, ws: web.WebSocketResponse) -> None:
    if not await _authenticate_trading(ws, state):
        return
    listening = asyncio.Event()
    async with _reading(_listen_requests(ws, listening)) as reader:
        waiting = asyncio.get_running_loop().create_task(listening.wait())
        await asyncio.wait({reader, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if not listening.is_set():
            return  # the client left before listening
        await ws.send_bytes(orjson.dumps({"stream": "listening", "data": {"streams": ["trade_updates"]}}))
        await _push_updates(ws, state, reader)


async def _authenticate_trading(ws: web.WebSocketResponse, state: AlpacaState) -> bool:
    message = await _receive(ws, orjson.loads, state.settings.auth_timeout)
    data = message.get("data") if isinstance(message, dict) else None
    authorized = (
        isinstance(message, dict)
        and message.get("action") in ("authenticate", "auth")
        and isinstance(data, dict)
        and data.get("key_id") == state.key_id
        and data.get("secret_key") == state.secret_key
    )
    status = "authorized" if authorized else "unauthorized"
    reply = {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}
    await ws.send_bytes(orjson.dumps(reply))
    if not authorized:
        await ws.close()
    return authorized


async def _listen_requests(ws: web.WebSocketResponse, listening: asyncio.Event) -> None:
    """Read the client's frames (so its pings are answered) until it goes; set ``listening`` when it asks
    for ``trade_updates``."""
    async for message in ws:
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        try:
            body = orjson.loads(message.data)
        except ValueError:
            continue
        streams = (body.get("data") or {}).get("streams") if isinstance(body, dict) else None
        if isinstance(body, dict) and body.get("action") == "listen" and "trade_updates" in (streams or []):
            listening.set()


async def _push_updates(ws: web.WebSocketResponse, state: AlpacaState, reader: asyncio.Task[None]) -> None:
    cursor = len(state.feed)
    while not state.closing.is_set() and not ws.closed and not reader.done():
        if state.silenced:
            reader.cancel()
            await _stay_silent(state)
            return
        state.pump()
        feed = state.feed
        while cursor < len(feed):
            await ws.send_bytes(feed[cursor])
            cursor += 1
            state.counts.trade_updates_sent += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.feed_changed.wait(), _POLL)


# ------------------------------------------------------------------------------------ market data


def _codec(request: web.Request) -> tuple[Callable[[Any], bytes | str], Callable[[bytes | str], Any], bool]:
    """(encode, decode, binary): msgpack when the client asked for it and msgpack is installed, else JSON."""
    if request.headers.get("Content-Type", "").startswith("application/msgpack"):
        try:  # alpaca-py's own dependency; the simulator speaks it only to clients that ask
            msgpack = importlib.import_module("msgpack")
        except ImportError:
            pass
        else:
            return msgpack.packb, msgpack.unpackb, True
    return (lambda value: orjson.dumps(value).decode()), orjson.loads, False


async def market_data_stream(request: web.Request) -> web.StreamResponse:
    crypto = request.path.startswith("/v1beta3/")
    encode, decode, binary = _codec(request)

    async def session(state: AlpacaState, ws: web.WebSocketResponse) -> None:
        async def send(value: Any) -> None:
            frame = encode(value)
            if binary or isinstance(frame, bytes):
                await ws.send_bytes(frame if isinstance(frame, bytes) else frame.encode())
            else:
                await ws.send_str(frame)

        await send([{"T": "success", "msg": "connected"}])
        try:
            auth = await _receive(ws, decode, state.settings.auth_timeout)
        except TimeoutError:
            await send([{"T": "error", "code": 404, "msg": "auth timeout"}])
            return
        if not (isinstance(auth, dict) and auth.get("action") == "auth"):
            await send([{"T": "error", "code": 401, "msg": "not authenticated"}])
            return
        if auth.get("key") != state.key_id or auth.get("secret") != state.secret_key:
            await send([{"T": "error", "code": 402, "msg": "auth failed"}])
            return
        await send([{"T": "success", "msg": "authenticated"}])
        quotes: set[str] = set()
        async with _reading(_subscriptions(ws, decode, send, quotes)) as reader:
            await _push_quotes(state, quotes, crypto, send, reader)

    return await _serve(request, session)


async def _subscriptions(
    ws: web.WebSocketResponse,
    decode: Callable[[bytes | str], Any],
    send: Callable[[Any], Any],
    quotes: set[str],
) -> None:
    """Apply the client's subscribe and unsubscribe messages, answering each with the full subscription."""
    async for message in ws:
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        try:
            body = decode(message.data)
        except ValueError:
            body = None
        action = body.get("action") if isinstance(body, dict) else None
        if action not in ("subscribe", "unsubscribe"):
            await send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            continue
        names = body.get("quotes") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            await send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            continue
        if action == "subscribe":
            quotes.update(names)
        else:
            quotes.difference_update(names)
        await send([{"T": "subscription", "trades": [], "quotes": sorted(quotes), "bars": []}])


async def _push_quotes(
    state: AlpacaState, quotes: set[str], crypto: bool, send: Callable[[Any], Any], reader: asyncio.Task[None]
) -> None:
    last: dict[str, Any] = {}
    interval = state.settings.quote_interval
    while not state.closing.is_set() and not reader.done():
        if state.silenced:
            reader.cancel()
            await _stay_silent(state)
            return
        names = (
            [asset.symbol for asset in state.assets.values() if asset.is_crypto == crypto]
            if "*" in quotes
            else list(quotes)
        )
        frame = []
        for name in names:
            asset = state.asset(name)
            if asset is None or asset.is_crypto != crypto:
                continue
            quote = state.engine.quote(asset.symbol)
            if not state.settings.send_unchanged_quotes and last.get(name) == (
                quote.bid,
                quote.ask,
                quote.time,
            ):
                continue
            last[name] = (quote.bid, quote.ask, quote.time)
            frame.append({"T": "q", "S": name, **quote_json(asset, quote)})
        if frame:
            await send(frame)
            state.counts.quotes_sent += len(frame)
        await asyncio.sleep(interval)
