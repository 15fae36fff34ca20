"""Exception classification: a standard code for an exception that is not a :class:`BrokerError`.

It works by class hierarchy and errno, so no HTTP library is imported: asyncio and aiohttp errors are
recognised by their base classes and names.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from broker_integration.errors._codes import StandardErrorCode
from broker_integration.errors._exceptions import BrokerError
from broker_integration.errors._model import StandardizedError, make_error

__all__ = ["classify_exception"]


def classify_exception(
    exc: BaseException, *, broker_name: str = "", operation: str | None = None
) -> StandardizedError:
    """A standardized error for an exception that is not a :class:`BrokerError`.

    Timeouts become TIMEOUT, socket and HTTP-client connection failures CONNECTION_ERROR,
    ``NotImplementedError`` UNSUPPORTED_OPERATION; anything else UNKNOWN, with the exception's type
    in the context so the gap is visible. Works by class hierarchy, so no HTTP library is imported.
    """
    context: dict[str, Any] = {"exception": type(exc).__name__}
    if operation:
        context["operation"] = operation
    text = str(exc) or type(exc).__name__
    if isinstance(exc, BrokerError):
        return exc.error
    if isinstance(exc, TimeoutError):
        code = StandardErrorCode.TIMEOUT
    elif isinstance(exc, NotImplementedError):
        code = StandardErrorCode.UNSUPPORTED_OPERATION
    elif _is_network_os_error(exc) or any(
        "Connection" in klass.__name__ or "Disconnected" in klass.__name__ for klass in type(exc).__mro__
    ):
        code = StandardErrorCode.CONNECTION_ERROR
    else:
        code = StandardErrorCode.UNKNOWN
    return make_error(code, text, broker_name=broker_name, context=context)


_NETWORK_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENETUNREACH",
        "EHOSTUNREACH",
        "ENETDOWN",
        "EHOSTDOWN",
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "ETIMEDOUT",
        "EPIPE",
        "ENOTCONN",
        "ESHUTDOWN",
    )
    if hasattr(errno, name)
)


def _is_network_os_error(exc: BaseException) -> bool:
    """Socket failures, not every OSError: a missing file is not a connection problem."""
    if isinstance(exc, ConnectionError | socket.gaierror | socket.herror):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
