"""The capability discovery engine: what each broker can really do, verified rather than taken on trust.

Quick start::

    engine = CapabilityDiscoveryEngine()
    profile = await engine.discover_capabilities(adapter, CapabilityTestType.DYNAMIC)
    print(profile.capabilities)
    print(len(profile.supported_instruments))

Three depths (:class:`CapabilityTestType`): STATIC reads the adapter's declaration and configuration and
makes no broker call; DYNAMIC adds read-only probes, each timed; SYNTHETIC adds test orders that cannot
fill, each cancelled at once, always cleaned up, bounded in number, and refused on a live account unless
``allow_live=True``. Declared capabilities are checked because declarations are sometimes wrong (CCXT's
``has`` flags are, measurably: ``shared/reference/ccxt.md`` §1).

The engine also keeps profiles in the store with a time-to-live (:meth:`~CapabilityDiscoveryEngine.get_profile`),
re-discovers on a schedule, publishes a :class:`CapabilityChangedEvent` when something appears or
disappears, and installs pre-trade checks that refuse orders a broker cannot take
(:meth:`~CapabilityDiscoveryEngine.enforce`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Self

from broker_integration.capabilities.diff import CapabilityChangedEvent, ProfileDiff
from broker_integration.capabilities.options import DiscoveryOptions
from broker_integration.capabilities.probes import run_dynamic_probes
from broker_integration.capabilities.profile import (
    CapabilityProfile,
    CapabilityTestType,
)
from broker_integration.capabilities.schedule import DiscoveryScheduler
from broker_integration.capabilities.state import DiscoveryState
from broker_integration.capabilities.static import ORDER_CAPABILITIES, analyse_statically
from broker_integration.capabilities.synthetic import run_synthetic_tests
from broker_integration.errors import PermissionDeniedError, StandardErrorCode, make_error
from broker_integration.log import get_logger
from broker_integration.models import TimeInForce
from broker_integration.pipeline import BrokerAdapter, BrokerCapability, attach
from broker_integration.pipeline.stages.profile import PreTradeGuard, discovery_calls

if TYPE_CHECKING:
    from broker_integration.capabilities.cache import ProfileCache
    from broker_integration.store import Store

__all__ = ["CapabilityDiscoveryEngine"]

_log = get_logger("broker_integration.capabilities")

#: Findings only synthetic discovery can settle (market orders it cannot: a test would trade).
_ORDER_FINDINGS = (
    *sorted(ORDER_CAPABILITIES - {BrokerCapability.MARKET_ORDERS}),
    BrokerCapability.MODIFY_ORDERS,
    BrokerCapability.CANCEL_ORDERS,
    BrokerCapability.CLIENT_ORDER_ID_LOOKUP,
)


def _seconds(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class CapabilityDiscoveryEngine:
    """Discovers, caches, compares and enforces capability profiles.

    ``ttl``: how long a cached profile is served by :meth:`get_profile`. ``store``: where profiles are
    cached (default: the default :class:`~broker_integration.store.Store`, opened on first use and closed
    by :meth:`close`). ``allow_live``: let synthetic discovery place test orders on live accounts.
    Times come from each adapter's clock.
    """

    def __init__(
        self,
        *,
        options: DiscoveryOptions | None = None,
        store: Store | None = None,
        ttl: timedelta | float = timedelta(hours=1),
        allow_live: bool = False,
    ) -> None:
        self.options = options or DiscoveryOptions()
        self.ttl = _seconds(ttl)
        if self.ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self.allow_live = allow_live
        self._store = store
        self._owns_store = False  # true once this engine opened the store
        self._cache: ProfileCache | None = None
        self._latest: dict[tuple[str, CapabilityTestType], CapabilityProfile] = {}
        self._locks: weakref.WeakKeyDictionary[BrokerAdapter, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._guards: weakref.WeakKeyDictionary[BrokerAdapter, PreTradeGuard] = weakref.WeakKeyDictionary()
        self._scheduler = DiscoveryScheduler(self._scheduled_refresh)
        self._scheduled_type = CapabilityTestType.DYNAMIC
        self._scheduled_allow_live: bool | None = None

    # ------------------------------------------------------------------ discovery

    async def discover_capabilities(
        self,
        adapter: BrokerAdapter,
        test_type: CapabilityTestType | str = CapabilityTestType.DYNAMIC,
        *,
        allow_live: bool | None = None,
    ) -> CapabilityProfile:
        """Discover what ``adapter``'s broker can do, to the depth of ``test_type``.

        Never raises for what the broker cannot do (that is what the profile reports); raises
        :class:`~broker_integration.errors.PermissionDeniedError` before any call for a SYNTHETIC
        discovery on a live account without ``allow_live``.
        """
        kind = CapabilityTestType(test_type)
        self._check_live(adapter, kind, allow_live)
        async with self._lock(adapter):
            profile = await self._discover(adapter, kind)
        self._remember(adapter, profile)
        return profile

    async def _discover(self, adapter: BrokerAdapter, test_type: CapabilityTestType) -> CapabilityProfile:
        clock = adapter.clock
        state = DiscoveryState(adapter, test_type, self.options, clock.now(), clock.monotonic_ns())
        analyse_statically(state)
        if test_type.depth >= CapabilityTestType.DYNAMIC.depth:
            with discovery_calls():
                await run_dynamic_probes(state)
                if test_type is CapabilityTestType.SYNTHETIC:
                    await run_synthetic_tests(state)
            if test_type is CapabilityTestType.DYNAMIC:
                _note_needs_synthetic(state)
        profile = state.build()
        _log.info("%s discovery of %s: %s", test_type.value, adapter.name, repr(profile.capabilities))
        return profile

    def _check_live(
        self, adapter: BrokerAdapter, test_type: CapabilityTestType, allow_live: bool | None
    ) -> None:
        if test_type is not CapabilityTestType.SYNTHETIC:
            return
        allowed = self.allow_live if allow_live is None else allow_live
        credentials = adapter.credentials
        if credentials is not None and credentials.environment.is_live and not allowed:
            raise PermissionDeniedError(
                make_error(
                    StandardErrorCode.PERMISSION_DENIED,
                    f"synthetic capability discovery places test orders, and {adapter.name} is configured for a "
                    "live (real money) account",
                    broker_name=adapter.name,
                    suggested_action="Use a practice account, run a dynamic discovery, or pass allow_live=True "
                    "if test orders on the live account are acceptable.",
                    sent=False,
                )
            )

    def _lock(self, adapter: BrokerAdapter) -> asyncio.Lock:
        lock = self._locks.get(adapter)
        if lock is None:
            lock = self._locks[adapter] = asyncio.Lock()
        return lock

    # ------------------------------------------------------------------ memory, changes, enforcement

    def latest(
        self, broker: BrokerAdapter | str, test_type: CapabilityTestType | None = None
    ) -> CapabilityProfile | None:
        """The newest profile this engine has for ``broker`` (of ``test_type``, else the deepest)."""
        name = broker if isinstance(broker, str) else broker.name
        kinds = [test_type] if test_type is not None else sorted(CapabilityTestType, key=lambda t: -t.depth)
        for kind in kinds:
            profile = self._latest.get((name, kind))
            if profile is not None:
                return profile
        return None

    def _keep(self, profile: CapabilityProfile) -> None:
        """Hold a profile read from the cache as the newest of its kind, unless a newer one is held."""
        key = (profile.broker_name, profile.test_type)
        held = self._latest.get(key)
        if held is None or held.discovered_at < profile.discovered_at:
            self._latest[key] = profile

    def _remember(self, adapter: BrokerAdapter, profile: CapabilityProfile) -> ProfileDiff | None:
        """Keep ``profile`` as the newest of its kind; announce what appeared or disappeared; update guards."""
        key = (profile.broker_name, profile.test_type)
        previous = self._latest.get(key)
        if previous is not None and previous.discovered_at > profile.discovered_at:
            return None
        self._latest[key] = profile
        guard = self._guards.get(adapter)
        if guard is not None and profile.test_type.depth >= guard.profile.test_type.depth:
            guard.profile = profile
        if previous is None:
            return None
        diff = ProfileDiff.between(previous, profile)
        if diff.is_material:
            _log.warning("capabilities of %s changed:\n%s", adapter.name, diff)
            adapter.event_bus.publish(
                CapabilityChangedEvent(
                    time=profile.discovered_at,
                    broker_name=profile.broker_name,
                    adapter_id=adapter.adapter_id,
                    diff=diff,
                )
            )
        return diff

    def enforce(self, adapter: BrokerAdapter, profile: CapabilityProfile | None = None) -> PreTradeGuard:
        """Install pre-trade checks from ``profile`` (default: the newest this engine has for the adapter).

        Later discoveries of the same or greater depth update the checks in place.
        """
        chosen = profile or self.latest(adapter)
        if chosen is None:
            raise ValueError(f"no capability profile of {adapter.name} yet: discover it first")
        guard = attach(adapter, profile=chosen)
        assert guard is not None
        self._guards[adapter] = guard
        return guard

    # ------------------------------------------------------------------ cache

    async def _profile_cache(self) -> ProfileCache:
        if self._cache is None:
            from broker_integration.capabilities.cache import ProfileCache
            from broker_integration.store import Store

            store = self._store or Store()
            self._owns_store = await store.open_unless_open()
            self._store = store
            self._cache = ProfileCache(store)
        return self._cache

    async def get_profile(
        self,
        adapter: BrokerAdapter,
        *,
        max_age: timedelta | float | None = None,
        test_type: CapabilityTestType | str = CapabilityTestType.DYNAMIC,
        allow_live: bool | None = None,
    ) -> CapabilityProfile:
        """A cached profile at least as deep as ``test_type`` that has not expired (nor is older than
        ``max_age``), else a fresh discovery, which is then cached."""
        kind = CapabilityTestType(test_type)
        age = None if max_age is None else _seconds(max_age)
        cache = await self._profile_cache()
        async with self._lock(adapter):
            now = adapter.clock.now()
            cached = await cache.freshest(adapter.name, kind, now, age)
            if cached is not None:
                self._keep(cached.profile)
                return cached.profile
            self._check_live(adapter, kind, allow_live)
            profile = await self._discover_and_cache(cache, adapter, kind)
        self._remember(adapter, profile)
        return profile

    async def refresh(
        self,
        adapter: BrokerAdapter,
        test_type: CapabilityTestType | str = CapabilityTestType.DYNAMIC,
        *,
        allow_live: bool | None = None,
    ) -> CapabilityProfile:
        """Discover now, whatever the cache holds, and cache the result."""
        kind = CapabilityTestType(test_type)
        self._check_live(adapter, kind, allow_live)
        cache = await self._profile_cache()
        async with self._lock(adapter):
            profile = await self._discover_and_cache(cache, adapter, kind)
        self._remember(adapter, profile)
        return profile

    async def _discover_and_cache(
        self, cache: ProfileCache, adapter: BrokerAdapter, test_type: CapabilityTestType
    ) -> CapabilityProfile:
        """A fresh discovery, cached; the cached profile it replaces is recalled first so that a change
        since then is announced."""
        await self._recall(cache, adapter.name, test_type)
        profile = await self._discover(adapter, test_type)
        await cache.save(profile, self.ttl)
        return profile

    async def _recall(self, cache: ProfileCache, broker_name: str, test_type: CapabilityTestType) -> None:
        """Load the last cached profile of this kind (even expired) so a change since then is announced."""
        if (broker_name, test_type) in self._latest:
            return
        found = await cache.load(broker_name, [test_type])
        if found:
            self._latest[(broker_name, test_type)] = found[0].profile

    # ------------------------------------------------------------------ schedule

    def start_scheduled_discovery(
        self,
        adapters: Iterable[BrokerAdapter],
        interval: timedelta | float,
        *,
        test_type: CapabilityTestType | str = CapabilityTestType.DYNAMIC,
        allow_live: bool | None = None,
    ) -> None:
        """Refresh ``adapters`` every ``interval`` in a background task (rounds never overlap)."""
        self._scheduled_type = CapabilityTestType(test_type)
        self._scheduled_allow_live = allow_live
        self._scheduler.start(list(adapters), _seconds(interval).total_seconds())

    async def stop_scheduled_discovery(self) -> None:
        """Stop the background task; a test-order clean-up under way finishes first."""
        await self._scheduler.stop()

    @property
    def is_scheduled(self) -> bool:
        return self._scheduler.running

    @property
    def scheduled_rounds(self) -> int:
        """Completed rounds of scheduled discovery."""
        return self._scheduler.rounds

    async def _scheduled_refresh(self, adapter: BrokerAdapter) -> None:
        await self.refresh(adapter, self._scheduled_type, allow_live=self._scheduled_allow_live)

    # ------------------------------------------------------------------ life cycle

    async def close(self) -> None:
        """Stop scheduled discovery, and close the store if the engine opened it."""
        await self.stop_scheduled_discovery()
        if self._owns_store and self._store is not None:
            await self._store.close()
            self._owns_store, self._cache = False, None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"CapabilityDiscoveryEngine(ttl={self.ttl}, profiles={len(self._latest)}, scheduled={self.is_scheduled})"


def _note_needs_synthetic(state: DiscoveryState) -> None:
    note = "not tested: only synthetic discovery places test orders"
    for capability in _ORDER_FINDINGS:
        if state.open_to_test(state.capabilities, capability):
            state.annotate(state.capabilities, capability, note)
    for tif in TimeInForce:
        if state.open_to_test(state.time_in_force, tif):
            state.annotate(state.time_in_force, tif, note)
