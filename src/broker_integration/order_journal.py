"""Idempotent order placement: the intent is written down before the order is sent, and an order whose
outcome is unknown is resolved by looking it up by its client order id, never by sending it again.

The journal is one table in the store keyed by (broker, client order id). The journal stage sits in the
call pipeline just outside the timeout, so it sees a timed-out order as an unknown outcome:

* a client order id already in the journal is never sent a second time; its current state is looked up;
* a definitive answer (filled, resting, refused) is recorded;
* an ambiguous one (timeout, connection lost after sending, 5xx, "executed but the answer was lost") is
  recorded as UNKNOWN and resolved by lookups with backoff; only when every lookup says the broker has
  never heard of the order is it recorded as not placed;
* an outcome still unknown when its call returns (the broker cannot be asked just then: it is down, or
  the breaker is open) is settled in the background: the order is looked up again with a longer backoff
  while the adapter stays connected, and an :class:`~broker_integration.events.OrderSettledEvent` says
  what became of it;
* :meth:`OrderJournal.reconcile` settles entries left in flight by a previous run (call it on start-up).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from broker_integration.broker_adapter import CallContext, InterceptorPriority, Operation, Proceed
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.events import OrderSettledEvent
from broker_integration.log import get_logger
from broker_integration.models import Order, OrderResult, OrderSide, OrderStatus, UnifiedOrder
from broker_integration.resilience import Sleep
from broker_integration.store import Store, order_journal_table
from broker_integration.unified_errors import (
    BrokerError,
    OrderNotFoundError,
    StandardErrorCode,
    StandardizedError,
    classify_exception,
    is_ambiguous,
    make_error,
)

if TYPE_CHECKING:
    from broker_integration.broker_adapter import BrokerAdapter

__all__ = ["JournalEntry", "OrderJournal", "install_journal"]

_log = get_logger("broker_integration.journal")

_IN_FLIGHT = (OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)
#: For each status, the stored statuses an intent may move to it from (itself included): the order state
#: machine, as a WHERE clause.
_SOURCES: dict[OrderStatus, list[str]] = {
    target: [s.value for s in OrderStatus if s is target or s.can_transition_to(target)]
    for target in OrderStatus
}
_WRITE_ATTEMPTS = 4


@dataclass(frozen=True)
class JournalEntry:
    """One order intent as the journal holds it."""

    broker_name: str
    client_order_id: str
    instrument: str
    side: OrderSide
    quantity: Decimal
    status: OrderStatus
    broker_order_id: str | None
    filled_quantity: Decimal | None
    average_fill_price: Decimal | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    intent: str

    def to_order(self) -> UnifiedOrder:
        return UnifiedOrder.model_validate_json(self.intent)


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        broker_name=row.broker_name,
        client_order_id=row.client_order_id,
        instrument=row.instrument,
        side=OrderSide(row.side),
        quantity=Decimal(row.quantity),
        status=OrderStatus(row.status),
        broker_order_id=row.broker_order_id,
        filled_quantity=Decimal(row.filled_quantity) if row.filled_quantity else None,
        average_fill_price=Decimal(row.average_fill_price) if row.average_fill_price else None,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        intent=row.intent,
    )


class OrderJournal:
    """Order intents in the store, and the pipeline stage that keeps them honest.

    ``lookup_delays`` are the waits before each lookup of an unknown outcome while its call is still
    running (seconds). ``settle_delays`` are the waits before each background lookup once the call has
    returned UNKNOWN (empty: no background settling). An order the broker has never heard of is recorded
    as not placed by a background lookup only once its intent is ``never_placed_after`` seconds old, well
    past any request still on its way. Call :meth:`aclose` to stop background settling.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM_CLOCK,
        lookup_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4, 0.8),
        settle_delays: Sequence[float] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
        never_placed_after: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not lookup_delays:
            raise ValueError("lookup_delays needs at least one delay")
        if any(d < 0 for d in (*lookup_delays, *settle_delays)) or never_placed_after < 0:
            raise ValueError("delays and never_placed_after must not be negative")
        self.store = store
        self.clock = clock
        self.lookup_delays = tuple(lookup_delays)
        self.settle_delays = tuple(settle_delays)
        self.never_placed_after = never_placed_after
        self.sleep = sleep
        #: (broker, client order id) of intents with place_order calls running in this process, and how many.
        self._placing: Counter[tuple[str, str]] = Counter()
        self._settlers: dict[tuple[str, str], asyncio.Task[None]] = {}

    @property
    def settling(self) -> frozenset[tuple[str, str]]:
        """(broker, client order id) of the unknown outcomes being settled in the background."""
        return frozenset(self._settlers)

    async def wait_settled(self) -> None:
        """Wait until the background settling under way has ended: settled, given up or stopped.

        Bound it for a graceful shutdown: ``async with asyncio.timeout(10): await journal.wait_settled()``.
        """
        while self._settlers:
            await asyncio.gather(*self._settlers.values(), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop background settling; what is still unknown stays in flight for :meth:`reconcile`."""
        settlers = list(self._settlers.values())
        for task in settlers:
            task.cancel()
        await asyncio.gather(*settlers, return_exceptions=True)

    # ------------------------------------------------------------------ table access

    async def get(self, broker_name: str, client_order_id: str) -> JournalEntry | None:
        table = order_journal_table
        async with self.store.connect() as conn:
            row = (
                await conn.execute(
                    select(table).where(
                        table.c.broker_name == broker_name, table.c.client_order_id == client_order_id
                    )
                )
            ).first()
        return None if row is None else _entry(row)

    async def entries(
        self, broker_name: str | None = None, statuses: Sequence[OrderStatus] | None = None
    ) -> list[JournalEntry]:
        table = order_journal_table
        query = select(table).order_by(table.c.created_at)
        if broker_name is not None:
            query = query.where(table.c.broker_name == broker_name)
        if statuses is not None:
            query = query.where(table.c.status.in_([s.value for s in statuses]))
        async with self.store.connect() as conn:
            return [_entry(row) for row in await conn.execute(query)]

    async def in_flight(self, broker_name: str | None = None) -> list[JournalEntry]:
        """Intents whose outcome is not known yet."""
        return await self.entries(broker_name, _IN_FLIGHT)

    async def record_intent(self, broker_name: str, order: UnifiedOrder) -> None:
        """Write the intent as SUBMITTED; called just before the order is sent."""
        now = self.clock.now()
        async with self.store.begin() as conn:
            await conn.execute(
                order_journal_table.insert().values(
                    broker_name=broker_name,
                    client_order_id=order.order_id,
                    instrument=order.instrument,
                    side=order.side.value,
                    quantity=str(order.quantity),
                    intent=order.model_dump_json(),
                    status=OrderStatus.SUBMITTED.value,
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def record_outcome(
        self,
        broker_name: str,
        client_order_id: str,
        status: OrderStatus,
        *,
        broker_order_id: str | None = None,
        filled_quantity: Decimal | None = None,
        average_fill_price: Decimal | None = None,
        error: StandardizedError | None = None,
        only_from: Collection[OrderStatus] | None = None,
    ) -> bool:
        """Move an intent to ``status`` in one conditional UPDATE; true when it moved.

        A move the order state machine forbids is refused and logged. ``only_from`` narrows the statuses
        it may move from; an entry in another one is left alone quietly (someone else recorded it first).
        """
        values: dict[str, Any] = {"status": status.value, "updated_at": self.clock.now()}
        if broker_order_id is not None:
            values["broker_order_id"] = broker_order_id
        if filled_quantity is not None:
            values["filled_quantity"] = str(filled_quantity)
        if average_fill_price is not None:
            values["average_fill_price"] = str(average_fill_price)
        if error is not None:
            values["last_error"] = str(error)
        sources = _SOURCES[status]
        if only_from is not None:
            sources = [s for s in sources if OrderStatus(s) in only_from]
        table = order_journal_table
        async with self.store.begin() as conn:
            moved = await conn.execute(
                update(table)
                .where(
                    table.c.broker_name == broker_name,
                    table.c.client_order_id == client_order_id,
                    table.c.status.in_(sources),
                )
                .values(**values)
            )
        if moved.rowcount:
            return True
        if only_from is None:
            current = await self.get(broker_name, client_order_id)
            if current is None:
                raise KeyError(f"no journal entry for {broker_name}/{client_order_id}")
            _log.warning(
                "journal %s/%s: ignoring %s -> %s",
                broker_name,
                client_order_id,
                current.status.value,
                status.value,
            )
        return False

    async def _record_safely(
        self, broker_name: str, client_order_id: str, status: OrderStatus, **details: Any
    ) -> None:
        """Record an outcome met on the order path. A failing write is retried; if it keeps failing the
        broker's answer still stands (its word beats our bookkeeping) and the entry is left to
        :meth:`reconcile`."""
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                await self.record_outcome(broker_name, client_order_id, status, **details)
                return
            except SQLAlchemyError as exc:
                if attempt == _WRITE_ATTEMPTS - 1:
                    _log.error(
                        "journal %s/%s: could not record %s (%s); it will be reconciled",
                        broker_name,
                        client_order_id,
                        status.value,
                        exc,
                    )
                    return
                await self.sleep(0.01 * 2**attempt)

    async def _record_result(self, broker_name: str, order: UnifiedOrder, result: OrderResult) -> None:
        await self._record_safely(broker_name, order.order_id, result.status, **_outcome_of(result))

    # ------------------------------------------------------------------ the pipeline stage

    async def stage(self, ctx: CallContext, proceed: Proceed) -> Any:
        """Journal ``place_order`` calls; every other call passes straight through."""
        if ctx.operation is not Operation.PLACE_ORDER or ctx.order is None:
            return await proceed()
        adapter, order = ctx.adapter, ctx.order
        key = (adapter.name, order.order_id)
        self._placing[key] += 1
        try:
            return await self._journaled(ctx, adapter, order, proceed)
        finally:
            self._placing[key] -= 1
            if not self._placing[key]:
                del self._placing[key]

    async def _journaled(
        self, ctx: CallContext, adapter: BrokerAdapter, order: UnifiedOrder, proceed: Proceed
    ) -> Any:
        broker = adapter.name
        existing: JournalEntry | None = None
        try:
            await self.record_intent(broker, order)  # the intent is written before anything is sent
        except IntegrityError:  # this client order id was journaled before (or races in from another task)
            existing = await self.get(broker, order.order_id)
            if existing is None:  # no intent on record: never send without one
                raise
        if existing is not None:
            ctx.detail["journal"] = "duplicate_intent"
            if existing.status is OrderStatus.REJECTED:
                refusal = make_error(
                    StandardErrorCode.DUPLICATE_ORDER,
                    f"order intent {order.order_id} was already refused ({existing.last_error}); "
                    "create a new order to try again",
                    broker_name=broker,
                    context={"sent": False},
                )
                return _unknown_or_rejected(adapter, order, refusal, OrderStatus.REJECTED)
            _log.info("%s: client order id %s was sent before; looking it up instead", broker, order.order_id)
            return await self._resolve(adapter, order, None, not_sent_allowed=False)
        try:
            result = await proceed()
        except BrokerError as exc:
            if is_ambiguous(exc.error):
                return await self._resolve(adapter, order, exc.error, not_sent_allowed=True)
            await self._record_safely(broker, order.order_id, OrderStatus.REJECTED, error=exc.error)
            raise
        except Exception as exc:
            error = classify_exception(exc, broker_name=broker, operation=ctx.operation.value)
            return await self._resolve(adapter, order, error, not_sent_allowed=True)
        failed = isinstance(result, OrderResult) and not result.success and result.error is not None
        if failed and is_ambiguous(result.error):
            return await self._resolve(adapter, order, result.error, not_sent_allowed=True)
        if isinstance(result, OrderResult):
            await self._record_result(broker, order, result)
        return result

    async def _resolve(
        self,
        adapter: BrokerAdapter,
        order: UnifiedOrder,
        error: StandardizedError | None,
        *,
        not_sent_allowed: bool,
    ) -> OrderResult:
        """Find out what became of ``order`` by looking it up; never send it again."""
        broker = adapter.name
        if error is not None:
            await self._record_safely(broker, order.order_id, OrderStatus.UNKNOWN, error=error)
        not_found = 0
        last_error = error
        for delay in self.lookup_delays:
            await self.sleep(delay)
            try:
                found = await adapter.get_order(order.order_id)
            except OrderNotFoundError:
                not_found += 1
                continue
            except BrokerError as exc:
                last_error = exc.error
                continue
            result = _result_from_order(adapter, order, found)
            await self._record_result(broker, order, result)
            return result
        if not_sent_allowed and not_found == len(self.lookup_delays):
            cause = error or last_error
            refusal = make_error(
                cause.error_code if cause is not None else StandardErrorCode.UNKNOWN,
                f"order {order.order_id} never reached {broker}: {not_found} lookups found nothing",
                broker_name=broker,
                retryable=False,
                context={"sent": False, "resolved_by_lookup": True},
            )
            await self._record_safely(broker, order.order_id, OrderStatus.REJECTED, error=refusal)
            return _unknown_or_rejected(adapter, order, refusal, OrderStatus.REJECTED)
        what_next = (
            "it is looked up again in the background (an OrderSettledEvent follows)"
            if self.settle_delays
            else "reconcile() settles it"
        )
        unresolved = make_error(
            StandardErrorCode.OUTCOME_UNKNOWN,
            f"outcome of order {order.order_id} at {broker} is still unknown after "
            f"{len(self.lookup_delays)} lookups; {what_next}; do not resend it",
            broker_name=broker,
            context={"last_error": str(last_error) if last_error else ""},
        )
        if error is None:
            await self._record_safely(broker, order.order_id, OrderStatus.UNKNOWN, error=unresolved)
        self._settle_later(adapter, order.order_id)
        return _unknown_or_rejected(adapter, order, unresolved, OrderStatus.UNKNOWN)

    async def reconcile(self, adapter: BrokerAdapter, *, min_age_seconds: float = 0.0) -> list[JournalEntry]:
        """Settle this broker's in-flight intents (e.g. after a restart) by looking each one up.

        An intent the broker has never heard of, older than ``min_age_seconds``, is recorded as not
        placed. One that cannot be settled now (too young to call never placed, or the broker cannot
        answer) is settled in the background like an unknown outcome. Intents whose ``place_order`` call
        is still running in this process are left to it. Returns the entries looked at, as they are after
        reconciliation.
        """
        settled: list[JournalEntry] = []
        for entry in await self.in_flight(adapter.name):
            if (adapter.name, entry.client_order_id) in self._placing:
                continue
            try:
                known = await self._settle_once(adapter, entry, never_placed_after=min_age_seconds)
            except BrokerError as exc:
                _log.warning("reconcile %s/%s failed: %s", adapter.name, entry.client_order_id, exc)
                known = False
            if not known:
                self._settle_later(adapter, entry.client_order_id)
            updated = await self.get(adapter.name, entry.client_order_id)
            if updated is not None:
                settled.append(updated)
        return settled

    async def _settle_once(
        self, adapter: BrokerAdapter, entry: JournalEntry, *, never_placed_after: float
    ) -> bool:
        """Look ``entry`` up once and record what the broker says; true when its outcome is now known.

        Raises the lookup's ``BrokerError`` when the broker cannot tell. The entry moves only out of an
        in-flight status, and whoever moves it publishes the :class:`OrderSettledEvent`.
        """
        broker = adapter.name
        intent = entry.to_order()
        try:
            found = await adapter.get_order(entry.client_order_id)
        except OrderNotFoundError:
            if (self.clock.now() - entry.created_at).total_seconds() < never_placed_after:
                return False  # a request still on its way could yet arrive
            refusal = make_error(
                StandardErrorCode.UNKNOWN,
                f"order {entry.client_order_id} was not found at {broker} when settled: never placed",
                broker_name=broker,
                retryable=False,
                context={"sent": False, "resolved_by_lookup": True},
            )
            result = _unknown_or_rejected(adapter, intent, refusal, OrderStatus.REJECTED)
        else:
            result = _result_from_order(adapter, intent, found)
            if result.status in _IN_FLIGHT:
                return False
        moved = await self.record_outcome(
            broker, entry.client_order_id, result.status, **_outcome_of(result), only_from=_IN_FLIGHT
        )
        if moved:
            _log.info("%s/%s settled: %s", broker, entry.client_order_id, result.status.value)
            adapter.event_bus.publish(
                OrderSettledEvent(
                    time=self.clock.now(),
                    broker_name=broker,
                    adapter_id=adapter.adapter_id,
                    client_order_id=entry.client_order_id,
                    previous_status=entry.status,
                    result=result,
                    order=intent,
                )
            )
        return True

    # ------------------------------------------------------------------ background settling

    def _settle_later(self, adapter: BrokerAdapter, client_order_id: str) -> None:
        key = (adapter.name, client_order_id)
        if not self.settle_delays or key in self._settlers:
            return
        task = asyncio.get_running_loop().create_task(
            self._settle(adapter, client_order_id, connected=adapter.is_authenticated),
            name=f"settle {adapter.name}/{client_order_id}",
            context=contextvars.Context(),  # detached from the call that gave up: none of its state
        )
        self._settlers[key] = task
        task.add_done_callback(functools.partial(self._settler_done, key))

    def _settler_done(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._settlers.get(key) is task:
            del self._settlers[key]
        if not task.cancelled() and (failure := task.exception()) is not None:
            _log.error("settling %s/%s stopped on %r; reconcile() settles it", *key, failure)

    async def _settle(self, adapter: BrokerAdapter, client_order_id: str, *, connected: bool) -> None:
        """Look an unknown outcome up with backoff until it is known, the adapter is disconnected or the
        delays run out (the entry then stays in flight for :meth:`reconcile`)."""
        broker = adapter.name
        for delay in self.settle_delays:
            await self.sleep(delay)
            if connected and not adapter.is_authenticated:
                _log.info("%s disconnected: order %s is left to reconcile()", broker, client_order_id)
                return
            try:
                entry = await self.get(broker, client_order_id)
                if entry is None or entry.status not in _IN_FLIGHT:
                    return  # settled meanwhile (reconcile, or another process)
                if await self._settle_once(adapter, entry, never_placed_after=self.never_placed_after):
                    return
            except BrokerError as exc:
                _log.debug("settling %s/%s: lookup failed: %s", broker, client_order_id, exc.error)
            except SQLAlchemyError as exc:
                _log.warning("settling %s/%s: the journal failed: %s", broker, client_order_id, exc)
        _log.warning(
            "outcome of order %s at %s still unknown after %d background lookups; "
            "reconcile() settles it once the broker answers",
            client_order_id,
            broker,
            len(self.settle_delays),
        )


def _outcome_of(result: OrderResult) -> dict[str, Any]:
    """What the journal keeps of a result, as keyword arguments of :meth:`OrderJournal.record_outcome`."""
    return {
        "broker_order_id": result.broker_order_id,
        "filled_quantity": result.filled_quantity,
        "average_fill_price": result.average_fill_price,
        "error": result.error,
    }


def _result_from_order(adapter: BrokerAdapter, order: UnifiedOrder, found: Order) -> OrderResult:
    status = found.status
    success = status not in (OrderStatus.REJECTED, OrderStatus.UNKNOWN)
    error = None if success else make_error(StandardErrorCode.UNKNOWN, "broker reports the order as rejected")
    return OrderResult(
        success=success,
        client_order_id=order.order_id,
        broker_order_id=found.broker_order_id,
        broker_name=adapter.name,
        status=status,
        instrument=order.instrument,
        side=order.side,
        requested_quantity=order.quantity,
        filled_quantity=found.filled_quantity,
        average_fill_price=found.average_fill_price,
        completed_at=adapter.clock.now(),
        error=error,
        message="resolved by lookup",
        metadata={"resolved_by_lookup": True, "sent": True},
    )


def _unknown_or_rejected(
    adapter: BrokerAdapter, order: UnifiedOrder, error: StandardizedError, status: OrderStatus
) -> OrderResult:
    return OrderResult(
        success=False,
        client_order_id=order.order_id,
        broker_name=adapter.name,
        status=status,
        instrument=order.instrument,
        side=order.side,
        requested_quantity=order.quantity,
        completed_at=adapter.clock.now(),
        error=error,
        message=error.message,
        metadata={"resolved_by_lookup": True, "sent": status is not OrderStatus.REJECTED},
    )


def install_journal(adapter: BrokerAdapter, journal: OrderJournal) -> None:
    """Put ``journal``'s stage into ``adapter``'s pipeline (replacing any earlier journal)."""
    adapter.remove_interceptor("journal")
    adapter.add_interceptor(
        journal.stage,
        priority=InterceptorPriority.JOURNAL,
        name="journal",
        operations=(Operation.PLACE_ORDER,),
    )
