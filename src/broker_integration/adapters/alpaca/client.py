"""The HTTP side of the Alpaca adapter: one pooled keep-alive aiohttp session with the key-pair headers.

Every non-2xx answer becomes a :class:`~broker_integration.errors.BrokerError` through Alpaca's error table
(:mod:`.errors`). Transport failures are told apart by whether the request can have left: a refused
connection was never sent (``sent: False``); a connection dropped after sending leaves the outcome open.
The same session opens the websockets (trade updates on the trading host, market data on the data host).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
import orjson
from pydantic import SecretStr

from broker_integration.adapters.http import PooledClient, venue_error
from broker_integration.errors import BrokerConnectionError
from broker_integration.log import get_logger, register_secret

__all__ = ["BROKER_NAME", "AlpacaClient", "error_from_response"]

BROKER_NAME = "alpaca"
_log = get_logger("broker_integration.adapters.alpaca")

Host = Literal["trading", "data"]

#: The standard error for a non-2xx Alpaca answer, read through Alpaca's error table (codes first, then
#: the message, then the HTTP status).
error_from_response = functools.partial(venue_error, BROKER_NAME)


class AlpacaClient(PooledClient):
    """Trading API v2 and Market Data API v2 over one session: ``request`` for JSON calls, ``websocket``
    for the streams."""

    broker_name = BROKER_NAME

    def __init__(
        self,
        trading_url: str,
        data_url: str,
        key_id: SecretStr,
        secret_key: SecretStr,
        *,
        connections: int = 64,
    ) -> None:
        super().__init__(connections=connections)
        self.trading_url = trading_url.rstrip("/")
        self.data_url = data_url.rstrip("/")
        self._key_id = key_id
        self._secret_key = secret_key
        #: The ``Date`` header of the latest trading answer: the server's clock, for history markers.
        self.server_date: str | None = None
        register_secret(key_id.get_secret_value())
        register_secret(secret_key.get_secret_value())

    def _headers(self) -> dict[str, str]:
        return {
            "APCA-API-KEY-ID": self._key_id.get_secret_value(),
            "APCA-API-SECRET-KEY": self._secret_key.get_secret_value(),
            "Content-Type": "application/json",
        }

    def set_keys(self, key_id: SecretStr, secret_key: SecretStr) -> None:
        """Use a new key pair from the next request on (credential rotation)."""
        self._key_id, self._secret_key = key_id, secret_key
        register_secret(key_id.get_secret_value())
        register_secret(secret_key.get_secret_value())
        self._refresh_headers()

    def auth_message(self) -> dict[str, Any]:
        """The trade-updates stream's authentication frame (reference §2.4)."""
        return {
            "action": "authenticate",
            "data": {
                "key_id": self._key_id.get_secret_value(),
                "secret_key": self._secret_key.get_secret_value(),
            },
        }

    def data_auth_message(self) -> dict[str, Any]:
        """The market-data stream's authentication frame (reference §2.6)."""
        return {
            "action": "auth",
            "key": self._key_id.get_secret_value(),
            "secret": self._secret_key.get_secret_value(),
        }

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        host: Host = "trading",
        encoded: bytes | None = None,
    ) -> tuple[int, Any]:
        """Send one request; returns (status, decoded body) for 2xx, raises a BrokerError otherwise.

        ``encoded`` is a body already JSON-encoded (the order path encodes once)."""
        base = self.trading_url if host == "trading" else self.data_url
        data = encoded if encoded is not None else orjson.dumps(body) if body is not None else None
        status, headers, decoded = await self._send(method, base, path, params=params, data=data)
        if host == "trading":
            self.server_date = headers.get("Date", self.server_date)
        return self._checked(method, path, status, headers, decoded)

    def server_time(self) -> datetime | None:
        """The server's clock at its latest answer (to the second), or ``None`` before the first."""
        if self.server_date is None:
            return None
        try:
            return parsedate_to_datetime(self.server_date)
        except (TypeError, ValueError):
            return None

    async def websocket(self, url: str, *, heartbeat: float) -> aiohttp.ClientWebSocketResponse:
        """Open a websocket at ``url``; pings every ``heartbeat`` seconds, and a ping left unanswered for
        half that long closes it (aiohttp's heartbeat). A refusal is a ``BrokerConnectionError``."""
        try:
            return await self.session.ws_connect(url, heartbeat=heartbeat, autoping=True, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            raise error_from_response(exc.status, exc.message, context={"url": url}) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise BrokerConnectionError(
                f"cannot open the websocket at {url}: {exc}", broker_name=BROKER_NAME, sent=False
            ) from exc

    def __repr__(self) -> str:
        return f"AlpacaClient({self.trading_url!r}, data={self.data_url!r}, keys=***)"
