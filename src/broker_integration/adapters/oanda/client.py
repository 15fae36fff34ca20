"""The HTTP side of the OANDA adapter: one pooled keep-alive aiohttp session with the bearer token.

Every non-2xx answer becomes a :class:`~broker_integration.errors.BrokerError` through the OANDA
error table. Transport failures are told apart by whether the request can have left: a refused
connection was never sent (``sent: False``); a connection dropped after sending leaves the outcome open.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from broker_integration.adapters.http import PooledClient, decode_body, venue_error
from broker_integration.errors import BrokerConnectionError
from broker_integration.log import get_logger, register_secret

__all__ = ["BROKER_NAME", "OandaClient", "error_from_response"]

BROKER_NAME = "oanda"
_log = get_logger("broker_integration.adapters.oanda")

#: The standard error for a non-2xx v20 answer, read through the OANDA error table.
error_from_response = functools.partial(venue_error, BROKER_NAME)


class OandaClient(PooledClient):
    """A v20 REST client: ``request`` for JSON calls, ``stream`` for the pricing stream."""

    broker_name = BROKER_NAME

    def __init__(
        self,
        base_url: str,
        stream_url: str,
        token: SecretStr,
        *,
        connections: int = 64,
    ) -> None:
        super().__init__(connections=connections)
        self.base_url = base_url.rstrip("/")
        self.stream_url = stream_url.rstrip("/")
        self._token = token
        #: The highest ``lastTransactionID`` any answer carried: the account's history up to now.
        self.last_transaction_id: int | None = None
        register_secret(token.get_secret_value())

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Content-Type": "application/json",
            "Accept-Datetime-Format": "RFC3339",
        }

    def set_token(self, token: SecretStr) -> None:
        """Use a new token from the next request on (credential rotation)."""
        self._token = token
        register_secret(token.get_secret_value())
        self._refresh_headers()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """Send one request; returns (status, decoded body) for 2xx, raises a BrokerError otherwise."""
        data = orjson.dumps(body) if body is not None else None
        status, headers, decoded = await self._send(method, self.base_url, path, params=params, data=data)
        if isinstance(decoded, dict):
            self._note_history(decoded.get("lastTransactionID"))
        return self._checked(method, path, status, headers, decoded)

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
                    response.status, decode_body(await response.read()), context={"path": path}
                )
            yield response
        finally:
            response.release()

    def __repr__(self) -> str:
        return f"OandaClient({self.base_url!r}, token=***)"
