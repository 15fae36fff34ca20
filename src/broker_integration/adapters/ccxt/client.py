"""Calling the ccxt exchange object: its exceptions become standard errors through :mod:`.errors`, and the
pipeline learns when a request is about to leave the process.

ccxt sends every REST request through its ``fetch`` method; the client replaces that method on the object
it owns: the round trip goes through the library's HTTP transport (:mod:`.fetch`), and
:func:`~broker_integration.pipeline.note_request_sent` is called just before each request, so a failure
before the first one (ccxt's own checks of an order's precision, a symbol it does not list) is known never
to have reached the venue. A request that failed before any byte of it was written says so too.

ccxt.pro's websocket clients hand results between ccxt's own callers through futures (``Client.future``);
one may be rejected with no caller waiting on it, and asyncio then reports "Future exception was never
retrieved" when it is collected. Binance's ``watchOrders`` does this on a refused handshake of its
WebSocket API (``/ws-api/v3``): the user data stream's subscription future, meant for concurrent
subscribers, is rejected with the same error that the watch itself raises. That raised error is the one
the adapter acts on (a standard error; the stream reconnects), so the client retrieves the exception of
every future of the websocket clients it owns, and logs it at debug level.
"""

from __future__ import annotations

import asyncio
import decimal
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from broker_integration.adapters.ccxt.errors import CCXT_ERROR_TABLE, TURNED_AWAY
from broker_integration.adapters.ccxt.fetch import TransportFetch
from broker_integration.adapters.transport import TransportError
from broker_integration.errors import BrokerError, classify_exception, error_class_for, map_broker_error
from broker_integration.log import get_logger, register_secret
from broker_integration.pipeline import note_request_sent

__all__ = ["BROKER_NAME", "CcxtClient", "translate"]

#: The name CCXT's error table is registered under.
BROKER_NAME = "ccxt"
_T = TypeVar("_T")
_EXCHANGE_CODE = re.compile(r'"code"\s*:\s*"?(-?[A-Za-z0-9_.]+)')
_log = get_logger("broker_integration.adapters.ccxt")


def _table_class(exc: BaseException) -> str | None:
    """The most specific class of ``exc`` that CCXT's table names (a newer ccxt class maps by its parent)."""
    for klass in type(exc).__mro__:
        if klass.__name__ in CCXT_ERROR_TABLE.exact and klass.__module__.startswith("ccxt"):
            return klass.__name__
    return None


def _refused_connection(exc: BaseException) -> bool:
    """Whether ``exc`` came of a request no byte of which was written (our transport says so; through
    ccxt's own aiohttp fetch, a connection that could not be opened)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, TransportError):
        return cause.sent is False
    return cause is not None and type(cause).__name__ in ("ClientConnectorError", "ClientConnectorDNSError")


def translate(exc: BaseException, *, adapter_name: str, may_have_executed: bool) -> BrokerError:
    """The standard error for an exception a ccxt call raised. ``may_have_executed``: the call changes state
    at the venue, so a timeout or lost connection leaves its outcome unknown."""
    name = _table_class(exc)
    if name is None:  # not a ccxt exception: a bug in ccxt or here (ccxt#30162: a TypeError for a has flag)
        error = classify_exception(exc, broker_name=adapter_name)
        return error_class_for(error.error_code)(error)
    message = str(exc)
    context: dict[str, Any] = {"ccxt_exception": type(exc).__name__}
    code = _EXCHANGE_CODE.search(message)
    if code is not None:
        context["exchange_code"] = code.group(1)
    refused = name in TURNED_AWAY or _refused_connection(exc)
    error = map_broker_error(
        BROKER_NAME,
        name,
        message,
        context=context,
        may_have_executed=may_have_executed and not refused,
    )
    update: dict[str, Any] = {"broker_name": adapter_name}
    if refused:
        update["sent"] = False
    return error_class_for(error.error_code)(error.model_copy(update=update))


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark the exception of a finished ccxt websocket future retrieved (a caller awaiting it still has it
    raised, and acts on it there) and log it at debug level."""
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        _log.debug("a ccxt websocket future failed: %s", error)


def _retrieving_clients(make_client: Callable[[str], Any]) -> Callable[[str], Any]:
    """ccxt's ``Exchange.client(url)`` (the websocket client of a URL, made on first use), each client's
    futures given :func:`_retrieve`."""

    def client(url: str) -> Any:
        ws = make_client(url)
        if not getattr(ws, "_broker_integration_retrieves", False):
            make_future = ws.future

            def future(message_hash: str) -> Any:
                made = make_future(message_hash)
                made.remove_done_callback(_retrieve)  # a future handed out again gets one callback, not two
                made.add_done_callback(_retrieve)
                return made

            ws.future = future
            ws._broker_integration_retrieves = True
        return ws

    return client


class CcxtClient:
    """One ccxt exchange object and the calls made on it."""

    def __init__(self, exchange: Any, adapter_name: str) -> None:
        self.exchange = exchange
        self.adapter_name = adapter_name
        exchange.fetch = self.fetch = TransportFetch(exchange, before_write=note_request_sent)
        exchange.client = _retrieving_clients(exchange.client)
        for secret in (exchange.apiKey, exchange.secret, exchange.password):
            if secret:
                register_secret(str(secret))

    async def call(
        self, method: Callable[..., Awaitable[_T]], *args: Any, changes_state: bool = False, **kwargs: Any
    ) -> _T:
        """``await method(*args, **kwargs)`` in a decimal context of its own, ccxt's exceptions raised as
        standard errors.

        ccxt's ``decimal_to_precision`` (every amount and price it formats) sets the current decimal
        context's rounding to ROUND_HALF_UP and traps Underflow, in place; left alone, that would change how
        every Decimal of the caller rounds, money included. The call's own copy takes the change."""
        try:
            with decimal.localcontext():
                return await method(*args, **kwargs)
        except BrokerError:
            raise
        except Exception as exc:
            raise translate(exc, adapter_name=self.adapter_name, may_have_executed=changes_state) from exc

    async def close(self) -> None:
        """Close the exchange's connections (REST connections, ccxt's session and websockets)."""
        await self.fetch.close()
        await self.exchange.close()

    def __repr__(self) -> str:
        return f"CcxtClient({self.exchange.id!r}, key=***)"
