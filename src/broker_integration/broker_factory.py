"""``BrokerFactory``: which adapters exist, creating authenticated ones, and watching their health.

Adapters come from three places: the built-ins (the embedded paper broker is always ``paper``),
third-party packages that declare an entry point in the ``broker_integration.adapters`` group, and
:meth:`BrokerFactory.register_adapter` at run time. ``create_adapter`` returns an adapter that is
authenticated, or raises and leaves nothing open.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors import AuthenticationError, BrokerError, describe_validation_error
from broker_integration.events import EventBus, HealthEvent, get_event_bus
from broker_integration.log import get_logger
from broker_integration.models import HealthState
from broker_integration.pipeline import BrokerAdapter, attach, construct_adapter
from broker_integration.tasks import cancel_and_wait

if TYPE_CHECKING:
    from broker_integration.journal import OrderJournal
    from broker_integration.store import Store

__all__ = ["ENTRY_POINT_GROUP", "AdapterHealth", "BrokerFactory", "FactoryError"]

_log = get_logger("broker_integration.factory")

ENTRY_POINT_GROUP = "broker_integration.adapters"

#: Adapters that ship with the package, imported only when first used.
BUILTIN_ADAPTERS: Mapping[str, str] = {
    "paper": "broker_integration.adapters.paper:PaperBrokerAdapter",
    "oanda": "broker_integration.adapters.oanda:OandaAdapter",
    "alpaca": "broker_integration.adapters.alpaca:AlpacaAdapter",
    "ccxt": "broker_integration.adapters.ccxt:CcxtAdapter",
}

_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")


class FactoryError(ValueError):
    """A registration or creation request the factory cannot honour (bad name, unknown broker...)."""


@dataclass
class AdapterHealth:
    """What the health monitor knows about one created adapter."""

    state: HealthState = HealthState.HEALTHY
    last_check: datetime | None = None
    last_latency_ms: float | None = None
    consecutive_failures: int = 0
    last_error: str = ""
    checks: int = 0
    failures: int = 0

    @property
    def availability(self) -> float | None:
        """Share of checks that succeeded, or ``None`` before the first check."""
        return None if self.checks == 0 else (self.checks - self.failures) / self.checks


@dataclass
class _Created:
    adapter: BrokerAdapter
    adapter_type: str
    health: AdapterHealth = field(default_factory=AdapterHealth)


class BrokerFactory:
    """Registry of adapter classes and keeper of the adapters it created."""

    def __init__(
        self,
        *,
        event_bus: EventBus | None = None,
        clock: Clock | None = None,
        discover_plugins: bool = True,
        store: Store | None = None,
        journal: OrderJournal | None = None,
    ) -> None:
        """``store`` (or a configured ``journal``): when given, every created adapter journals its orders
        there (idempotent placement), and in-flight orders left by an earlier run are reconciled when the
        adapter is created."""
        self._event_bus = event_bus
        self._store = journal.store if journal is not None else store
        self._journal: OrderJournal | None = journal
        self._clock = clock or SYSTEM_CLOCK
        self._registry: dict[str, type[BrokerAdapter] | str] = dict(BUILTIN_ADAPTERS)
        self._created: dict[str, _Created] = {}
        self._monitor: asyncio.Task[None] | None = None
        self.plugin_errors: dict[str, str] = {}
        if discover_plugins:
            self.discover_plugins()

    @property
    def event_bus(self) -> EventBus:
        return self._event_bus or get_event_bus()

    # -------------------------------------------------------------- registry

    def register_adapter(
        self, name: str, adapter_class: type[BrokerAdapter], *, replace: bool = False
    ) -> None:
        """Make ``adapter_class`` creatable as ``name``; refuses non-adapters, bad names and silent overwrites."""
        _check_name(name)
        if not (isinstance(adapter_class, type) and issubclass(adapter_class, BrokerAdapter)):
            raise FactoryError(
                f"{adapter_class!r} is not a BrokerAdapter subclass; cannot register it as {name!r}"
            )
        if adapter_class is BrokerAdapter:
            raise FactoryError("register a subclass of BrokerAdapter, not BrokerAdapter itself")
        existing = self._registry.get(name)
        if existing is not None and existing is not adapter_class and not replace:
            raise FactoryError(
                f"an adapter is already registered as {name!r}; pass replace=True to replace it"
            )
        self._registry[name] = adapter_class
        _log.debug("registered adapter %s -> %s", name, adapter_class.__qualname__)

    def unregister_adapter(self, name: str) -> None:
        if name not in self._registry:
            raise FactoryError(f"no adapter is registered as {name!r}")
        del self._registry[name]

    def list_adapters(self) -> list[str]:
        """Names that :meth:`create_adapter` accepts, sorted."""
        return sorted(self._registry)

    def get_adapter_class(self, name: str) -> type[BrokerAdapter]:
        """The class registered as ``name``, importing a built-in on first use."""
        target = self._registry.get(name)
        if target is None:
            known = ", ".join(self.list_adapters()) or "none"
            raise FactoryError(f"no adapter is registered as {name!r} (registered: {known})")
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            loaded = getattr(importlib.import_module(module_name), attr)
            if not (isinstance(loaded, type) and issubclass(loaded, BrokerAdapter)):
                raise FactoryError(f"{target} is not a BrokerAdapter subclass")
            self._registry[name] = loaded
            return loaded
        return target

    def discover_plugins(self) -> list[str]:
        """Register adapters that installed packages declare in the ``broker_integration.adapters`` group.

        A plugin that fails to import, or is not an adapter, is skipped, logged and kept in
        ``plugin_errors``; it never prevents the others from loading. Returns the names registered.
        """
        found: list[str] = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                _check_name(ep.name)
                loaded = ep.load()
                if ep.name in self._registry and self._registry[ep.name] is not loaded:
                    raise FactoryError(
                        f"plugin {ep.value} would replace the adapter already named {ep.name!r}"
                    )
                self.register_adapter(ep.name, loaded, replace=True)
            except Exception as exc:
                self.plugin_errors[ep.name] = f"{type(exc).__name__}: {exc}"
                _log.warning("adapter plugin %s (%s) was not loaded: %s", ep.name, ep.value, exc)
                continue
            found.append(ep.name)
        return found

    # -------------------------------------------------------------- creation

    async def create_adapter(
        self,
        name: str,
        config: BrokerConfiguration | Mapping[str, Any] | None = None,
        *,
        instance_name: str | None = None,
        authenticate: bool = True,
    ) -> BrokerAdapter:
        """Instantiate the adapter registered as ``name`` and authenticate it.

        ``instance_name`` (default: the configuration's ``broker_name``) keys the created adapter, so two
        venues of one type can coexist. On failed authentication the adapter is disconnected and the
        standard authentication error raised; other broker errors propagate after the same clean-up.
        """
        if config is None:
            config = BrokerConfiguration(broker_name=name)
        elif isinstance(config, Mapping):
            try:
                config = BrokerConfiguration.from_dict(dict(config))
            except ValidationError as exc:
                raise FactoryError(
                    f"invalid configuration for {name!r}: {describe_validation_error(exc)}"
                ) from None
        adapter_class = self.get_adapter_class(self._adapter_type(name, config))
        key = instance_name or config.broker_name
        if key in self._created:
            raise FactoryError(
                f"an adapter named {key!r} exists already; close it or pass another instance_name"
            )
        if not config.enabled:
            raise FactoryError(
                f"broker {config.broker_name!r} is disabled in its configuration (enabled: false)"
            )
        adapter = construct_adapter(adapter_class, config, event_bus=self._event_bus, clock=self._clock)
        if authenticate:
            try:
                accepted = await adapter.authenticate(config.credentials)
            except BaseException:
                await _quietly_disconnect(adapter)
                raise
            if not accepted:
                await _quietly_disconnect(adapter)
                raise AuthenticationError(
                    f"{key}: the broker refused the credentials for account "
                    f"{config.credentials.account_id or '(default)'} ({config.credentials.environment.value})",
                    broker_name=key,
                )
        if self._store is not None:
            await self._attach_journal(adapter)
        self._created[key] = _Created(adapter, name)
        _log.info("created adapter %s (%s)", key, name)
        return adapter

    def _adapter_type(self, name: str, config: BrokerConfiguration) -> str:
        """The registration to create: ``name``, as in the seed; or, when ``name`` is not a registered adapter,
        the one the configuration names (``adapter: paper``), so ``create_adapter(broker_name, config)``
        works for a broker served by another adapter type."""
        declared = config.adapter
        if declared is None or declared == name:
            return name
        if name in self._registry:
            raise FactoryError(
                f"create_adapter({name!r}, ...) was given a configuration whose adapter is {declared!r}; "
                f"pass {declared!r} or drop 'adapter' from the configuration"
            )
        return declared

    @property
    def journal(self) -> OrderJournal | None:
        """The order journal shared by created adapters, once a store-backed adapter exists."""
        return self._journal

    async def _attach_journal(self, adapter: BrokerAdapter) -> None:
        from broker_integration.journal import OrderJournal

        assert self._store is not None
        await self._store.open()
        if self._journal is None:
            self._journal = OrderJournal(self._store, clock=self._clock)
        attach(adapter, journal=self._journal, store=self._store)
        if adapter.is_authenticated:
            self._journal.watch(adapter)  # resting orders filled later are recorded when they fill
            # an intent of the last run too young to call never placed is settled in the background
            settled = await self._journal.reconcile(adapter)
            if settled:
                _log.info("reconciled %d in-flight orders of %s", len(settled), adapter.name)

    async def create_from_config(self, config: BrokerConfiguration) -> BrokerAdapter:
        """Create the adapter a configuration names (``config.adapter``, else its ``broker_name``)."""
        return await self.create_adapter(config.adapter_type, config)

    @property
    def adapters(self) -> dict[str, BrokerAdapter]:
        """Created adapters by instance name."""
        return {key: created.adapter for key, created in self._created.items()}

    def get_adapter(self, instance_name: str) -> BrokerAdapter:
        try:
            return self._created[instance_name].adapter
        except KeyError:
            raise FactoryError(f"no created adapter is named {instance_name!r}") from None

    async def close_adapter(self, instance_name: str) -> None:
        created = self._created.pop(instance_name, None)
        if created is None:
            raise FactoryError(f"no created adapter is named {instance_name!r}")
        await _quietly_disconnect(created.adapter)

    async def close_all(self) -> None:
        """Stop monitoring and the journal's background settling, and disconnect every created adapter."""
        await self.stop_health_monitoring()
        if self._journal is not None:
            await self._journal.aclose()
        created, self._created = self._created, {}
        await asyncio.gather(*(_quietly_disconnect(c.adapter) for c in created.values()))

    # -------------------------------------------------------------- health

    def health_status(self, instance_name: str | None = None) -> dict[str, AdapterHealth]:
        """Health per created adapter (or just ``instance_name``)."""
        if instance_name is not None:
            if instance_name not in self._created:
                raise FactoryError(f"no created adapter is named {instance_name!r}")
            return {instance_name: self._created[instance_name].health}
        return {key: created.health for key, created in self._created.items()}

    async def check_health(self, *, timeout: float = 10.0, down_after: int = 3) -> dict[str, AdapterHealth]:
        """Check every created adapter once, concurrently; update status and emit a HealthEvent each."""
        items = list(self._created.items())
        await asyncio.gather(*(self._check_one(key, c, timeout, down_after) for key, c in items))
        return self.health_status()

    def start_health_monitoring(
        self, interval: float = 30.0, *, timeout: float | None = None, down_after: int = 3
    ) -> None:
        """Check all adapters every ``interval`` seconds in a background task; checks never overlap."""
        if interval <= 0:
            raise FactoryError("health monitoring interval must be positive")
        if self._monitor is not None and not self._monitor.done():
            return
        check_timeout = timeout if timeout is not None else min(interval, 10.0)

        async def loop() -> None:
            while True:
                await self.check_health(timeout=check_timeout, down_after=down_after)
                await asyncio.sleep(interval)

        self._monitor = asyncio.get_running_loop().create_task(loop(), name="broker-health-monitor")

    async def stop_health_monitoring(self) -> None:
        monitor, self._monitor = self._monitor, None
        await cancel_and_wait(monitor)

    @property
    def is_monitoring(self) -> bool:
        return self._monitor is not None and not self._monitor.done()

    async def _check_one(self, key: str, created: _Created, timeout: float, down_after: int) -> None:
        health = created.health
        previous = health.state
        state: HealthState
        latency: float | None = None
        message = ""
        try:
            async with asyncio.timeout(timeout):
                status = await created.adapter.health_check()
            state, latency, message = status.state, status.latency_ms, status.message
        except TimeoutError:
            state, message = HealthState.DOWN, f"health check timed out after {timeout:g} s"
        except BrokerError as exc:
            state, message = HealthState.DOWN, str(exc.error)
        health.checks += 1
        health.last_check = self._clock.now()
        health.last_latency_ms = latency
        if state is HealthState.HEALTHY:
            health.consecutive_failures = 0
            health.last_error = ""
        else:
            health.failures += 1
            health.consecutive_failures += 1
            health.last_error = message
            if state is HealthState.DOWN and health.consecutive_failures < down_after:
                state = HealthState.DEGRADED
        health.state = state
        if state is not previous:
            _log.warning("broker %s health %s -> %s %s", key, previous.value, state.value, message)
        self.event_bus.publish(
            HealthEvent(
                time=health.last_check,
                broker_name=key,
                adapter_id=created.adapter.adapter_id,
                state=state,
                previous_state=previous,
                consecutive_failures=health.consecutive_failures,
                latency_ms=latency,
                message=message,
            )
        )

    def __repr__(self) -> str:
        return f"BrokerFactory(registered={self.list_adapters()}, created={sorted(self._created)})"


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise FactoryError(
            f"adapter name {name!r} must start with a lowercase letter and use only a-z, 0-9, '_' or '-' "
            "(at most 40 characters)"
        )


async def _quietly_disconnect(adapter: BrokerAdapter) -> None:
    try:
        await adapter.disconnect()
    except Exception as exc:
        _log.warning("disconnecting %s failed: %s", adapter.name, exc)
