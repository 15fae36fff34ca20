"""A/B rows in the store: experiments upserted, decisions logged once, outcomes round-tripped exactly."""

from __future__ import annotations

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
from broker_integration.models import OrderStatus
from broker_integration.store import Store, sqlite_url

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
async def repo(tmp_path: Path) -> ABRepository:
    async with Store(sqlite_url(tmp_path / "ab.sqlite3")) as store:
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
