"""Idempotent order placement: the intent is written down before the order is sent, and an order whose
outcome is unknown is resolved by looking it up by its client order id, never by sending it again.

The journal is one table in the store keyed by (broker, client order id). The journal stage sits in the
call pipeline just outside the timeout, so it sees a timed-out order as an unknown outcome:

* a client order id already in the journal is never sent a second time; its current state is looked up;
* a definitive answer (filled, resting, refused) is recorded;
* an ambiguous one (timeout, connection lost after sending, 5xx, "executed but the answer was lost") is
  recorded as UNKNOWN and settled on evidence from the broker's own record
  (:meth:`~broker_integration.pipeline.BrokerAdapter.trace_order`): found, refused, or — only when
  the broker's history since the marker taken before sending holds no trace of it and the adapter's
  ``absence_grace_seconds`` have passed — not placed. A lookup that merely missed the order settles nothing;
* a failure before the request left the process (an adapter with ``reports_sending`` says when) is
  recorded as not placed at once: nothing was sent;
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
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Update, bindparam, func, literal_column, select, update
from sqlalchemy.exc import SQLAlchemyError

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors import (
    BrokerError,
    StandardErrorCode,
    StandardizedError,
    classify_exception,
    is_ambiguous,
    make_error,
)
from broker_integration.events import EventBus, OrderSettledEvent, OrderUpdateEvent, Subscription
from broker_integration.feeds import OrderUpdateFeed
from broker_integration.journal.cluster import JournalCluster, new_instance_key
from broker_integration.log import get_logger
from broker_integration.models import (
    Delivery,
    OrderResult,
    OrderSide,
    OrderStatus,
    OrderTrace,
    OrderTraceStatus,
    OrderUpdate,
    OrderUpdateKind,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import results
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.resilience import Sleep
from broker_integration.store import (
    Store,
    StoreError,
    StoreUnavailableError,
    is_unavailable,
    order_journal_table,
)

if TYPE_CHECKING:
    from broker_integration.pipeline import BrokerAdapter

__all__ = ["JournalEntry", "OrderJournal"]

_log = get_logger("broker_integration.journal")

_IN_FLIGHT = (OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)
#: For each status, the stored statuses an intent may move to it from (itself included): the order state
#: machine, as a WHERE clause.
_SOURCES: dict[OrderStatus, list[str]] = {
    target: [s.value for s in OrderStatus if s is target or s.can_transition_to(target)]
    for target in OrderStatus
}
_WRITE_ATTEMPTS = 4
#: Waits (seconds) between attempts to write an intent while the store cannot be reached (a database
#: restarting): about six seconds in all, then the order is refused unsent.
_INTENT_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
#: What the store raises when it fails: a statement refused, or the database not reachable (a connection
#: refused is an ``OSError`` from the driver, not wrapped by SQLAlchemy).
_STORE_ERRORS = (SQLAlchemyError, StoreError, OSError)
#: Orders whose ACCEPTED is only the step before their fill or cancel, never a resting state.
_NEVER_RESTS = frozenset({TimeInForce.FOK, TimeInForce.IOC})


@dataclass(frozen=True)
class JournalEntry:
    """One order intent as the journal holds it."""

    broker_name: str
    client_order_id: str
    instrument: str
    side: OrderSide
    #: ``None`` for a notional order (its intent holds the notional; the fill says the quantity).
    quantity: Decimal | None
    status: OrderStatus
    broker_order_id: str | None
    filled_quantity: Decimal | None
    average_fill_price: Decimal | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    intent: str
    #: The broker's history marker taken just before sending: where the search for the order starts.
    history_marker: str | None = None
    #: The key of the journal instance that wrote the intent (``None`` for intents of release 0.1).
    owner_key: int | None = None

    def to_order(self) -> UnifiedOrder:
        return UnifiedOrder.model_validate_json(self.intent)


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        broker_name=row.broker_name,
        client_order_id=row.client_order_id,
        instrument=row.instrument,
        side=OrderSide(row.side),
        quantity=Decimal(row.quantity) if row.quantity else None,
        status=OrderStatus(row.status),
        broker_order_id=row.broker_order_id,
        filled_quantity=Decimal(row.filled_quantity) if row.filled_quantity else None,
        average_fill_price=Decimal(row.average_fill_price) if row.average_fill_price else None,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        intent=row.intent,
        history_marker=row.history_marker,
        owner_key=row.owner_key,
    )


class OrderJournal:
    """Order intents in the store, and the pipeline stage that keeps them honest.

    ``lookup_delays`` are the waits before each look at the broker's record of an unknown outcome while its
    call is still running (seconds). ``settle_delays`` are the waits before each background look once the
    call has returned UNKNOWN (empty: no background settling). An order whose trace at the broker is
    ABSENT is recorded as not placed only once its intent is older than the adapter's
    ``absence_grace_seconds`` and than ``never_placed_after`` (a floor for every adapter). Call
    :meth:`aclose` to stop background settling.

    On PostgreSQL several processes (or hosts) share one journal: an intent is placed once however many
    hold it (its client order id is the key, written if absent), and each journal instance marks the
    intents it writes with its :attr:`key`. Its liveness and the leadership of each broker's
    reconciliation are session advisory locks (:mod:`broker_integration.journal.cluster`): the leader
    settles the intents of instances that died, every ``cluster_interval`` seconds.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM_CLOCK,
        lookup_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4, 0.8),
        settle_delays: Sequence[float] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
        never_placed_after: float = 0.0,
        sleep: Sleep = asyncio.sleep,
        cluster_interval: float = 2.0,
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
        self.cluster_interval = cluster_interval
        #: This instance's key: written into the intents it journals, held as its liveness lock.
        self.key = new_instance_key()
        self._cluster: JournalCluster | None = None
        #: Intents whose write may have committed although its answer was lost, and which were never sent:
        #: (broker, client order id) -> the token of that write, so a later attempt knows the row is its own.
        self._unsent: dict[tuple[str, str], str] = {}
        #: (broker, client order id) of intents with place_order calls running in this process, and how many.
        self._placing: Counter[tuple[str, str]] = Counter()
        self._settlers: dict[tuple[str, str], asyncio.Task[None]] = {}
        #: Adapters whose order-update feed this journal follows: how to stop following each.
        self._watching: dict[str, tuple[Callable[[], Awaitable[None]], EventBus, Subscription]] = {}
        self._updates: asyncio.Queue[tuple[BrokerAdapter, OrderUpdate]] | None = None
        self._applier: asyncio.Task[None] | None = None

    @property
    def settling(self) -> frozenset[tuple[str, str]]:
        """(broker, client order id) of the unknown outcomes being settled in the background."""
        return frozenset(self._settlers)

    @property
    def cluster(self) -> JournalCluster | None:
        """This instance among the others sharing a PostgreSQL store (``None`` on SQLite: one process)."""
        if self._cluster is None and self.store.is_postgresql:
            self._cluster = JournalCluster(self, self.store, self.key, interval=self.cluster_interval)
        return self._cluster

    async def wait_settled(self) -> None:
        """Wait until the background settling under way has ended: settled, given up or stopped.

        Bound it for a graceful shutdown: ``async with asyncio.timeout(10): await journal.wait_settled()``.
        """
        while self._settlers:
            await asyncio.gather(*self._settlers.values(), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop background settling and following order updates; what is still unknown stays in flight
        for :meth:`reconcile`."""
        settlers = list(self._settlers.values())
        for task in settlers:
            task.cancel()
        await asyncio.gather(*settlers, return_exceptions=True)
        watching, self._watching = self._watching, {}
        for release, bus, subscription in watching.values():
            bus.unsubscribe(subscription)
            await release()
        if self._updates is not None:
            await self._updates.join()  # what arrived is recorded before the journal stops
        applier, self._applier = self._applier, None
        if applier is not None:
            applier.cancel()
            await asyncio.gather(applier, return_exceptions=True)
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            await cluster.close()

    # ------------------------------------------------------------------ order updates

    def watch(self, adapter: BrokerAdapter) -> bool:
        """Follow ``adapter``'s order updates (its shared feed) and record what they tell of journaled
        intents: a resting order that fills later, an unknown outcome the broker's own update settles.
        True when the adapter offers order updates; following twice is following once.

        On PostgreSQL this instance also stands for the leadership of the broker's reconciliation
        (:mod:`broker_integration.journal.cluster`), whether or not the adapter has order updates."""
        if self.cluster is not None:
            self.cluster.join(adapter)
        if not OrderUpdateFeed.available(adapter):
            return False
        if adapter.adapter_id in self._watching:
            return True
        release = OrderUpdateFeed.of(adapter).acquire()
        subscription = adapter.event_bus.subscribe(
            OrderUpdateEvent,
            lambda event: self._on_update(adapter, event.update),
            where=lambda event: event.adapter_id == adapter.adapter_id,
        )
        self._watching[adapter.adapter_id] = (release, adapter.event_bus, subscription)
        return True

    def _on_update(self, adapter: BrokerAdapter, update: OrderUpdate) -> None:
        if update.client_order_id is None or update.kind is OrderUpdateKind.REPLACED:
            return  # not ours to record; a replaced order's intent lives on in its replacement
        if self._updates is None:
            self._updates = asyncio.Queue()
        if self._applier is None or self._applier.done():
            self._applier = asyncio.get_running_loop().create_task(self._apply_in_order(self._updates))
        self._updates.put_nowait((adapter, update))

    async def _apply_in_order(self, updates: asyncio.Queue[tuple[BrokerAdapter, OrderUpdate]]) -> None:
        """Record updates one at a time, in the order the broker told them."""
        while True:
            adapter, update = await updates.get()
            try:
                await self._apply(adapter, update)
            finally:
                updates.task_done()

    async def _apply(self, adapter: BrokerAdapter, update: OrderUpdate) -> None:
        broker, client_order_id = adapter.name, update.client_order_id
        assert client_order_id is not None
        try:
            entry = await self.get(broker, client_order_id)
            if entry is None:
                return  # an order this journal did not place
            filled, average = entry.filled_quantity, entry.average_fill_price
            if update.kind.is_fill and update.fill_price is not None:
                before = filled or Decimal(0)
                filled = update.filled_quantity or before + update.fill_quantity
                paid = (average or Decimal(0)) * before + update.fill_price * update.fill_quantity
                average = paid / (before + update.fill_quantity)
            status = update.kind.status
            if status is OrderStatus.ACCEPTED and entry.to_order().time_in_force in _NEVER_RESTS:
                return  # a fill-or-kill / immediate-or-cancel order is filled or cancelled next, not resting
            moved = await self.record_outcome(
                broker,
                client_order_id,
                status,
                broker_order_id=update.broker_order_id,
                filled_quantity=filled,
                average_fill_price=average,
                only_from=frozenset(OrderStatus),
            )
        except _STORE_ERRORS as exc:
            _log.warning(
                "journal %s/%s: could not record an order update: %s",
                broker,
                client_order_id,
                type(exc).__name__,
            )
            return
        open_answer = entry.status is OrderStatus.UNKNOWN or (
            entry.status in _IN_FLIGHT and (broker, client_order_id) not in self._placing
        )
        if moved and open_answer:
            result = results.from_update(adapter, entry.to_order(), update, filled, average)
            self._announce(adapter, entry, result)

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

    async def record_intent(
        self, broker_name: str, order: UnifiedOrder, *, history_marker: str | None = None
    ) -> bool:
        """Write the intent as SUBMITTED, with the broker's history marker, if no intent with its client
        order id exists; called just before sending. True when this call wrote it (the order may be sent),
        false when the intent was journaled before, by this process or another.

        One ``INSERT … ON CONFLICT DO NOTHING``: of processes writing one intent at once, exactly one
        wins. A write whose answer was lost (the database restarting) is tried again; the intent's token
        tells whether the row found then is this write's own.
        """
        key = (broker_name, order.order_id)
        token = self._unsent.get(key) or secrets.token_hex(16)
        now = self.clock.now()
        values = {
            "broker_name": broker_name,
            "client_order_id": order.order_id,
            "instrument": order.instrument,
            "side": order.side.value,
            "quantity": "" if order.quantity is None else str(order.quantity),
            "intent": order.model_dump_json(),
            "status": OrderStatus.SUBMITTED.value,
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
            "history_marker": history_marker,
            "owner_key": self.key,
            "intent_token": token,
        }
        table = order_journal_table
        for wait in (*_INTENT_WAITS, None):
            try:
                if self.cluster is not None and not await self.cluster.ensure_alive():
                    raise StoreUnavailableError(
                        f"the journal's liveness lock cannot be taken at {self.store.url}"
                    )
                if (await self.store.run(self.store.if_absent(table), values)).rowcount:
                    return True
                async with self.store.connect() as conn:
                    found = (
                        await conn.execute(
                            select(table.c.intent_token).where(
                                table.c.broker_name == broker_name, table.c.client_order_id == order.order_id
                            )
                        )
                    ).scalar()
                # the row is this process's own write whose answer was lost: nothing was sent yet
                return found == token
            except _STORE_ERRORS as exc:
                if not isinstance(exc, StoreUnavailableError) and not is_unavailable(exc):
                    raise
                self._unsent[key] = token  # it may have committed: a later attempt must know it as its own
                if wait is None:
                    raise
                _log.warning(
                    "journal %s/%s: the store is unavailable (%s); trying again in %.2f s",
                    broker_name,
                    order.order_id,
                    type(exc).__name__,
                    wait,
                )
                await self.sleep(wait)
        raise AssertionError("unreachable")

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
        sources = _SOURCES[status]
        if only_from is not None:
            sources = [s for s in sources if OrderStatus(s) in only_from]
        params = {
            "to_broker": broker_name,
            "to_client_order_id": client_order_id,
            "to_status": status.value,
            "to_updated_at": self.clock.now(),
            "to_broker_order_id": broker_order_id,
            "to_filled_quantity": None if filled_quantity is None else str(filled_quantity),
            "to_average_fill_price": None if average_fill_price is None else str(average_fill_price),
            "to_last_error": None if error is None else str(error),
        }
        if sources and (await self.store.run(_outcome_statement(tuple(sources)), params)).rowcount:
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
        self, adapter: BrokerAdapter, client_order_id: str, status: OrderStatus, **details: Any
    ) -> None:
        """Record an outcome met on the order path. A failing write is retried; if it keeps failing (the
        store is down) the broker's answer still stands (its word beats our bookkeeping) and the entry is
        looked up again in the background, which records it once the store is back."""
        broker_name = adapter.name
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                await self.record_outcome(broker_name, client_order_id, status, **details)
                return
            except _STORE_ERRORS as exc:
                if attempt == _WRITE_ATTEMPTS - 1:
                    _log.error(
                        "journal %s/%s: could not record %s (%s); it is looked up again in the background",
                        broker_name,
                        client_order_id,
                        status.value,
                        type(exc).__name__,
                    )
                    self._settle_later(adapter, client_order_id)
                    return
                await self.sleep(0.01 * 2**attempt)

    async def _record_result(self, adapter: BrokerAdapter, order: UnifiedOrder, result: OrderResult) -> None:
        # Only over an outcome still open: the broker's order updates may already have moved it on.
        await self._record_safely(
            adapter, order.order_id, result.status, **_outcome_of(result), only_from=_IN_FLIGHT
        )

    # ------------------------------------------------------------------ the pipeline stage

    async def place(self, ctx: CallContext, proceed: Proceed) -> Any:
        """Journal one ``place_order`` call: its intent first, then what became of it (the pipeline's
        journal stage calls this)."""
        if ctx.order is None:
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
        marker = adapter.history_marker()
        try:
            # the intent is written before anything is sent
            written = await self.record_intent(broker, order, history_marker=marker)
        except _STORE_ERRORS as exc:
            if not isinstance(exc, StoreUnavailableError) and not is_unavailable(exc):
                raise
            refusal = make_error(
                StandardErrorCode.SERVICE_UNAVAILABLE,
                f"order {order.order_id} was not sent: the order journal ({self.store.url}) cannot be reached "
                f"({type(exc).__name__}); an order is never sent without its intent on record",
                broker_name=broker,
                retryable=True,
                sent=False,
            )
            return results.unresolved(adapter, order, refusal, OrderStatus.REJECTED, Delivery.NOT_SENT)
        if (
            not written
        ):  # this client order id was journaled before (or races in from another task or process)
            existing = await self.get(broker, order.order_id)
            if existing is None:  # no intent on record: never send without one
                raise RuntimeError(
                    f"journal {broker}/{order.order_id}: the intent vanished while being written"
                )
        self._unsent.pop((broker, order.order_id), None)
        if existing is not None:
            ctx.detail["journal"] = "duplicate_intent"
            if existing.status is OrderStatus.REJECTED:
                refusal = make_error(
                    StandardErrorCode.DUPLICATE_ORDER,
                    f"order intent {order.order_id} was already refused ({existing.last_error}); "
                    "create a new order to try again",
                    broker_name=broker,
                    sent=False,
                )
                return results.unresolved(adapter, order, refusal, OrderStatus.REJECTED, Delivery.NOT_SENT)
            _log.info("%s: client order id %s was sent before; looking it up instead", broker, order.order_id)
            return await self._resolve(adapter, existing, None, absence_settles=False)
        entry = _sent_entry(broker, order, marker, self.clock.now())
        try:
            result = await proceed()
        except BrokerError as exc:
            if _may_have_executed(ctx, exc.error):
                return await self._resolve(adapter, entry, exc.error)
            await self._record_safely(adapter, order.order_id, OrderStatus.REJECTED, error=exc.error)
            raise
        except Exception as exc:
            error = classify_exception(exc, broker_name=broker, operation=ctx.operation.value)
            if not _may_have_executed(ctx, error):
                await self._record_safely(adapter, order.order_id, OrderStatus.REJECTED, error=error)
                raise
            return await self._resolve(adapter, entry, error)
        failed = isinstance(result, OrderResult) and not result.success and result.error is not None
        if failed and _may_have_executed(ctx, result.error):
            return await self._resolve(adapter, entry, result.error)
        if isinstance(result, OrderResult):
            await self._record_result(adapter, order, result)
        return result

    async def _resolve(
        self,
        adapter: BrokerAdapter,
        entry: JournalEntry,
        error: StandardizedError | None,
        *,
        absence_settles: bool = True,
    ) -> OrderResult:
        """Find out what became of ``entry``'s order from the broker's record; never send it again.

        ``absence_settles`` false: an ABSENT trace does not settle it now (another call of this process may
        still be sending the same intent); the background settling decides later.
        """
        broker = adapter.name
        order = entry.to_order()
        if error is not None:
            await self._record_safely(adapter, order.order_id, OrderStatus.UNKNOWN, error=error)
        last_error = error
        evidence = ""
        for delay in self.lookup_delays:
            await self.sleep(delay)
            try:
                trace = await adapter.trace_order(order.order_id, since=entry.history_marker)
            except BrokerError as exc:
                last_error = exc.error
                continue
            evidence = trace.evidence
            settled = self._settlement(adapter, entry, trace, absence_settles=absence_settles)
            if settled is not None:
                await self._record_result(adapter, order, settled)
                return settled
        what_next = (
            "it is looked up again in the background (an OrderSettledEvent follows)"
            if self.settle_delays
            else "reconcile() settles it"
        )
        known = (
            f"; {evidence}"
            if evidence
            else f"; the broker could not be asked ({last_error})"
            if last_error
            else ""
        )
        unresolved = make_error(
            StandardErrorCode.OUTCOME_UNKNOWN,
            f"outcome of order {order.order_id} at {broker} is not known yet{known}; {what_next}; "
            "do not resend it",
            broker_name=broker,
            context={"last_error": str(last_error) if last_error else ""},
        )
        if error is None:
            await self._record_safely(adapter, order.order_id, OrderStatus.UNKNOWN, error=unresolved)
        self._settle_later(adapter, order.order_id)
        return results.unresolved(adapter, order, unresolved, OrderStatus.UNKNOWN, Delivery.UNKNOWN)

    def _settlement(
        self, adapter: BrokerAdapter, entry: JournalEntry, trace: OrderTrace, *, absence_settles: bool = True
    ) -> OrderResult | None:
        """The outcome ``trace`` proves for ``entry``, or ``None`` while it proves nothing final."""
        intent = entry.to_order()
        if trace.status is OrderTraceStatus.PLACED:
            if trace.order is None:
                return None  # placed for certain, but its state could not be read yet
            result = results.from_broker_order(adapter, intent, trace.order)
            return None if result.status in _IN_FLIGHT else result
        if trace.status is OrderTraceStatus.REFUSED:
            refusal = trace.error or make_error(
                StandardErrorCode.UNKNOWN, f"{adapter.name} refused order {intent.order_id}: {trace.evidence}"
            )
            return results.unresolved(adapter, intent, refusal, OrderStatus.REJECTED, Delivery.SETTLED)
        if trace.status is OrderTraceStatus.ABSENT and absence_settles:
            grace = max(adapter.absence_grace_seconds, self.never_placed_after)
            age = (self.clock.now() - entry.created_at).total_seconds()
            if age < grace:
                return None  # a request still on its way could yet arrive
            refusal = make_error(
                StandardErrorCode.UNKNOWN,
                f"order {intent.order_id} was not placed at {adapter.name}: {trace.evidence} "
                f"({age:.1f} s after it was sent)",
                broker_name=adapter.name,
                retryable=False,
                sent=False,
            )
            return results.unresolved(adapter, intent, refusal, OrderStatus.REJECTED, Delivery.SETTLED)
        return None

    async def reconcile(
        self, adapter: BrokerAdapter, *, min_age_seconds: float = 0.0, orphans_only: bool = False
    ) -> list[JournalEntry]:
        """Settle this broker's in-flight intents (e.g. after a restart) from the broker's record.

        An intent the broker's record proves was never placed (and older than ``min_age_seconds`` and the
        adapter's grace) is recorded as not placed. One that cannot be settled now is settled in the
        background like an unknown outcome. Intents whose ``place_order`` call is still running in this
        process are left to it. Returns the entries looked at, as they are after reconciliation.

        On PostgreSQL an instance reconciles its own intents, and the leader of the broker's reconciliation
        also those of instances that died; a live instance's intents are its own to settle.
        ``orphans_only``: only those of instances that died (the leader's periodic round).
        """
        cluster = self.cluster
        entries = await self.in_flight(adapter.name)
        if cluster is not None:
            mine: set[int | None] = set() if orphans_only else {self.key}
            orphaned = (
                await cluster.orphaned({e.owner_key for e in entries})
                if await cluster.lead(adapter.name)
                else set()
            )
            entries = [e for e in entries if e.owner_key in mine or e.owner_key in orphaned]
        settled: list[JournalEntry] = []
        for entry in entries:
            if (adapter.name, entry.client_order_id) in self._placing:
                continue
            try:
                known = await self._settle_once(adapter, entry, min_age_seconds=min_age_seconds)
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
        self, adapter: BrokerAdapter, entry: JournalEntry, *, min_age_seconds: float = 0.0
    ) -> bool:
        """Ask the broker's record about ``entry`` once and record what it proves; true when the outcome is
        now known.

        Raises the lookup's ``BrokerError`` when the broker cannot tell. The entry moves only out of an
        in-flight status, and whoever moves it publishes the :class:`OrderSettledEvent`.
        """
        broker = adapter.name
        trace = await adapter.trace_order(entry.client_order_id, since=entry.history_marker)
        old_enough = (self.clock.now() - entry.created_at).total_seconds() >= min_age_seconds
        result = self._settlement(adapter, entry, trace, absence_settles=old_enough)
        if result is None:
            return False
        moved = await self.record_outcome(
            broker, entry.client_order_id, result.status, **_outcome_of(result), only_from=_IN_FLIGHT
        )
        if moved:
            self._announce(adapter, entry, result)
        return True

    def _announce(self, adapter: BrokerAdapter, entry: JournalEntry, result: OrderResult) -> None:
        """Publish that ``entry``, whose outcome was open, is settled as ``result``."""
        _log.info("%s/%s settled: %s", adapter.name, entry.client_order_id, result.status.value)
        adapter.event_bus.publish(
            OrderSettledEvent(
                time=self.clock.now(),
                broker_name=adapter.name,
                adapter_id=adapter.adapter_id,
                client_order_id=entry.client_order_id,
                previous_status=entry.status,
                result=result,
                order=entry.to_order(),
            )
        )

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
                if await self._settle_once(adapter, entry):
                    return
            except BrokerError as exc:
                _log.debug("settling %s/%s: lookup failed: %s", broker, client_order_id, exc.error)
            except _STORE_ERRORS as exc:
                _log.warning(
                    "settling %s/%s: the journal failed: %s", broker, client_order_id, type(exc).__name__
                )
        _log.warning(
            "outcome of order %s at %s still unknown after %d background lookups; "
            "reconcile() settles it once the broker answers",
            client_order_id,
            broker,
            len(self.settle_delays),
        )


@functools.cache
def _outcome_statement(sources: tuple[str, ...]) -> Update:
    """The conditional UPDATE of :meth:`OrderJournal.record_outcome` from the stored statuses ``sources``
    (constants of :class:`OrderStatus`, written into the SQL), built once per set: a detail given as
    ``None`` keeps the stored one."""
    table = order_journal_table

    def unless_none(column: Column[Any]) -> Any:
        return func.coalesce(bindparam(f"to_{column.name}", type_=column.type), column)

    return (
        update(table)
        .where(
            table.c.broker_name == bindparam("to_broker", type_=table.c.broker_name.type),
            table.c.client_order_id == bindparam("to_client_order_id", type_=table.c.client_order_id.type),
            table.c.status.in_([literal_column(_sql_string(source)) for source in sources]),
        )
        .values(
            status=bindparam("to_status", type_=table.c.status.type),
            updated_at=bindparam("to_updated_at", type_=table.c.updated_at.type),
            broker_order_id=unless_none(table.c.broker_order_id),
            filled_quantity=unless_none(table.c.filled_quantity),
            average_fill_price=unless_none(table.c.average_fill_price),
            last_error=unless_none(table.c.last_error),
        )
    )


def _sql_string(value: str) -> str:
    """``value`` as an SQL string literal (standard quoting, as both engines read it)."""
    return "'" + value.replace("'", "''") + "'"


def _outcome_of(result: OrderResult) -> dict[str, Any]:
    """What the journal keeps of a result, as keyword arguments of :meth:`OrderJournal.record_outcome`."""
    return {
        "broker_order_id": result.broker_order_id,
        "filled_quantity": result.filled_quantity,
        "average_fill_price": result.average_fill_price,
        "error": result.error,
    }


def _sent_entry(broker: str, order: UnifiedOrder, marker: str | None, now: datetime) -> JournalEntry:
    """The journal entry of an intent just sent, as :meth:`OrderJournal.record_intent` wrote it."""
    return JournalEntry(
        broker_name=broker,
        client_order_id=order.order_id,
        instrument=order.instrument,
        side=order.side,
        quantity=order.quantity,
        status=OrderStatus.SUBMITTED,
        broker_order_id=None,
        filled_quantity=None,
        average_fill_price=None,
        attempts=1,
        last_error=None,
        created_at=now,
        updated_at=now,
        intent=order.model_dump_json(),
        history_marker=marker,
    )


def _may_have_executed(ctx: CallContext, error: StandardizedError) -> bool:
    """Whether a failed placement may have executed: its request left the process and the error leaves the
    outcome open. A failure before sending (``reports_sending`` adapters say when) never does."""
    return ctx.sent and is_ambiguous(error)
