"""The transport's headers and keep-alive beyond the basics: a per-call header replaces a fixed one of the
same name, framing headers are the transport's own, a bad header names itself and never its value, the
server's announced ``Keep-Alive: timeout=`` retires a connection before the server would close it, and a
connection left idle too long is closed when the next request comes back, not only when it is picked."""

from __future__ import annotations

import asyncio

import pytest
from servers import Harness, answer, echo_target, wait_for_event, writes

from broker_integration.adapters.transport import HttpTransport


async def test_a_per_call_header_replaces_the_fixed_one_of_the_same_name(harness: Harness) -> None:
    server = await harness.raw(writes(echo_target))
    transport = harness.track(HttpTransport(headers={"X-Key": "fixed", "User-Agent": "mine/1"}))
    await transport.request("GET", server.url("/a"), headers={"x-key": "per-call", "X-Other": "1"})
    await transport.request("GET", server.url("/b"))
    first, second = server.requests
    assert [v for k, v in first.headers if k.lower() == "x-key"] == ["per-call"]
    assert first.header("X-Other") == "1"
    assert [v for k, v in first.headers if k.lower() == "user-agent"] == ["mine/1"]
    assert [v for k, v in second.headers if k.lower() == "x-key"] == ["fixed"]
    assert second.header("X-Other") is None


async def test_framing_headers_given_by_a_caller_are_left_out(harness: Harness) -> None:
    """A caller's ``Content-Length`` or ``Host`` would frame the request twice (or wrongly): the transport
    writes its own, once."""
    server = await harness.raw(writes(echo_target))
    transport = harness.track(HttpTransport())
    headers = {"Content-Length": "999", "Host": "elsewhere", "Transfer-Encoding": "chunked", "X-Kept": "yes"}
    await transport.request("POST", server.url("/order"), body=b"abc", headers=headers)
    (request,) = server.requests
    assert [v for k, v in request.headers if k.lower() == "content-length"] == ["3"]
    assert [v for k, v in request.headers if k.lower() == "host"] == [f"127.0.0.1:{server.port}"]
    assert request.header("Transfer-Encoding") is None
    assert request.header("X-Kept") == "yes"
    assert request.body == b"abc"


@pytest.mark.parametrize("where", ["fixed", "per call"])
async def test_a_header_outside_latin_1_is_refused_naming_it_and_not_its_value(
    harness: Harness, where: str
) -> None:
    server = await harness.raw(writes(echo_target))
    secret = "sk-\u2603-very-secret"
    transport = harness.track(HttpTransport())
    headers = {"APCA-API-SECRET-KEY": secret}
    if where == "fixed":
        with pytest.raises(ValueError, match="APCA-API-SECRET-KEY") as caught:
            transport.set_headers(headers)
    else:
        with pytest.raises(ValueError, match="APCA-API-SECRET-KEY") as caught:
            await transport.request("GET", server.url("/"), headers=headers)
    assert secret not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert all(secret not in str(arg) for arg in caught.value.args)
    assert server.requests == []


@pytest.mark.parametrize(
    ("announced", "connections"),
    [
        # ``timeout=1``: kept a second less (a margin), so not at all: a request written just as the
        # server closes its end would leave an order's outcome open.
        ([("Keep-Alive", "timeout=1, max=100")], [0, 1]),
        ([], [0, 0]),  # nothing announced: the transport's own 30 s decide
    ],
)
async def test_the_servers_keep_alive_timeout_retires_the_connection_before_the_server_would(
    harness: Harness, announced: list[tuple[str, str]], connections: list[int]
) -> None:
    server = await harness.raw(writes(answer(200, b"ok", headers=announced)))
    transport = harness.track(HttpTransport(idle_seconds=30.0))
    await transport.request("GET", server.url("/first"))
    await asyncio.sleep(0.05)
    await transport.request("GET", server.url("/second"))
    assert [request.connection for request in server.requests] == connections


async def test_a_connection_idle_too_long_is_closed_when_another_request_returns(harness: Harness) -> None:
    """Two connections open; one request a while later reuses the newest, and the oldest, idle too long, is
    closed as that request's connection goes back, rather than kept until ``close()``."""
    gate = asyncio.Event()

    async def held_then_answer(connection, request) -> None:  # type: ignore[no-untyped-def]
        if request.target == "/held":
            await gate.wait()
        await connection.send(answer(200, request.target.encode()))

    server = await harness.raw(held_then_answer)
    transport = harness.track(HttpTransport(idle_seconds=0.2))
    held = asyncio.create_task(transport.request("GET", server.url("/held")))
    await asyncio.sleep(0.05)
    await transport.request("GET", server.url("/quick"))  # a second connection, idle from now on
    await asyncio.sleep(0.3)
    gate.set()
    await held  # its connection goes back to the pool: the one idle for 0.3 s is retired there
    await wait_for_event(server.connections[1].client_eof, "the connection idle too long being closed")
    assert transport.idle_count() == 1
