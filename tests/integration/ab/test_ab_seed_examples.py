"""The seed's A/B quick start (deterministic mock venues) and its performance-based multi-broker example
(paper venues), run as written."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
from ab_venues import TimedVenue, btc_order, lognormal, order, paper_venue

from broker_integration import BrokerABTestingFramework, RoutingStrategy, TrafficSplit
from broker_integration.ab_testing_framework import Metric, ResultStatus
from broker_integration.clock import ManualClock


async def test_ab_quick_start_as_written() -> None:
    # Deterministic venues (latency drawn from a seeded lognormal on a manual clock): alpaca is 20 % faster.
    clock = ManualClock()
    rng = np.random.default_rng(2024)
    oanda_adapter = TimedVenue(clock, lognormal(rng, 50.0))
    alpaca_adapter = TimedVenue(clock, lognormal(rng, 40.0))
    for adapter in (oanda_adapter, alpaca_adapter):
        await adapter.authenticate()

    ab = BrokerABTestingFramework(clock=clock)
    ab.register_broker_adapter("oanda", oanda_adapter)
    ab.register_broker_adapter("alpaca", alpaca_adapter)
    test_id = ab.create_ab_test(
        test_name="OANDA vs Alpaca execution",
        description="Which broker executes our EUR/USD orders faster, without losing fills?",
        traffic_splits=[TrafficSplit("oanda", 50.0), TrafficSplit("alpaca", 50.0)],
        routing_strategy=RoutingStrategy.HASH_BASED,
    )
    ab.start_test(test_id)
    results = ab.get_test_results(test_id)
    first_significant = None
    for batch in range(12):
        for i in range(50):
            result = await ab.execute_order_with_test(order(batch * 50 + i), test_id)
            assert result.success, result.error
            assert result.arm in ("oanda", "alpaca")
            assert result.assignment_probability == 0.5
        results = ab.get_test_results(test_id)  # reading after every batch is allowed
        if first_significant is None and results.status is ResultStatus.SIGNIFICANT:
            first_significant = results.total_orders
    print(results.winner, results.confidence, f"first significant after {first_significant} orders")
    assert results.status is ResultStatus.SIGNIFICANT
    assert results.winner == "alpaca"
    assert results.confidence is not None
    assert results.confidence > 0.95
    assert results.total_orders == 600
    assert not results.srm.mismatch
    latency = results.comparison("alpaca", Metric.LATENCY_MS)
    assert latency.relative_effect is not None
    assert -0.3 < latency.relative_effect < -0.1
    assert results.recommendations[0].startswith("Prefer alpaca")
    await ab.close()


async def test_multi_broker_execution_with_performance_based_routing() -> None:
    brokers = {
        "oanda": await paper_venue(seed=3, median_ms=6.0, commission={"bps": "4"}),
        "alpaca": await paper_venue(seed=4, median_ms=3.0),  # fast and free: the best
        "ib": await paper_venue(seed=5, median_ms=6.0, spread_multiplier=4.0),
    }
    async with BrokerABTestingFramework(seed=7) as ab:
        for name, adapter in brokers.items():
            ab.register_broker_adapter(name, adapter)
        test_id = ab.create_ab_test(
            test_name="Multi-broker execution",
            description="Send most flow to whichever broker executes best, keep measuring the others.",
            traffic_splits=[
                TrafficSplit("oanda", 40.0),
                TrafficSplit("alpaca", 30.0),
                TrafficSplit("ib", 30.0),
            ],
            routing_strategy=RoutingStrategy.PERFORMANCE_BASED,
            primary_metric=Metric.TOTAL_COST_BPS,
            minimum_sample_size=20,
        )
        ab.start_test(test_id)
        routed: Counter[str] = Counter()
        for batch in range(12):
            orders = [btc_order(batch * 25 + i) for i in range(25)]
            for result in await asyncio.gather(*(ab.execute_order_with_test(o, test_id) for o in orders)):
                assert result.success, result.error
                assert 0 < result.assignment_probability <= 1
                if batch >= 6:
                    routed[result.arm] += 1
        results = ab.get_test_results(test_id)
    alpaca = results.arm("alpaca")
    assert routed.most_common(1)[0][0] == "alpaca"  # traffic moved to the best broker
    assert alpaca.p_best is not None
    assert alpaca.p_best > 0.8
    assert alpaca.allocation is not None
    assert alpaca.allocation > 0.6
    for arm in results.arms:  # the floor and exploration slice keep every broker measured
        assert arm.allocation is not None
        assert arm.allocation >= 0.1 / 3
        assert Metric.TOTAL_COST_BPS in arm.corrected
    assert results.arm("oanda").metrics[Metric.COMMISSION_BPS].estimate > 3.9
    assert (
        results.arm("ib").metrics[Metric.SPREAD_COST_BPS].estimate
        > 3 * alpaca.metrics[Metric.SPREAD_COST_BPS].estimate
    )
    assert not results.srm.mismatch
    assert results.total_orders == 300
    # The verdict reads the orders routed at random (warm-up and uniform share), never the adaptive rest.
    assert all(c.test.name == "msprt_mean" for c in results.comparisons if c.metric is Metric.TOTAL_COST_BPS)
    for c in results.comparisons:
        assert c.test.n_a <= results.arm(c.control).randomised_orders
        assert c.test.n_b <= results.arm(c.arm).randomised_orders
    assert alpaca.randomised_orders < alpaca.orders
    assert results.winner == "alpaca"
