"""ccxt's round trip on the library's HTTP transport (``adapters/ccxt/fetch.py``) against ccxt's own aiohttp
fetch: the same answers read the same way, the same exceptions, and what a failed request can have sent.

Every test runs a real server on loopback and two real ``binance`` exchange objects: one as ccxt ships it,
one as the adapter's client sets it up (``CcxtClient``). What ccxt's own fetch does is the reference.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import ccxt.async_support as ccxt
import pytest
from aiohttp import web

from broker_integration.adapters.ccxt.client import CcxtClient, translate
from broker_integration.errors import StandardErrorCode as C
from loopback import port_that_never_accepts, serving_app

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: path → (status, headers, body): answers a venue gives, good and bad.
ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/json": (200, {"Content-Type": "application/json"}, b'{"serverTime": 1700000000000, "big": 12345678901234567890}'),
    "/list": (200, {"Content-Type": "application/json"}, b"[1, 2, 3]"),
    "/text": (200, {"Content-Type": "text/plain"}, b"pong"),
    "/empty": (200, {}, b""),
    "/binance-error": (400, {"Content-Type": "application/json"}, b'{"code": -1121, "msg": "Invalid symbol."}'),
    "/teapot": (418, {"Content-Type": "application/json"}, b'{"code": -1003, "msg": "banned"}'),
    "/limited": (429, {"Retry-After": "7"}, b'{"code": -1003, "msg": "Too many requests"}'),
    "/html-500": (500, {"Content-Type": "text/html"}, b"<html><body>upstream error</body></html>"),
    "/gateway": (502, {}, b"bad gateway"),
}  # fmt: skip


@pytest.fixture
async def venue() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A server answering :data:`ANSWERS`, recording every request it read; its base URL."""
    seen: list[web.Request] = []

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        seen.append(request)
        status, headers, body = ANSWERS[request.path]
        return web.Response(status=status, headers=headers, body=body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with serving_app(app) as base:
        yield base, seen


def binance(**settings: Any) -> Any:
    exchange = ccxt.binance({"enableRateLimit": False, **settings})
    exchange.timeout_on_exit = 0
    return exchange


@pytest.fixture
async def clients() -> AsyncIterator[tuple[Any, CcxtClient]]:
    """ccxt as shipped, and the adapter's client of an exchange of its own."""
    own = binance()
    client = CcxtClient(binance(), "ccxt")
    try:
        yield own, client
    finally:
        await own.close()
        await client.close()


async def outcome(exchange: Any, url: str, method: str = "GET", body: str | None = None) -> tuple[str, Any]:
    """What ``fetch`` gave: ("returned", value) or ("raised", (class name, message))."""
    try:
        return "returned", await exchange.fetch(url, method, {"X-Test": "1"}, body)
    except Exception as exc:  # the very thing compared
        return "raised", (type(exc).__name__, str(exc))


async def test_every_answer_is_read_as_ccxts_own_fetch_reads_it(
    venue: tuple[str, list[web.Request]], clients: tuple[Any, CcxtClient]
) -> None:
    base, seen = venue
    own, client = clients
    ours = client.exchange
    for path in ANSWERS:
        for method, body in (("GET", None), ("POST", '{"side":"BUY"}'), ("DELETE", None)):
            expected = await outcome(own, f"{base}{path}?a=1", method, body)
            got = await outcome(ours, f"{base}{path}?a=1", method, body)
            assert got == expected, (path, method)
            assert ours.last_response_headers.get("Content-Type") == own.last_response_headers.get(
                "Content-Type"
            )
            assert ours.last_http_response == own.last_http_response
            assert ours.last_json_response == own.last_json_response
    assert client.fetch.transport is not None
    # Both sent the same request: method, query, body and ccxt's headers.
    pairs = list(zip(seen[::2], seen[1::2], strict=True))
    assert len(pairs) == len(ANSWERS) * 3
    for theirs, mine in pairs:
        assert (mine.method, mine.path_qs, mine.headers.get("X-Test")) == (
            theirs.method,
            theirs.path_qs,
            theirs.headers.get("X-Test"),
        )
        assert mine.headers.get("Accept-Encoding") == theirs.headers.get("Accept-Encoding")
        assert mine.content_length == theirs.content_length


async def test_the_adapters_exchange_sends_on_our_transport_and_keeps_its_connection(
    venue: tuple[str, list[web.Request]], clients: tuple[Any, CcxtClient]
) -> None:
    base, seen = venue
    _, client = clients
    for _ in range(3):
        answer = await client.exchange.fetch(f"{base}/json")
        assert answer == {"serverTime": 1700000000000, "big": 12345678901234567890}
    transport = client.fetch.transport
    assert transport is not None
    assert transport.idle_count() == 1
    assert len({r.transport for r in seen}) == 1  # one keep-alive connection for all three


Connection = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(handle: Connection, **settings: Any) -> AsyncIterator[tuple[int, Any]]:
    """A raw server on loopback that handles each connection with ``handle``; its port, and an adapter's
    client of a ``binance`` exchange made with ``settings`` (a setting given as a function is called with the
    port: a proxy's address, say). Both are closed at the end."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = CcxtClient(
        binance(**{key: value(port) if callable(value) else value for key, value in settings.items()}), "ccxt"
    )
    try:
        yield port, client
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


async def test_a_proxy_keeps_ccxts_own_fetch() -> None:
    """Our transport speaks no proxy protocol: an exchange set to use one must go through it."""
    proxied: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxied.append((await reader.readuntil(b"\r\n")).decode())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async with serving(proxy, httpProxy=lambda port: f"http://127.0.0.1:{port}") as (_, client):
        assert await client.exchange.fetch("http://127.0.0.1:9/api/v3/time") == {}
        assert proxied == ["GET http://127.0.0.1:9/api/v3/time HTTP/1.1\r\n"]
        assert client.fetch.transport is None


async def test_a_refused_connection_is_known_unsent_and_a_dropped_one_is_open() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the whole request read, then no answer
        writer.close()

    closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    refused_port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    async with serving(drop) as (port, client):
        with pytest.raises(ccxt.ExchangeNotAvailable) as refused:
            await client.exchange.fetch(f"http://127.0.0.1:{refused_port}/api/v3/order", "POST", None, "x=1")
        error = translate(refused.value, adapter_name="ccxt", may_have_executed=True).error
        assert (error.error_code, error.sent) == (C.SERVICE_UNAVAILABLE, False)
        with pytest.raises(ccxt.ExchangeNotAvailable) as dropped:
            await client.exchange.fetch(f"http://127.0.0.1:{port}/api/v3/order", "POST", None, "x=1")
        error = translate(dropped.value, adapter_name="ccxt", may_have_executed=True).error
        assert (error.error_code, error.sent) == (C.OUTCOME_UNKNOWN, None)


async def test_ccxts_timeout_bounds_the_round_trip() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(2)
        writer.close()

    async with serving(slow, timeout=200) as (port, client):
        started = asyncio.get_running_loop().time()
        with pytest.raises(ccxt.RequestTimeout):
            await client.exchange.fetch(f"http://127.0.0.1:{port}/api/v3/order", "POST", None, "x=1")
        assert asyncio.get_running_loop().time() - started < 1.5


async def test_tls_verification_switched_off_keeps_ccxts_own_fetch(
    venue: tuple[str, list[web.Request]],
) -> None:
    """The transport always verifies certificates; an exchange told not to is served by ccxt's session."""
    base, seen = venue
    client = CcxtClient(binance(verify=False), "ccxt")
    try:
        assert await client.exchange.fetch(f"{base}/text") == "pong"
        assert len(seen) == 1
        assert client.fetch.transport is None
    finally:
        await client.close()


async def test_a_timeout_before_the_request_left_is_known_unsent() -> None:
    """ccxt's timeout expiring while the connection is still opening: nothing was written, and the standard
    error says so (the order may go elsewhere; nothing to look up)."""
    client = CcxtClient(binance(timeout=300), "ccxt")
    try:
        with port_that_never_accepts() as port, pytest.raises(ccxt.RequestTimeout) as caught:
            await client.exchange.fetch(f"http://127.0.0.1:{port}/api/v3/order", "POST", None, "x=1")
        error = translate(caught.value, adapter_name="ccxt", may_have_executed=True).error
        assert error.sent is False
        assert error.error_code is not C.OUTCOME_UNKNOWN
    finally:
        await client.close()
