"""Price streaming, latency and injected faults on the paper broker."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable
from decimal import Decimal
from typing import cast

import pytest

from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.clock import ManualClock
from broker_integration.errors import (
    BrokerConnectionError,
    InvalidInstrumentError,
    RateLimitedError,
    StandardErrorCode,
)
from broker_integration.events import CallEvent
from broker_integration.models import HealthState, OrderStatus, PriceTick, UnifiedOrder
from broker_integration.sim import Fault, FaultKind


def stream(adapter: PaperBrokerAdapter, *symbols: str) -> AsyncGenerator[PriceTick, None]:
    return cast(AsyncGenerator[PriceTick, None], adapter.stream_prices(list(symbols)))


def market(**fields: object) -> UnifiedOrder:
    return UnifiedOrder.model_validate(
        {"instrument": "EUR/USD", "side": "buy", "quantity": Decimal(1_000), **fields}
    )


# ------------------------------------------------------------------------------------ streams


async def test_stream_yields_quotes_as_they_change_and_closes_cleanly(
    adapter: PaperBrokerAdapter, clock: ManualClock, events: list[CallEvent]
) -> None:
    ticks: list[PriceTick] = []
    async with contextlib.aclosing(stream(adapter, "EUR/USD", "btc_usd")) as prices:
        async with asyncio.timeout(5):
            async for tick in prices:
                ticks.append(tick)
                if len(ticks) == 2:
                    clock.advance(5)  # the consumer waits; the venue's prices move on
                if len(ticks) == 4:
                    break
    assert [t.instrument for t in ticks] == ["EUR/USD", "BTC/USD", "EUR/USD", "BTC/USD"]
    assert ticks[0].time == ticks[1].time
    assert (ticks[2].time - ticks[0].time).total_seconds() == 5
    assert ticks[2] == await adapter.get_current_price("EUR/USD")
    (event,) = [e for e in events if e.operation == "stream_prices"]
    assert event.success
    assert event.detail["ticks"] == 4


async def test_stream_is_quiet_while_prices_stand_still_and_ends_on_disconnect(
    adapter: PaperBrokerAdapter, clock: ManualClock
) -> None:
    received: list[PriceTick] = []

    async def consume() -> None:
        async for tick in stream(adapter, "BTC/USD"):
            received.append(tick)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)  # dozens of polls at 1 ms, but the manual clock has not moved
    assert len(received) == 1
    clock.advance(5)
    await asyncio.sleep(0.05)
    assert len(received) == 2
    await adapter.disconnect()
    await asyncio.wait_for(consumer, timeout=1)  # the stream ends by itself
    assert consumer.done()
    assert consumer.exception() is None


async def test_stream_of_an_unknown_instrument_fails_at_once(
    adapter: PaperBrokerAdapter, events: list[CallEvent]
) -> None:
    with pytest.raises(InvalidInstrumentError):
        async with contextlib.aclosing(stream(adapter, "NOPE/ZZZ")) as prices:
            await anext(prices)
    assert events[-1].operation == "stream_prices"
    assert not events[-1].success


# ------------------------------------------------------------------------------------ faults


async def test_service_unavailable_happens_before_execution(adapter: PaperBrokerAdapter) -> None:
    adapter.engine.faults.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["place_order"])
    before = adapter.engine.last_transaction_id
    order = market()
    result = await adapter.place_order(order)
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.SERVICE_UNAVAILABLE
    assert result.error.http_status == 503
    assert result.error.retryable
    assert adapter.engine.last_transaction_id == before  # the venue never saw it
    assert adapter.engine.find_order(adapter.account_id, client_order_id=order.order_id) is None
    assert (await adapter.place_order(order)).success  # the same intent can be sent again safely


async def test_lost_response_executes_and_leaves_the_outcome_unknown(adapter: PaperBrokerAdapter) -> None:
    adapter.engine.faults.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])
    order = market()
    result = await adapter.place_order(order)
    assert not result.success
    assert result.status is OrderStatus.UNKNOWN
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.OUTCOME_UNKNOWN
    found = await adapter.get_order(order.order_id)  # resolved by lookup, never by resending
    assert found.status is OrderStatus.FILLED
    assert (await adapter.get_positions())[0].quantity == Decimal(1_000)
    resent = await adapter.place_order(order)
    assert resent.error is not None
    assert resent.error.error_code is StandardErrorCode.DUPLICATE_ORDER


async def test_timeouts_rate_limits_and_resets(adapter: PaperBrokerAdapter, clock: ManualClock) -> None:
    placed = await adapter.place_order(market(order_type="limit", price=Decimal("0.50000")))
    faults = adapter.engine.faults
    faults.inject(Fault(FaultKind.TIMEOUT), operations=["cancel_order"])
    timed_out = await adapter.cancel_order(placed.broker_order_id)  # type: ignore[arg-type]
    assert timed_out.status is OrderStatus.UNKNOWN
    assert (await adapter.get_order(placed.broker_order_id)).status is OrderStatus.ACCEPTED  # type: ignore[arg-type]
    faults.inject(Fault(FaultKind.RATE_LIMITED, retry_after_s=2.5), operations=["get_positions"])
    with pytest.raises(RateLimitedError) as limited:
        await adapter.get_positions()
    assert limited.value.error.retry_after == 2.5
    assert limited.value.error.http_status == 429
    clock.advance(3)  # the pipeline's limiter honours Retry-After on the adapter's clock
    faults.inject(Fault(FaultKind.CONNECTION_RESET), operations=["get_current_price"])
    with pytest.raises(BrokerConnectionError):
        await adapter.get_current_price("EUR/USD")
    faults.inject(Fault(FaultKind.RESPONSE_LOST), operations=["get_accounts"])
    with pytest.raises(Exception, match="response_lost") as lost_read:
        await adapter.get_accounts()
    assert lost_read.value.error.error_code is StandardErrorCode.TIMEOUT  # type: ignore[attr-defined]
    assert faults.pending == 0


async def test_latency_is_slept_and_spikes_add_to_it(make_adapter: Callable[..., PaperBrokerAdapter]) -> None:
    paper = make_adapter(latency={"median_ms": 15, "sigma": 0})
    started = time.perf_counter()
    for _ in range(3):
        await paper.get_current_price("EUR/USD")
    assert time.perf_counter() - started >= 0.045
    paper.engine.faults.inject(Fault(FaultKind.LATENCY_SPIKE, delay_s=0.05))
    started = time.perf_counter()
    assert (await paper.place_order(market())).success
    assert time.perf_counter() - started >= 0.065


async def test_health_check_reports_faults(adapter: PaperBrokerAdapter) -> None:
    healthy = await adapter.health_check()
    assert healthy.state is HealthState.HEALTHY
    assert healthy.details["venue"] == "paper"
    adapter.engine.faults.inject(Fault(FaultKind.SERVICE_UNAVAILABLE), operations=["health_check"])
    down = await adapter.health_check()
    assert down.state is HealthState.DOWN
    assert "SERVICE_UNAVAILABLE" in down.message


async def test_random_errors_never_execute(make_adapter: Callable[..., PaperBrokerAdapter]) -> None:
    paper = make_adapter(error_rate=0.2)
    results = [await paper.place_order(market(side="sell" if i % 2 else "buy")) for i in range(150)]
    failed = [r for r in results if not r.success]
    assert 0.1 < len(failed) / 150 < 0.35
    assert all(
        r.error is not None and r.error.error_code is StandardErrorCode.SERVICE_UNAVAILABLE for r in failed
    )
    orders = paper.engine.orders(paper.account_id, include_closed=True)
    assert len(orders) == sum(r.success for r in results)  # only answered calls reached the venue
