"""``BrokerABTestingFramework``: split order flow across brokers as a controlled experiment.

Set-up calls are synchronous, as in the seed's examples (``create_ab_test``, ``start_test``,
``get_test_results``): they work on the framework's in-memory state and queue their writes to the store.
Every ``await`` of the framework (``execute_order_with_test``, ``open``, ``flush``, ``close``) first writes
what is queued, so an experiment is in the store before any of its orders is routed. Why this shape:
the seed's code runs as written, a forgotten ``await`` cannot turn a test id into a coroutine, and
persistence still happens on the event loop, never as blocking I/O. Tests created by an earlier process
are loaded by ``await ab.open()`` (or the first ``execute_order_with_test``); use ``async with
BrokerABTestingFramework() as ab`` to open and flush/close around a block.

Several processes can run one experiment through a shared store (PostgreSQL): hash routing puts a key in the
same arm in every process (the salt is in the stored configuration), every process logs its orders there,
and :meth:`BrokerABTestingFramework.refresh` reads what the others recorded — new tests, status changes,
their orders and outcomes — so the verdict is computed from all of them and performance routing learns
from all of them. It runs in the background every ``refresh_seconds`` while orders flow, and at once for a
test id this process does not know yet.

One order's path: the router picks an arm (logged with its probability before anything is sent) → the
arm's broker is asked for a quote unless the caller gave one (the arrival quote, timed separately) →
``adapter.place_order`` runs its full pipeline inside :func:`broker_integration.tca.arrival_quote`, so the
call's event carries the same quote to the metrics collector → the outcome is measured by
:func:`broker_integration.tca.measure_execution` (latency, fill, slippage, spreads, costs, shortfall) and
stored in the background, off the order's path (``flush`` and ``close`` wait for it). If the broker's breaker is open or the order
failed before anything was sent, the order may go to the next arm (``failover=True``), recorded as a
failover; never after an outcome that may have executed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from pydantic import ValidationError

from broker_integration import tca
from broker_integration.ab_testing.models import (
    ABOrderResult,
    ABTestConfigError,
    ABTestError,
    Experiment,
    ExperimentConfig,
    ExperimentStatus,
    Metric,
    PerformanceRouting,
    RoutingStrategy,
    TestResults,
    TrafficSplit,
)
from broker_integration.ab_testing.outcomes import Assignment, OrderRecord
from broker_integration.ab_testing.persistence import ABRepository, merge_sequential_state
from broker_integration.ab_testing.results import analyze
from broker_integration.ab_testing.routing import (
    Router,
    RoutingDecision,
    ThompsonRouter,
    fnv1a32,
    make_router,
)
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors import BrokerError, StandardErrorCode, describe_validation_error
from broker_integration.log import get_logger
from broker_integration.models import Delivery, OrderResult, PriceTick, UnifiedOrder
from broker_integration.pipeline import BreakerState, BrokerAdapter
from broker_integration.stats import DEFAULT_SEQUENTIAL_TUNING_N
from broker_integration.store import Store

__all__ = ["BrokerABTestingFramework"]

_log = get_logger("broker_integration.ab_testing")

_Write = Callable[[ABRepository], Awaitable[None]]


@dataclass
class _LiveTest:
    """An experiment with its router and every order record, as this process knows them."""

    experiment: Experiment
    router: Router
    records: list[OrderRecord] = field(default_factory=list)
    routed: set[str] = field(default_factory=set)
    #: (client order id, attempt) of the decisions this process is logging and has not kept yet: a refresh
    #: that reads one of their rows in that window must not take it for another process's order.
    logging: set[tuple[str, int]] = field(default_factory=set)

    def add(self, record: OrderRecord) -> None:
        self.records.append(record)
        if record.assignment.attempt == 0:
            self.routed.add(record.assignment.client_order_id)
        if record.execution is not None:
            self.router.observe(record.assignment.arm, record.execution)


def _pool(live: _LiveTest, records: Sequence[OrderRecord]) -> None:
    """Add the stored ``records`` this process does not have yet (other processes' orders, outcomes stored
    since) to ``live``, in place: an order being placed here keeps its slot."""
    at = {(r.assignment.client_order_id, r.assignment.attempt): i for i, r in enumerate(live.records)}
    for record in records:
        key = (record.assignment.client_order_id, record.assignment.attempt)
        index = at.get(key)
        if index is None:
            if key not in live.logging:  # this process's own order, about to keep its slot
                live.add(record)
        elif live.records[index].execution is None and record.execution is not None:
            live.records[index] = record
            live.router.observe(record.assignment.arm, record.execution)


def _breaker_open(adapter: BrokerAdapter) -> bool:
    return adapter.breaker_state is BreakerState.OPEN


def _safe_elsewhere(result: OrderResult) -> bool:
    """Whether a failed order certainly never reached the broker, so another broker may take it.

    Only an order that was not sent (``Delivery.NOT_SENT``): not after an unknown outcome nor one settled
    afterwards, and not for an intent the broker already knows (duplicate client order id).
    """
    error = result.error
    return (
        not result.success
        and result.delivery is Delivery.NOT_SENT
        and (error is None or error.error_code is not StandardErrorCode.DUPLICATE_ORDER)
    )


class BrokerABTestingFramework:
    """Experiments that split orders across registered brokers, with persisted outcomes and sound statistics.

    ``store`` defaults to the library's store (``$BROKER_INTEGRATION_STORE_URL`` or the user data dir),
    opened on first use. ``seed`` makes random and Thompson routing reproducible; hash routing needs none.
    Each test draws from its own stream, derived from ``seed`` and the test's name (not its id, which is
    new in every run), so the same seed and test name route the same way in every run.
    ``refresh_seconds``: how often what other processes recorded is read in while orders flow (``None``:
    only when :meth:`refresh` is called).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        refresh_seconds: float | None = 2.0,
    ) -> None:
        self._store = store
        self.refresh_seconds = refresh_seconds
        self._refreshed_at: float | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._owns_store = False  # true once this framework opened the store
        self._repo: ABRepository | None = None
        self._clock = clock or SYSTEM_CLOCK
        self._seed = seed
        self._adapters: dict[str, BrokerAdapter] = {}
        self._tests: dict[str, _LiveTest] = {}
        self._pending: list[_Write] = []
        self._background: set[asyncio.Future[None]] = set()
        self._open_lock = asyncio.Lock()
        self._flush_lock = asyncio.Lock()

    # ------------------------------------------------------------------ brokers

    def register_broker_adapter(self, name: str, adapter: BrokerAdapter) -> None:
        """Make ``adapter`` available to tests as the arm ``name`` (replacing an earlier registration)."""
        if not isinstance(adapter, BrokerAdapter):
            raise TypeError(f"register_broker_adapter needs a BrokerAdapter, got {type(adapter).__name__}")
        if not name or not name.strip():
            raise ValueError("a broker needs a non-empty name")
        self._adapters[name] = adapter

    @property
    def registered_brokers(self) -> tuple[str, ...]:
        return tuple(self._adapters)

    # ------------------------------------------------------------------ experiments (synchronous)

    def create_ab_test(
        self,
        test_name: str,
        description: str = "",
        traffic_splits: Sequence[TrafficSplit] = (),
        routing_strategy: RoutingStrategy | str = RoutingStrategy.HASH_BASED,
        *,
        primary_metric: Metric | str = Metric.LATENCY_MS,
        guardrail_metrics: Sequence[Metric | str] = (Metric.SUCCESS_RATE, Metric.FILL_RATE),
        significance_level: float = 0.05,
        minimum_sample_size: int = 100,
        minimum_effect: float = 0.0,
        minimum_detectable_effect: float = 0.1,
        max_sample_size: int | None = None,
        control: str | None = None,
        sticky_key: str = "order_id",
        salt: str | None = None,
        sequential: bool = True,
        sequential_tuning_n: int = DEFAULT_SEQUENTIAL_TUNING_N,
        failover: bool = True,
        fetch_arrival_quote: bool = True,
        performance: PerformanceRouting | None = None,
        require_registered: bool = True,
        start: bool = True,
    ) -> str:
        """Define an experiment and return its test id; it routes orders at once, as in the seed.

        ``start=False`` keeps it a draft until ``start_test`` (for tools that define tests ahead).

        Splits must add up to 100 over at least two distinct brokers, each registered unless
        ``require_registered=False`` (for tools that define tests a trading process will run). The
        first split is the control unless ``control`` names another. See
        :class:`~broker_integration.ab_testing.models.ExperimentConfig` for every option.
        """
        options: dict[str, object] = {
            "test_name": test_name,
            "description": description,
            "traffic_splits": tuple(traffic_splits),
            "routing_strategy": routing_strategy,
            "primary_metric": primary_metric,
            "guardrail_metrics": tuple(guardrail_metrics),
            "significance_level": significance_level,
            "minimum_sample_size": minimum_sample_size,
            "minimum_effect": minimum_effect,
            "minimum_detectable_effect": minimum_detectable_effect,
            "max_sample_size": max_sample_size,
            "control": control,
            "sticky_key": sticky_key,
            "sequential": sequential,
            "sequential_tuning_n": sequential_tuning_n,
            "failover": failover,
            "fetch_arrival_quote": fetch_arrival_quote,
        }
        if salt is not None:
            options["salt"] = salt
        if performance is not None:
            options["performance"] = performance
        try:
            config = ExperimentConfig.model_validate(options)
        except ValidationError as exc:
            raise ABTestConfigError(
                f"invalid A/B test {test_name!r}: {describe_validation_error(exc)}"
            ) from None
        if require_registered:
            missing = [arm for arm in config.arms if arm not in self._adapters]
            if missing:
                raise ABTestConfigError(
                    f"brokers not registered: {', '.join(missing)}; call register_broker_adapter(name, "
                    f"adapter) first (registered: {', '.join(self._adapters) or 'none'})"
                )
        now = self._clock.now()
        experiment = Experiment(
            test_id=f"ab-{uuid.uuid4().hex[:20]}",
            config=config,
            status=ExperimentStatus.RUNNING if start else ExperimentStatus.DRAFT,
            created_at=now,
            started_at=now if start else None,
        )
        self._tests[experiment.test_id] = self._live(experiment)
        self._save(experiment)
        return experiment.test_id

    def start_test(self, test_id: str) -> ExperimentStatus:
        """Start (or resume) routing orders in the test."""
        return self._move(test_id, ExperimentStatus.RUNNING)

    def pause_test(self, test_id: str) -> ExperimentStatus:
        """Stop accepting orders for a while; ``start_test`` resumes."""
        return self._move(test_id, ExperimentStatus.PAUSED)

    def stop_test(self, test_id: str) -> ExperimentStatus:
        """End the test early; its results stay readable."""
        return self._move(test_id, ExperimentStatus.STOPPED)

    def complete_test(self, test_id: str) -> ExperimentStatus:
        """End the test as planned; its results stay readable."""
        return self._move(test_id, ExperimentStatus.COMPLETED)

    def get_test(self, test_id: str) -> Experiment:
        """A snapshot of the experiment (configuration, status, times)."""
        return dataclasses.replace(self._live_test(test_id).experiment)

    def list_tests(self) -> list[Experiment]:
        return [dataclasses.replace(t.experiment) for t in self._tests.values()]

    def get_test_results(self, test_id: str) -> TestResults:
        """Analyse the test now: arm summaries, comparisons with the control, verdict, recommendations.

        Safe to call after every batch: always-valid p-values keep their running minimum across reads
        (the state is saved with the experiment).
        """
        live = self._live_test(test_id)
        experiment = live.experiment
        router = live.router
        p_best = allocation = None
        if isinstance(router, ThompsonRouter):
            p_best, allocation = router.p_best(), router.allocation()
        results, state = analyze(
            experiment, live.records, now=self._clock.now(), p_best=p_best, allocation=allocation
        )
        if state != experiment.sequential_state:
            experiment.sequential_state = state
            self._save_state(experiment)
        return results

    # ------------------------------------------------------------------ orders

    async def execute_order_with_test(
        self, order: UnifiedOrder, test_id: str, *, arrival_quote: PriceTick | None = None
    ) -> ABOrderResult:
        """Route ``order`` to an arm of the running test ``test_id``, send it, measure and record it.

        ``arrival_quote`` is the benchmark quote for slippage and the other execution figures; without it
        the quote of an enclosing :func:`broker_integration.tca.arrival_quote` block is used, else the
        chosen broker's own quote is fetched just before sending (not counted in the order's latency). Raises
        :class:`ABTestError` before anything is sent when the test is not running, an arm's broker is not
        registered, the order was already routed in this test, or it lacks the test's sticky key.
        """
        await self._write_queued()  # the experiment and its status are stored before its orders
        if test_id not in self._tests and self._repo is not None:
            await self.refresh()  # created by another process since this one opened
        else:
            self._refresh_if_due()
        live = self._live_test(test_id)
        experiment = live.experiment
        if experiment.status is not ExperimentStatus.RUNNING:
            raise ABTestError(
                f"test {test_id} is {experiment.status.value}; only a running test routes orders "
                "(start_test starts or resumes it)"
            )
        missing = [arm for arm in experiment.config.arms if arm not in self._adapters]
        if missing:
            raise ABTestError(f"test {test_id} routes to unregistered brokers: {', '.join(missing)}")
        if order.order_id in live.routed:
            raise ABTestError(
                f"order {order.order_id} was already routed in test {test_id}; create a new order to trade again"
            )
        decision = live.router.route(order)
        quote = arrival_quote if arrival_quote is not None else tca.current_arrival_quote()
        return await self._execute(live, order, decision, quote)

    async def _execute(
        self, live: _LiveTest, order: UnifiedOrder, decision: RoutingDecision, arrival_quote: PriceTick | None
    ) -> ABOrderResult:
        config = live.experiment.config
        attempted: list[str] = []
        arm: str | None = decision.arm
        result: OrderResult | None = None
        while arm is not None:
            assignment = Assignment(
                test_id=live.experiment.test_id,
                client_order_id=order.order_id,
                attempt=len(attempted),
                arm=arm,
                propensity=decision.propensity,
                probabilities=dict(decision.probabilities),
                explore=decision.explore,
                sticky_key=decision.sticky_key,
                assigned_at=self._clock.now(),
                failover_from=decision.arm if attempted else None,
            )
            result = await self._attempt(live, assignment, order, arrival_quote)
            attempted.append(arm)
            arm = self._failover_target(config.arms, attempted, result) if config.failover else None
        assert result is not None
        return ABOrderResult(
            **dict(result),
            test_id=live.experiment.test_id,
            arm=decision.arm,
            executed_arm=attempted[-1],
            assignment_probability=decision.propensity,
            failover_from=decision.arm if len(attempted) > 1 else None,
            attempted_arms=tuple(attempted),
        )

    @staticmethod
    def _failover_target(arms: Sequence[str], attempted: Sequence[str], result: OrderResult) -> str | None:
        """The next arm after the first one tried (in split order, wrapping), if failing over is safe."""
        if not _safe_elsewhere(result):
            return None
        start = arms.index(attempted[0])
        for arm in (*arms[start + 1 :], *arms[:start]):
            if arm not in attempted:
                return arm
        return None

    async def _attempt(
        self, live: _LiveTest, assignment: Assignment, order: UnifiedOrder, arrival_quote: PriceTick | None
    ) -> OrderResult:
        """Log the decision, take the arrival quote, send, measure; the outcome is stored in the background.

        The decision is on record before anything is sent; its write overlaps the quote request. The order
        is placed inside ``tca.arrival_quote(quote)``, so its call event carries the quote it is measured
        against. An order that ended with part of it unfilled is measured with a second quote of the same
        broker, taken after it ended, for the opportunity cost of that part.
        """
        repo = await self._repository()
        key = (order.order_id, assignment.attempt)
        live.logging.add(key)
        logged = asyncio.ensure_future(repo.insert_assignment(assignment))
        adapter = self._adapters[assignment.arm]
        fetch = live.experiment.config.fetch_arrival_quote
        quote, quote_ms = arrival_quote, None
        try:
            try:
                if quote is None and fetch and not _breaker_open(adapter):
                    started = self._clock.monotonic_ns()
                    quote = await self._quote(adapter, assignment.arm, order.instrument)
                    quote_ms = (self._clock.monotonic_ns() - started) / 1e6
            finally:
                await logged  # raises ABTestError for an order already routed: nothing has been sent
            if assignment.attempt == 0:
                live.routed.add(order.order_id)
            index = len(live.records)
            live.records.append(OrderRecord(assignment))
        finally:
            live.logging.discard(key)
        with tca.arrival_quote(quote):
            result = await adapter.place_order(order)
        end_quote = None
        if fetch and quote is not None and tca.needs_end_quote(order, result) and not _breaker_open(adapter):
            end_quote = await self._quote(adapter, assignment.arm, order.instrument)
        execution = tca.measure_execution(
            order, result, quote, end_quote=end_quote, quote_latency_ms=quote_ms
        )
        live.records[index] = OrderRecord(assignment, execution)
        live.router.observe(assignment.arm, execution)
        task = asyncio.ensure_future(self._store_execution(repo, assignment, execution))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return result

    @staticmethod
    async def _quote(adapter: BrokerAdapter, arm: str, instrument: str) -> PriceTick | None:
        """The broker's quote of ``instrument``, or ``None`` if it cannot give one."""
        try:
            return await adapter.get_current_price(instrument)
        except BrokerError as exc:
            _log.debug("%s: no quote for %s: %s", arm, instrument, exc)
            return None

    @staticmethod
    async def _store_execution(repo: ABRepository, assignment: Assignment, execution: tca.Execution) -> None:
        try:
            await repo.record_execution(assignment, execution)
        except Exception:  # the order is done at the broker: report it, never fail the caller after executing
            _log.exception(
                "test %s: could not store the outcome of order %s",
                assignment.test_id,
                assignment.client_order_id,
            )

    # ------------------------------------------------------------------ persistence

    async def open(self) -> Self:
        """Open the store and load the tests (with their orders) that earlier processes recorded."""
        async with self._open_lock:
            if self._repo is not None:
                return self
            store = self._store or Store()
            self._owns_store = await store.open_unless_open()
            self._store = store
            repo = ABRepository(store)
            records = await repo.load_records()
            for experiment in await repo.load_experiments():
                if experiment.test_id in self._tests:
                    continue  # created in this process before opening; its write is queued
                live = self._live(experiment)
                for record in records.get(experiment.test_id, ()):
                    live.add(record)
                self._tests[experiment.test_id] = live
            self._repo = repo
        return self

    async def refresh(self) -> None:
        """Read in what every process recorded in the store: tests created elsewhere, status changes (a test
        paused or stopped elsewhere stops routing here), and their orders and outcomes, so
        :meth:`get_test_results` analyses all of them and performance routing learns from all of them."""
        repo = await self._repository()
        await self._write_queued()  # this process's own changes are in the store before it is read
        self._refreshed_at = self._clock.monotonic_ns() / 1e9
        records = await repo.load_records()
        for experiment in await repo.load_experiments():
            live = self._tests.get(experiment.test_id)
            if live is None:
                live = self._tests[experiment.test_id] = self._live(experiment)
            else:
                mine = live.experiment
                mine.status, mine.started_at, mine.ended_at = (
                    experiment.status,
                    experiment.started_at,
                    experiment.ended_at,
                )
                mine.sequential_state = merge_sequential_state(
                    mine.sequential_state, experiment.sequential_state
                )
            _pool(live, records.get(experiment.test_id, ()))

    def _refresh_if_due(self) -> None:
        """Start a background refresh when the last one is ``refresh_seconds`` old (never two at once)."""
        if self.refresh_seconds is None or (self._refresher is not None and not self._refresher.done()):
            return
        now = self._clock.monotonic_ns() / 1e9
        if self._refreshed_at is None:
            self._refreshed_at = now  # open() has just read everything
        if now - self._refreshed_at < self.refresh_seconds:
            return
        self._refreshed_at = now
        self._refresher = asyncio.ensure_future(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # the next refresh tries again; orders never wait for it
            _log.warning("could not read other processes' A/B records: %s", type(exc).__name__)

    async def flush(self) -> None:
        """Write every queued change (new tests, status changes, analysis state) and pending outcomes."""
        await self._write_queued()
        if self._background:
            await asyncio.gather(*self._background)

    async def _write_queued(self) -> None:
        repo = await self._repository()
        async with self._flush_lock:
            while self._pending:
                write = self._pending.pop(0)
                await write(repo)

    async def close(self) -> None:
        """Flush, and close the store if the framework opened it."""
        refresher, self._refresher = self._refresher, None
        if refresher is not None:
            await refresher
        if self._repo is not None or self._pending or self._background:
            await self.flush()
        if self._owns_store and self._store is not None:
            await self._store.close()
            self._owns_store = False
        self._repo = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _repository(self) -> ABRepository:
        if self._repo is None:
            await self.open()
        assert self._repo is not None
        return self._repo

    # ------------------------------------------------------------------ internals

    def _live(self, experiment: Experiment) -> _LiveTest:
        # The name, not the test id: the id is a fresh uuid in every run, so a seed combined with it would
        # reproduce nothing (every "seeded" run routed differently).
        seed = None if self._seed is None else self._seed + fnv1a32(experiment.config.test_name)
        return _LiveTest(experiment, make_router(experiment.config, seed))

    def _live_test(self, test_id: str) -> _LiveTest:
        try:
            return self._tests[test_id]
        except KeyError:
            hint = (
                "" if self._repo is not None else "; tests from earlier runs are loaded by `await ab.open()`"
            )
            raise ABTestError(f"no A/B test {test_id!r}{hint}") from None

    def _move(self, test_id: str, target: ExperimentStatus) -> ExperimentStatus:
        experiment = self._live_test(test_id).experiment
        current = experiment.status
        if current is target:
            return current
        if not current.can_move_to(target):
            allowed = ", ".join(sorted(s.value for s in ExperimentStatus if current.can_move_to(s))) or "none"
            raise ABTestError(
                f"test {test_id} is {current.value}; it cannot become {target.value} (allowed: {allowed})"
            )
        now = self._clock.now()
        experiment.status = target
        if target is ExperimentStatus.RUNNING and experiment.started_at is None:
            experiment.started_at = now
        if target.is_final:
            experiment.ended_at = now
        self._save(experiment)
        return target

    def _save_state(self, experiment: Experiment) -> None:
        """Queue the analysis state for merging into the stored one (a status set elsewhere stays)."""
        test_id, state = experiment.test_id, dict(experiment.sequential_state)

        async def write(repo: ABRepository) -> None:
            experiment.sequential_state = await repo.merge_state(test_id, state)

        self._pending.append(write)

    def _save(self, experiment: Experiment) -> None:
        snapshot = dataclasses.replace(experiment, sequential_state=dict(experiment.sequential_state))

        async def write(repo: ABRepository) -> None:
            await repo.save_experiment(snapshot)

        self._pending.append(write)
