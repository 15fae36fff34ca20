"""A/B rows in the store: experiments upserted, decisions logged once, outcomes round-tripped exactly."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from broker_integration.ab_testing.models import (
    ABTestError,
    Experiment,
    ExperimentConfig,
    ExperimentStatus,
    TrafficSplit,
)
from broker_integration.ab_testing.outcomes import Assignment, Execution
from broker_integration.ab_testing.persistence import ABRepository
from broker_integration.models import OrderResult, OrderStatus, PriceTick, UnifiedOrder
from broker_integration.store import AB_ORDERS_TCA_COLUMNS, MIGRATIONS, Store, sqlite_url
from broker_integration.tca import ArrivalSource, measure_execution

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
async def repo(store_url: str) -> ABRepository:
    async with Store(store_url) as store:
        yield ABRepository(store)  # type: ignore[misc]


async def test_experiment_is_inserted_then_updated(repo: ABRepository) -> None:
    config = ExperimentConfig(test_name="t", traffic_splits=(TrafficSplit("a", 50), TrafficSplit("b", 50)))
    experiment = Experiment("ab-1", config, ExperimentStatus.DRAFT, created_at=T0)
    await repo.save_experiment(experiment)
    running = replace(
        experiment, status=ExperimentStatus.RUNNING, started_at=T0, sequential_state={"b|x": {"p": 0.2}}
    )
    await repo.save_experiment(running)
    (loaded,) = await repo.load_experiments()
    assert loaded == running


async def test_a_decision_is_logged_once_and_its_outcome_round_trips(repo: ABRepository) -> None:
    assignment = Assignment(
        test_id="ab-1",
        client_order_id="o-1",
        attempt=0,
        arm="a",
        propensity=0.25,
        probabilities={"a": 0.25, "b": 0.75},
        explore=True,
        sticky_key="acct-1",
        assigned_at=T0,
    )
    await repo.insert_assignment(assignment)
    with pytest.raises(ABTestError, match="already routed"):
        await repo.insert_assignment(assignment)
    assert (await repo.load_records())["ab-1"][0].execution is None  # in flight
    execution = Execution(
        status=OrderStatus.FILLED,
        success=True,
        sent=True,
        error_code=None,
        latency_ms=12.25,
        quote_latency_ms=None,
        requested_quantity=Decimal("1000"),
        filled_quantity=Decimal("1000"),
        average_fill_price=Decimal("1.10020"),
        arrival_bid=None,
        arrival_ask=None,
        commission=Decimal("0.0550"),
        slippage_bps=None,
        spread_cost_bps=None,
        commission_bps=0.4999,
        completed_at=T0,
    )
    await repo.record_execution(assignment, execution)
    (record,) = (await repo.load_records())["ab-1"]
    assert record.assignment == assignment
    assert record.execution == execution


def _assignment(order_id: str) -> Assignment:
    return Assignment(
        test_id="ab-1",
        client_order_id=order_id,
        attempt=0,
        arm="a",
        propensity=0.5,
        probabilities={"a": 0.5, "b": 0.5},
        explore=False,
        sticky_key=None,
        assigned_at=T0,
    )


def _partial_sell() -> Execution:
    """A sell of 5,000 of which 2,000 filled, its rest cancelled while the market fell (see test_tca)."""
    sell = UnifiedOrder(instrument="EUR/USD", side="sell", quantity=Decimal(5_000))
    result = OrderResult(
        success=True,
        status=OrderStatus.CANCELLED,
        filled_quantity=Decimal(2_000),
        average_fill_price=Decimal("1.1999"),
        commission=Decimal("0.05"),
        quote_home_rate=Decimal("1"),
        completed_at=T0,
    )
    arrival = PriceTick(instrument="EUR/USD", bid=Decimal("1.2000"), ask=Decimal("1.2004"), time=T0)
    later = PriceTick(instrument="EUR/USD", bid=Decimal("1.1990"), ask=Decimal("1.1994"), time=T0)
    return measure_execution(sell, result, arrival, end_quote=later)


async def test_the_execution_quality_figures_round_trip_exactly(repo: ABRepository) -> None:
    execution = _partial_sell()
    assert execution.shortfall == Decimal("3.6500")
    assert execution.arrival_source is ArrivalSource.CALL
    await repo.insert_assignment(_assignment("o-1"))
    await repo.record_execution(_assignment("o-1"), execution)
    (record,) = (await repo.load_records())["ab-1"]
    assert record.execution == execution


async def test_a_store_from_before_migration_8_gains_the_columns_and_keeps_its_outcomes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v7.sqlite3"
    async with Store(sqlite_url(path)) as store:
        repo = ABRepository(store)
        await repo.insert_assignment(_assignment("old"))
        await repo.record_execution(_assignment("old"), _partial_sell())
    with sqlite3.connect(path) as conn:  # back to release 0.1's hand-kept schema 7: ab_orders as it was then
        for column in AB_ORDERS_TCA_COLUMNS:
            conn.execute(f'ALTER TABLE ab_orders DROP COLUMN "{column}"')
        for column in ("owner_key", "intent_token"):
            conn.execute(f"ALTER TABLE order_journal DROP COLUMN {column}")
        conn.execute("DROP TABLE rate_limits")
        conn.execute("DROP TABLE alembic_version")
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT, applied_at TEXT)"
        )
        conn.execute("INSERT INTO schema_version VALUES (7, 'order journal: history marker', '2026-01-01')")
    async with Store(sqlite_url(path)) as store:
        assert await store.schema_version() == MIGRATIONS[-1].revision
        repo = ABRepository(store)
        (old,) = (await repo.load_records())["ab-1"]
        assert old.execution is not None
        assert old.execution.slippage_bps == pytest.approx(2.4995834028)  # recorded before: kept
        assert (old.execution.shortfall, old.execution.arrival_source) == (None, None)  # not measured then
        await repo.insert_assignment(_assignment("new"))
        await repo.record_execution(_assignment("new"), _partial_sell())
        records = {r.assignment.client_order_id: r for r in (await repo.load_records())["ab-1"]}
        assert records["new"].execution == _partial_sell()
