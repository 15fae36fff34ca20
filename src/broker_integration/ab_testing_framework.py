"""The A/B-testing names under the module name the design and the seed use.

The implementation lives in :mod:`broker_integration.ab_testing`; this module re-exports its public API.
"""

from broker_integration.ab_testing import (
    METRICS,
    ABOrderResult,
    ABTestConfigError,
    ABTestError,
    ArmSummary,
    BrokerABTestingFramework,
    Comparison,
    Execution,
    Experiment,
    ExperimentConfig,
    ExperimentStatus,
    Metric,
    PerformanceRouting,
    ResultStatus,
    RoutingStrategy,
    TestResults,
    TrafficSplit,
    measure_execution,
)

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
