"""Pre-trade checks: the pipeline refuses, before sending, what the profile says the broker cannot take."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from broker_integration.capability_discovery import (
    CapabilityDiscoveryEngine,
    CapabilityFinding,
    CapabilityProfile,
    CapabilityStatus,
    CapabilityTestType,
)
from broker_integration.errors import StandardErrorCode
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    OrderModification,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerCapability
from broker_integration.pipeline.stages.profile import INTERCEPTOR_NAME, discovery_calls
from broker_integration.testing import MockBrokerAdapter

C = BrokerCapability
S = CapabilityStatus


@pytest.fixture
async def mock() -> AsyncIterator[MockBrokerAdapter]:
    async with MockBrokerAdapter(event_bus=EventBus()) as adapter:
        yield adapter


@pytest.fixture
async def profile(mock: MockBrokerAdapter) -> CapabilityProfile:
    return await CapabilityDiscoveryEngine().discover_capabilities(mock, CapabilityTestType.DYNAMIC)


def with_finding(
    profile: CapabilityProfile, field: str, key: Any, status: CapabilityStatus
) -> CapabilityProfile:
    table = dict(getattr(profile, field).root)
    table[key] = CapabilityFinding(status=status, evidence="the test order was refused")
    return profile.model_copy(update={field: type(getattr(profile, field))(table)})


def limit(price: str = "1.09000", quantity: str = "1000", **fields: Any) -> UnifiedOrder:
    return UnifiedOrder(
        instrument="EUR/USD",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        price=Decimal(price),
        **fields,
    )


def stop(stop_price: str) -> UnifiedOrder:
    return UnifiedOrder(
        instrument="EUR/USD",
        side=OrderSide.BUY,
        order_type=OrderType.STOP,
        quantity=Decimal(1000),
        stop_price=Decimal(stop_price),
    )


def placed_orders(mock: MockBrokerAdapter) -> list[str]:
    return [op for op, _, _ in mock.calls if op == "place_order"]


async def test_the_dynamic_profile_of_the_mock_lists_its_instruments(profile: CapabilityProfile) -> None:
    assert profile.instruments_complete
    assert {"EUR/USD", "GBP/USD"} <= set(profile.supported_instruments)


async def test_an_order_the_profile_allows_goes_through(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    profile.install_pre_trade_checks(mock)
    result = await mock.place_order(limit())
    assert result.success
    assert result.status is OrderStatus.ACCEPTED
    assert placed_orders(mock) == ["place_order"]


async def test_a_failed_order_type_is_refused_before_sending(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    profile = with_finding(profile, "capabilities", C.STOP_ORDERS, S.FAILED)
    profile.install_pre_trade_checks(mock)
    events: list[CallEvent] = []
    mock.event_bus.subscribe(CallEvent, events.append)
    result = await mock.place_order(stop("1.2"))
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert "stop orders" in result.error.message
    assert placed_orders(mock) == []
    assert events[-1].detail.get("sent") is None
    assert events[-1].detail["refused_by"] == INTERCEPTOR_NAME


async def test_a_refused_time_in_force_is_refused(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    with_finding(profile, "time_in_force", TimeInForce.IOC, S.UNSUPPORTED).install_pre_trade_checks(mock)
    result = await mock.place_order(limit(time_in_force=TimeInForce.IOC))
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert placed_orders(mock) == []


async def test_an_unlisted_instrument_is_refused_when_the_listing_is_complete(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    profile.install_pre_trade_checks(mock)
    order = UnifiedOrder(instrument="NZD/USD", side=OrderSide.BUY, quantity=Decimal(1000))
    result = await mock.place_order(order)
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.INVALID_INSTRUMENT
    assert placed_orders(mock) == []


async def test_an_unlisted_instrument_passes_when_the_listing_is_partial(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    profile.model_copy(update={"instruments_complete": False}).install_pre_trade_checks(mock)
    order = UnifiedOrder(instrument="NZD/USD", side=OrderSide.BUY, quantity=Decimal(1000))
    result = await mock.place_order(order)
    # the broker itself answers (the mock has no NZD/USD price): the order was sent
    assert placed_orders(mock) == ["place_order"]
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.INVALID_INSTRUMENT


@pytest.mark.parametrize(
    ("order", "words"),
    [
        (lambda: limit(quantity="0.00005"), "below the minimum"),
        (lambda: limit(quantity="1000.00005"), "steps of"),
        (lambda: limit(price="1.090001"), "price 1.090001 is off the EUR/USD tick"),
        (lambda: stop(stop_price="1.2000001"), "stop_price 1.2000001 is off"),
    ],
)
async def test_sizes_and_prices_are_checked_against_the_instrument(
    mock: MockBrokerAdapter, profile: CapabilityProfile, order: Any, words: str
) -> None:
    profile.install_pre_trade_checks(mock)
    result = await mock.place_order(order())
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.INVALID_ORDER
    assert words in result.error.message
    assert placed_orders(mock) == []


async def test_modify_is_refused_when_modifying_failed_but_cancel_never_is(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    resting = await mock.place_order(limit())
    assert resting.broker_order_id is not None
    blocked = with_finding(profile, "capabilities", C.MODIFY_ORDERS, S.FAILED)
    blocked = with_finding(blocked, "capabilities", C.CANCEL_ORDERS, S.FAILED)
    blocked.install_pre_trade_checks(mock)
    modified = await mock.modify_order(resting.broker_order_id, OrderModification(price=Decimal("1.08")))
    assert modified.error is not None
    assert modified.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    cancelled = await mock.cancel_order(resting.broker_order_id)
    assert cancelled.success


async def test_discovery_test_orders_pass_the_checks(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    with_finding(profile, "capabilities", C.LIMIT_ORDERS, S.FAILED).install_pre_trade_checks(mock)
    with discovery_calls():
        result = await mock.place_order(limit())
    assert result.success
    refused = await mock.place_order(limit())
    assert not refused.success


async def test_installing_again_replaces_the_stage(
    mock: MockBrokerAdapter, profile: CapabilityProfile
) -> None:
    profile.install_pre_trade_checks(mock)
    profile.install_pre_trade_checks(mock)
    names = mock.interceptor_names
    assert names.count(INTERCEPTOR_NAME) == 1
    assert names[0] == INTERCEPTOR_NAME  # PRE_TRADE runs before retry, limits, breaker and timeout
    assert len(names) > 1


class _Other(MockBrokerAdapter):
    broker_name = "other"


async def test_a_profile_of_another_broker_cannot_be_installed(profile: CapabilityProfile) -> None:
    with pytest.raises(ValueError, match="not for 'other'"):
        profile.install_pre_trade_checks(_Other(event_bus=EventBus()))
