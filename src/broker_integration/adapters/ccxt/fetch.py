"""ccxt's REST round trip over the library's HTTP/1.1 transport instead of ccxt's aiohttp session.

ccxt sends every REST request through ``Exchange.fetch(url, method, headers, body)``: the request is
signed and built before it (``sign``, the throttle), and the venue's errors are read after it from the
answer's status, headers and text (``handle_errors``, ``handle_http_status_code``). Only the round trip
in the middle changes here; ccxt's own hooks run around it in the order its ``fetch`` calls them
(``prepare_request_headers``, ``on_rest_response``, ``parse_json``, the ``last_*`` records,
``handle_errors``, ``handle_http_status_code``), so every exchange class reads the same things it reads
from aiohttp.

Why: aiohttp costs more client CPU per order than the rest of the adapter together
(``benchmarks/bench_ccxt.py``), and the transport says exactly whether a failed request can have left
(:class:`~broker_integration.adapters.transport.TransportError`), which settles an order's outcome.

ccxt's own fetch stays in use where the transport cannot do what the exchange is set up for: a proxy of
any kind, proxies from the environment (``aiohttp_trust_env``), TLS verification switched off
(``verify=False``), or a multipart body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from broker_integration.adapters.transport import HttpTransport, TransportError

__all__ = ["TransportFetch"]

Fetch = Callable[..., Awaitable[Any]]


class TransportFetch:
    """``exchange.fetch`` replaced: the same call, the round trip through one :class:`HttpTransport`
    (made on the first request, after ``exchange.open()`` has set up its TLS context).

    ``before_write`` is called just before a request can start to leave: as its first byte is written on
    the transport, or before ccxt's own fetch takes it."""

    def __init__(
        self, exchange: Any, *, connections: int = 64, before_write: Callable[[], None] | None = None
    ) -> None:
        self._exchange = exchange
        self._ccxt_fetch: Fetch = exchange.fetch
        self._connections = connections
        self._before_write = before_write
        self._transport: HttpTransport | None = None

    async def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        exchange = self._exchange
        if not isinstance(body, str | None) or _uses_proxy(exchange, url, method, headers, body):
            return await self._by_ccxt(url, method, headers, body)
        transport = self._transport or self._made_transport()
        if transport is None:
            return await self._by_ccxt(url, method, headers, body)
        request_headers = exchange.prepare_request_headers(headers)
        exchange.last_request_headers = request_headers
        if _multipart(request_headers):
            return await self._by_ccxt(url, method, headers, body)
        exchange.logger.debug("%s %s, Request: %s %s", method, url, headers, body)
        written = False

        def writing() -> None:
            nonlocal written
            written = True
            if self._before_write is not None:
                self._before_write()

        try:
            async with asyncio.timeout(exchange.timeout / 1000):
                answer = await transport.request(
                    method,
                    url,
                    body=body.encode() if body else None,
                    headers=request_headers,
                    before_write=writing,
                )
        except TimeoutError as exc:
            from ccxt.base.errors import RequestTimeout  # ccxt is imported only once a venue is used

            # Timed out waiting for a connection: the cause says that nothing was sent.
            cause = (
                exc if written else TransportError(f"{method} {url}: timed out before sending", sent=False)
            )
            raise RequestTimeout(f"{exchange.id} {method} {url}") from cause
        except TransportError as exc:
            from ccxt.base.errors import ExchangeNotAvailable

            raise ExchangeNotAvailable(f"{exchange.id} {method} {url}: {exc}") from exc
        status = answer.status
        reason = _reason(status)
        response_headers: dict[str, str] = {}
        for name, value in answer.headers.items():
            seen = response_headers.get(name)
            response_headers[name] = value if seen is None else f"{seen}, {value}"
        text = exchange.on_rest_response(
            status, reason, url, method, response_headers, answer.body.decode("utf-8", errors="replace"),
            request_headers, body,
        )  # fmt: skip
        json_response = exchange.parse_json(text)
        if exchange.enableLastHttpResponse:
            exchange.last_http_response = text
        if exchange.enableLastResponseHeaders:
            exchange.last_response_headers = response_headers
        if exchange.enableLastJsonResponse:
            exchange.last_json_response = json_response
        if json_response and not isinstance(json_response, list) and exchange.returnResponseHeaders:
            json_response["responseHeaders"] = response_headers
        exchange.logger.debug("%s %s, Response: %s %s %s", method, url, status, response_headers, text)
        exchange.handle_errors(
            status, reason, url, method, response_headers, text, json_response, request_headers, body
        )
        exchange.handle_http_status_code(status, reason, url, method, text)
        if json_response is not None:
            return json_response
        if exchange.is_text_response(response_headers) or not text:
            return text
        return answer.body

    async def _by_ccxt(self, url: str, method: str, headers: Any, body: Any) -> Any:
        """ccxt's own fetch, on its aiohttp session (it cannot tell when its request leaves: from here on,
        it may have)."""
        if self._before_write is not None:
            self._before_write()
        return await self._ccxt_fetch(url, method, headers, body)

    @property
    def transport(self) -> HttpTransport | None:
        """The transport requests go through; ``None`` before the first request, or when ccxt's own fetch
        serves this exchange."""
        return self._transport

    def _made_transport(self) -> HttpTransport | None:
        """The transport, made on first use; ``None`` (ccxt's fetch serves) when the exchange's TLS or
        environment settings ask for what it does not do."""
        exchange = self._exchange
        exchange.open()
        context = exchange.ssl_context
        if context is False or getattr(exchange, "aiohttp_trust_env", False):
            return None
        self._transport = HttpTransport(
            connections=self._connections, ssl_context=context or None, headers={}
        )
        return self._transport

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()


def _uses_proxy(exchange: Any, url: str, method: str, headers: Any, body: Any) -> bool:
    """Whether the exchange is set to reach the venue through a proxy (ccxt's own checks, which also
    refuse conflicting settings)."""
    if exchange.check_proxy_url_settings(url, method, headers, body) is not None:
        return True
    return any(exchange.check_proxy_settings(url, method, headers, body)) or bool(exchange.aiohttp_proxy)


def _multipart(headers: Any) -> bool:
    return any(k.lower() == "content-type" and v == "multipart/form-data" for k, v in headers.items())


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
