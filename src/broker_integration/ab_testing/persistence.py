"""A/B tests in the store: experiments, routing decisions and outcomes, so that tests survive restarts.

Two tables of :mod:`broker_integration.store` (migration 5): ``ab_experiments`` and ``ab_orders``. An
order's decision is inserted before the order is sent and its outcome is written when the broker answers,
so a crash in between leaves the assignment visible (it counts for the sample-ratio check) with no outcome.
Portable SQL only: no upserts, no SQLite specifics.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from broker_integration.ab_testing.models import ABTestError, Experiment, ExperimentConfig, ExperimentStatus
from broker_integration.ab_testing.outcomes import Assignment, Execution, OrderRecord
from broker_integration.clock import utc_now
from broker_integration.models import OrderStatus
from broker_integration.store import Store, ab_experiments_table, ab_orders_table

__all__ = ["ABRepository"]

_experiments = ab_experiments_table
_orders = ab_orders_table


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _str(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


class ABRepository:
    """Reads and writes A/B-test rows in one :class:`~broker_integration.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ experiments

    async def save_experiment(self, experiment: Experiment) -> None:
        """Insert the experiment, or update its status, times and state if it exists."""
        values: dict[str, Any] = {
            "name": experiment.name,
            "status": experiment.status.value,
            "config": experiment.config.model_dump_json(),
            "state": orjson.dumps(experiment.sequential_state).decode(),
            "created_at": experiment.created_at,
            "started_at": experiment.started_at,
            "ended_at": experiment.ended_at,
            "updated_at": utc_now(),
        }
        async with self.store.begin() as conn:
            changed = await conn.execute(
                update(_experiments).where(_experiments.c.test_id == experiment.test_id).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(_experiments.insert().values(test_id=experiment.test_id, **values))

    async def load_experiments(self) -> list[Experiment]:
        async with self.store.connect() as conn:
            rows = await conn.execute(select(_experiments).order_by(_experiments.c.created_at))
            return [
                Experiment(
                    test_id=row.test_id,
                    config=ExperimentConfig.model_validate_json(row.config),
                    status=ExperimentStatus(row.status),
                    created_at=row.created_at or utc_now(),
                    started_at=row.started_at,
                    ended_at=row.ended_at,
                    sequential_state=orjson.loads(row.state),
                )
                for row in rows
            ]

    # ------------------------------------------------------------------ orders

    async def insert_assignment(self, assignment: Assignment) -> None:
        """Log a routing decision; the same order and attempt twice in one test is refused."""
        try:
            async with self.store.begin() as conn:
                await conn.execute(
                    _orders.insert().values(
                        test_id=assignment.test_id,
                        client_order_id=assignment.client_order_id,
                        attempt=assignment.attempt,
                        arm=assignment.arm,
                        propensity=assignment.propensity,
                        probabilities=orjson.dumps(assignment.probabilities).decode(),
                        explore=assignment.explore,
                        sticky_key=assignment.sticky_key,
                        failover_from=assignment.failover_from,
                        assigned_at=assignment.assigned_at,
                    )
                )
        except IntegrityError as exc:
            raise ABTestError(
                f"order {assignment.client_order_id} was already routed in test {assignment.test_id}; "
                "an order intent is executed once — create a new order (new client order id) to trade again"
            ) from exc

    async def record_execution(self, assignment: Assignment, execution: Execution) -> None:
        async with self.store.begin() as conn:
            await conn.execute(
                update(_orders)
                .where(
                    _orders.c.test_id == assignment.test_id,
                    _orders.c.client_order_id == assignment.client_order_id,
                    _orders.c.attempt == assignment.attempt,
                )
                .values(
                    status=execution.status.value,
                    success=execution.success,
                    sent=execution.sent,
                    error_code=execution.error_code,
                    latency_ms=execution.latency_ms,
                    quote_latency_ms=execution.quote_latency_ms,
                    requested_quantity=str(execution.requested_quantity),
                    filled_quantity=str(execution.filled_quantity),
                    average_fill_price=_str(execution.average_fill_price),
                    arrival_bid=_str(execution.arrival_bid),
                    arrival_ask=_str(execution.arrival_ask),
                    commission=str(execution.commission),
                    slippage_bps=execution.slippage_bps,
                    spread_cost_bps=execution.spread_cost_bps,
                    commission_bps=execution.commission_bps,
                    completed_at=execution.completed_at,
                )
            )

    async def load_records(self) -> dict[str, list[OrderRecord]]:
        """Every order attempt of every test, by test id, in the order they were routed."""
        query = select(_orders).order_by(_orders.c.assigned_at, _orders.c.client_order_id, _orders.c.attempt)
        records: dict[str, list[OrderRecord]] = defaultdict(list)
        async with self.store.connect() as conn:
            for row in await conn.execute(query):
                records[row.test_id].append(_record(row))
        return dict(records)


def _record(row: Any) -> OrderRecord:
    assignment = Assignment(
        test_id=row.test_id,
        client_order_id=row.client_order_id,
        attempt=row.attempt,
        arm=row.arm,
        propensity=row.propensity,
        probabilities=orjson.loads(row.probabilities),
        explore=bool(row.explore),
        sticky_key=row.sticky_key,
        assigned_at=row.assigned_at or utc_now(),
        failover_from=row.failover_from,
    )
    if row.status is None:
        return OrderRecord(assignment)
    execution = Execution(
        status=OrderStatus(row.status),
        success=bool(row.success),
        sent=bool(row.sent),
        error_code=row.error_code,
        latency_ms=row.latency_ms,
        quote_latency_ms=row.quote_latency_ms,
        requested_quantity=Decimal(row.requested_quantity),
        filled_quantity=Decimal(row.filled_quantity),
        average_fill_price=_dec(row.average_fill_price),
        arrival_bid=_dec(row.arrival_bid),
        arrival_ask=_dec(row.arrival_ask),
        commission=Decimal(row.commission),
        slippage_bps=row.slippage_bps,
        spread_cost_bps=row.spread_cost_bps,
        commission_bps=row.commission_bps,
        completed_at=row.completed_at or assignment.assigned_at,
    )
    return OrderRecord(assignment, execution)
