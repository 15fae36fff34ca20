"""HTTPS through the transport: an ``aiohttp.web`` server on loopback with a self-signed certificate made in
the test, and a transport given an ``ssl_context`` that trusts it. (A certificate it does not trust is in
``test_transport_sent.py``: such a request is never sent.)
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from servers import (
    HOST,
    PATIENCE,
    Certificate,
    Harness,
    call,
    self_signed,
)

from broker_integration.adapters.transport import HttpTransport


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return self_signed(tmp_path)


async def test_get_and_post_over_tls_share_one_connection(harness: Harness, certificate: Certificate) -> None:
    """With a context that trusts the server's certificate, GET (with params) and POST (with a body) complete
    over https, the server sees them exactly, with the fixed headers, on one reused TLS connection."""
    server = await harness.echo(ssl_context=certificate.server_context())
    assert server.url().startswith("https://")
    transport = harness.track(
        HttpTransport(ssl_context=certificate.client_context(), headers={"Authorization": "Bearer tls"})
    )
    got = await call(transport, "GET", server.url("/v3/pricing"), params={"instruments": "EUR_USD,USD_JPY"})
    body = json.dumps({"order": {"units": "-5"}}).encode()
    posted = await call(transport, "POST", server.url("/v3/accounts/1/orders"), body=body)
    again = await call(transport, "GET", server.url("/v3/accounts/1"))
    assert [reply.status for reply in (got, posted, again)] == [200, 200, 200]
    assert json.loads(posted.body)["length"] == len(body)
    first, second, third = server.requests
    assert first.query == [("instruments", "EUR_USD,USD_JPY")]
    assert (second.method, second.body, second.header("Content-Length")) == ("POST", body, str(len(body)))
    assert third.path == "/v3/accounts/1"
    assert {request.header("Authorization") for request in server.requests} == {"Bearer tls"}
    assert first.header("Host") == f"{HOST}:{server.port}"
    assert len(server.peers) == 1
    assert transport.idle_count() == 1


async def test_concurrent_tls_requests_complete(harness: Harness, certificate: Certificate) -> None:
    """Several requests at once over TLS all complete, within the connection limit."""
    server = await harness.echo(ssl_context=certificate.server_context(), hold=0.02)
    transport = harness.track(HttpTransport(ssl_context=certificate.client_context(), connections=2))
    replies = await asyncio.wait_for(
        asyncio.gather(*(transport.request("GET", server.url(f"/t/{n}")) for n in range(6))), PATIENCE
    )
    assert sorted(json.loads(reply.body)["path"] for reply in replies) == sorted(f"/t/{n}" for n in range(6))
    assert server.max_in_flight <= 2
    assert len(server.peers) <= 2


async def test_close_ends_tls_connections(harness: Harness, certificate: Certificate) -> None:
    """After ``close()`` no TLS connection is left idle."""
    server = await harness.echo(ssl_context=certificate.server_context())
    transport = harness.track(HttpTransport(ssl_context=certificate.client_context()))
    await call(transport, "GET", server.url("/"))
    assert transport.idle_count() == 1
    await transport.close()
    assert transport.idle_count() == 0
