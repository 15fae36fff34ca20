"""A gate in front of every other stage that counts calls in flight and can hold new ones while an adapter's
credentials change (:class:`~broker_integration.config.rotation.AdapterBinding` closes and opens it)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator
from typing import Any

from broker_integration.pipeline.context import CallContext, Proceed

__all__ = ["CredentialGate"]

# Set inside a gated call (so nested calls, e.g. health_check -> get_account_summary, pass) and during a
# rotation's own authenticate call.
_PASS_THROUGH: contextvars.ContextVar[bool] = contextvars.ContextVar("broker_config_gate_pass", default=False)


class CredentialGate:
    """A pipeline stage that counts calls in flight and can hold new ones while credentials change."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()

    @property
    def in_flight(self) -> int:
        """Calls inside the pipeline now."""
        return self._in_flight

    @property
    def is_open(self) -> bool:
        """False while a credential change holds new calls."""
        return self._open.is_set()

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        if _PASS_THROUGH.get():
            return await proceed()
        while not self._open.is_set():
            await self._open.wait()
        self._in_flight += 1
        self._idle.clear()
        token = _PASS_THROUGH.set(True)
        try:
            return await proceed()
        finally:
            _PASS_THROUGH.reset(token)
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def closed(self, drain_timeout: float) -> AsyncIterator[None]:
        """Hold new calls, wait (up to ``drain_timeout``) for calls in flight, and let the body run alone."""
        self._open.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), drain_timeout)
            token = _PASS_THROUGH.set(True)
            try:
                yield
            finally:
                _PASS_THROUGH.reset(token)
        finally:
            self._open.set()
