"""Alpaca's two websocket protocols, opened, authenticated, subscribed and kept alive.

* ``trade_updates`` on the trading host (``/stream``; reference §2.4): send ``{"action":"authenticate",
  "data":{"key_id","secret_key"}}``, expect ``{"stream":"authorization","data":{"status":"authorized"}}``,
  send ``{"action":"listen","data":{"streams":["trade_updates"]}}``, expect ``{"stream":"listening"}``; then
  one JSON object per frame (paper sends them as binary frames).
* market data on the data stream host (``/v2/{feed}`` for stocks, ``/v1beta3/crypto/us`` for crypto;
  reference §2.6): the server greets with ``[{"T":"success","msg":"connected"}]``, the client sends
  ``{"action":"auth","key","secret"}``, expects ``[{"T":"success","msg":"authenticated"}]`` (an error
  ``402 auth failed`` otherwise), subscribes with ``{"action":"subscribe","quotes":[…]}`` and gets the full
  subscription back; then JSON arrays of messages with a ``T`` field.

A stream whose pings go unanswered (a silent server) or whose connection drops is reopened with jittered
backoff, up to ``max_reconnects`` times in a row; credentials refused are an authentication error at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from broker_integration.adapters.alpaca.client import BROKER_NAME, AlpacaClient
from broker_integration.errors import AuthenticationError, BrokerConnectionError, BrokerError

__all__ = ["data_messages", "trade_update_messages"]

_HANDSHAKE_TIMEOUT = 10.0


async def _receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float | None = None) -> Any:
    """The next text or binary frame, decoded; a close or error frame ends the connection."""
    message = await ws.receive(timeout=timeout)
    if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        return orjson.loads(message.data)
    raise BrokerConnectionError(
        f"the websocket closed ({message.type.name}: {ws.close_code})", broker_name=BROKER_NAME
    )


async def _trade_updates_handshake(client: AlpacaClient, ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_bytes(orjson.dumps(client.auth_message()))
    reply = await _receive_json(ws, _HANDSHAKE_TIMEOUT)
    status = (reply.get("data") or {}).get("status") if isinstance(reply, Mapping) else None
    if status != "authorized":
        raise AuthenticationError(
            "Alpaca refused the key pair on the trade_updates stream", broker_name=BROKER_NAME
        )
    await ws.send_bytes(orjson.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
    while True:  # the listening acknowledgement (anything else before it is not ours to handle)
        reply = await _receive_json(ws, _HANDSHAKE_TIMEOUT)
        if isinstance(reply, Mapping) and reply.get("stream") == "listening":
            return


async def _data_handshake(
    client: AlpacaClient, ws: aiohttp.ClientWebSocketResponse, quotes: Sequence[str]
) -> None:
    greeting = await _receive_json(ws, _HANDSHAKE_TIMEOUT)
    _expect_success(greeting, "connected")
    await ws.send_bytes(orjson.dumps(client.data_auth_message()))
    _expect_success(await _receive_json(ws, _HANDSHAKE_TIMEOUT), "authenticated")
    await ws.send_str(orjson.dumps({"action": "subscribe", "quotes": list(quotes)}).decode())
    while True:
        reply = await _receive_json(ws, _HANDSHAKE_TIMEOUT)
        for message in reply if isinstance(reply, list) else [reply]:
            if message.get("T") == "error":
                _raise_stream_error(message)
            if message.get("T") == "subscription":
                return


def _expect_success(reply: Any, what: str) -> None:
    for message in reply if isinstance(reply, list) else [reply]:
        if not isinstance(message, Mapping):
            continue
        if message.get("T") == "error":
            _raise_stream_error(message)
        if message.get("T") == "success" and message.get("msg") == what:
            return
    raise BrokerConnectionError(
        f"the market-data stream did not say {what!r}: {reply!r}", broker_name=BROKER_NAME
    )


def _raise_stream_error(message: Mapping[str, Any]) -> None:
    """Market-data stream errors (reference §2.6): 401/402/404 are about credentials, the rest are not
    fixed by reconnecting either (406 too many connections, 409 insufficient subscription …)."""
    code, text = message.get("code"), str(message.get("msg", ""))
    if code in (401, 402, 404):
        raise AuthenticationError(f"Alpaca's market-data stream: {code} {text}", broker_name=BROKER_NAME)
    raise _StreamRefused(f"Alpaca's market-data stream refused: {code} {text}")


class _StreamRefused(BrokerConnectionError):
    """An error the server states on the stream: reconnecting does not help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, broker_name=BROKER_NAME, retryable=False)


async def _reconnecting(
    open_once: Callable[[], AsyncIterator[Any]],
    *,
    what: str,
    max_reconnects: int,
    catch_up: Callable[[], Awaitable[list[Any]]] | None = None,
) -> AsyncIterator[Any]:
    """Frames from ``open_once``, reopened after a drop or silence with jittered backoff; before each
    reopening, ``catch_up`` supplies what was missed meanwhile."""
    failures = 0
    rng = random.Random()
    while True:
        try:
            if failures and catch_up is not None:
                for missed in await catch_up():
                    yield missed
            async for frame in open_once():
                failures = 0
                yield frame
            raise BrokerConnectionError(f"the {what} stream ended", broker_name=BROKER_NAME)
        except (AuthenticationError, _StreamRefused):
            raise
        except (TimeoutError, BrokerError, aiohttp.ClientError, ConnectionError) as exc:
            failures += 1
            if failures > max_reconnects:
                raise BrokerConnectionError(
                    f"{what} stream failed {failures} times in a row: {exc}", broker_name=BROKER_NAME
                ) from exc
            await asyncio.sleep(rng.uniform(0, min(5.0, 0.1 * 2**failures)))


def trade_update_messages(
    client: AlpacaClient,
    url: str,
    *,
    silence_seconds: float,
    max_reconnects: int,
    catch_up: Callable[[], Awaitable[list[Any]]] | None = None,
    connected: Callable[[], None] | None = None,
) -> AsyncIterator[Mapping[str, Any]]:
    """The ``data`` of every ``trade_updates`` frame, across reconnections (``catch_up`` first after each).
    ``connected`` is called each time the stream is listening."""

    async def open_once() -> AsyncIterator[Mapping[str, Any]]:
        ws = await client.websocket(url, heartbeat=silence_seconds / 2)
        try:
            await _trade_updates_handshake(client, ws)
            if connected is not None:
                connected()
            while True:
                frame = await _receive_json(ws)
                if isinstance(frame, Mapping) and frame.get("stream") == "trade_updates":
                    yield frame.get("data") or {}
        finally:
            await ws.close()

    return _reconnecting(open_once, what="trade_updates", max_reconnects=max_reconnects, catch_up=catch_up)


def data_messages(
    client: AlpacaClient,
    url: str,
    quotes: Sequence[str],
    *,
    silence_seconds: float,
    max_reconnects: int,
) -> AsyncIterator[list[Mapping[str, Any]]]:
    """Each market-data frame's messages (a list of dicts with ``T``), across reconnections."""

    async def open_once() -> AsyncIterator[list[Mapping[str, Any]]]:
        ws = await client.websocket(url, heartbeat=silence_seconds / 2)
        try:
            await _data_handshake(client, ws, quotes)
            while True:
                frame = await _receive_json(ws)
                batch = frame if isinstance(frame, list) else [frame]
                for message in batch:
                    if message.get("T") == "error":
                        _raise_stream_error(message)
                yield batch
        finally:
            await ws.close()

    return _reconnecting(open_once, what="market data", max_reconnects=max_reconnects)
