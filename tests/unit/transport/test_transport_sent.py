"""The transport's one promise for orders: a failure says exactly whether the request can have reached the
server (``sent=False``: not a byte was written; ``sent=None``: it may have executed), and the transport never
sends a request twice by itself.

Every failing server here would answer a second attempt with a 200, so a transport that quietly resent the
request would return an answer instead of raising; and every test counts the requests the server received.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest
from servers import (
    HOST,
    PATIENCE,
    Harness,
    RawConnection,
    RawRequest,
    RawServer,
    answer,
    close_silently,
    closed_port,
    echo_target,
    eventually,
    in_turn,
    make,
    reset_silently,
    self_signed,
    writes,
)

from broker_integration.adapters.transport import HttpTransport, TransportError


async def failure(transport: HttpTransport, method: str, url: str, **options: Any) -> TransportError:
    """The :class:`TransportError` the request raises (a hang or an answer fails the test)."""
    try:
        reply = await asyncio.wait_for(transport.request(method, url, **options), PATIENCE)
    except TransportError as error:
        return error
    except TimeoutError:
        raise AssertionError(f"{method} {url} neither answered nor failed within {PATIENCE} s") from None
    raise AssertionError(f"{method} {url} was expected to fail, but answered {reply!r}")


async def settled(server: RawServer) -> list[RawRequest]:
    """The requests the server has received, once anything still on its way would have arrived."""
    await asyncio.sleep(0.05)
    return server.requests


def then_ok(handler: Any) -> Any:
    """``handler`` for the first request; a 200 for any later one (which a hidden resend would get)."""
    return in_turn(handler, writes(echo_target))


# ---------------------------------------------------------------------------------------------------------
# Not sent
# ---------------------------------------------------------------------------------------------------------


async def test_a_refused_connection_was_not_sent_and_the_error_names_method_and_origin(
    harness: Harness,
) -> None:
    """Nothing listening on the port: ``sent=False``, and the message names the method and the origin."""
    listener = closed_port()
    try:
        port = listener.getsockname()[1]
        transport = make(harness)
        error = await failure(transport, "POST", f"http://{HOST}:{port}/v3/accounts/1/orders", body=b"{}")
    finally:
        listener.close()
    assert error.sent is False
    assert "POST" in str(error)
    assert f"http://{HOST}:{port}" in str(error)


async def test_a_server_gone_between_requests_is_not_sent(harness: Harness) -> None:
    """The server answers, then goes away entirely (its idle connection closed, its port no longer
    listening): the next request finds the dead connection, cannot connect anew, and is ``sent=False``."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness)
    await asyncio.wait_for(transport.request("GET", server.url("/first")), PATIENCE)
    url = server.url("/second")
    await eventually(lambda: server.connections[0].idle, "the server waiting for a second request")
    await server.close()
    await asyncio.sleep(0.05)
    error = await failure(transport, "POST", url, body=b"order")
    assert error.sent is False
    assert [request.target for request in server.requests] == ["/first"]


# ---------------------------------------------------------------------------------------------------------
# May have been sent
# ---------------------------------------------------------------------------------------------------------


async def stall_then_close(connection: RawConnection, request: RawRequest) -> None:
    """Reads the request, pauses as a busy server would, then closes without answering."""
    await asyncio.sleep(0.05)
    await connection.close()


def partial_then_close(data: bytes) -> Any:
    return writes(data, close=True)


FAILURES = [
    pytest.param(close_silently, id="closed-without-answer"),
    pytest.param(reset_silently, id="reset-without-answer"),
    pytest.param(stall_then_close, id="closed-after-a-pause"),
    pytest.param(partial_then_close(b"HTTP/1.1 200 OK\r\nContent-Le"), id="half-a-head"),
    pytest.param(
        partial_then_close(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\nhalf"), id="half-a-body"
    ),
    pytest.param(
        partial_then_close(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf"),
        id="half-a-chunk",
    ),
    pytest.param(
        partial_then_close(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n"),
        id="no-last-chunk",
    ),
    pytest.param(partial_then_close(b"garbage, not HTTP at all\r\n\r\n"), id="garbage-status-line"),
    pytest.param(
        partial_then_close(b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n"), id="status-not-a-number"
    ),
    pytest.param(partial_then_close(b"\x15\x03\x03\x00\x02\x02\x46"), id="tls-alert-on-plain-http"),
    pytest.param(writes(lambda request: request.raw, close=True), id="echo-of-the-request"),
    pytest.param(
        writes(answer(200, b"\x00squashed", headers=[("Content-Encoding", "x-squash")])),
        id="unknown-content-encoding",
    ),
    pytest.param(
        writes(answer(200, b"this is not gzip data", headers=[("Content-Encoding", "gzip")])),
        id="corrupt-gzip",
    ),
    pytest.param(
        writes(
            answer(200, headers=[("Transfer-Encoding", "chunked")], length=False)
            + b"zz\r\nhello\r\n0\r\n\r\n"
        ),
        id="bad-chunk-size",
    ),
]


@pytest.mark.parametrize("handler", FAILURES)
@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_a_failure_after_the_request_was_written_may_have_executed(
    harness: Harness, handler: Any, method: str
) -> None:
    """The server received the whole request and then failed to answer properly (closed, reset, half an
    answer, an answer that is not HTTP or cannot be decoded): ``sent=None``, the request reached the server
    once and was not resent (on this connection or a new one), and the transport serves the next request."""
    server = await harness.raw(then_ok(handler))
    transport = make(harness)
    error = await failure(transport, method, server.url("/v2/orders"), body=b'{"qty":"1"}')
    assert error.sent is None, f"{error!r} says sent={error.sent!r}"
    assert method in str(error)
    assert server.origin in str(error)
    received = await settled(server)
    assert [(request.method, request.target, request.body) for request in received] == [
        (method, "/v2/orders", b'{"qty":"1"}')
    ]
    assert len(server.connections) == 1
    after = await asyncio.wait_for(transport.request("GET", server.url("/after")), PATIENCE)
    assert after.body == b"/after"


@pytest.mark.parametrize(
    "handler", [pytest.param(close_silently, id="fin"), pytest.param(reset_silently, id="rst")]
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "GET"])
async def test_a_reused_connection_that_drops_after_the_request_is_not_retried(
    harness: Harness, handler: Any, method: str
) -> None:
    """The classic double order: a keep-alive connection served one request; the server reads the second
    and drops the connection. That is not a stale connection (the request was written and read): the answer
    is ``sent=None`` and the request is not resent on a new connection, whatever the method."""
    server = await harness.raw(in_turn(writes(echo_target), handler, writes(echo_target)))
    transport = make(harness)
    first = await asyncio.wait_for(transport.request("GET", server.url("/first")), PATIENCE)
    assert first.body == b"/first"
    body = None if method == "GET" else b'{"units":"100"}'
    error = await failure(transport, method, server.url("/second"), body=body)
    assert error.sent is None
    received = await settled(server)
    assert [(request.target, request.connection) for request in received] == [("/first", 0), ("/second", 0)]
    assert len(server.connections) == 1


async def test_a_failure_while_the_body_is_being_written_may_have_executed(harness: Harness) -> None:
    """The server reads the head of a large request and resets the connection while its body is still being
    written: writing had started, so ``sent=None``, and there was no second attempt."""
    server = await harness.raw(then_ok(reset_silently), read_bodies=False)
    transport = make(harness)
    body = b"x" * (16 << 20)
    error = await failure(transport, "POST", server.url("/upload"), body=body)
    assert error.sent is None
    received = await settled(server)
    assert [request.target for request in received] == ["/upload"]
    assert len(server.connections) == 1


async def test_a_request_is_sent_once_when_the_answer_is_slow(harness: Harness) -> None:
    """A slow answer is waited for, not taken for a lost request: one request, one answer."""

    async def slow(connection: RawConnection, request: RawRequest) -> None:
        await asyncio.sleep(0.3)
        await connection.send(echo_target(request))

    server = await harness.raw(slow)
    transport = make(harness)
    reply = await asyncio.wait_for(transport.request("POST", server.url("/slow"), body=b"order"), PATIENCE)
    assert reply.body == b"/slow"
    assert len(await settled(server)) == 1


# ---------------------------------------------------------------------------------------------------------
# TLS failures: never sent
# ---------------------------------------------------------------------------------------------------------


async def test_an_untrusted_certificate_is_not_sent(harness: Harness, tmp_path: Path) -> None:
    """A self-signed certificate the default context does not trust: the handshake fails, ``sent=False``,
    the message mentions the certificate, and the server received no request."""
    certificate = self_signed(tmp_path)
    server = await harness.echo(ssl_context=certificate.server_context())
    transport = make(harness)
    error = await failure(transport, "POST", server.url("/v3/accounts/1/orders"), body=b"{}")
    assert error.sent is False
    assert "certificate" in str(error).lower()
    assert f"https://{HOST}:{server.port}" in str(error)
    await asyncio.sleep(0.05)
    assert server.requests == []


async def test_a_certificate_for_another_host_is_not_sent(harness: Harness, tmp_path: Path) -> None:
    """A trusted certificate that names another host (the host name is checked): ``sent=False``, the message
    mentions the certificate, and the server received no request."""
    certificate = self_signed(tmp_path, name="elsewhere", ips=(), dns=("api.elsewhere.example",))
    server = await harness.echo(ssl_context=certificate.server_context())
    transport = make(harness, ssl_context=certificate.client_context())
    error = await failure(transport, "GET", server.url("/v2/account"))
    assert error.sent is False
    assert "certificate" in str(error).lower()
    await asyncio.sleep(0.05)
    assert server.requests == []


# ---------------------------------------------------------------------------------------------------------
# 9. Secrets stay out of error messages
# ---------------------------------------------------------------------------------------------------------


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it was raised from or during."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


SECRET_FAILURES = [
    pytest.param(None, id="refused"),
    pytest.param(close_silently, id="closed-after-request"),
    pytest.param(reset_silently, id="reset-after-request"),
    pytest.param(partial_then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhalf"), id="half-a-body"),
    pytest.param(writes(lambda request: request.raw, close=True), id="echo-of-the-request"),
    pytest.param(
        writes(
            lambda request: (
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n" + request.raw.split(b"\r\n", 1)[1]
            ),
            close=True,
        ),
        id="request-headers-reflected-in-a-cut-answer",
    ),
    pytest.param(
        writes(answer(200, b"\x00", headers=[("Content-Encoding", "x-squash")])),
        id="unknown-content-encoding",
    ),
]


@pytest.mark.parametrize("handler", SECRET_FAILURES)
async def test_error_messages_never_contain_header_values(harness: Harness, handler: Any) -> None:
    """A fixed API key, a key set later with ``set_headers`` and a per-call token appear in no failure's
    message: not in ``str`` or ``repr`` of the error, nor of any exception chained to it, whether it failed
    before sending or mid-request."""
    api_key = f"APIKEY{secrets.token_hex(12)}"
    rotated = f"ROTATED{secrets.token_hex(12)}"
    token = f"TOKEN{secrets.token_hex(12)}"
    transport = make(harness, headers={"APCA-API-KEY-ID": api_key, "Authorization": f"Bearer {api_key}"})
    transport.set_headers({"APCA-API-KEY-ID": api_key, "APCA-API-SECRET-KEY": rotated})
    listener = closed_port()
    try:
        if handler is None:
            url = f"http://{HOST}:{listener.getsockname()[1]}/v2/orders"
        else:
            server = await harness.raw(then_ok(handler))
            url = server.url("/v2/orders")
        error = await failure(transport, "POST", url, body=b'{"qty":"1"}', headers={"X-Session-Token": token})
    finally:
        listener.close()
    if handler is not None:
        assert len(await settled(server)) == 1
    for exception in chain(error):
        for text in (str(exception), repr(exception), *(repr(arg) for arg in exception.args)):
            for secret in (api_key, rotated, token):
                assert secret not in text, f"{type(exception).__name__} shows a header value: {text!r}"
