"""What the REST adapters' HTTP clients share: keep-alive connections (our own HTTP/1.1 transport for
requests, an aiohttp session for the streams), answers decoded, a non-2xx answer read through the venue's
error table, and transport failures told apart by whether the request can have left.

A refused connection was never sent (``sent: False``); a connection dropped after sending leaves the
outcome open. Each venue's client (``adapters/<broker>/client.py``) adds its authentication headers, its
hosts and what it reads from every answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from broker_integration.adapters.transport import HttpTransport, TransportError
from broker_integration.errors import BrokerConnectionError, BrokerError, error_class_for, map_http_error
from broker_integration.pipeline import note_request_sent

__all__ = ["PooledClient", "decode_body", "venue_error"]


def venue_error(
    broker_name: str,
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    may_have_executed: bool = False,
) -> BrokerError:
    """The standard error for a non-2xx answer from ``broker_name``, read through its error table.

    ``may_have_executed`` is set for state-changing requests, so a 5xx on an order becomes an unknown
    outcome (resolved by lookup) rather than a retryable failure.
    """
    error = map_http_error(
        broker_name, status, body, headers=headers, context=context, may_have_executed=may_have_executed
    )
    return error_class_for(error.error_code)(error)


def decode_body(raw: bytes) -> Any:
    """An answer's body: its JSON, ``{}`` when empty, else its text (an HTML error page, say)."""
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


class PooledClient:
    """Requests over an :class:`HttpTransport` of ``connections`` connections, streams over an aiohttp
    session; each made on first use and again after :meth:`close`. A subclass sets ``broker_name`` and
    gives its headers in :meth:`_headers`."""

    broker_name: str

    def __init__(self, *, connections: int) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._transport: HttpTransport | None = None

    def _headers(self) -> dict[str, str]:
        """The headers every request carries (authentication included)."""
        raise NotImplementedError

    @property
    def transport(self) -> HttpTransport:
        """What requests go through (a websocket or a chunked stream goes through :attr:`session`)."""
        if self._transport is None:
            self._transport = HttpTransport(connections=self._connections, headers=self._headers())
        return self._transport

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector, headers=self._headers(), timeout=aiohttp.ClientTimeout(total=None)
            )
            # aiohttp silently resends a request HTTP calls idempotent (PUT, DELETE) whose keep-alive
            # connection dropped, but the venues' are not: a v20 replace creates a new order each time and a
            # close closes more units (reference §1.3, §1.5); Alpaca's DELETE /v2/positions/{symbol} places
            # a closing order each time it runs. A call that may have executed is never repeated blindly
            # (DESIGN.md), so the resend is switched off, as aiohttp's own test client does.
            session._retry_connection = False
            self._session = session
        return self._session

    def _refresh_headers(self) -> None:
        """Send the current :meth:`_headers` from the next request on (credential rotation)."""
        if self._session is not None and not self._session.closed:
            self._session.headers.update(self._headers())
        if self._transport is not None:
            self._transport.set_headers(self._headers())

    async def close(self) -> None:
        session, self._session = self._session, None
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
        if session is not None and not session.closed:
            await session.close()

    async def _send(
        self, method: str, base: str, path: str, *, params: Mapping[str, str] | None, data: bytes | None
    ) -> tuple[int, Mapping[str, str], Any]:
        """Send one request to ``base`` + ``path``; returns the status, headers and decoded body whatever
        the status. No complete answer is a ``BrokerConnectionError``: ``sent: False`` when no byte of
        the request left, else an open outcome. The pipeline hears that the request is leaving only once
        it is written, so a call cancelled while a connection opens (its deadline) was not sent."""
        try:
            status, headers, raw = await self.transport.request(
                method, f"{base}{path}", params=params, body=data, before_write=note_request_sent
            )
        except TransportError as exc:
            raise BrokerConnectionError(
                str(exc), broker_name=self.broker_name, sent=exc.sent, context={"path": path}
            ) from exc
        return status, headers, decode_body(raw)

    def _checked(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        """(status, body) of a 2xx answer; otherwise the venue's error, an open outcome for any method
        but GET."""
        if 200 <= status < 300:
            return status, body
        raise venue_error(
            self.broker_name,
            status,
            body,
            headers=headers,
            context={"method": method, "path": path},
            may_have_executed=method != "GET",
        )
