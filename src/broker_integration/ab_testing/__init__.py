"""A/B testing of brokers: split order flow across brokers as an experiment and read it soundly.

* :class:`BrokerABTestingFramework` registers brokers, runs experiments and routes orders through them.
* :class:`TrafficSplit` and :class:`RoutingStrategy` describe the split and how orders are assigned.
* :class:`TestResults` (from ``get_test_results``) carries per-arm figures, comparisons, a verdict and
  recommendations; the statistics are :mod:`broker_integration.stats`.
"""

from broker_integration.ab_testing.framework import BrokerABTestingFramework
from broker_integration.ab_testing.models import (
    METRICS,
    ABOrderResult,
    ABTestConfigError,
    ABTestError,
    ArmSummary,
    Comparison,
    Experiment,
    ExperimentConfig,
    ExperimentStatus,
    Metric,
    PerformanceRouting,
    ResultStatus,
    RoutingStrategy,
    TestResults,
    TrafficSplit,
)
from broker_integration.ab_testing.outcomes import Execution, measure_execution

__all__ = [
    "METRICS",
    "ABOrderResult",
    "ABTestConfigError",
    "ABTestError",
    "ArmSummary",
    "BrokerABTestingFramework",
    "Comparison",
    "Execution",
    "Experiment",
    "ExperimentConfig",
    "ExperimentStatus",
    "Metric",
    "PerformanceRouting",
    "ResultStatus",
    "RoutingStrategy",
    "TestResults",
    "TrafficSplit",
    "measure_execution",
]
