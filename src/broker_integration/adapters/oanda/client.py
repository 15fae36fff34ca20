"""The HTTP side of the OANDA adapter: one pooled keep-alive aiohttp session with the bearer token.

Every non-2xx answer becomes a :class:`~broker_integration.errors.BrokerError` through the OANDA
error table. Transport failures are told apart by whether the request can have left: a refused
connection was never sent (``sent: False``); a connection dropped after sending leaves the outcome open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from broker_integration.errors import (
    BrokerConnectionError,
    BrokerError,
    error_class_for,
    map_http_error,
)
from broker_integration.log import get_logger, register_secret
from broker_integration.pipeline import note_request_sent

__all__ = ["BROKER_NAME", "OandaClient", "error_from_response"]

BROKER_NAME = "oanda"
_log = get_logger("broker_integration.adapters.oanda")


def error_from_response(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    may_have_executed: bool = False,
) -> BrokerError:
    """The standard error for a non-2xx v20 answer, read through the OANDA error table.

    ``may_have_executed`` is set for state-changing requests, so a 5xx on an order becomes an unknown
    outcome (resolved by lookup) rather than a retryable failure.
    """
    error = map_http_error(
        BROKER_NAME,
        status,
        body,
        headers=headers,
        context=context,
        may_have_executed=may_have_executed,
    )
    return error_class_for(error.error_code)(error)


def _decode(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


class OandaClient:
    """A v20 REST client: ``request`` for JSON calls, ``stream`` for the pricing stream."""

    def __init__(
        self,
        base_url: str,
        stream_url: str,
        token: SecretStr,
        *,
        connections: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stream_url = stream_url.rstrip("/")
        self._token = token
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        #: The highest ``lastTransactionID`` any answer carried: the account's history up to now.
        self.last_transaction_id: int | None = None
        register_secret(token.get_secret_value())

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept-Datetime-Format": "RFC3339",
        }

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            # aiohttp silently resends a PUT whose keep-alive connection dropped (HTTP calls PUT idempotent),
            # but v20's PUTs are not: a replace creates a new order each time and a close closes more units
            # (reference §1.3, §1.5). A call that may have executed is never repeated blindly (DESIGN.md), so
            # the resend is switched off, as aiohttp's own test client does.
            session._retry_connection = False
            self._session = session
        return self._session

    def set_token(self, token: SecretStr) -> None:
        """Use a new token from the next request on (credential rotation)."""
        self._token = token
        register_secret(token.get_secret_value())
        if self._session is not None and not self._session.closed:
            self._session.headers.update(self._headers())

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """Send one request; returns (status, decoded body) for 2xx, raises a BrokerError otherwise."""
        url = f"{self.base_url}{path}"
        data = orjson.dumps(body) if body is not None else None
        session = self.session
        note_request_sent()
        try:
            async with session.request(method, url, params=params, data=data) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except aiohttp.ClientConnectorError as exc:
            raise BrokerConnectionError(
                f"cannot connect to {self.base_url}: {exc.os_error or exc}",
                broker_name=BROKER_NAME,
                sent=False,
                context={"path": path},
            ) from exc
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise BrokerConnectionError(
                f"connection to {self.base_url} lost during {method} {path}: {exc}",
                broker_name=BROKER_NAME,
                context={"path": path},
            ) from exc
        decoded = _decode(raw)
        if isinstance(decoded, dict):
            self._note_history(decoded.get("lastTransactionID"))
        if 200 <= status < 300:
            return status, decoded
        raise error_from_response(
            status,
            decoded,
            headers=headers,
            context={"method": method, "path": path},
            may_have_executed=method != "GET",
        )

    def _note_history(self, last: Any) -> None:
        if isinstance(last, str) and last.isdigit():
            seen = int(last)
            if self.last_transaction_id is None or seen > self.last_transaction_id:
                self.last_transaction_id = seen

    @asynccontextmanager
    async def stream(
        self, path: str, params: Mapping[str, str], *, idle_timeout: float | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a chunked newline-JSON stream on the stream host; errors as for :meth:`request`.

        ``idle_timeout``: reading fails with ``TimeoutError`` once nothing, not even a heartbeat, arrived
        for that long (OANDA heartbeats every 5 s, reference §1.7); it also bounds waiting for the answer.
        """
        url = f"{self.stream_url}{path}"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=idle_timeout)
        try:
            response = await self.session.get(url, params=params, timeout=timeout)
        except aiohttp.ClientError as exc:
            raise BrokerConnectionError(
                f"cannot open the price stream at {self.stream_url}: {exc}",
                broker_name=BROKER_NAME,
                sent=False,
                context={"path": path},
            ) from exc
        try:
            if response.status != 200:
                raise error_from_response(
                    response.status, _decode(await response.read()), context={"path": path}
                )
            yield response
        finally:
            response.release()

    def __repr__(self) -> str:
        return f"OandaClient({self.base_url!r}, token=***)"
