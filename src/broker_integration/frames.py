"""pandas DataFrames of what the library returns: candles, orders, positions, quotes, results, metrics,
broker comparisons and A/B results. Needs the ``[pandas]`` extra (``pip install 'broker-integration[pandas]'``);
pandas is imported when a frame is made, never with the package.

:func:`to_dataframe` takes any of them:

    candles = await adapter.get_historical_data("EUR/USD", Granularity.M1, count=500)
    frame = to_dataframe(candles)                  # indexed by time: open, high, low, close, volume, ...
    to_dataframe(await adapter.get_positions())    # indexed by instrument
    to_dataframe(comparison)                       # one row per broker, in ranking order
    to_dataframe(ab.get_test_results(test_id))     # one row per arm

Money stays :class:`~decimal.Decimal` (an ``object`` column), exact as everywhere in the library;
``floats=True`` turns every Decimal column into ``float64`` for plotting and statistics. Enums become their
values; nested figures become dotted columns (``cost.avg_slippage_bps``, ``metrics.latency_ms.estimate``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import pandas as pd

    from broker_integration.ab_testing.models import TestResults
    from broker_integration.metrics.comparison import BrokerComparison
    from broker_integration.metrics.summary import BrokerMetrics

__all__ = [
    "ab_results_frame",
    "comparison_frame",
    "metrics_frame",
    "records_frame",
    "to_dataframe",
]

#: The column a list of each model type is indexed by (models not named here get a plain range index).
_INDEX_BY_TYPE = {
    "Candle": "time",
    "PriceTick": "instrument",
    "Order": "broker_order_id",
    "Position": "instrument",
    "Instrument": "symbol",
    "Account": "account_id",
}


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("DataFrames need pandas: pip install 'broker-integration[pandas]'") from exc
    return pandas


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """``value`` as one level of ``dotted.name → leaf``; enums become their values, money stays Decimal."""
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key.value if isinstance(key, Enum) else str(key)
            out.update(_flat(item, f"{prefix}{name}."))
        return out
    leaf = value.value if isinstance(value, Enum) else value
    return {prefix.rstrip("."): leaf}


def _frame(rows: list[dict[str, Any]], index: str | None, *, floats: bool) -> pd.DataFrame:
    pd = _pandas()
    frame = pd.DataFrame.from_records(rows)
    if floats:
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, Decimal)).any():
                frame[column] = frame[column].map(lambda v: float(v) if isinstance(v, Decimal) else v)
                frame[column] = frame[column].astype("float64")
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame


def records_frame(items: Iterable[BaseModel], *, floats: bool = False) -> pd.DataFrame:
    """One row per model (candles, orders, positions, quotes, order results, instruments, accounts), its
    fields as columns; candles are indexed by time, orders by broker order id, positions by instrument."""
    listed = list(items)
    index = _INDEX_BY_TYPE.get(type(listed[0]).__name__) if listed else None
    return _frame([_flat(item) for item in listed], index, floats=floats)


def metrics_frame(
    metrics: BrokerMetrics | Mapping[str, BrokerMetrics] | Iterable[BrokerMetrics], *, floats: bool = False
) -> pd.DataFrame:
    """One row per broker: throughput, reliability, cost and fill figures as dotted columns (the latency of
    each operation as ``operations.<name>.latency.p99_ms`` ...), indexed by broker."""
    from broker_integration.metrics.summary import BrokerMetrics

    if isinstance(metrics, BrokerMetrics):
        listed = [metrics]
    elif isinstance(metrics, Mapping):
        listed = list(metrics.values())
    else:
        listed = list(metrics)
    return _frame([_flat(m) for m in listed], "broker", floats=floats)


def comparison_frame(comparison: BrokerComparison, *, floats: bool = False) -> pd.DataFrame:
    """One row per broker in ranking order: ``rank``, ``winner``, ``score`` (0-100) and one
    ``score.<dimension>`` per dimension, then the broker's figures over the compared window."""
    figures = metrics_frame([comparison.metrics[name] for name in comparison.ranking], floats=floats)
    scores = _frame(
        [
            {
                "broker": name,
                "rank": rank,
                "winner": name == comparison.winner,
                "score": comparison.overall[name],
                **{f"score.{dimension}": value for dimension, value in comparison.scores[name].items()},
            }
            for rank, name in enumerate(comparison.ranking, start=1)
        ],
        "broker",
        floats=floats,
    )
    return scores.join(figures)


def ab_results_frame(results: TestResults, *, floats: bool = False) -> pd.DataFrame:
    """One row per arm of an A/B test: orders, shares, each metric's estimate and interval (raw and
    inverse-propensity corrected), latency quantiles and the probability of being best, indexed by arm."""
    return _frame([_flat(arm) for arm in results.arms], "arm", floats=floats)


def _is(value: Any, module: str, name: str) -> bool:
    """``isinstance(value, module.name)`` without importing ``module``: a value of that type means the
    module is loaded already, so the heavy ones (metrics, A/B) are never imported just to ask."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(value, getattr(loaded, name))


def to_dataframe(value: Any, *, floats: bool = False) -> pd.DataFrame:
    """A DataFrame of ``value``: a list of models (:func:`records_frame`), a mapping of quotes
    (``get_current_prices``), broker metrics (:func:`metrics_frame`), a broker comparison
    (:func:`comparison_frame`) or A/B test results (:func:`ab_results_frame`)."""
    if _is(value, "broker_integration.metrics.comparison", "BrokerComparison"):
        return comparison_frame(value, floats=floats)
    if _is(value, "broker_integration.ab_testing.models", "TestResults"):
        return ab_results_frame(value, floats=floats)
    if _is(value, "broker_integration.metrics.summary", "BrokerMetrics"):
        return metrics_frame(value, floats=floats)
    if isinstance(value, BaseModel):
        return records_frame([value], floats=floats)
    if isinstance(value, Mapping):
        items = list(value.values())
        if items and all(_is(item, "broker_integration.metrics.summary", "BrokerMetrics") for item in items):
            return metrics_frame(items, floats=floats)
        value = items
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        listed = list(value)
        if all(isinstance(item, BaseModel) for item in listed):
            return records_frame(listed, floats=floats)
    raise TypeError(
        f"no DataFrame for {type(value).__name__}: give a list of models (candles, orders, positions, quotes, results), "
        "broker metrics, a broker comparison or A/B test results"
    )
