"""A/B tests in the store: experiments, routing decisions and outcomes, so that tests survive restarts.

Two tables of :mod:`broker_integration.store` (migration 5; migration 8 added the TCA figures of
:mod:`broker_integration.tca` to ``ab_orders``): ``ab_experiments`` and ``ab_orders``. An
order's decision is inserted before the order is sent and its outcome is written when the broker answers,
so a crash in between leaves the assignment visible (it counts for the sample-ratio check) with no outcome.
Portable SQL only: no SQLite specifics.

Several processes may run one experiment (on PostgreSQL, or sharing a SQLite file): each logs its own
orders (the key is the test, the client order id and the attempt, so an order is routed once across all),
every process reads all of them, and the analysis state is merged, never overwritten
(:meth:`ABRepository.merge_state`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, get_type_hints

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from broker_integration.ab_testing.models import ABTestError, Experiment, ExperimentConfig, ExperimentStatus
from broker_integration.ab_testing.outcomes import Assignment, OrderRecord
from broker_integration.clock import utc_now
from broker_integration.models import OrderStatus
from broker_integration.store import Store, ab_experiments_table, ab_orders_table
from broker_integration.tca import ArrivalSource, Execution

__all__ = ["ABRepository", "merge_sequential_state"]

_experiments = ab_experiments_table
_orders = ab_orders_table


#: Every field of an execution has an ``ab_orders`` column of its name.
_EXECUTION_FIELDS = tuple(f.name for f in fields(Execution))
_HINTS = get_type_hints(Execution)
#: Money, prices and quantities: stored as decimal strings, so they come back exactly.
_DECIMALS = tuple(name for name in _EXECUTION_FIELDS if _HINTS[name] in (Decimal, Decimal | None))
#: Enums: stored by value.
_ENUMS: dict[str, type[StrEnum]] = {"status": OrderStatus, "arrival_source": ArrivalSource}


def _columns(execution: Execution) -> dict[str, Any]:
    """``execution`` as ``ab_orders`` values: decimals as strings, enums by value, the rest as they are."""
    values = {name: getattr(execution, name) for name in _EXECUTION_FIELDS}
    for name in _DECIMALS:
        values[name] = str(values[name]) if values[name] is not None else None
    for name in _ENUMS:
        values[name] = values[name].value if values[name] is not None else None
    return values


def _execution(row: Any, assigned_at: datetime) -> Execution:
    """The execution stored in ``row`` (a row from before migration 8 reads the newer figures as ``None``)."""
    values = {name: getattr(row, name) for name in _EXECUTION_FIELDS}
    for name in _DECIMALS:
        values[name] = Decimal(values[name]) if values[name] is not None else None
    for name, enum in _ENUMS.items():
        values[name] = enum(values[name]) if values[name] is not None else None
    values["success"], values["sent"] = bool(row.success), bool(row.sent)
    values["completed_at"] = row.completed_at or assigned_at
    return Execution(**values)


class ABRepository:
    """Reads and writes A/B-test rows in one :class:`~broker_integration.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ experiments

    async def save_experiment(self, experiment: Experiment) -> None:
        """Insert the experiment, or update its status and times if it exists (its analysis state is merged
        with the stored one, which other processes may have advanced)."""
        values: dict[str, Any] = {
            "name": experiment.name,
            "status": experiment.status.value,
            "config": experiment.config.model_dump_json(),
            "created_at": experiment.created_at,
            "started_at": experiment.started_at,
            "ended_at": experiment.ended_at,
            "updated_at": utc_now(),
        }
        state = orjson.dumps(experiment.sequential_state).decode()
        async with self.store.begin() as conn:
            changed = await conn.execute(
                update(_experiments).where(_experiments.c.test_id == experiment.test_id).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    _experiments.insert().values(test_id=experiment.test_id, state=state, **values)
                )
                return
        if experiment.sequential_state:
            await self.merge_state(experiment.test_id, experiment.sequential_state)

    async def merge_state(
        self, test_id: str, state: Mapping[str, Mapping[str, float]]
    ) -> dict[str, dict[str, float]]:
        """Merge ``state`` (always-valid p-values and intervals by arm and metric) into the stored one and
        return the result: each p-value is the minimum of both, each interval their intersection, as one
        process's successive reads combine (:mod:`broker_integration.ab_testing.results`). Only the state
        is written: a status another process set stays."""
        async with self.store.begin() as conn:
            query = select(_experiments.c.state).where(_experiments.c.test_id == test_id)
            if self.store.is_postgresql:
                query = query.with_for_update()
            stored = (await conn.execute(query)).scalar()
            merged = merge_sequential_state(orjson.loads(stored) if stored else {}, state)
            await conn.execute(
                update(_experiments)
                .where(_experiments.c.test_id == test_id)
                .values(state=orjson.dumps(merged).decode(), updated_at=utc_now())
            )
        return merged

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
                .values(**_columns(execution))
            )

    async def load_records(self, test_ids: Collection[str] | None = None) -> dict[str, list[OrderRecord]]:
        """Every order attempt of every test (or of ``test_ids``), by test id, in the order they were routed,
        whichever process routed them."""
        query = select(_orders).order_by(_orders.c.assigned_at, _orders.c.client_order_id, _orders.c.attempt)
        if test_ids is not None:
            query = query.where(_orders.c.test_id.in_(list(test_ids)))
        records: dict[str, list[OrderRecord]] = defaultdict(list)
        async with self.store.connect() as conn:
            for row in await conn.execute(query):
                records[row.test_id].append(_record(row))
        return dict(records)


def merge_sequential_state(
    a: Mapping[str, Mapping[str, float]], b: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Two analysis states as one: per key the smaller p-value and the intersection of the intervals (an
    empty intersection keeps ``b``'s, the newer read)."""
    merged = {key: dict(value) for key, value in a.items()}
    for key, new in b.items():
        old = merged.get(key)
        if old is None:
            merged[key] = dict(new)
            continue
        combined = {"p": min(old.get("p", 1.0), new.get("p", 1.0))}
        low = max(old.get("low", -math.inf), new.get("low", -math.inf))
        high = min(old.get("high", math.inf), new.get("high", math.inf))
        if low > high:
            low, high = new.get("low", -math.inf), new.get("high", math.inf)
        if math.isfinite(low):
            combined["low"] = low
        if math.isfinite(high):
            combined["high"] = high
        merged[key] = combined
    return merged


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
    execution = _execution(row, assignment.assigned_at)
    return OrderRecord(assignment, execution)
