"""The HTTP/1.1 keep-alive transport against real servers on loopback: round trips through an ``aiohttp.web``
server, response framing byte for byte from a raw server, keep-alive and its limits, cancellation,
``close()`` and the URLs it refuses.

Written from the transport's specification, not its code; the sent/not-sent split is in
``test_transport_sent.py`` and TLS in ``test_transport_tls.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from servers import (
    PATIENCE,
    Harness,
    RawConnection,
    RawRequest,
    RawServer,
    SocketServer,
    answer,
    call,
    chunked,
    closed_port,
    deflated,
    echo_target,
    eventually,
    gzipped,
    in_turn,
    make,
    wait_for_event,
    writes,
)

from broker_integration.adapters.transport import HttpAnswer, HttpTransport, TransportError


def echoed(reply: HttpAnswer) -> Any:
    assert reply.status == 200, reply
    return json.loads(reply.body)


# ---------------------------------------------------------------------------------------------------------
# 1. Round trips through aiohttp.web
# ---------------------------------------------------------------------------------------------------------

AWKWARD_PARAMS = {
    "instrument": "EUR/USD",
    "from": "2024-01-02T03:04:05.123456789Z",
    "ids": "1,2,3",
    "note": "a b&c=d+e%f?g#h;i",
    "line": "one\r\ntwo",
    "unicode": "ÄÖÜ ✓",
}


async def test_get_sends_params_the_server_decodes_exactly(harness: Harness) -> None:
    """Params are URL-encoded so the server decodes every value exactly, ``:``, ``/``, space, ``,``, ``&``,
    ``=``, ``+``, ``%``, ``#``, CR/LF and non-ASCII included, in the order given."""
    server = await harness.echo()
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/v3/instruments/candles"), params=AWKWARD_PARAMS)
    seen = server.requests[-1]
    assert echoed(reply)["path"] == "/v3/instruments/candles"
    assert seen.method == "GET"
    assert seen.query == list(AWKWARD_PARAMS.items())


async def test_params_are_appended_to_a_query_already_in_the_url(harness: Harness) -> None:
    """A URL's own query is kept and ``params`` come after it."""
    server = await harness.echo()
    transport = make(harness)
    await call(
        transport, "GET", server.url("/v2/orders?status=open&limit=5"), params={"symbols": "AAPL,MSFT"}
    )
    assert server.requests[-1].query == [("status", "open"), ("limit", "5"), ("symbols", "AAPL,MSFT")]


async def test_post_sends_the_exact_body_with_its_content_length(harness: Harness) -> None:
    """A POST's body arrives byte for byte, with a ``Content-Length`` of its size in bytes (not characters)."""
    server = await harness.echo()
    transport = make(harness)
    body = json.dumps(
        {"order": {"units": "100", "instrument": "EUR_USD", "tag": "é✓"}}, ensure_ascii=False
    ).encode()
    reply = await call(
        transport,
        "POST",
        server.url("/v3/accounts/1/orders"),
        body=body,
        headers={"Content-Type": "application/json"},
    )
    seen = server.requests[-1]
    assert echoed(reply)["length"] == len(body)
    assert seen.method == "POST"
    assert seen.body == body
    assert seen.header("Content-Length") == str(len(body))
    assert seen.header("Content-Type") == "application/json"


async def test_delete_and_patch_arrive_with_their_method_and_body(harness: Harness) -> None:
    """DELETE (no body) and PATCH (a body) reach the server as themselves."""
    server = await harness.echo()
    transport = make(harness)
    await call(transport, "DELETE", server.url("/v2/orders/abc"))
    await call(transport, "PATCH", server.url("/v2/orders/abc"), body=b'{"qty":"3"}')
    deleted, patched = server.requests
    assert (deleted.method, deleted.path, deleted.body) == ("DELETE", "/v2/orders/abc", b"")
    assert (patched.method, patched.path, patched.body) == ("PATCH", "/v2/orders/abc", b'{"qty":"3"}')
    assert patched.header("Content-Length") == "11"


@pytest.mark.parametrize("status", [201, 204, 400, 404, 429, 500, 503])
async def test_any_status_is_an_answer_not_an_error(harness: Harness, status: int) -> None:
    """A 4xx or 5xx comes back as an :class:`HttpAnswer` with its status and body."""
    server = await harness.echo()
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/x"), headers={"X-Want-Status": str(status)})
    assert isinstance(reply, HttpAnswer)
    assert reply.status == status
    if status != 204:
        assert json.loads(reply.body)["path"] == "/x"


async def test_fixed_and_per_call_headers_arrive_and_set_headers_replaces_the_fixed(harness: Harness) -> None:
    """The constructor's headers go with every request and a call's own are added to them (for that call
    only); ``set_headers`` replaces the fixed set from the next request on (a header it drops is gone)."""
    server = await harness.echo()
    transport = make(harness, headers={"Authorization": "Bearer one", "X-Account": "acc-1"})
    await call(transport, "GET", server.url("/a"), headers={"X-Request-Id": "r1"})
    await call(transport, "GET", server.url("/b"))
    transport.set_headers({"Authorization": "Bearer two"})
    await call(transport, "GET", server.url("/c"))
    first, second, third = server.requests
    assert (first.header("Authorization"), first.header("X-Account"), first.header("X-Request-Id")) == (
        "Bearer one",
        "acc-1",
        "r1",
    )
    assert (second.header("Authorization"), second.header("X-Account"), second.header("X-Request-Id")) == (
        "Bearer one",
        "acc-1",
        None,
    )
    assert (third.header("Authorization"), third.header("X-Account")) == ("Bearer two", None)


async def test_the_host_header_names_the_host_and_port(harness: Harness) -> None:
    """``Host`` is ``host:port`` of the URL (a non-default port is part of it), sent once."""
    server = await harness.echo()
    transport = make(harness)
    await call(transport, "GET", server.url("/"))
    assert server.requests[-1].header("Host") == f"127.0.0.1:{server.port}"


async def test_answer_headers_are_case_insensitive(harness: Harness) -> None:
    """The answer's headers are read whatever the case of the name asked for."""
    server = await harness.echo()
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/"))
    assert reply.headers["content-type"] == reply.headers["CONTENT-TYPE"] == "application/json"


# ---------------------------------------------------------------------------------------------------------
# 2. Keep-alive and the in-flight limit
# ---------------------------------------------------------------------------------------------------------


async def test_sequential_requests_share_one_connection(harness: Harness) -> None:
    """Twenty requests one after the other travel on one TCP connection, which stays open and idle."""
    server = await harness.echo()
    transport = make(harness)
    for index in range(20):
        await call(
            transport,
            "POST" if index % 2 else "GET",
            server.url(f"/n/{index}"),
            body=b"x" if index % 2 else None,
        )
    assert len(server.requests) == 20
    assert len(server.peers) == 1
    assert transport.idle_count() == 1


async def test_no_more_requests_in_flight_than_connections(harness: Harness) -> None:
    """Ten concurrent requests with ``connections=3``: never more than three at the server at once (and three
    are, so the limit is not a lock), all ten complete, on no more than three connections."""
    server = await harness.echo(hold=0.05)
    transport = make(harness, connections=3)
    replies = await asyncio.wait_for(
        asyncio.gather(*(transport.request("GET", server.url(f"/c/{n}")) for n in range(10))), PATIENCE
    )
    assert sorted(echoed(reply)["path"] for reply in replies) == sorted(f"/c/{n}" for n in range(10))
    assert server.max_in_flight == 3
    assert len(server.peers) <= 3
    assert transport.idle_count() <= 3


async def test_requests_waiting_for_a_connection_go_in_the_order_they_came(harness: Harness) -> None:
    """With ``connections=1``, requests queued behind a busy one reach the server first come, first served."""
    server = await harness.echo(hold=0.02)
    transport = make(harness, connections=1)
    tasks = []
    for n in range(6):
        tasks.append(asyncio.create_task(transport.request("GET", server.url(f"/q/{n}"))))
        await asyncio.sleep(0)  # each has asked for its slot before the next is made
    await asyncio.wait_for(asyncio.gather(*tasks), PATIENCE)
    assert [seen.path for seen in server.requests] == [f"/q/{n}" for n in range(6)]
    assert server.max_in_flight == 1


# ---------------------------------------------------------------------------------------------------------
# 3. Response framing, byte for byte
# ---------------------------------------------------------------------------------------------------------


async def test_a_content_length_body_is_read_exactly_and_the_connection_reused(harness: Harness) -> None:
    """A body of ``Content-Length`` bytes is read to its last byte and no further: the next answer on the
    same connection is the next request's."""
    server = await harness.raw(in_turn(writes(answer(200, b"first body")), writes(answer(200, b"second"))))
    transport = make(harness)
    first = await call(transport, "GET", server.url("/1"))
    second = await call(transport, "GET", server.url("/2"))
    assert (first.status, first.body) == (200, b"first body")
    assert (second.status, second.body) == (200, b"second")
    assert len(server.connections) == 1


async def test_a_chunked_body_with_extensions_and_trailers_is_reassembled(harness: Harness) -> None:
    """Chunks (upper-case hex sizes, ``;x=y`` extensions, trailers after the last) are joined into the body,
    the trailers are consumed, and the connection is reused cleanly for the next request."""
    parts = (b"hello ", b"chunked ", b"w" * 300, b"\r\n0\r\n")  # a chunk that looks like framing
    head = answer(
        200, headers=[("Transfer-Encoding", "chunked"), ("Content-Type", "text/plain")], length=False
    )
    body = chunked(*parts, extension=";x=y", trailers=[("X-Checksum", "abc"), ("X-Other", "1")])
    server = await harness.raw(in_turn(writes(head + body), writes(echo_target)))
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/chunks"))
    after = await call(transport, "GET", server.url("/after"))
    assert reply.status == 200
    assert reply.body == b"".join(parts)
    assert after.body == b"/after"
    assert len(server.connections) == 1


async def test_a_chunked_body_written_in_pieces_is_reassembled(harness: Harness) -> None:
    """A chunked body that arrives a few bytes at a time (sizes and data split across reads) is joined whole."""
    wire = answer(200, headers=[("Transfer-Encoding", "chunked")], length=False) + chunked(
        b"abc" * 50, b"xyz" * 7
    )

    async def trickle(connection: RawConnection, request: RawRequest) -> None:
        for start in range(0, len(wire), 7):
            await connection.send(wire[start : start + 7])
            await asyncio.sleep(0.001)

    server = await harness.raw(trickle)
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/"))
    assert reply.body == b"abc" * 50 + b"xyz" * 7


async def test_a_body_without_length_is_read_to_eof_and_the_connection_not_reused(harness: Harness) -> None:
    """With no length and ``Connection: close`` the body runs to EOF (even when it comes in two writes),
    and the next request opens a new connection."""

    async def until_close(connection: RawConnection, request: RawRequest) -> None:
        await connection.send(answer(200, b"part one, ", headers=[("Connection", "close")], length=False))
        await asyncio.sleep(0.05)
        await connection.send(b"part two")
        await connection.close()

    server = await harness.raw(in_turn(until_close, writes(echo_target)))
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/eof"))
    after = await call(transport, "GET", server.url("/next"))
    assert reply.body == b"part one, part two"
    assert after.body == b"/next"
    assert len(server.connections) == 2


async def test_an_http_1_0_answer_read_to_eof(harness: Harness) -> None:
    """An HTTP/1.0 answer without a length is read to EOF."""
    server = await harness.raw(
        writes(answer(200, b"old server", version="HTTP/1.0", length=False), close=True)
    )
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/"))
    assert (reply.status, reply.body) == (200, b"old server")


async def test_an_http_1_0_answer_without_keep_alive_does_not_keep_its_connection(harness: Harness) -> None:
    """HTTP/1.0 without ``Connection: keep-alive`` means the server will close (RFC 9112 §9.3): its
    connection is not reused even when the server has not closed it yet."""
    server = await harness.raw(
        in_turn(writes(answer(200, b"old server", version="HTTP/1.0")), writes(echo_target))
    )
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/"))
    after = await call(transport, "GET", server.url("/next"))
    assert (reply.status, reply.body) == (200, b"old server")
    assert after.body == b"/next"
    assert [request.connection for request in server.requests] == [0, 1]


@pytest.mark.parametrize(
    ("method", "wire"),
    [
        pytest.param("GET", answer(204, reason="No Content", length=False), id="204"),
        pytest.param(
            "DELETE",
            answer(204, reason="No Content", headers=[("Content-Length", "10")], length=False),
            id="204-length",
        ),
        pytest.param(
            "GET",
            answer(304, reason="Not Modified", headers=[("Content-Length", "10")], length=False),
            id="304-length",
        ),
        pytest.param(
            "HEAD", answer(200, headers=[("Content-Length", "1234")], length=False), id="head-length"
        ),
        pytest.param(
            "HEAD", answer(200, headers=[("Transfer-Encoding", "chunked")], length=False), id="head-chunked"
        ),
    ],
)
async def test_answers_that_have_no_body_do_not_hang(harness: Harness, method: str, wire: bytes) -> None:
    """A 204, a 304 or an answer to HEAD has no body whatever its ``Content-Length`` says (RFC 9112 §6.3):
    it returns at once with an empty body, and the next answer on the connection is read correctly."""
    server = await harness.raw(in_turn(writes(wire), writes(echo_target)))
    transport = make(harness)
    reply = await call(transport, method, server.url("/nobody"))
    after = await call(transport, "GET", server.url("/after"))
    assert reply.body == b""
    assert after.body == b"/after"
    assert len(server.connections) == 1


@pytest.mark.parametrize(
    "interim",
    [
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", id="100"),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", id="100+103"
        ),
    ],
)
async def test_interim_answers_are_skipped(harness: Harness, interim: bytes) -> None:
    """1xx answers before the real one are skipped: the status, headers and body are the final answer's."""
    server = await harness.raw(
        in_turn(writes(interim + answer(201, b"created", reason="Created")), writes(echo_target))
    )
    transport = make(harness)
    reply = await call(transport, "POST", server.url("/orders"), body=b"{}")
    after = await call(transport, "GET", server.url("/after"))
    assert (reply.status, reply.body) == (201, b"created")
    assert "Link" not in reply.headers
    assert after.body == b"/after"


PAYLOAD = json.dumps({"candles": [{"o": "1.10", "c": "1.11"}] * 200}).encode()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [pytest.param("gzip", gzipped, id="gzip"), pytest.param("deflate", deflated, id="deflate")],
)
@pytest.mark.parametrize("framing", ["length", "chunked", "until-close"])
async def test_compressed_bodies_are_decoded(
    harness: Harness, coding: str, encode: Any, framing: str
) -> None:
    """A body with ``Content-Encoding: gzip`` or ``deflate`` comes back decoded however it is framed: by
    ``Content-Length``, chunked, or running to the close of the connection."""
    compressed = encode(PAYLOAD)
    if framing == "length":
        wire = answer(200, compressed, headers=[("Content-Encoding", coding)])
    elif framing == "chunked":
        head = answer(
            200, headers=[("Content-Encoding", coding), ("Transfer-Encoding", "chunked")], length=False
        )
        half = len(compressed) // 2  # two non-empty chunks (an empty one would end the body)
        wire = head + chunked(compressed[:half], compressed[half:])
    else:
        wire = answer(
            200, compressed, headers=[("Content-Encoding", coding), ("Connection", "close")], length=False
        )
    server = await harness.raw(writes(wire, close=framing == "until-close"))
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/candles"))
    assert reply.body == PAYLOAD


async def test_a_gzip_body_of_several_members_is_decoded_whole(harness: Harness) -> None:
    """A gzip stream is a series of members (RFC 1952 §2.2); all of them are decoded, not just the first
    (a body cut short without an error would be the worst outcome)."""
    wire = answer(
        200, gzipped(PAYLOAD[:1000]) + gzipped(PAYLOAD[1000:]), headers=[("Content-Encoding", "gzip")]
    )
    server = await harness.raw(writes(wire))
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/candles"))
    assert reply.body == PAYLOAD


async def test_repeated_headers_are_all_kept(harness: Harness) -> None:
    """Two ``Set-Cookie`` headers are both in the answer, in order."""
    cookies = [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; HttpOnly")]
    server = await harness.raw(writes(answer(200, b"ok", headers=cookies)))
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/"))
    assert reply.headers.getall("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncOnTeNt-TyPe: text/plain\r\nX-UPPER: up\r\n\r\nhello",
            id="length",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: chunked\r\ncOnTeNt-TyPe: text/plain\r\nX-UPPER: up\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
            id="chunked",
        ),
    ],
)
async def test_header_names_in_any_case_are_understood(harness: Harness, wire: bytes) -> None:
    """Framing headers in any case frame the body, and every header is found under any case."""
    server = await harness.raw(in_turn(writes(wire), writes(echo_target)))
    transport = make(harness)
    reply = await call(transport, "GET", server.url("/"))
    after = await call(transport, "GET", server.url("/after"))
    assert reply.body == b"hello"
    assert reply.headers["Content-Type"] == "text/plain"
    assert reply.headers["x-upper"] == "up"
    assert after.body == b"/after"


# ---------------------------------------------------------------------------------------------------------
# 4. Stale keep-alive connections
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_a_connection_the_server_closed_while_idle_is_not_used(harness: Harness, how: str) -> None:
    """The server closes an idle keep-alive connection (FIN, or RST) between two requests: the second does
    not fail, it goes on a new connection, and nothing reached the server on the dead one."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness)
    await call(transport, "GET", server.url("/first"))
    await eventually(lambda: server.connections[0].idle, "the server waiting for a second request")
    if how == "fin":
        assert await server.drop_idle() == 1
    else:
        server.connections[0].reset()
    await asyncio.sleep(0.05)  # the close reaches the client's socket
    reply = await call(transport, "POST", server.url("/second"), body=b"order")
    assert reply.body == b"/second"
    assert [(request.target, request.connection) for request in server.requests] == [
        ("/first", 0),
        ("/second", 1),
    ]


async def test_a_fin_that_arrived_while_the_loop_was_busy_is_seen_before_reuse(harness: Harness) -> None:
    """The server closed the idle connection and its FIN is already in the client's kernel, but the event
    loop has not run since (it was busy, or the request started in the same loop iteration): the transport
    must still see the connection is dead before writing, so the request goes on a new connection instead of
    failing (the server never read it: the dead connection was closed, not reading)."""
    server = harness.track(SocketServer())
    transport = make(harness)
    first = asyncio.create_task(server.serve_one())
    assert (await call(transport, "GET", server.url("/first"))).body == b"/first"
    dead = await asyncio.wait_for(first, PATIENCE)
    await eventually(lambda: transport.idle_count() == 1, "the first connection going back to the pool")
    second = asyncio.create_task(server.serve_one())  # starts only once the request below waits
    try:
        dead.close()  # FIN now, synchronously; from here to the write below the loop does not run
        async with asyncio.timeout(PATIENCE):  # a timer, not a task: the request starts at once
            reply = await transport.request("POST", server.url("/second"), body=b"order")
        await asyncio.wait_for(second, PATIENCE)
    finally:
        second.cancel()
    assert reply.body == b"/second"
    assert server.targets == [(0, "/first"), (1, "/second")]


async def test_a_connection_idle_longer_than_idle_seconds_is_not_reused(harness: Harness) -> None:
    """A keep-alive connection idle longer than ``idle_seconds`` is not used again: the next request opens a
    new one, and the old one is closed (the server reads EOF on it)."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness, idle_seconds=0.15)
    await call(transport, "GET", server.url("/first"))
    await asyncio.sleep(0.3)
    reply = await call(transport, "GET", server.url("/second"))
    assert reply.body == b"/second"
    assert [request.connection for request in server.requests] == [0, 1]
    await wait_for_event(server.connections[0].client_eof, "the expired connection being closed")


async def test_a_connection_idle_less_than_idle_seconds_is_reused(harness: Harness) -> None:
    """The counterpart: the same pause under ``idle_seconds`` keeps the connection in use."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness, idle_seconds=5.0)
    await call(transport, "GET", server.url("/first"))
    await asyncio.sleep(0.3)
    await call(transport, "GET", server.url("/second"))
    assert [request.connection for request in server.requests] == [0, 0]


# ---------------------------------------------------------------------------------------------------------
# 6. Cancellation
# ---------------------------------------------------------------------------------------------------------


class Gate:
    """A handler that holds its answer (the request's target) until the test opens the gate."""

    def __init__(self) -> None:
        self.open = asyncio.Event()

    async def __call__(self, connection: RawConnection, request: RawRequest) -> None:
        await wait_for_event(self.open, "the test releasing the slow answer")
        await connection.send(echo_target(request))


async def test_a_cancelled_request_raises_cancelled_and_its_connection_is_dropped(harness: Harness) -> None:
    """Cancelling a request while the server is slow: ``CancelledError`` propagates; the connection is not
    reused, so the next request (with ``connections=1``, proving the slot was released) opens a new one and
    gets its own answer, not the late answer of the cancelled one."""
    gate = Gate()
    server = await harness.raw(in_turn(gate, writes(echo_target)))
    transport = make(harness, connections=1)
    task = asyncio.create_task(transport.request("POST", server.url("/cancelled"), body=b"order"))
    await eventually(lambda: len(server.requests) == 1, "the request reaching the server")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    following = asyncio.create_task(transport.request("GET", server.url("/next")))
    await asyncio.sleep(0.05)
    gate.open.set()  # the late answer goes out on the old connection only now
    reply = await asyncio.wait_for(following, PATIENCE)
    assert reply.body == b"/next", "the next request read the cancelled request's answer"
    assert [(request.target, request.connection) for request in server.requests] == [
        ("/cancelled", 0),
        ("/next", 1),
    ]
    assert transport.idle_count() == 1


async def test_a_cancelled_request_closes_its_connection(harness: Harness) -> None:
    """The connection of a cancelled request is closed, not left open (the server reads EOF on it)."""
    gate = Gate()
    server = await harness.raw(gate)
    transport = make(harness)
    task = asyncio.create_task(transport.request("GET", server.url("/cancelled")))
    await eventually(lambda: len(server.requests) == 1, "the request reaching the server")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.open.set()
    await wait_for_event(server.connections[0].client_eof, "the cancelled request's connection being closed")
    assert transport.idle_count() == 0


async def one_busy_one_queued(
    harness: Harness,
) -> tuple[Gate, RawServer, HttpTransport, asyncio.Task[HttpAnswer], asyncio.Task[HttpAnswer]]:
    """A transport of one connection, a GET held at the server until ``gate`` opens, and a POST queued
    behind it for a slot."""
    gate = Gate()
    server = await harness.raw(in_turn(gate, writes(echo_target)))
    transport = make(harness, connections=1)
    busy = asyncio.create_task(transport.request("GET", server.url("/busy")))
    await eventually(lambda: len(server.requests) == 1, "the first request reaching the server")
    queued = asyncio.create_task(transport.request("POST", server.url("/queued"), body=b"order"))
    await asyncio.sleep(0.02)
    return gate, server, transport, busy, queued


async def test_a_request_cancelled_while_waiting_for_a_slot_is_never_sent(harness: Harness) -> None:
    """With ``connections=1`` a request queued behind a busy one and cancelled there never reaches the server,
    and does not take the slot: the next request still gets it."""
    gate, server, transport, busy, queued = await one_busy_one_queued(harness)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    gate.open.set()
    assert (await asyncio.wait_for(busy, PATIENCE)).body == b"/busy"
    assert (await call(transport, "GET", server.url("/last"))).body == b"/last"
    assert [request.target for request in server.requests] == ["/busy", "/last"]


# ---------------------------------------------------------------------------------------------------------
# 8. close()
# ---------------------------------------------------------------------------------------------------------


async def test_close_closes_idle_connections_and_refuses_later_requests(harness: Harness) -> None:
    """``close()`` closes the idle keep-alive connection (the server reads EOF) and a request after it raises
    ``TransportError(sent=False)`` without connecting."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness)
    await call(transport, "GET", server.url("/1"))
    await call(transport, "GET", server.url("/2"))
    assert transport.idle_count() == 1
    await transport.close()
    await wait_for_event(server.connections[0].client_eof, "the server seeing EOF after close()")
    assert transport.idle_count() == 0
    with pytest.raises(TransportError) as caught:
        await call(transport, "POST", server.url("/after-close"), body=b"order")
    assert caught.value.sent is False
    await asyncio.sleep(0.02)
    assert len(server.connections) == 1
    assert [request.target for request in server.requests] == ["/1", "/2"]


async def test_a_request_waiting_for_a_slot_when_the_transport_closes_is_not_sent(harness: Harness) -> None:
    """With ``connections=1``, a request queued behind a busy one when ``close()`` is called is a request
    after close: it raises ``TransportError(sent=False)`` and never reaches the server (no connection is
    opened for it after the transport was closed)."""
    gate, server, transport, busy, queued = await one_busy_one_queued(harness)
    await transport.close()
    gate.open.set()
    outcomes = await asyncio.wait_for(asyncio.gather(busy, queued, return_exceptions=True), PATIENCE)
    await asyncio.sleep(0.05)
    assert [request.target for request in server.requests] == ["/busy"], "a request went out after close()"
    assert len(server.connections) == 1
    queued_outcome = outcomes[1]
    assert isinstance(queued_outcome, TransportError), f"the queued request gave {queued_outcome!r}"
    assert queued_outcome.sent is False


async def test_close_of_a_transport_never_used_refuses_requests(harness: Harness) -> None:
    """A transport closed before its first request refuses it too (``sent=False``), whatever the host."""
    refused = closed_port()
    try:
        transport = make(harness)
        await transport.close()
        with pytest.raises(TransportError) as caught:
            await call(transport, "GET", f"http://127.0.0.1:{refused.getsockname()[1]}/")
        assert caught.value.sent is False
    finally:
        refused.close()


# ---------------------------------------------------------------------------------------------------------
# 10. Bad input
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "ftp://127.0.0.1:{port}/file",
        "ws://127.0.0.1:{port}/stream",
        "127.0.0.1:{port}/v3/accounts",
        "/v3/accounts",
        "http:///v3/accounts",
        "http://:{port}/v3/accounts",
        "https://",
        "",
    ],
)
async def test_a_url_not_http_or_without_host_is_a_value_error(harness: Harness, shape: str) -> None:
    """A URL that is not absolute ``http(s)://`` with a host raises ``ValueError`` naming it, and nothing
    reaches the server whose port it names."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness)
    url = shape.format(port=server.port)
    with pytest.raises(ValueError) as caught:
        await call(transport, "GET", url)
    if url:
        assert url in str(caught.value)
    await asyncio.sleep(0.02)
    assert server.connections == []


@pytest.mark.parametrize(
    "path",
    [
        "/v3/orders/a b",
        "/v3/orders/x\r\nX-Injected: yes",
        "/v3/orders/x HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET /evil",
        "/v3/orders/x\nX-Injected: yes",
    ],
)
async def test_spaces_and_line_breaks_in_a_path_are_escaped(harness: Harness, path: str) -> None:
    """A path with a space, CR or LF is percent-encoded: the server receives exactly one request, with no
    injected header and a target that holds the escapes."""
    server = await harness.raw(writes(echo_target))
    transport = make(harness)
    reply = await call(transport, "GET", server.url(path))
    await asyncio.sleep(0.05)  # a second, injected request would have arrived by now
    assert len(server.requests) == 1
    (request,) = server.requests
    target = request.target
    assert reply.body == target.encode()
    assert request.header("X-Injected") is None
    assert request.version == "HTTP/1.1"
    assert not set(target) & {" ", "\r", "\n"}
    upper = target.upper()
    if " " in path:
        assert "%20" in upper
    if "\r" in path:
        assert "%0D" in upper
    if "\n" in path:
        assert "%0A" in upper
    assert upper.startswith("/V3/ORDERS/")
