"""Rate limits held by the store, so that every process trading one broker account shares them.

A limit is one row of ``rate_limits`` holding a GCRA token bucket (the generic cell rate algorithm, ITU-T
I.371; the same as :class:`~broker_integration.pipeline.resilience.RateLimiter`): the theoretical arrival
time of the next call and the end of a broker's 429 pause. Taking a slot is one ``UPDATE … RETURNING``,
atomic in the database, so processes on any number of hosts together never exceed the rate; times come from
the database's clock on PostgreSQL (``statement_timestamp()``), so hosts need not agree on theirs. On SQLite
(processes of one host sharing a file) the caller's wall clock is used.

A call's slots (a request slot, and an order slot for an order action) are taken on one
:meth:`~broker_integration.store.Store.unflushed` connection: on PostgreSQL one transaction whose commit does
not wait for the disk. A server crash may forget the last few hundred milliseconds of bucket state, which a
rate limit can afford.

When the store cannot be reached, calls fall back to this process's own limiter (the pipeline's local one,
at the full rate): the shared limit cannot be held then, and the journal refuses orders anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Double, cast, func, literal, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from broker_integration.log import get_logger
from broker_integration.store import Store, StoreError, is_unavailable, rate_limits_table

__all__ = ["SharedLimits", "SharedRateLimiter", "limit_scope"]

_log = get_logger("broker_integration.pipeline.shared_limits")
_t = rate_limits_table


def limit_scope(broker_name: str, account_id: str | None, kind: str) -> str:
    """The row name of one limit: per broker, account and kind (``requests`` or ``orders``)."""
    return f"{broker_name}:{account_id or '-'}:{kind}"


class SharedRateLimiter:
    """``rate`` calls per second with bursts of up to ``burst`` (default: one second's worth), shared by every
    process that uses the same ``scope`` in the same store. ``clock`` (seconds) replaces the database's clock
    (tests drive it by hand)."""

    def __init__(
        self,
        store: Store,
        scope: str,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.store = store
        self.scope = scope
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.interval = 1.0 / rate
        self.tolerance = (self.burst - 1.0) * self.interval
        self.clock = clock

    def _now(self) -> Any:
        """The clock of the statement: the database's on PostgreSQL, the caller's on SQLite."""
        if self.clock is None and self.store.is_postgresql:
            return cast(func.extract("epoch", func.statement_timestamp()), Double())
        return literal((self.clock or time.time)(), Double())

    def _greatest(self, *values: Any) -> Any:
        return (func.greatest if self.store.is_postgresql else func.max)(*values)

    async def reserve(self) -> float:
        """Take the next slot now and return the seconds until it is due (the caller waits them)."""
        async with self.store.unflushed() as conn:
            return await self.take(conn)

    async def take(self, conn: AsyncConnection) -> float:
        """:meth:`reserve` inside the caller's transaction ``conn``."""
        now = self._now()
        start = self._greatest(_t.c.tat, now)
        allowed = self._greatest(start - self.tolerance, _t.c.cooldown_until)
        statement = (
            update(_t)
            .where(_t.c.scope == self.scope)
            .values(tat=self._greatest(start, allowed) + self.interval)
            .returning(_t.c.tat, _t.c.cooldown_until, now)
        )
        row = (await conn.execute(statement)).first()
        if row is None:  # the first call ever on this scope: make the row, then take the slot
            await self.store.insert_if_absent(conn, _t, {"scope": self.scope, "tat": 0.0, "cooldown_until": 0.0})
            row = (await conn.execute(statement)).one()
        tat, cooldown_until, at = (float(v) for v in row)
        allowed_at = max(tat - self.interval - self.tolerance, cooldown_until)
        return max(0.0, allowed_at - at)

    async def cool_down(self, seconds: float) -> None:
        """No slot is handed out for ``seconds`` from now, in any process (a broker's 429 Retry-After)."""
        until = self._now() + max(0.0, seconds)
        async with self.store.begin() as conn:
            await conn.execute(
                update(_t)
                .where(_t.c.scope == self.scope)
                .values(cooldown_until=self._greatest(_t.c.cooldown_until, until))
            )


@dataclass
class SharedLimits:
    """One broker account's shared limits: every request takes a ``requests`` slot, every order action an
    ``orders`` slot too."""

    requests: SharedRateLimiter
    orders: SharedRateLimiter
    #: Whether the last attempt failed because the store was unavailable (logged once per outage).
    degraded: bool = False

    @classmethod
    def for_account(
        cls,
        store: Store,
        broker_name: str,
        account_id: str | None,
        *,
        requests_per_second: float,
        orders_per_second: float,
    ) -> SharedLimits:
        return cls(
            requests=SharedRateLimiter(
                store, limit_scope(broker_name, account_id, "requests"), requests_per_second
            ),
            orders=SharedRateLimiter(
                store, limit_scope(broker_name, account_id, "orders"), orders_per_second
            ),
        )

    async def reserve(self, *, order_action: bool) -> float | None:
        """Seconds to wait for this call's slots (both at once: the later one), or ``None`` when the store
        cannot be reached (the caller relies on its local limiter)."""
        try:
            async with self.requests.store.unflushed() as conn:
                wait = await self.requests.take(conn)
                if order_action:
                    wait = max(wait, await self.orders.take(conn))
        except (SQLAlchemyError, StoreError, OSError) as exc:
            if not isinstance(exc, StoreError) and not is_unavailable(exc):
                raise
            if not self.degraded:
                _log.warning(
                    "shared rate limit %s: the store is unavailable (%s); this process limits itself alone "
                    "until it is back",
                    self.requests.scope,
                    type(exc).__name__,
                )
            self.degraded = True
            return None
        if self.degraded:
            _log.info("shared rate limit %s: the store is back", self.requests.scope)
        self.degraded = False
        return wait

    async def cool_down(self, seconds: float) -> None:
        try:
            await self.requests.cool_down(seconds)
        except (SQLAlchemyError, StoreError, OSError) as exc:
            _log.warning(
                "shared rate limit %s: could not share a 429 pause: %s",
                self.requests.scope,
                type(exc).__name__,
            )
