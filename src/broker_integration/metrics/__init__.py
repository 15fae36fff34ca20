"""Broker performance metrics: collection, comparison with recommendations, benchmarks, alerts, exports.

Quick start::

    collector = PerformanceMetricsCollector()
    collector.register_broker("oanda", oanda_adapter)
    collector.register_broker("paper", paper_adapter)
    await collector.start_collection()
    ...  # trade through the adapters
    comparison = await collector.compare_brokers(["oanda", "paper"], ComparisonPeriod.LAST_HOUR)
    print(comparison.winner)
    for r in comparison.recommendations:
        print(r)
    await collector.stop_collection()

Pass ``store=Store(...)`` to keep the minute buckets across restarts. The parts are modules of
this package; every public name is importable from here (imported on first use, so importing the
package stays light).
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

_SOURCES = {
    "ARRIVAL_MID_KEY": "broker_integration.metrics.recorder",
    "AlertEngine": "broker_integration.metrics.alerts",
    "AlertEvent": "broker_integration.metrics.alerts",
    "AlertInputs": "broker_integration.metrics.alerts",
    "AlertRule": "broker_integration.metrics.alerts",
    "AlertSeverity": "broker_integration.metrics.alerts",
    "AlertState": "broker_integration.metrics.alerts",
    "BenchmarkReport": "broker_integration.metrics.benchmark",
    "BreakerRule": "broker_integration.metrics.alerts",
    "BrokerComparison": "broker_integration.metrics.comparison",
    "BrokerHealth": "broker_integration.metrics.health",
    "BrokerMetrics": "broker_integration.metrics.summary",
    "ComparisonPeriod": "broker_integration.metrics.periods",
    "ComparisonSettings": "broker_integration.metrics.comparison",
    "ComparisonWeights": "broker_integration.metrics.scoring",
    "Condition": "broker_integration.metrics.alerts",
    "CostMetrics": "broker_integration.metrics.summary",
    "CustomPeriod": "broker_integration.metrics.periods",
    "DimensionTest": "broker_integration.metrics.significance",
    "ErrorRateRule": "broker_integration.metrics.alerts",
    "ExportSnapshot": "broker_integration.metrics.export",
    "FillMetrics": "broker_integration.metrics.summary",
    "HealthRule": "broker_integration.metrics.alerts",
    "LatencyRule": "broker_integration.metrics.alerts",
    "LatencySummary": "broker_integration.metrics.histograms",
    "MetricsServer": "broker_integration.metrics.prometheus",
    "OperationMetrics": "broker_integration.metrics.summary",
    "OperationResult": "broker_integration.metrics.benchmark",
    "OrderRateRule": "broker_integration.metrics.alerts",
    "OrderSizeMonitor": "broker_integration.metrics.alerts",
    "PerformanceMetricsCollector": "broker_integration.metrics.collector",
    "RELATIVE_ERROR": "broker_integration.metrics.histograms",
    "ReliabilityMetrics": "broker_integration.metrics.summary",
    "ThroughputMetrics": "broker_integration.metrics.summary",
    "ThroughputResult": "broker_integration.metrics.benchmark",
    "default_operations": "broker_integration.metrics.benchmark",
    "default_rules": "broker_integration.metrics.alerts",
    "run_benchmark": "broker_integration.metrics.benchmark",
    "start_metrics_server": "broker_integration.metrics.prometheus",
}
__getattr__ = lazy_exports(__name__, _SOURCES)

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
