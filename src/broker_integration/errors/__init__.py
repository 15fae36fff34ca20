"""One set of error codes for every broker, the exceptions that carry them, and the mapping onto them.

Every failure that leaves an adapter is a :class:`BrokerError` whose ``error`` is a
:class:`StandardizedError`: a standard code (:class:`StandardErrorCode`), the broker's own code and
message, the HTTP status, what to do about it, and whether repeating the call can help. Transient errors
(network, rate limits, outages) are separated from permanent ones (a refused order), as CCXT separates
network from exchange errors.

The parts, all importable from here (the underscored modules behind them are private):

* codes: :class:`StandardErrorCode`, :data:`DEFAULT_SUGGESTED_ACTIONS`, :data:`TRANSIENT_CODES`,
  :data:`AMBIGUOUS_CODES`, :func:`is_retryable_code`, :func:`is_ambiguous`;
* the error value and its exceptions: :class:`StandardizedError`, :func:`make_error`, :class:`BrokerError`
  and one subclass per code, :func:`error_class_for`, :func:`raise_error`;
* secrets: :func:`mask_secrets`, :func:`is_secret_key`, :func:`describe_validation_error`;
* exceptions from outside the library (timeouts, sockets, HTTP clients): :func:`classify_exception`;
* mapping a broker's errors: :class:`ErrorMappingTable` (a broker's errors as data: exact codes, message
  patterns, HTTP status), registered per broker (:func:`register_error_table`), looked up by
  :func:`resolve_error_mapping` and turned into an error by :func:`map_broker_error`; an HTTP response by
  :func:`map_http_error`, with :func:`parse_retry_after`; errors no table knows are counted
  (:func:`unmapped_error_counts`);
* analysis of a run: :class:`ErrorAnalyzer` counts every call's outcome per broker, operation and code
  and reports rates, spikes (:class:`SpikeRule`) and repeats (:class:`ErrorReport`).

Each broker's table lives in its own folder (``broker_integration.adapters.oanda.errors``), named in
:data:`BUILTIN_ERROR_TABLES` and imported on its first lookup; :data:`HTTP_ERROR_TABLE` is the generic
fallback every lookup ends with. :mod:`broker_integration.errors.cli` is the ``broker-integration errors``
command (map a code, list the tables, analyse an exported run).
"""

from typing import TYPE_CHECKING

from broker_integration.errors._classify import classify_exception
from broker_integration.errors._codes import (
    AMBIGUOUS_CODES,
    DEFAULT_SUGGESTED_ACTIONS,
    TRANSIENT_CODES,
    StandardErrorCode,
    is_ambiguous,
    is_retryable_code,
)
from broker_integration.errors._exceptions import (
    AuthenticationError,
    BrokerConnectionError,
    BrokerError,
    BrokerTimeoutError,
    DuplicateOrderError,
    InsufficientFundsError,
    InvalidInstrumentError,
    InvalidOrderError,
    MarketClosedError,
    OrderNotFoundError,
    OutcomeUnknownError,
    PermanentBrokerError,
    PermissionDeniedError,
    PositionNotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    TransientBrokerError,
    UnknownBrokerError,
    UnsupportedOperationError,
    error_class_for,
    raise_error,
)
from broker_integration.errors._http import map_http_error
from broker_integration.errors._mapping import map_broker_error, resolve_error_mapping
from broker_integration.errors._masking import MASK, describe_validation_error, is_secret_key, mask_secrets
from broker_integration.errors._model import StandardizedError, make_error
from broker_integration.errors._registry import (
    BUILTIN_ERROR_TABLES,
    GENERIC_TABLE_NAME,
    get_error_table,
    register_error_table,
    registered_error_tables,
    unregister_error_table,
)
from broker_integration.errors._retry_after import parse_retry_after
from broker_integration.errors._table import (
    ErrorMappingTable,
    ErrorMatch,
    ErrorRule,
    MappingRow,
    MatchSource,
    PatternRule,
)
from broker_integration.errors._unmapped import reset_unmapped_error_counts, unmapped_error_counts
from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.errors._analysis import (
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
    from broker_integration.errors._http_table import HTTP_ERROR_TABLE

#: Names imported on first use. The analysis follows the event bus, whose events carry these errors, so
#: importing it here would make this package and the bus import each other; the generic table, like every
#: built-in table, is built when a lookup first needs it.
_ANALYSIS_NAMES = (
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
)

__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(_ANALYSIS_NAMES, "broker_integration.errors._analysis"),
        "HTTP_ERROR_TABLE": "broker_integration.errors._http_table",
    },
)

__all__ = [
    "AMBIGUOUS_CODES",
    "BUILTIN_ERROR_TABLES",
    "DEFAULT_SUGGESTED_ACTIONS",
    "EXPORT_FORMAT",
    "GENERIC_TABLE_NAME",
    "HTTP_ERROR_TABLE",
    "MASK",
    "TRANSIENT_CODES",
    "ActionCount",
    "AuthenticationError",
    "BrokerConnectionError",
    "BrokerError",
    "BrokerErrorStats",
    "BrokerTimeoutError",
    "CodeCount",
    "DuplicateOrderError",
    "ErrorAnalyzer",
    "ErrorMappingTable",
    "ErrorMatch",
    "ErrorReport",
    "ErrorRule",
    "ErrorSpike",
    "InsufficientFundsError",
    "InvalidInstrumentError",
    "InvalidOrderError",
    "JsonlLoadResult",
    "MappingRow",
    "MarketClosedError",
    "MatchSource",
    "OperationErrorStats",
    "OrderNotFoundError",
    "OutcomeUnknownError",
    "PatternRule",
    "PermanentBrokerError",
    "PermissionDeniedError",
    "PositionNotFoundError",
    "RateLimitedError",
    "RepeatedError",
    "ServiceUnavailableError",
    "SpikeRule",
    "StandardErrorCode",
    "StandardizedError",
    "TimelineBucket",
    "TransientBrokerError",
    "UnknownBrokerError",
    "UnmappedCount",
    "UnsupportedOperationError",
    "classify_exception",
    "describe_validation_error",
    "error_class_for",
    "get_error_table",
    "is_ambiguous",
    "is_retryable_code",
    "is_secret_key",
    "make_error",
    "map_broker_error",
    "map_http_error",
    "mask_secrets",
    "parse_retry_after",
    "raise_error",
    "register_error_table",
    "registered_error_tables",
    "reset_unmapped_error_counts",
    "resolve_error_mapping",
    "unmapped_error_counts",
    "unregister_error_table",
]
