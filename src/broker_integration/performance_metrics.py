"""Broker performance metrics: collection, comparison with recommendations, benchmarks, alerts, exports.

Quick start::

    collector = PerformanceMetricsCollector()
    collector.register_broker("oanda", oanda_adapter)
    collector.register_broker("alpaca", alpaca_adapter)
    await collector.start_collection()
    ...  # trade through the adapters
    comparison = await collector.compare_brokers(["oanda", "alpaca"], ComparisonPeriod.LAST_HOUR)
    print(comparison.winner)
    for r in comparison.recommendations:
        print(r)
    await collector.stop_collection()

Pass ``store=Store(...)`` to keep the minute buckets across restarts. The parts live in
:mod:`broker_integration.metrics`.
"""

from broker_integration.metrics.alerts import (
    AlertEngine,
    AlertEvent,
    AlertInputs,
    AlertRule,
    AlertSeverity,
    AlertState,
    BreakerRule,
    Condition,
    ErrorRateRule,
    HealthRule,
    LatencyRule,
    OrderRateRule,
    OrderSizeMonitor,
    default_rules,
)
from broker_integration.metrics.benchmark import (
    BenchmarkReport,
    OperationResult,
    ThroughputResult,
    default_operations,
    run_benchmark,
)
from broker_integration.metrics.collector import PerformanceMetricsCollector
from broker_integration.metrics.comparison import BrokerComparison, ComparisonSettings
from broker_integration.metrics.export import ExportSnapshot
from broker_integration.metrics.health import BrokerHealth
from broker_integration.metrics.histograms import RELATIVE_ERROR, LatencySummary
from broker_integration.metrics.periods import ComparisonPeriod, CustomPeriod
from broker_integration.metrics.prometheus import MetricsServer, start_metrics_server
from broker_integration.metrics.recorder import ARRIVAL_MID_KEY
from broker_integration.metrics.scoring import ComparisonWeights
from broker_integration.metrics.significance import DimensionTest
from broker_integration.metrics.summary import (
    BrokerMetrics,
    CostMetrics,
    FillMetrics,
    OperationMetrics,
    ReliabilityMetrics,
    ThroughputMetrics,
)

__all__ = [
    "ARRIVAL_MID_KEY",
    "RELATIVE_ERROR",
    "AlertEngine",
    "AlertEvent",
    "AlertInputs",
    "AlertRule",
    "AlertSeverity",
    "AlertState",
    "BenchmarkReport",
    "BreakerRule",
    "BrokerComparison",
    "BrokerHealth",
    "BrokerMetrics",
    "ComparisonPeriod",
    "ComparisonSettings",
    "ComparisonWeights",
    "Condition",
    "CostMetrics",
    "CustomPeriod",
    "DimensionTest",
    "ErrorRateRule",
    "ExportSnapshot",
    "FillMetrics",
    "HealthRule",
    "LatencyRule",
    "LatencySummary",
    "MetricsServer",
    "OperationMetrics",
    "OperationResult",
    "OrderRateRule",
    "OrderSizeMonitor",
    "PerformanceMetricsCollector",
    "ReliabilityMetrics",
    "ThroughputMetrics",
    "ThroughputResult",
    "default_operations",
    "default_rules",
    "run_benchmark",
    "start_metrics_server",
]
