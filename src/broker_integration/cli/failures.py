"""What a command that failed says: one line naming the problem and an exit code, never a traceback.

The root command passes every exception a command did not handle through :func:`explain`. A mistake the
user can fix (a port in use, a missing file, a broken configuration, a broker refusing the credentials)
is one line and exit code 1, or 2 for a usage problem such as a port that cannot be listened on. Anything
else is a bug or a broken environment: it is said so in one line, and ``-v`` shows the traceback.
"""

from __future__ import annotations

import errno
import sys
from dataclasses import dataclass

__all__ = ["Failure", "explain"]

#: ``bind()`` failures: the user asked for an address or port this machine cannot listen on.
_LISTEN_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL})


@dataclass(frozen=True, slots=True)
class Failure:
    """How a command's failure is reported: ``message`` (one line) and the process exit ``code``;
    ``expected`` is False for what is a bug rather than the user's mistake."""

    message: str
    code: int
    expected: bool = True


def explain(exc: BaseException) -> Failure:
    """The one-line report of ``exc``, raised by a command that did not handle it."""
    if isinstance(exc, OSError) and exc.errno in _LISTEN_ERRORS:
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else "no such address on this machine"
        return Failure(
            f"cannot listen: {reason} ({_first_line(exc)}); choose another --port (0 picks a free one)", 2
        )
    if isinstance(exc, OSError):
        return Failure(_first_line(exc), 1)
    known = _known_error(exc)
    if known is not None:
        return known
    return Failure(
        f"unexpected {type(exc).__name__}: {_first_line(exc)} (run with -v to see where)", 1, False
    )


def _known_error(exc: BaseException) -> Failure | None:
    """The library's own errors, which say what went wrong and what to do (imported only to check)."""
    from broker_integration.broker_factory import FactoryError
    from broker_integration.config.errors import ConfigError
    from broker_integration.errors import BrokerError

    if isinstance(exc, ConfigError | FactoryError):
        return Failure(str(exc), 1)
    store_errors = sys.modules.get("broker_integration.store.errors")  # never imported: not a store error
    if store_errors is not None and isinstance(exc, store_errors.StoreError):
        return Failure(str(exc), 1)  # the URL in it has its password hidden
    if isinstance(exc, BrokerError):
        error = exc.error
        action = f"; what to do: {error.suggested_action}" if error.suggested_action else ""
        return Failure(f"{error}{action}", 1)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
