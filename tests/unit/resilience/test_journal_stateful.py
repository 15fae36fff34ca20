"""A stateful property test of the order journal: whatever interleaving of faults (answers lost after
executing, timeouts, resets, 503s), repeated sends of the same intent, restarts, reconciliations and
background settling of unknown outcomes, no intent ever has more than one order at the venue, and the
journal never contradicts the venue."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from scripted_venue import ScriptedVenue

from broker_integration.broker_config import BrokerConfiguration, BrokerSettings
from broker_integration.journal import OrderJournal
from broker_integration.models import OrderStatus, UnifiedOrder
from broker_integration.pipeline import CircuitBreaker, attach
from broker_integration.store import Store, sqlite_url

FAULTS = st.sampled_from([None, None, "after", "reset", "before", "hang", "refuse"])
IN_FLIGHT = {OrderStatus.SUBMITTED, OrderStatus.UNKNOWN, OrderStatus.PENDING}


class JournalMachine(RuleBasedStateMachine):
    intents = Bundle("intents")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.TemporaryDirectory()
        self.url = sqlite_url(Path(self.folder.name) / "journal.sqlite3")
        self.orders: dict[str, Any] = {}  # the venue's book: survives our restarts, as a broker's does
        self.executions: Counter[str] = Counter()
        self.store: Store | None = None
        self._start()

    def _run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def _start(self) -> None:
        self.store = self._run(Store(self.url).open())
        config = BrokerConfiguration(broker_name="venue", settings=BrokerSettings(timeout_seconds=0.02))
        self.venue = ScriptedVenue(config)
        self.venue.orders = self.orders
        self.venue.executions_by_client = self.executions
        self.venue.reject_duplicates = False  # like OANDA for filled orders: only the journal stands guard
        assert self.venue.resilience is not None
        self.venue.resilience.sleep = _no_sleep
        # The venue's failures come and go by the rules below; an open breaker would only hide them.
        self.venue.resilience.breaker = CircuitBreaker(consecutive_failures=10**9, minimum_calls=10**9)
        # Background settling runs as soon as the loop does, and may call an order never placed at once
        # (nothing here is ever on its way for long): the strictest setting for the invariants below.
        self.journal = OrderJournal(
            self.store, lookup_delays=(0.0, 0.0), never_placed_after=0.0, sleep=_no_sleep
        )
        attach(self.venue, journal=self.journal)

    @rule(target=intents)
    def new_intent(self) -> UnifiedOrder:
        return UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(100))

    @rule(intent=intents, fault=FAULTS)
    def place(self, intent: UnifiedOrder, fault: str | None) -> None:
        self.venue.faults.append(fault)
        result = self._run(self.venue.place_order(intent))
        self.venue.faults.clear()
        executed = intent.order_id in self.orders
        if result.status is OrderStatus.FILLED:
            assert executed
        if result.status is OrderStatus.REJECTED:
            assert not executed

    @rule(intent=intents, fault=st.sampled_from(["after", "reset", "before"]), failing=st.integers(4, 40))
    def place_while_lookups_fail(self, intent: UnifiedOrder, fault: str, failing: int) -> None:
        """The answer is lost and the next lookups meet 503s: the outcome stays UNKNOWN after the call and
        is settled in the background (the failures outlast the call, as an outage would)."""
        self.venue.lookup_faults.extend(["before"] * failing)
        self.place(intent, fault)

    @rule()
    def restart(self) -> None:
        assert self.store is not None
        self._run(self.journal.aclose())
        self._run(self.store.close())
        self._start()

    @rule()
    def reconcile(self) -> None:
        self.venue.lookup_faults.clear()  # the venue answers lookups again
        self._run(self.journal.reconcile(self.venue))
        assert self._run(self.journal.in_flight("venue")) == []

    @invariant()
    def at_most_one_order_per_intent_and_the_journal_agrees(self) -> None:
        assert all(count == 1 for count in self.executions.values()), (
            f"an intent executed twice: {self.executions}"
        )
        for entry in self._run(self.journal.entries("venue")):
            executed = entry.client_order_id in self.orders
            if entry.status is OrderStatus.FILLED:
                assert executed, f"journal says filled, venue has nothing: {entry.client_order_id}"
            elif not executed:
                assert entry.status is OrderStatus.REJECTED or entry.status in IN_FLIGHT
            else:
                assert entry.status in IN_FLIGHT, (
                    f"venue executed {entry.client_order_id}, journal says {entry.status}"
                )

    def teardown(self) -> None:
        self._run(self.journal.aclose())
        if self.store is not None:
            self._run(self.store.close())
        self.loop.close()
        self.folder.cleanup()


async def _no_sleep(_: float) -> None:
    return None


JournalMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_journal_state_machine = JournalMachine.TestCase
