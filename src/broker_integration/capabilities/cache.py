"""Capability profiles kept in the store: the newest one per broker and test type, with a time-to-live.

Expiry is compared in Python after reading, so the queries stay portable (SQLite returns naive datetimes
for ``DateTime(timezone=True)`` columns; PostgreSQL returns aware ones; both are read as UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from broker_integration.capabilities.profile import CapabilityProfile, CapabilityTestType
from broker_integration.store import Store, capability_profiles_table

__all__ = ["CachedProfile", "ProfileCache"]

_T = capability_profiles_table


@dataclass(frozen=True, slots=True)
class CachedProfile:
    """A profile as the cache holds it, with its expiry."""

    profile: CapabilityProfile
    expires_at: datetime

    def is_fresh(self, now: datetime, max_age: timedelta | None = None) -> bool:
        """Not expired, and (when ``max_age`` is given) discovered at most ``max_age`` before ``now``."""
        if now >= self.expires_at:
            return False
        return max_age is None or now - self.profile.discovered_at <= max_age


class ProfileCache:
    """Reads and writes profiles in ``store`` (which must be open)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(self, profile: CapabilityProfile, ttl: timedelta) -> CachedProfile:
        """Keep ``profile`` as the newest of its broker and test type until ``ttl`` after its discovery."""
        expires_at = profile.discovered_at + ttl
        key = (_T.c.broker_name == profile.broker_name) & (_T.c.test_type == profile.test_type.value)
        async with self.store.begin() as conn:
            await conn.execute(delete(_T).where(key))
            await conn.execute(
                _T.insert().values(
                    broker_name=profile.broker_name,
                    test_type=profile.test_type.value,
                    adapter_class=profile.adapter_class,
                    discovered_at=profile.discovered_at,
                    expires_at=expires_at,
                    profile=profile.to_json(),
                )
            )
        return CachedProfile(profile, expires_at)

    async def load(
        self, broker_name: str, test_types: Iterable[CapabilityTestType] = tuple(CapabilityTestType)
    ) -> list[CachedProfile]:
        """The cached profiles of ``broker_name`` with one of ``test_types``, newest (then deepest) first,
        expired ones included."""
        wanted = [t.value for t in test_types]
        async with self.store.connect() as conn:
            rows = await conn.execute(
                select(_T.c.profile, _T.c.expires_at).where(
                    (_T.c.broker_name == broker_name) & _T.c.test_type.in_(wanted)
                )
            )
            cached = [CachedProfile(CapabilityProfile.from_json(text), expires) for text, expires in rows]
        return sorted(
            cached, key=lambda c: (c.profile.discovered_at, c.profile.test_type.depth), reverse=True
        )

    async def freshest(
        self,
        broker_name: str,
        at_least: CapabilityTestType,
        now: datetime,
        max_age: timedelta | None = None,
    ) -> CachedProfile | None:
        """The newest fresh profile at least as deep as ``at_least`` (a synthetic one answers a dynamic request)."""
        deep_enough = [t for t in CapabilityTestType if t.depth >= at_least.depth]
        for cached in await self.load(broker_name, deep_enough):
            if cached.is_fresh(now, max_age):
                return cached
        return None

    async def forget(self, broker_name: str) -> int:
        """Drop every cached profile of ``broker_name``; returns how many there were."""
        async with self.store.begin() as conn:
            result = await conn.execute(delete(_T).where(_T.c.broker_name == broker_name))
        return int(result.rowcount or 0)
