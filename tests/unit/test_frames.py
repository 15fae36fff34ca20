"""DataFrames of what the library returns, from a real paper broker's answers, a real metrics collector's
comparison and a real A/B test's results; pandas is imported only when a frame is made."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import pytest

from broker_integration import (
    BrokerABTestingFramework,
    BrokerFactory,
    ComparisonPeriod,
    Granularity,
    OrderResult,
    PerformanceMetricsCollector,
    TrafficSplit,
    UnifiedOrder,
)
from broker_integration.ab_testing.models import TestResults
from broker_integration.frames import to_dataframe
from broker_integration.metrics.comparison import BrokerComparison
from broker_integration.models import Candle, Order, Position, PriceTick


def paper(name: str, seed: int, median_ms: float) -> dict[str, object]:
    return {
        "broker_name": name,
        "adapter": "paper",
        "options": {"seed": seed, "enforce_trading_hours": False, "latency": {"median_ms": median_ms}},
    }


@dataclass
class Session:
    candles: list[Candle]
    orders: list[Order]
    positions: list[Position]
    quotes: dict[str, PriceTick]
    results: list[OrderResult]
    comparison: BrokerComparison
    ab: TestResults


@pytest.fixture(scope="module")
def session() -> Session:
    import asyncio

    async def run() -> Session:
        factory = BrokerFactory(discover_plugins=False)
        fast = await factory.create_adapter("paper", paper("fast", 1, 0.2))
        slow = await factory.create_adapter("paper", paper("slow", 1, 3.0))
        collector = PerformanceMetricsCollector()
        collector.register_broker("fast", fast)
        collector.register_broker("slow", slow)
        ab = BrokerABTestingFramework(seed=3)
        ab.register_broker_adapter("fast", fast)
        ab.register_broker_adapter("slow", slow)
        test_id = ab.create_ab_test(
            "frames", traffic_splits=[TrafficSplit("fast", 50.0), TrafficSplit("slow", 50.0)]
        )
        results = []
        for i in range(40):
            side = "buy" if i % 3 else "sell"
            order = UnifiedOrder(instrument="EUR/USD", side=side, quantity=Decimal(1000))
            results.append(await ab.execute_order_with_test(order, test_id))
        # One unit more at "fast", so it holds a position however the test routed (equal buys and sells
        # there would leave none).
        await fast.place_order(UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1)))
        found = Session(
            candles=await fast.get_historical_data("EUR/USD", Granularity.M5, count=12),
            orders=await fast.get_orders(include_closed=True),
            positions=await fast.get_positions(),
            quotes=await fast.get_current_prices(["EUR/USD", "GBP/USD"]),
            results=results,
            comparison=await collector.compare_brokers(["fast", "slow"], ComparisonPeriod.LAST_HOUR),
            ab=ab.get_test_results(test_id),
        )
        await ab.close()
        await collector.close()
        await factory.close_all()
        return found

    return asyncio.run(run())


def test_importing_the_module_does_not_import_pandas() -> None:
    code = "import sys, broker_integration.frames; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_candles_are_indexed_by_time_with_exact_prices(session: Session) -> None:
    frame = to_dataframe(session.candles)
    assert frame.index.name == "time"
    assert list(frame.index) == [c.time for c in session.candles]
    assert {"open", "high", "low", "close", "volume", "granularity"} <= set(frame.columns)
    assert frame["close"].iloc[-1] == session.candles[-1].close  # a Decimal, exact
    assert isinstance(frame["close"].iloc[0], Decimal)
    assert set(frame["granularity"]) == {"M5"}  # enums as their values
    floats = to_dataframe(session.candles, floats=True)
    assert floats["close"].dtype == "float64"
    assert floats["close"].iloc[-1] == pytest.approx(float(session.candles[-1].close))
    assert floats["volume"].dtype.kind == "i"  # not money: left as it is


def test_orders_positions_quotes_and_results(session: Session) -> None:
    orders = to_dataframe(session.orders)
    assert orders.index.name == "broker_order_id"
    assert len(orders) == len(session.orders) > 0
    assert set(orders["status"]) <= {"filled", "partially_filled", "rejected", "cancelled", "pending"}
    positions = to_dataframe(session.positions)
    assert list(positions.index) == [p.instrument for p in session.positions]
    assert positions.loc["EUR/USD", "quantity"] == session.positions[0].quantity
    quotes = to_dataframe(session.quotes)
    assert set(quotes.index) == {"EUR/USD", "GBP/USD"}
    assert (quotes["ask"] > quotes["bid"]).all()
    results = to_dataframe(session.results)
    assert len(results) == 40
    assert results["success"].all()
    assert set(results["delivery"]) == {"sent"}
    assert set(results["arm"]) == {"fast", "slow"}  # an A/B result's routing, as columns


def test_a_comparison_is_one_row_per_broker_in_ranking_order(session: Session) -> None:
    comparison = session.comparison
    frame = to_dataframe(comparison)
    assert list(frame.index) == comparison.ranking
    assert list(frame["rank"]) == [1, 2]
    assert frame.loc[comparison.ranking[0], "score"] == comparison.overall[comparison.ranking[0]]
    assert {f"score.{d}" for d in comparison.scores[comparison.ranking[0]]} <= set(frame.columns)
    assert frame["reliability.calls"].sum() == sum(m.calls for m in comparison.metrics.values())
    p99 = "operations.place_order.latency.p99_ms"
    assert frame.loc["slow", p99] > frame.loc["fast", p99]  # the slow venue is slower
    assert frame["winner"].sum() == (1 if comparison.winner else 0)
    assert isinstance(frame.loc["fast", "cost.notional"], Decimal)
    metrics = to_dataframe(comparison.metrics)
    assert list(metrics.index) == list(comparison.metrics)


def test_ab_results_are_one_row_per_arm(session: Session) -> None:
    frame = to_dataframe(session.ab)
    assert set(frame.index) == {"fast", "slow"}
    assert frame["orders"].sum() == session.ab.total_orders == 40
    assert "metrics.latency_ms.estimate" in frame.columns
    assert frame.loc["fast", "is_control"]


def test_anything_else_is_refused_with_what_is_accepted() -> None:
    with pytest.raises(TypeError, match="no DataFrame for int: give a list of models"):
        to_dataframe(3)
    assert isinstance(to_dataframe([]), pd.DataFrame)
