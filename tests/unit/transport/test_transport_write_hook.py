"""``before_write``: the transport says when a request starts to leave, and only then. The order pipeline
hangs ``note_request_sent`` here, so a call its deadline cancels while a connection opens, or while it waits
for one, is known not to have reached the venue."""

from __future__ import annotations

import asyncio

import pytest
from servers import Harness, closed_port, echo_target, make, writes

from broker_integration.adapters.transport import TransportError
from loopback import port_that_never_accepts


async def test_it_is_called_once_per_request_written_and_before_the_server_reads_it(harness: Harness) -> None:
    heard: list[int] = []
    server = await harness.raw(writes(echo_target))
    transport = make(harness)
    for number in range(3):
        await transport.request(
            "POST",
            server.url(f"/{number}"),
            body=b"x",
            before_write=lambda: heard.append(len(server.requests)),
        )
    assert heard == [0, 1, 2]  # each time before the server had the request


async def test_it_is_not_called_for_a_connection_refused(harness: Harness) -> None:
    refused = closed_port()
    heard: list[bool] = []
    try:
        transport = make(harness)
        with pytest.raises(TransportError) as caught:
            await transport.request(
                "POST",
                f"http://127.0.0.1:{refused.getsockname()[1]}/",
                body=b"x",
                before_write=lambda: heard.append(True),
            )
    finally:
        refused.close()
    assert caught.value.sent is False
    assert heard == []


async def test_it_is_not_called_while_a_connection_never_opens(harness: Harness) -> None:
    heard: list[bool] = []
    transport = make(harness)
    with port_that_never_accepts() as port, pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await transport.request(
                "POST", f"http://127.0.0.1:{port}/", body=b"x", before_write=lambda: heard.append(True)
            )
    assert heard == []
