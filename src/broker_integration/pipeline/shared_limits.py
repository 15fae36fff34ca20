"""Rate limits held by the store, so that every process trading one broker account shares them.

A limit is one row of ``rate_limits`` holding a GCRA token bucket (the generic cell rate algorithm, ITU-T
I.371; the same as :class:`~broker_integration.pipeline.resilience.RateLimiter`): the theoretical arrival
time of the next call and the end of a broker's 429 pause. Taking a slot is one ``UPDATE … RETURNING``,
atomic in the database, so processes on any number of hosts together never exceed the rate; times come from
the database's clock on PostgreSQL (``statement_timestamp()``), so hosts need not agree on theirs. On SQLite
(processes of one host sharing a file) the caller's wall clock is used.

A call's slots (a request slot, and an order slot for an order action) are taken by one ``UPDATE …
RETURNING`` of both rows, run as its own transaction (:meth:`~broker_integration.store.Store.run`, one round
trip, the rows locked only while it runs), ``unflushed``: on PostgreSQL its commit does not wait for the
disk. A server crash may forget the last few hundred milliseconds of bucket state, which a rate limit can
afford.

When the store cannot be reached, calls fall back to this process's own limiter (the pipeline's local one,
at the full rate): the shared limit cannot be held then, and the journal refuses orders anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Double, Update, bindparam, case, cast, func, literal, or_, update
from sqlalchemy.exc import SQLAlchemyError

from broker_integration.log import get_logger
from broker_integration.store import StatementError, Store, StoreError, is_unavailable, rate_limits_table

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
        #: The take statements this limiter leads, by the scopes they take (built once, run many times).
        self._statements: dict[tuple[str, ...], Update] = {}
        self._cool_down: Update | None = None

    @property
    def _server_clock(self) -> bool:
        return self.clock is None and self.store.is_postgresql

    def _now(self) -> Any:
        """The clock of the statement: the database's on PostgreSQL, the caller's on SQLite (bound per call
        by :meth:`_clock_params`)."""
        if self._server_clock:
            return cast(func.extract("epoch", func.statement_timestamp()), Double())
        return bindparam("now", type_=Double())

    def _clock_params(self) -> dict[str, Any]:
        return {} if self._server_clock else {"now": (self.clock or time.time)()}

    def _greatest(self, *values: Any) -> Any:
        return (func.greatest if self.store.is_postgresql else func.max)(*values)

    async def reserve(self) -> float:
        """Take the next slot now and return the seconds until it is due (the caller waits them)."""
        return await _take((self,))

    def _take_statement(self, limiters: tuple[SharedRateLimiter, ...]) -> Update:
        """One GCRA step on the rows of ``limiters`` (same store and clock as this one, which keeps the
        statement), returning each row's scope, new theoretical arrival time, cool-down end and the
        statement's time."""
        scopes = tuple(limiter.scope for limiter in limiters)
        statement = self._statements.get(scopes)
        if statement is None:
            scope = _t.c.scope

            def per_row(value: Callable[[SharedRateLimiter], float]) -> Any:
                if len(limiters) == 1:
                    return literal(value(limiters[0]), Double())
                return case({lim.scope: literal(value(lim), Double()) for lim in limiters}, value=scope)

            now = self._now()
            start = self._greatest(_t.c.tat, now)
            allowed = self._greatest(start - per_row(lambda lim: lim.tolerance), _t.c.cooldown_until)
            statement = self._statements[scopes] = (
                update(_t)
                .where(or_(*(scope == s for s in scopes)))
                .values(tat=self._greatest(start, allowed) + per_row(lambda lim: lim.interval))
                .returning(scope, _t.c.tat, _t.c.cooldown_until, now)
            )
        return statement

    async def cool_down(self, seconds: float) -> None:
        """No slot is handed out for ``seconds`` from now, in any process (a broker's 429 Retry-After)."""
        if self._cool_down is None:
            until = self._now() + bindparam("pause", type_=Double())
            self._cool_down = (
                update(_t)
                .where(_t.c.scope == self.scope)
                .values(cooldown_until=self._greatest(_t.c.cooldown_until, until))
            )
        await self.store.run(self._cool_down, {**self._clock_params(), "pause": max(0.0, seconds)})


async def _take(limiters: tuple[SharedRateLimiter, ...]) -> float:
    """Take a slot of each of ``limiters`` (one store, one clock) in one statement; the seconds until the
    last of them is due."""
    lead = limiters[0]
    store = lead.store
    result = await store.run(lead._take_statement(limiters), lead._clock_params(), unflushed=True)
    rows = result.rows
    if len(rows) < len(limiters):  # the first call ever on a scope: make its row, then take its slot
        taken = {row[0] for row in rows}
        missing = tuple(limiter for limiter in limiters if limiter.scope not in taken)
        for limiter in missing:
            row = {"scope": limiter.scope, "tat": 0.0, "cooldown_until": 0.0}
            await store.run(store.if_absent(_t), row, unflushed=True)
        again = await store.run(lead._take_statement(missing), lead._clock_params(), unflushed=True)
        rows = [*rows, *again.rows]
    by_scope = {limiter.scope: limiter for limiter in limiters}
    wait = 0.0
    for scope, tat, cooldown_until, at in rows:
        limiter = by_scope[scope]
        allowed_at = max(float(tat) - limiter.interval - limiter.tolerance, float(cooldown_until))
        wait = max(wait, allowed_at - float(at))
    return wait


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
            wait = await _take((self.requests, self.orders) if order_action else (self.requests,))
        except (SQLAlchemyError, StoreError, OSError) as exc:
            refused = isinstance(exc, StatementError) or not isinstance(exc, StoreError)
            if refused and not is_unavailable(exc):
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
