"""The HTTP side of the Alpaca adapter: one pooled keep-alive aiohttp session with the key-pair headers.

Every non-2xx answer becomes a :class:`~broker_integration.errors.BrokerError` through Alpaca's error table
(:mod:`.errors`). Transport failures are told apart by whether the request can have left: a refused
connection was never sent (``sent: False``); a connection dropped after sending leaves the outcome open.
The same session opens the websockets (trade updates on the trading host, market data on the data host).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
import orjson
from pydantic import SecretStr

from broker_integration.errors import BrokerConnectionError, BrokerError, error_class_for, map_http_error
from broker_integration.log import get_logger, register_secret
from broker_integration.pipeline import note_request_sent

__all__ = ["BROKER_NAME", "AlpacaClient", "error_from_response"]

BROKER_NAME = "alpaca"
_log = get_logger("broker_integration.adapters.alpaca")

Host = Literal["trading", "data"]


def error_from_response(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    may_have_executed: bool = False,
) -> BrokerError:
    """The standard error for a non-2xx Alpaca answer, read through Alpaca's error table (codes first,
    then the message, then the HTTP status). ``may_have_executed`` is set for state-changing requests, so
    a 5xx on an order is an unknown outcome rather than a retryable failure."""
    error = map_http_error(
        BROKER_NAME, status, body, headers=headers, context=context, may_have_executed=may_have_executed
    )
    return error_class_for(error.error_code)(error)


def _decode(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


class AlpacaClient:
    """Trading API v2 and Market Data API v2 over one session: ``request`` for JSON calls, ``websocket``
    for the streams."""

    def __init__(
        self,
        trading_url: str,
        data_url: str,
        key_id: SecretStr,
        secret_key: SecretStr,
        *,
        connections: int = 64,
    ) -> None:
        self.trading_url = trading_url.rstrip("/")
        self.data_url = data_url.rstrip("/")
        self._key_id = key_id
        self._secret_key = secret_key
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
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

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector, headers=self._headers(), timeout=aiohttp.ClientTimeout(total=None)
            )
            # aiohttp silently resends an idempotent-by-HTTP request (DELETE, PUT) whose keep-alive connection
            # dropped; Alpaca's DELETE /v2/positions/{symbol} places a closing order each time it runs. A call
            # that may have executed is never repeated blindly (DESIGN.md), so the resend is off.
            session._retry_connection = False
            self._session = session
        return self._session

    def set_keys(self, key_id: SecretStr, secret_key: SecretStr) -> None:
        """Use a new key pair from the next request on (credential rotation)."""
        self._key_id, self._secret_key = key_id, secret_key
        register_secret(key_id.get_secret_value())
        register_secret(secret_key.get_secret_value())
        if self._session is not None and not self._session.closed:
            self._session.headers.update(self._headers())

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
        host: Host = "trading",
        encoded: bytes | None = None,
    ) -> tuple[int, Any]:
        """Send one request; returns (status, decoded body) for 2xx, raises a BrokerError otherwise.

        ``encoded`` is a body already JSON-encoded (the order path encodes once)."""
        base = self.trading_url if host == "trading" else self.data_url
        url = f"{base}{path}"
        data = encoded if encoded is not None else orjson.dumps(body) if body is not None else None
        session = self.session
        note_request_sent()
        try:
            async with session.request(method, url, params=params, data=data) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except aiohttp.ClientConnectorError as exc:
            raise BrokerConnectionError(
                f"cannot connect to {base}: {exc.os_error or exc}",
                broker_name=BROKER_NAME,
                sent=False,
                context={"path": path},
            ) from exc
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise BrokerConnectionError(
                f"connection to {base} lost during {method} {path}: {exc}",
                broker_name=BROKER_NAME,
                context={"path": path},
            ) from exc
        if host == "trading":
            self.server_date = headers.get("Date", self.server_date)
        decoded = _decode(raw)
        if 200 <= status < 300:
            return status, decoded
        raise error_from_response(
            status,
            decoded,
            headers=headers,
            context={"method": method, "path": path},
            may_have_executed=method != "GET",
        )

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
