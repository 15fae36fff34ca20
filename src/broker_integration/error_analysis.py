"""Error analysis moved to :mod:`broker_integration.errors`; this module keeps the old import path working."""

from broker_integration.errors import (
    EXPORT_FORMAT,
    ActionCount,
    BrokerErrorStats,
    CodeCount,
    ErrorAnalyzer,
    ErrorReport,
    ErrorSpike,
    JsonlLoadResult,
    OperationErrorStats,
    RepeatedError,
    SpikeRule,
    TimelineBucket,
    UnmappedCount,
)

__all__ = [
    "EXPORT_FORMAT",
    "ActionCount",
    "BrokerErrorStats",
    "CodeCount",
    "ErrorAnalyzer",
    "ErrorReport",
    "ErrorSpike",
    "JsonlLoadResult",
    "OperationErrorStats",
    "RepeatedError",
    "SpikeRule",
    "TimelineBucket",
    "UnmappedCount",
]
