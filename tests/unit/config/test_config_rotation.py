"""Credential rotation: a changed key reaches a bound adapter, which re-authenticates without losing an order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from broker_integration import (
    BrokerAdapter,
    BrokerConfiguration,
    BrokerCredentials,
    OrderResult,
    OrderStatus,
    UnifiedOrder,
)
from broker_integration.config import ConfigManager, CredentialRotationEvent
from broker_integration.events import EventBus


class TokenAdapter(BrokerAdapter):
    """Accepts the keys in ``valid``; each order records the token it was sent with."""

    broker_name = "tokenbroker"

    def __init__(self, config: BrokerConfiguration, valid: set[str], bus: EventBus) -> None:
        super().__init__(config, event_bus=bus)
        self.valid = valid
        self.token: str | None = None
        self.auth_calls: list[str | None] = []
        self.sent_with: list[str | None] = []
        self.order_started = asyncio.Event()
        self.release = asyncio.Event()

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        key = credentials.api_key.get_secret_value() if credentials and credentials.api_key else None
        self.auth_calls.append(key)
        self.token = key if key in self.valid else None
        return self.token is not None

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        token = self.token
        self.order_started.set()
        await self.release.wait()
        self.sent_with.append(token)
        return OrderResult(
            success=token is not None,
            broker_order_id=str(len(self.sent_with)),
            status=OrderStatus.FILLED if token else OrderStatus.REJECTED,
            filled_quantity=order.quantity if token else Decimal(0),
            average_fill_price=Decimal("1.1") if token else None,
        )


def _config(key: str, timeout: float = 30) -> BrokerConfiguration:
    return BrokerConfiguration.from_dict(
        {
            "broker_name": "tokenbroker",
            "credentials": {"api_key": key},
            "settings": {"timeout_seconds": timeout},
        }
    )


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for a state another task reaches (no event exists for it); the timeout only stops a hang."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polling a condition, not waiting for a signal
            await asyncio.sleep(0.001)


def _order() -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000))


async def _bound(
    bus: EventBus, valid: set[str]
) -> tuple[ConfigManager, TokenAdapter, list[CredentialRotationEvent]]:
    manager = ConfigManager(persist=False, env={}, event_bus=bus)
    await manager.aset_configuration("tokenbroker", _config("key-old"))
    adapter = TokenAdapter(_config("key-old"), valid, bus)
    assert await adapter.authenticate(adapter.credentials)
    rotations: list[CredentialRotationEvent] = []
    bus.subscribe(CredentialRotationEvent, rotations.append)
    manager.bind_adapter("tokenbroker", adapter)
    return manager, adapter, rotations


async def test_rotation_waits_for_the_order_in_flight_and_holds_new_ones(bus: EventBus) -> None:
    manager, adapter, rotations = await _bound(bus, {"key-old", "key-new"})
    binding = manager._bindings[0]
    first = asyncio.create_task(adapter.place_order(_order()))
    await adapter.order_started.wait()

    await manager.aset_configuration("tokenbroker", _config("key-new"))
    await _until(lambda: not binding.gate.is_open)  # rotation started: gate closed, order still in flight
    assert adapter.auth_calls == ["key-old"]
    adapter.order_started.clear()
    second = asyncio.create_task(adapter.place_order(_order()))
    await asyncio.sleep(0.01)  # room for the second order to reach the broker, if the gate let it
    assert not adapter.order_started.is_set()
    assert binding.gate.in_flight == 1

    adapter.release.set()
    results = await asyncio.gather(first, second)
    await binding.settled()
    assert [r.success for r in results] == [True, True]
    assert adapter.sent_with == [
        "key-old",
        "key-new",
    ]  # in flight finished with the old key, next used the new
    assert adapter.auth_calls == ["key-old", "key-new"]
    assert adapter.config == _config("key-new")
    assert [(r.success, r.version) for r in rotations] == [(True, 2)]


async def test_refused_new_key_goes_back_to_the_old_one(bus: EventBus) -> None:
    manager, adapter, rotations = await _bound(bus, {"key-old"})
    adapter.release.set()
    await manager.aset_configuration("tokenbroker", _config("key-bad"))
    await manager._bindings[0].settled()
    assert adapter.auth_calls == ["key-old", "key-bad", "key-old"]
    assert adapter.config == _config("key-old")
    assert (await adapter.place_order(_order())).success
    assert [r.success for r in rotations] == [False]
    assert "refused" in rotations[0].message
    assert "key-bad" not in repr(rotations[0])


async def test_other_changes_swap_the_config_without_authenticating(bus: EventBus) -> None:
    manager, adapter, rotations = await _bound(bus, {"key-old"})
    await manager.aset_configuration("tokenbroker", _config("key-old", timeout=5))
    await manager._bindings[0].settled()
    assert adapter.config is manager.get_configuration("tokenbroker")
    assert adapter.auth_calls == ["key-old"]
    assert rotations == []


async def test_change_from_another_thread_reaches_the_adapter(bus: EventBus) -> None:
    manager, adapter, _ = await _bound(bus, {"key-old", "key-new"})
    await asyncio.to_thread(manager.set_configuration, "tokenbroker", _config("key-new"))
    await manager._bindings[0].settled()
    assert adapter.auth_calls == ["key-old", "key-new"]
    assert adapter.token == "key-new"


async def test_drain_timeout_keeps_the_old_credentials(bus: EventBus) -> None:
    manager = ConfigManager(persist=False, env={}, event_bus=bus)
    await manager.aset_configuration("tokenbroker", _config("key-old"))
    adapter = TokenAdapter(_config("key-old"), {"key-old", "key-new"}, bus)
    await adapter.authenticate(adapter.credentials)
    rotations: list[CredentialRotationEvent] = []
    bus.subscribe(CredentialRotationEvent, rotations.append)
    binding = manager.bind_adapter("tokenbroker", adapter, drain_timeout=0.05)
    stuck = asyncio.create_task(adapter.place_order(_order()))
    await adapter.order_started.wait()
    await manager.aset_configuration("tokenbroker", _config("key-new"))
    await binding.settled()
    assert [r.success for r in rotations] == [False]
    assert "did not finish" in rotations[0].message
    assert adapter.auth_calls == ["key-old"]
    assert binding.gate.is_open
    adapter.release.set()
    assert (await stuck).success


async def test_close_removes_the_gate(bus: EventBus) -> None:
    manager, adapter, _ = await _bound(bus, {"key-old"})
    assert "credentials" in adapter.interceptor_names
    await manager.aclose()
    assert "credentials" not in adapter.interceptor_names


def test_binding_needs_a_running_loop() -> None:
    manager = ConfigManager(persist=False, env={})
    with pytest.raises(RuntimeError, match="event loop"):
        manager.bind_adapter("x", TokenAdapter(_config("k"), set(), EventBus()))
