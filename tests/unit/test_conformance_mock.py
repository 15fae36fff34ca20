"""The adapter conformance suite run against the mock broker, in full and with most operations removed."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import pytest

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.events import CallEvent, EventBus
from broker_integration.models import (
    Account,
    AccountSummary,
    OrderModification,
    OrderResult,
    OrderStatus,
    PriceTick,
    UnifiedOrder,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability
from broker_integration.testing import MockBrokerAdapter
from broker_integration.testing.conformance import AdapterConformanceSuite, CallRecorder


def _config() -> BrokerConfiguration:
    return BrokerConfiguration(broker_name="mock", credentials=BrokerCredentials(account_id="mock-primary"))


class TestMockBrokerConformance(AdapterConformanceSuite):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        async with MockBrokerAdapter(_config(), event_bus=EventBus()) as adapter:
            yield adapter

    @pytest.fixture
    def instrument(self) -> str:
        return "eur_usd"  # any spelling of a symbol the broker knows


class MarketOnlyMock(MockBrokerAdapter):
    """A smaller adapter: no declared capabilities, and most operations left to the base class."""

    capabilities = None
    modify_order = BrokerAdapter.modify_order
    cancel_order = BrokerAdapter.cancel_order
    get_orders = BrokerAdapter.get_orders
    get_order = BrokerAdapter.get_order
    close_position = BrokerAdapter.close_position
    stream_prices = BrokerAdapter.stream_prices
    get_historical_data = BrokerAdapter.get_historical_data
    get_accounts = BrokerAdapter.get_accounts
    get_instruments = BrokerAdapter.get_instruments
    trace_order = BrokerAdapter.trace_order
    stream_order_updates = BrokerAdapter.stream_order_updates


def test_market_only_mock_derives_a_small_capability_set() -> None:
    assert MarketOnlyMock.declared_capabilities() == {
        BrokerCapability.MARKET_ORDERS,
        BrokerCapability.POSITIONS,
        BrokerCapability.CURRENT_PRICES,
        BrokerCapability.ACCOUNT_SUMMARY,
        BrokerCapability.HEALTH_CHECK,
    }


class TestMarketOnlyConformance(AdapterConformanceSuite):
    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BrokerAdapter]:
        async with MarketOnlyMock(event_bus=EventBus()) as adapter:
            yield adapter

    @pytest.fixture
    def instrument(self) -> str:
        return "USD/JPY"

    @pytest.fixture
    def order_quantity(self) -> int:
        return 3


# ------------------------------------------------------------------ the suite catches broken adapters


class _CancelLeavesOrderOpen(MockBrokerAdapter):
    async def cancel_order(self, order_id: str) -> OrderResult:
        order = self._open_order(order_id)
        return OrderResult(success=True, broker_order_id=order.broker_order_id, status=OrderStatus.CANCELLED)


class _AcceptsDuplicateIds(MockBrokerAdapter):
    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        self._latest_by_client_id.clear()
        return await super().place_order(order)


class _ForgetsTheReplacedId(MockBrokerAdapter):
    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        result = await super().modify_order(order_id, modification)
        return result.model_copy(update={"replaces_order_id": None})


class _EquityDrifts(MockBrokerAdapter):
    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        summary = await super().get_account_summary(account_id)
        return summary.model_copy(update={"equity": summary.equity + 1})


class _EmitsTwice(MockBrokerAdapter):
    async def get_accounts(self) -> list[Account]:
        now = self.clock.now()
        self.event_bus.publish(
            CallEvent(
                time=now,
                broker_name=self.name,
                adapter_id=self.adapter_id,
                operation="get_accounts",
                duration_ns=0,
                success=True,
            )
        )
        return await super().get_accounts()


class _StaleStream(MockBrokerAdapter):
    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        await asyncio.sleep(3600)  # never ticks
        yield self._ticks["EUR/USD"]


class _FastSuite(TestMockBrokerConformance):
    stream_timeout = 0.05


async def _run_suite_test(name: str, adapter: MockBrokerAdapter) -> None:
    """Run one conformance test directly, with the fixtures it asks for."""
    suite = _FastSuite()
    method = getattr(suite, name)
    recorder = CallRecorder(adapter)
    available = {
        "adapter": adapter,
        "instrument": "EUR/USD",
        "order_quantity": Decimal(1),
        "recorder": recorder,
    }
    wanted = inspect.signature(method).parameters
    async with adapter:
        try:
            await method(**{key: value for key, value in available.items() if key in wanted})
        finally:
            recorder.close()


@pytest.mark.parametrize(
    ("adapter_class", "test_name", "complaint"),
    [
        (MockBrokerAdapter, "test_cancel_removes_order_from_open_orders", None),
        (_CancelLeavesOrderOpen, "test_cancel_removes_order_from_open_orders", "still listed as open"),
        (_AcceptsDuplicateIds, "test_reused_client_order_id_makes_no_second_live_order", "second order"),
        (
            _ForgetsTheReplacedId,
            "test_modify_replaces_order_and_links_ids",
            "must name the order it replaces",
        ),
        (_EquityDrifts, "test_account_summary_is_consistent", "away from balance"),
        (_EmitsTwice, "test_get_accounts_contains_the_configured_account", "emitted 2 CallEvents"),
    ],
)
async def test_the_suite_catches_a_broken_adapter(
    adapter_class: type[MockBrokerAdapter], test_name: str, complaint: str | None
) -> None:
    adapter = adapter_class(event_bus=EventBus())
    if complaint is None:
        await _run_suite_test(test_name, adapter)  # the same test passes on the real mock
        return
    with pytest.raises(AssertionError, match=complaint):
        await _run_suite_test(test_name, adapter)


async def test_the_suite_bounds_a_stream_that_never_ticks() -> None:
    with pytest.raises(TimeoutError):
        await _run_suite_test(
            "test_price_stream_yields_a_tick_and_closes_cleanly", _StaleStream(event_bus=EventBus())
        )
