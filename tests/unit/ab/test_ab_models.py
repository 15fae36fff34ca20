"""Experiment configuration: validated at construction, with clear messages; the life-cycle rules."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest
from pydantic import ValidationError

from broker_integration import stats
from broker_integration.ab_testing import BrokerABTestingFramework
from broker_integration.ab_testing.models import (
    ABOrderResult,
    ABTestConfigError,
    ExperimentConfig,
    ExperimentStatus,
    Metric,
    PerformanceRouting,
    RoutingStrategy,
    TrafficSplit,
)
from broker_integration.models import OrderResult, OrderStatus


def splits(*shares: float) -> tuple[TrafficSplit, ...]:
    return tuple(TrafficSplit(f"b{i}", s) for i, s in enumerate(shares))


def test_traffic_split_is_positional_and_validated() -> None:
    assert TrafficSplit("oanda", 50.0) == TrafficSplit(broker_name="oanda", percentage=50.0)
    with pytest.raises(ABTestConfigError, match="percentage"):
        TrafficSplit("oanda", 0.0)
    with pytest.raises(ABTestConfigError, match="broker name"):
        TrafficSplit("", 50.0)


@pytest.mark.parametrize(
    ("shares", "message"),
    [((50.0, 40.0), "add up to 100"), ((100.0,), "at least two arms")],
)
def test_splits_must_sum_to_100_over_two_arms(shares: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ExperimentConfig(test_name="t", traffic_splits=splits(*shares))


def test_duplicate_arms_and_unknown_control_are_refused() -> None:
    with pytest.raises(ValidationError, match="one split only"):
        ExperimentConfig(test_name="t", traffic_splits=(TrafficSplit("a", 50), TrafficSplit("a", 50)))
    with pytest.raises(ValidationError, match="control"):
        ExperimentConfig(test_name="t", traffic_splits=splits(50, 50), control="zz")


def test_defaults_and_derived_values() -> None:
    config = ExperimentConfig(
        test_name="t",
        traffic_splits=splits(20, 30, 50),
        guardrail_metrics=[Metric.LATENCY_MS, Metric.SUCCESS_RATE, "success_rate"],
    )
    assert config.control_arm == "b0"
    assert config.weights == {"b0": 0.2, "b1": 0.3, "b2": 0.5}
    assert config.guardrail_metrics == (Metric.SUCCESS_RATE,)  # the primary and repeats are dropped
    assert config.decision_metrics == (Metric.LATENCY_MS, Metric.SUCCESS_RATE)
    assert len(config.salt) == 16
    assert config.salt != ExperimentConfig(test_name="t", traffic_splits=splits(50, 50)).salt
    again = ExperimentConfig.model_validate_json(config.model_dump_json())
    assert again == config


def test_performance_weights_must_add_up_to_one() -> None:
    with pytest.raises(ValidationError, match="add up to 1"):
        PerformanceRouting(success_weight=0.5, latency_weight=0.5, cost_weight=0.5)


def test_weight_floors_must_leave_something_to_allocate() -> None:
    """Three arms floored at 0.4 would need 120 % of the traffic: refused, for adaptive routing only."""
    floored = PerformanceRouting(weight_floor=0.4)
    with pytest.raises(ValidationError, match=r"weight_floor 0.4 times 3 arms .* below 0.3333"):
        ExperimentConfig(
            test_name="t",
            traffic_splits=splits(40, 30, 30),
            routing_strategy=RoutingStrategy.PERFORMANCE_BASED,
            performance=floored,
        )
    ExperimentConfig(test_name="t", traffic_splits=splits(40, 30, 30), performance=floored)  # hash: unused
    ExperimentConfig(
        test_name="t",
        traffic_splits=splits(50, 50),
        routing_strategy=RoutingStrategy.PERFORMANCE_BASED,
        performance=floored,
    )


def test_sequential_tuning_has_one_default() -> None:
    config = ExperimentConfig(test_name="t", traffic_splits=splits(50, 50))
    assert config.sequential_tuning_n == stats.DEFAULT_SEQUENTIAL_TUNING_N == 1000
    defaults = inspect.signature(BrokerABTestingFramework.create_ab_test).parameters
    assert defaults["sequential_tuning_n"].default == stats.DEFAULT_SEQUENTIAL_TUNING_N
    assert inspect.signature(stats.always_valid_mean_difference).parameters["tuning_n"].default == 1000


def test_status_moves() -> None:
    assert ExperimentStatus.DRAFT.can_move_to(ExperimentStatus.RUNNING)
    assert ExperimentStatus.PAUSED.can_move_to(ExperimentStatus.RUNNING)
    assert not ExperimentStatus.DRAFT.can_move_to(ExperimentStatus.PAUSED)
    assert not ExperimentStatus.STOPPED.can_move_to(ExperimentStatus.RUNNING)
    assert ExperimentStatus.COMPLETED.is_final


def test_ab_order_result_is_an_order_result() -> None:
    result = ABOrderResult(
        success=True,
        status=OrderStatus.FILLED,
        filled_quantity=Decimal(1),
        average_fill_price=Decimal("1.1"),
        test_id="ab-1",
        arm="a",
        executed_arm="b",
        assignment_probability=0.5,
        failover_from="a",
    )
    assert isinstance(result, OrderResult)
    assert result.failed_over
