"""Keeping a running adapter on its broker's configuration, and rotating its credentials without a restart.

:meth:`ConfigManager.bind_adapter` installs a :class:`CredentialGate` as the outermost stage of the
adapter's call pipeline and listens for configuration changes of that broker. A change that leaves the
credentials alone replaces ``adapter.config`` (one attribute, so a call sees the old or the new
configuration, never a mix). A change of credentials closes the gate to new calls, waits for the calls in
flight to finish with the old credentials (an order being sent is never cut off), swaps the configuration,
calls ``adapter.authenticate(new_credentials)`` and opens the gate; calls that arrived meanwhile then run
with the new credentials. If the broker refuses the new credentials, the adapter goes back to the old
configuration and re-authenticates with it (during a rotation window both keys are valid), and a failed
:class:`CredentialRotationEvent` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.config.events import ConfigChangedEvent, CredentialRotationEvent
from broker_integration.errors import AuthenticationError
from broker_integration.log import get_logger, redact
from broker_integration.pipeline import BrokerAdapter, attach
from broker_integration.pipeline.stages.credentials import CredentialGate

if TYPE_CHECKING:
    from broker_integration.config.manager import ConfigManager

__all__ = ["AdapterBinding", "CredentialGate"]

_log = get_logger("broker_integration.config.rotation")


class AdapterBinding:
    """Ties one adapter to one broker's configuration in a :class:`ConfigManager` (see the module docstring)."""

    def __init__(
        self, manager: ConfigManager, name: str, adapter: BrokerAdapter, *, drain_timeout: float
    ) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "bind_adapter must be called from the event loop the adapter runs on"
            ) from None
        self._manager = manager
        self._name = name
        self._adapter = adapter
        self._drain_timeout = drain_timeout
        self._gate = CredentialGate()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._refused: BrokerCredentials | None = None  # not offered to the broker again
        self._thread = threading.get_ident()
        attach(adapter, gate=self._gate)
        self._subscription = manager.event_bus.subscribe(
            ConfigChangedEvent,
            self._on_change,
            where=lambda e: e.manager_id == manager.manager_id and name in e.brokers,
        )
        self.rotations = 0
        self._kick()

    @property
    def adapter(self) -> BrokerAdapter:
        return self._adapter

    @property
    def gate(self) -> CredentialGate:
        return self._gate

    async def settled(self) -> None:
        """Wait until the adapter has caught up with every configuration change seen so far."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop following the configuration and take the gate out of the adapter's pipeline."""
        self._manager.event_bus.unsubscribe(self._subscription)
        await self.settled()
        self._adapter.remove_interceptor("credentials")

    def _on_change(self, _event: ConfigChangedEvent) -> None:
        if threading.get_ident() == self._thread:
            self._kick()
        else:
            self._loop.call_soon_threadsafe(self._kick)

    def _kick(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self._loop.create_task(self._follow(), name=f"config-binding:{self._name}")

    async def _follow(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                await self._sync()
            except Exception:
                _log.exception("applying configuration to adapter %s failed", self._adapter.adapter_id)

    async def _sync(self) -> None:
        new = self._manager.get_configuration(self._name)
        old = self._adapter.config
        if new is None:
            _log.warning(
                "broker %s is no longer configured; adapter %s keeps its configuration",
                self._name,
                self._adapter.adapter_id,
            )
            return
        if old == new:
            return
        if old is not None and old.credentials == new.credentials:
            self._adapter.config = new
            return
        if new.credentials == self._refused:
            return  # the broker refused these already; wait for different ones
        await self._rotate(old, new)

    async def _rotate(self, old: BrokerConfiguration | None, new: BrokerConfiguration) -> None:
        adapter = self._adapter
        success, message = False, ""
        try:
            async with self._gate.closed(self._drain_timeout):
                adapter.config = new
                refused = False
                try:
                    success = bool(await adapter.authenticate(new.credentials))
                    refused = not success
                    message = "" if success else "the broker refused the new credentials"
                except Exception as exc:
                    refused = isinstance(exc, AuthenticationError)
                    message = f"authenticate with the new credentials failed: {type(exc).__name__}: {exc}"
                self._refused = new.credentials if refused else None
                if not success and old is not None:
                    adapter.config = old
                    with contextlib.suppress(Exception):
                        await adapter.authenticate(old.credentials)
        except TimeoutError:
            message = (
                f"calls in flight did not finish within {self._drain_timeout:g} s; credentials not rotated"
            )
        if success:
            self.rotations += 1
            _log.info("adapter %s re-authenticated with new credentials", adapter.adapter_id)
        else:
            _log.error("credential rotation for adapter %s failed: %s", adapter.adapter_id, message)
        self._manager.event_bus.publish(
            CredentialRotationEvent(
                time=adapter.clock.now(),
                manager_id=self._manager.manager_id,
                broker_name=self._name,
                adapter_id=adapter.adapter_id,
                version=self._manager.version,
                success=success,
                message=redact(message),
            )
        )
