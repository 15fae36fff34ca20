"""One order journal across processes on PostgreSQL: who is alive, and who reconciles each broker.

Every journal instance writes its *key* into the intents it journals (``owner_key``) and holds a session
advisory lock on that key on a dedicated connection (:mod:`broker_integration.store.coordination`): while
the process lives, its lock stands; when it dies — or its connection to the database breaks — the lock is
gone. So an in-flight intent whose owner holds no lock is an orphan, and its outcome is someone else's to
settle.

Each broker's reconciliation has one leader at a time: the instance holding the broker's leadership lock on
its dedicated connection. Every instance following a broker (:meth:`OrderJournal.watch`) is a candidate;
every ``interval`` seconds each one checks its connection (re-connecting and re-taking its liveness lock
after a database restart), tries to take the leadership of its brokers, and, where it leads, reconciles the
orphans (:meth:`OrderJournal.reconcile` asks :meth:`JournalCluster.lead` and
:meth:`JournalCluster.orphaned`). An owner is taken for dead only once its lock has been missing for an
``interval``, so a process that is just re-connecting after a restart of the database keeps its orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import TYPE_CHECKING

from broker_integration.log import get_logger
from broker_integration.store import Store, is_unavailable
from broker_integration.store.coordination import (
    LEADERSHIP,
    LIVENESS,
    DedicatedConnection,
    live_keys,
    lock_key,
)

if TYPE_CHECKING:
    from broker_integration.journal.journal import OrderJournal
    from broker_integration.pipeline import BrokerAdapter

__all__ = ["JournalCluster", "new_instance_key"]

_log = get_logger("broker_integration.journal.cluster")


def new_instance_key() -> int:
    """A random positive 31-bit key naming one journal instance."""
    return secrets.randbelow(0x7FFFFFFF - 1) + 1


class JournalCluster:
    """This journal instance among the others sharing ``store`` (PostgreSQL): its liveness lock, the
    leaderships it holds, and the loop that reconciles orphaned intents of the brokers it leads."""

    def __init__(self, journal: OrderJournal, store: Store, key: int, *, interval: float = 2.0) -> None:
        self.journal = journal
        self.store = store
        self.key = key
        self.interval = interval
        self._link = DedicatedConnection(store)
        self._candidates: dict[str, BrokerAdapter] = {}
        self._loop: asyncio.Task[None] | None = None
        self._alive = False
        #: When each owner key was first seen without its liveness lock (loop time).
        self._missing_since: dict[int, float] = {}

    @property
    def leading(self) -> frozenset[str]:
        """The brokers whose reconciliation this instance leads now."""
        return frozenset(name for name in self._candidates if (LEADERSHIP, lock_key(name)) in self._link.held)

    def join(self, adapter: BrokerAdapter) -> None:
        """Stand for the leadership of ``adapter``'s broker."""
        self._candidates.setdefault(adapter.name, adapter)
        self._start()

    def _start(self) -> None:
        """Run the loop (once): it keeps the liveness lock checked and reconciles where leading. It ends
        when the store closes, or with :meth:`close`."""
        if self._loop is None or self._loop.done():
            self.store.on_close(self.close)
            self._loop = asyncio.get_running_loop().create_task(
                self._run(), name=f"journal-cluster-{self.key}"
            )

    async def ensure_alive(self, *, fresh: bool = False) -> bool:
        """(Re-)take this instance's liveness lock if it is not held; true when held. The loop checks the
        connection every ``interval``; ``fresh`` checks it now. An intent is written only while this holds,
        so no other instance ever takes a live instance's intents for orphans."""
        self._start()
        if self._alive and (not fresh or await self._link.check()):
            return True
        if self._alive:
            _log.warning("journal %d: lost its database session; re-taking its locks", self.key)
            self._missing_since.clear()  # everyone is re-connecting too: look again from now
        self._alive = False
        try:
            self._alive = await self._link.try_lock(LIVENESS, self.key)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            _log.warning("journal %d: the store is unavailable: %s", self.key, type(exc).__name__)
        return self._alive

    async def lead(self, broker: str) -> bool:
        """Take (or keep) the leadership of ``broker``'s reconciliation if free; true when this instance
        leads it."""
        if not await self.ensure_alive():
            return False
        held = (LEADERSHIP, lock_key(broker)) in self._link.held
        try:
            leads = await self._link.try_lock(LEADERSHIP, lock_key(broker))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return False
        if leads and not held:
            _log.info("journal %d leads the reconciliation of %s", self.key, broker)
        return leads

    async def orphaned(self, owners: set[int | None]) -> set[int | None]:
        """Those of ``owners`` (keys found on in-flight intents) whose instance is dead: its liveness lock
        has been missing for at least one ``interval`` (``None``, an intent of a release that kept no owner,
        always is). This instance is never dead to itself."""
        async with self.store.connect() as conn:
            live = await live_keys(conn, LIVENESS)
        now = asyncio.get_running_loop().time()
        missing = {key for key in owners if key is not None and key not in live and key != self.key}
        self._missing_since = {key: self._missing_since.get(key, now) for key in missing}
        dead: set[int | None] = {
            key for key, since in self._missing_since.items() if now - since >= self.interval
        }
        if None in owners:
            dead.add(None)
        return dead

    async def tick(self) -> None:
        """One round: stay alive, take what leaderships are free, reconcile orphans where leading."""
        if not await self.ensure_alive(fresh=True):
            return
        for name, adapter in list(self._candidates.items()):
            if not adapter.is_authenticated:
                continue
            settled = await self.journal.reconcile(adapter, orphans_only=True)
            if settled:
                _log.info("journal %d reconciled %d orphaned intents of %s", self.key, len(settled), name)

    async def _run(self) -> None:
        while self.store.is_open:
            try:
                await self.tick()
            except Exception as exc:
                if is_unavailable(exc):
                    _log.warning("journal %d: the store is unavailable; retrying", self.key)
                else:
                    _log.exception("journal %d: a reconciliation round failed", self.key)
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        """Stop the loop and close the dedicated connection, releasing the locks."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self._alive = False
        await self._link.close()
