"""Synthetic discovery: test orders that cannot fill, each cancelled at once, to verify order types, times in
force, exits on fill, modify, lookup by client order id and cancel.

The first order is a resting limit far below the market (the *baseline*); the lookup, modify and cancel
tests use it (:mod:`.followups`). Then one order per other order type, time in force and exits, each cancelled as soon as the
broker answered. At most ``max_synthetic_orders`` orders are placed; an unexpected fill stops the tests.
Whatever happens, including a failure or a cancelled task, :func:`~.cleanup.clean_up` runs to its end.

A refusal counts against a capability only when it is conclusive: the adapter or pipeline says the
operation is unsupported, or the order differed from an accepted baseline only in what it tests. A broker
that refuses a stop order 50% above the market may object to the price, not to stop orders.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from broker_integration.capabilities.cleanup import OrderTracker, clean_up, run_to_completion
from broker_integration.capabilities.followups import cancel_test_order, check_lookup, check_modify
from broker_integration.capabilities.profile import CapabilityFinding
from broker_integration.capabilities.state import DiscoveryState, is_conclusive
from broker_integration.capabilities.static import ORDER_CAPABILITIES
from broker_integration.capabilities.testorders import (
    BASELINE_TIFS,
    OrderTerms,
    TestCase,
    client_order_id,
    order_terms,
    plan_cases,
)
from broker_integration.errors import StandardErrorCode
from broker_integration.models import OrderResult, OrderStatus, TimeInForce
from broker_integration.pipeline import BrokerCapability, Operation

__all__ = ["SyntheticTester", "run_synthetic_tests"]

C = BrokerCapability

#: Order-related findings these tests can settle (besides order types and times in force).
_ORDER_FEATURES = (C.CLIENT_ORDER_ID_LOOKUP, C.MODIFY_ORDERS, C.CANCEL_ORDERS)
#: Capabilities a test order cannot show without trading.
_NEEDS_A_TRADE = {
    C.MARKET_ORDERS: "a market order would fill",
    C.CLOSE_POSITION: "closing needs an open position",
    C.PARTIAL_FILLS: "needs a fill",
}
_FILLED = frozenset({OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED})


async def run_synthetic_tests(state: DiscoveryState) -> None:
    """Place, check and cancel the test orders; always clean up (see the module docstring)."""
    await SyntheticTester(state).run()


class SyntheticTester:
    """One run of synthetic tests against ``state.adapter``."""

    def __init__(self, state: DiscoveryState) -> None:
        self.state = state
        self.tracker = OrderTracker()
        self.placed = 0
        self.stopped: str | None = None  # why no more orders are placed
        self.baseline_ok = False
        self._token = uuid.uuid4().hex[:12]
        self._sequence = 0

    @property
    def budget(self) -> int:
        return self.state.options.max_synthetic_orders

    def _new_id(self) -> str:
        self._sequence += 1
        return client_order_id(self._sequence, self._token)

    # ------------------------------------------------------------------ run

    async def run(self) -> None:
        state = self.state
        for capability, why in _NEEDS_A_TRADE.items():
            state.annotate(state.capabilities, capability, f"not tested: {why}")
        terms = self._terms()
        if terms is None:
            return
        if isinstance(terms, str):
            self._skip(terms)
            return
        try:
            await self._run_cases(terms)
        finally:
            await run_to_completion(clean_up(state, self.tracker))

    def _terms(self) -> OrderTerms | str | None:
        """Terms for the test orders, or why none can be placed (``None``: there is nothing to test)."""
        state = self.state
        caps = state.capabilities
        implemented = type(state.adapter).implemented_operations()
        if Operation.PLACE_ORDER not in implemented:
            return None
        if Operation.CANCEL_ORDER not in implemented or caps[C.CANCEL_ORDERS].status.refused:
            return "cancel_order is unavailable, so a test order could not be removed"
        if caps[C.LIMIT_ORDERS].status.refused:
            return "the tests rest on a limit order, which this broker does not take"
        quote = state.quote
        if quote is None:
            return "no price to place test orders away from"
        if not quote.tradeable:
            state.note_problem(
                "synthetic", StandardErrorCode.MARKET_CLOSED, f"the {quote.instrument} market is closed"
            )
            return f"the {quote.instrument} market is closed"
        options = state.options
        terms = order_terms(
            quote, state.instruments.get(quote.instrument), options.far_fraction, options.fallback_quantity
        )
        if terms is None:
            return f"no test order fits the size and price limits of {quote.instrument}"
        return terms

    def _skip(self, reason: str) -> None:
        state = self.state
        for capability in (*ORDER_CAPABILITIES, *_ORDER_FEATURES):
            if state.open_to_test(state.capabilities, capability):
                state.annotate(state.capabilities, capability, f"not tested: {reason}")
        for tif in TimeInForce:
            if state.open_to_test(state.time_in_force, tif):
                state.annotate(state.time_in_force, tif, f"not tested: {reason}")

    async def _run_cases(self, terms: OrderTerms) -> None:
        state = self.state
        baseline_tif = next((t for t in BASELINE_TIFS if not state.refused(state.time_in_force, t)), None)
        if baseline_tif is None:
            self._skip("no resting time in force (GTC, GTD or DAY) is available")
            return
        order_types = {c for c in ORDER_CAPABILITIES if state.open_to_test(state.capabilities, c)}
        tifs = {t for t in TimeInForce if state.open_to_test(state.time_in_force, t)}
        exits = C.TAKE_PROFIT_STOP_LOSS in order_types
        now = state.adapter.clock.now()
        cases = plan_cases(terms, self._new_id, baseline_tif, order_types, tifs, exits, now)
        for case in cases:
            if self.stopped is None and self.placed >= self.budget:
                self.stopped = f"the budget of {self.budget} test orders was used"
            if self.stopped is not None:
                self._annotate(case, f"not tested: {self.stopped}")
                continue
            await self._run_case(case, terms)
        if not self.baseline_ok:
            for feature in (C.CLIENT_ORDER_ID_LOOKUP, C.MODIFY_ORDERS):
                state.annotate(state.capabilities, feature, "not tested: no test order rested at the broker")

    # ------------------------------------------------------------------ one case

    def _target(self, case: TestCase) -> tuple[dict[Any, CapabilityFinding], BrokerCapability | TimeInForce]:
        """The finding ``case`` settles: its order type's (or feature's) capability, else its time in force."""
        key: BrokerCapability | TimeInForce | None = case.capability or case.time_in_force
        assert key is not None
        return self.state.table_for(key), key

    def _annotate(self, case: TestCase, note: str) -> None:
        table, key = self._target(case)
        self.state.annotate(table, key, note)

    async def _run_case(self, case: TestCase, terms: OrderTerms) -> None:
        state = self.state
        table, key = self._target(case)
        order = case.order
        cid = order.order_id
        self.tracker.register(cid, case.label)  # before sending: a call cut short may still have placed it
        self.placed += 1
        name = f"place_order[{case.label}]"
        outcome = await state.probe(name, partial(state.adapter.place_order, order))
        result = outcome.value
        if outcome.error is not None or not isinstance(result, OrderResult):
            error = outcome.error or state.wrong_type(name, result, "OrderResult")
            state.inconclusive(
                table, key, f"placing the test order failed: {error.error_code.value}: {error.message}"
            )
            return
        self.tracker.note(cid, result)
        if result.status in _FILLED or result.filled_quantity > 0:
            self._unexpected_fill(case, result)
            return
        if case.immediate:
            self._judge_immediate(case, result, outcome.latency_ms)
            return
        if result.success and result.status is OrderStatus.ACCEPTED:
            where = self._where(case)
            state.verify(
                table,
                key,
                f"a buy {case.label} {order.quantity} {order.instrument} {where} rested",
                outcome.latency_ms,
            )
            if case.baseline:
                self.baseline_ok = True
                assert case.time_in_force is not None
                state.verify(
                    state.time_in_force,
                    case.time_in_force,
                    f"a resting {case.label} order was accepted",
                    outcome.latency_ms,
                )
                assert order.price is not None  # the baseline is a limit order
                await check_lookup(state, cid)
                await check_modify(state, self.tracker, cid, order.price, terms.tick)
            await cancel_test_order(state, self.tracker, cid, case.label)
            return
        if result.success:
            state.inconclusive(
                table, key, f"the broker took the test order but it ended at once ({result.status.value})"
            )
            return
        self._judge_refusal(case, result)

    @staticmethod
    def _where(case: TestCase) -> str:
        order = case.order
        if order.trailing_distance is not None:
            return f"trailing by {order.trailing_distance}"
        level = order.stop_price if order.stop_price is not None else order.price
        return f"at {level}"

    def _unexpected_fill(self, case: TestCase, result: OrderResult) -> None:
        state = self.state
        table, key = self._target(case)
        price = result.average_fill_price
        state.note_problem(
            f"place_order[{case.label}]",
            StandardErrorCode.UNKNOWN,
            f"test order {case.order.order_id} filled {result.filled_quantity} at {price} although it was "
            "placed far from the market; check the account's positions",
        )
        state.reject(
            table,
            key,
            f"a buy {case.label} {self._where(case)}, far from the market, filled at {price}",
            StandardErrorCode.INVALID_ORDER,
        )
        self.stopped = "an earlier test order filled unexpectedly"

    def _judge_immediate(self, case: TestCase, result: OrderResult, latency_ms: float) -> None:
        """IOC/FOK: a far order must end at once unfilled; that the broker created it shows it took the TIF."""
        state = self.state
        tif = case.order.time_in_force
        assert tif is not None
        error = result.error
        if result.success and result.status.is_open:
            state.reject(
                state.time_in_force,
                tif,
                f"a far {tif.value} limit rested at the broker instead of ending at once",
                StandardErrorCode.INVALID_ORDER,
            )
        elif result.success:
            state.verify(
                state.time_in_force,
                tif,
                f"a far {tif.value} limit ended unfilled ({result.status.value})",
                latency_ms,
            )
        elif (
            error is not None
            and result.status is not OrderStatus.UNKNOWN
            and result.broker_order_id
            and error.error_code is not StandardErrorCode.UNSUPPORTED_OPERATION
        ):
            state.verify(
                state.time_in_force,
                tif,
                f"the broker created a far {tif.value} limit (order {result.broker_order_id}) and ended it "
                f"unfilled: {error.error_code.value}",
                latency_ms,
            )
        else:
            self._judge_refusal(case, result)

    def _judge_refusal(self, case: TestCase, result: OrderResult) -> None:
        state = self.state
        table, key = self._target(case)
        error = result.error
        assert error is not None  # a failed OrderResult always says why
        state.note_error(f"place_order[{case.label}]", error)
        if result.status is OrderStatus.UNKNOWN:
            state.inconclusive(
                table, key, f"the outcome of the test order is unknown: {error.error_code.value}"
            )
            return
        if case.baseline and "time_in_force" in error.context and case.time_in_force is not None:
            table, key = self.state.table_for(case.time_in_force), case.time_in_force
        varies_only = case.varies_only and self.baseline_ok
        conclusive = error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION or (
            varies_only and is_conclusive(error)
        )
        if conclusive:
            why = " (an order differing only in this was accepted)" if varies_only else ""
            state.refute(table, key, error, f"the test order was refused{why}")
        else:
            state.inconclusive(
                table,
                key,
                f"the broker refused the test order ({error.error_code.value}: {error.message}); the refusal "
                "may concern its far price rather than this feature",
            )
