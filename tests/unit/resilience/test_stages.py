from __future__ import annotations

from decimal import Decimal

from scripted_venue import ScriptedVenue

from broker_integration.broker_config import BrokerConfiguration, BrokerLimits, BrokerSettings
from broker_integration.clock import ManualClock
from broker_integration.errors import ServiceUnavailableError, StandardErrorCode
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import Delivery, OrderResult, OrderStatus, UnifiedOrder
from broker_integration.pipeline import BreakerState, build_pipeline


def order() -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000))


def configured(**limits: float) -> BrokerConfiguration:
    return BrokerConfiguration(
        broker_name="venue",
        limits=BrokerLimits(**limits) if limits else BrokerLimits(),
        settings=BrokerSettings(timeout_seconds=0.05, retry_attempts=2),
    )


async def test_every_adapter_gets_the_stages_in_order() -> None:
    venue = ScriptedVenue(configured())
    assert venue.interceptor_names == ("retry", "rate_limit", "circuit_breaker", "timeout")
    assert venue.resilience is not None
    assert venue.resilience.requests is not None
    assert venue.resilience.requests.rate == 50.0
    assert ScriptedVenue().resilience.requests is None  # type: ignore[union-attr]


async def test_breaker_opens_on_a_failing_venue_and_refuses_without_sending() -> None:
    clock = ManualClock()
    venue = ScriptedVenue(configured(), faults=["before"] * 5, clock=clock)
    results = [await venue.place_order(order()) for _ in range(8)]
    assert venue.resilience is not None
    assert venue.resilience.breaker.state is BreakerState.OPEN
    refused = results[5:]
    assert all(r.status is OrderStatus.REJECTED for r in refused)
    assert all(r.delivery is Delivery.NOT_SENT for r in refused)
    assert all(r.error is not None and "circuit breaker is open" in r.error.message for r in refused)
    assert venue.executions == 0
    clock.advance(10)
    recovered = await venue.place_order(order())
    assert recovered.success
    assert venue.resilience.breaker.state is BreakerState.CLOSED


async def test_business_refusals_do_not_open_the_breaker() -> None:
    venue = ScriptedVenue(configured(), faults=["refuse"] * 10)
    for _ in range(10):
        result = await venue.place_order(order())
        assert result.error is not None
        assert result.error.error_code is StandardErrorCode.INSUFFICIENT_FUNDS
    assert venue.resilience is not None
    assert venue.resilience.breaker.state is BreakerState.CLOSED


async def test_timeout_gives_an_unknown_outcome_without_a_journal() -> None:
    venue = ScriptedVenue(configured(), faults=["hang"])
    result = await venue.place_order(order())
    assert result.status is OrderStatus.UNKNOWN
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.TIMEOUT


async def test_orders_are_never_retried_but_reads_are() -> None:
    bus = EventBus()
    events: list[CallEvent] = []
    bus.subscribe(CallEvent, events.append)
    venue = ScriptedVenue(configured(), faults=["before"], event_bus=bus)
    assert venue.resilience is not None
    venue.resilience.sleep = _no_sleep
    result = await venue.place_order(order())
    assert not result.success
    assert venue.executions == 0
    placed = await venue.place_order(order())
    venue.lookup_faults.extend(["before", "before"])
    found = await venue.get_order(placed.client_order_id or "")
    assert found.status is OrderStatus.FILLED
    assert venue.lookups == 3
    lookup_event = events[-1]
    assert lookup_event.operation == "get_order"
    assert lookup_event.detail["retries"] == 2
    assert [e.operation for e in events] == ["place_order", "place_order", "get_order"]


async def test_429_retry_after_cools_the_limiter_down() -> None:
    clock = ManualClock()
    venue = ScriptedVenue(configured(requests_per_second=1000), faults=["throttle"], clock=clock)
    assert venue.resilience is not None
    assert venue.resilience.requests is not None
    result = await venue.place_order(order())
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.RATE_LIMITED
    assert result.error.retry_after == 0.2
    assert venue.resilience.requests.cooling_down
    clock.advance(0.2)
    assert not venue.resilience.requests.cooling_down


async def test_reinstalling_replaces_stages() -> None:
    venue = ScriptedVenue(configured())
    first = venue.resilience
    second = build_pipeline(venue, configured(requests_per_second=5))
    assert venue.resilience is second
    assert second is not first
    assert venue.interceptor_names.count("rate_limit") == 1


async def _no_sleep(_: float) -> None:
    return None


async def test_adapter_default_limits_apply_unless_the_configuration_sets_limits() -> None:
    class Published(ScriptedVenue):
        default_limits = BrokerLimits(requests_per_second=7, max_orders_per_second=3)

    unset = Published(BrokerConfiguration(broker_name="venue"))
    assert unset.resilience is not None
    assert unset.resilience.requests is not None
    assert unset.resilience.orders is not None
    assert (unset.resilience.requests.rate, unset.resilience.orders.rate) == (7, 3)
    explicit = Published(configured(requests_per_second=20, max_orders_per_second=5))
    assert explicit.resilience is not None
    assert explicit.resilience.requests is not None
    assert explicit.resilience.requests.rate == 20


async def test_a_refusal_that_says_nothing_executed_is_reported_as_not_sent() -> None:
    venue = ScriptedVenue(configured(), faults=["throttle"])  # 429: the venue refused before executing
    result = await venue.place_order(order())
    assert result.status is OrderStatus.REJECTED
    assert result.delivery is not Delivery.NOT_SENT  # a scripted 429 does not claim anything about execution

    class Answered(ScriptedVenue):
        async def place_order(self, order: UnifiedOrder) -> OrderResult:
            raise ServiceUnavailableError("503: nothing was executed", sent=False)

    answered = await Answered(configured()).place_order(order())
    assert answered.status is OrderStatus.REJECTED
    assert answered.delivery is Delivery.NOT_SENT  # safe to fail over to another broker
