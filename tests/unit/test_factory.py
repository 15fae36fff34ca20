from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from broker_integration.broker_config import BrokerConfiguration, BrokerCredentials
from broker_integration.broker_factory import BrokerFactory, FactoryError
from broker_integration.clock import ManualClock
from broker_integration.errors import AuthenticationError, ServiceUnavailableError
from broker_integration.events import CallEvent, EventBus, HealthEvent
from broker_integration.models import AccountSummary, HealthState, HealthStatus
from broker_integration.pipeline import BrokerAdapter


class KeyedAdapter(BrokerAdapter):
    """Accepts one API key; counts disconnects so clean-up can be checked."""

    broker_name = "keyed"
    disconnects = 0

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        key = credentials.api_key.get_secret_value() if credentials and credentials.api_key else None
        return key == "right-key"

    async def disconnect(self) -> None:
        type(self).disconnects += 1

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return AccountSummary(
            account_id="A1",
            currency="USD",
            balance=Decimal(100),
            equity=Decimal(100),
            margin_available=Decimal(100),
            time=self.clock.now(),
        )


class FlakyAdapter(KeyedAdapter):
    """Health fails while ``failing`` is set."""

    broker_name = "flaky"
    failing = False

    async def health_check(self) -> HealthStatus:
        if type(self).failing:
            raise ServiceUnavailableError("down for maintenance")
        return HealthStatus(state=HealthState.HEALTHY, checked_at=self.clock.now(), latency_ms=1.0)


def _config(name: str, key: str | None = "right-key") -> BrokerConfiguration:
    return BrokerConfiguration(broker_name=name, credentials=BrokerCredentials(api_key=key))


def test_builtins_are_registered_in_every_factory() -> None:
    factory = BrokerFactory(discover_plugins=False)
    assert {"paper", "oanda"} <= set(factory.list_adapters())
    assert factory.get_adapter_class("paper").__name__ == "PaperBrokerAdapter"
    assert factory.get_adapter_class("oanda").__name__ == "OandaAdapter"


@pytest.mark.parametrize("bad", ["", "Upper", "9lives", "has space", "x" * 41, "dot.name"])
def test_register_refuses_bad_names(bad: str) -> None:
    with pytest.raises(FactoryError, match="adapter name"):
        BrokerFactory(discover_plugins=False).register_adapter(bad, KeyedAdapter)


def test_register_refuses_non_adapters_and_silent_replacement() -> None:
    factory = BrokerFactory(discover_plugins=False)
    with pytest.raises(FactoryError, match="not a BrokerAdapter"):
        factory.register_adapter("thing", dict)  # type: ignore[arg-type]
    with pytest.raises(FactoryError, match="not BrokerAdapter itself"):
        factory.register_adapter("base", BrokerAdapter)
    factory.register_adapter("keyed", KeyedAdapter)
    with pytest.raises(FactoryError, match="already registered"):
        factory.register_adapter("keyed", FlakyAdapter)
    factory.register_adapter("keyed", FlakyAdapter, replace=True)
    assert factory.get_adapter_class("keyed") is FlakyAdapter
    factory.unregister_adapter("keyed")
    with pytest.raises(FactoryError, match="registered: alpaca, ccxt, oanda, paper"):
        factory.get_adapter_class("keyed")


async def test_create_authenticates_and_tracks() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    adapter = await factory.create_adapter("keyed", _config("keyed"))
    assert adapter.is_authenticated
    assert factory.get_adapter("keyed") is adapter
    with pytest.raises(FactoryError, match="exists already"):
        await factory.create_adapter("keyed", _config("keyed"))
    second = await factory.create_adapter("keyed", _config("keyed"), instance_name="keyed-2")
    assert set(factory.adapters) == {"keyed", "keyed-2"}
    assert second is not adapter
    before = KeyedAdapter.disconnects
    await factory.close_all()
    assert KeyedAdapter.disconnects == before + 2
    assert factory.adapters == {}


async def test_failed_authentication_raises_standard_error_and_leaves_nothing_open() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    before = KeyedAdapter.disconnects
    with pytest.raises(AuthenticationError) as info:
        await factory.create_adapter("keyed", _config("keyed", key="wrong-key"))
    assert info.value.error.error_code.value == "AUTHENTICATION_FAILED"
    assert "wrong-key" not in str(info.value)
    assert KeyedAdapter.disconnects == before + 1
    assert factory.adapters == {}


async def test_disabled_configuration_is_refused() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    config = BrokerConfiguration(broker_name="keyed", enabled=False)
    with pytest.raises(FactoryError, match="disabled"):
        await factory.create_adapter("keyed", config)


async def test_create_accepts_a_plain_dict_config() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    adapter = await factory.create_adapter(
        "keyed", {"broker_name": "keyed", "credentials": {"api_key": "right-key"}}
    )
    assert adapter.is_authenticated
    await factory.close_all()


async def test_health_monitor_tracks_state_and_emits_events() -> None:
    bus = EventBus()
    events: list[HealthEvent] = []
    bus.subscribe(HealthEvent, events.append)
    clock = ManualClock()
    factory = BrokerFactory(event_bus=bus, clock=clock, discover_plugins=False)
    factory.register_adapter("flaky", FlakyAdapter)
    await factory.create_adapter("flaky", _config("flaky"))
    FlakyAdapter.failing = False
    status = await factory.check_health(down_after=2)
    assert status["flaky"].state is HealthState.HEALTHY
    FlakyAdapter.failing = True
    try:
        assert (await factory.check_health(down_after=2))["flaky"].state is HealthState.DEGRADED
        health = (await factory.check_health(down_after=2))["flaky"]
        assert health.state is HealthState.DOWN
        assert health.consecutive_failures == 2
        assert "maintenance" in health.last_error
    finally:
        FlakyAdapter.failing = False
    health = (await factory.check_health(down_after=2))["flaky"]
    assert health.state is HealthState.HEALTHY
    assert health.consecutive_failures == 0
    assert health.availability == pytest.approx(2 / 4)
    assert [e.state for e in events] == [
        HealthState.HEALTHY,
        HealthState.DEGRADED,
        HealthState.DOWN,
        HealthState.HEALTHY,
    ]
    assert [e.changed for e in events] == [False, True, True, True]
    await factory.close_all()


async def test_background_monitor_runs_until_stopped() -> None:
    bus = EventBus()
    seen = asyncio.Event()
    count = 0

    def on_health(_: HealthEvent) -> None:
        nonlocal count
        count += 1
        if count >= 3:
            seen.set()

    bus.subscribe(HealthEvent, on_health)
    factory = BrokerFactory(event_bus=bus, discover_plugins=False)
    factory.register_adapter("flaky", FlakyAdapter)
    await factory.create_adapter("flaky", _config("flaky"))
    factory.start_health_monitoring(interval=0.01)
    assert factory.is_monitoring
    await asyncio.wait_for(seen.wait(), timeout=5)
    await factory.stop_health_monitoring()
    assert not factory.is_monitoring
    stopped_at = count
    await asyncio.sleep(0.05)
    assert count == stopped_at
    await factory.close_all()


PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-broker-plugin"
version = "1.0.0"

[project.entry-points."broker_integration.adapters"]
acme = "acme_broker:AcmeAdapter"
broken = "acme_broker:DoesNotExist"
"""

PLUGIN_MODULE = """
from broker_integration import BrokerAdapter


class AcmeAdapter(BrokerAdapter):
    broker_name = "acme"

    async def authenticate(self, credentials=None):
        return True
"""


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the plugin package above and install it, with its metadata, into a folder of its own."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    source.mkdir()
    (source / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PYPROJECT))
    (source / "acme_broker.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    target = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return target


async def test_entry_point_plugin_is_discovered(
    installed_plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(installed_plugin))
    factory = BrokerFactory()
    assert "acme" in factory.list_adapters()
    assert "broken" in factory.plugin_errors
    assert "broken" not in factory.list_adapters()
    adapter = await factory.create_adapter("acme")
    assert type(adapter).__name__ == "AcmeAdapter"
    assert adapter.is_authenticated
    await factory.close_all()
    sys.modules.pop("acme_broker", None)


async def test_create_from_config_uses_the_adapter_field() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    fast = BrokerConfiguration(
        broker_name="keyed-fast", adapter="keyed", credentials=BrokerCredentials(api_key="right-key")
    )
    slow = BrokerConfiguration(
        broker_name="keyed-slow", adapter="keyed", credentials=BrokerCredentials(api_key="right-key")
    )
    a = await factory.create_from_config(fast)
    b = await factory.create_from_config(slow)
    assert type(a) is KeyedAdapter
    assert type(b) is KeyedAdapter
    assert (a.name, b.name) == ("keyed-fast", "keyed-slow")
    assert set(factory.adapters) == {"keyed-fast", "keyed-slow"}
    with pytest.raises(FactoryError, match="no adapter is registered as 'nope'"):
        await factory.create_from_config(BrokerConfiguration(broker_name="x", adapter="nope"))
    assert "adapter" not in fast.model_copy(update={"adapter": None}).to_dict()
    await factory.close_all()


class SeedStyleAdapter(KeyedAdapter):
    """Written as the seed's guide shows: the constructor takes only ``config``."""

    broker_name = "seedstyle"

    def __init__(self, config: dict[str, object]) -> None:
        super().__init__(config)
        self.seen_config = config


class NoSuperAdapter(KeyedAdapter):
    """Forgets ``super().__init__()`` altogether."""

    broker_name = "nosuper"

    def __init__(self, config: BrokerConfiguration) -> None:
        self.own_setting = 1


@pytest.mark.parametrize("adapter_class", [SeedStyleAdapter, NoSuperAdapter])
async def test_an_adapter_whose_constructor_takes_only_config_gets_the_factorys_wiring(
    adapter_class: type[KeyedAdapter],
) -> None:
    bus, clock = EventBus(), ManualClock()
    seen: list[str] = []
    bus.subscribe(CallEvent, lambda e: seen.append(e.operation))
    factory = BrokerFactory(discover_plugins=False, event_bus=bus, clock=clock)
    factory.register_adapter("seedstyle", adapter_class)
    adapter = await factory.create_adapter("seedstyle", _config("seedstyle").to_dict())
    assert adapter.event_bus is bus
    assert adapter.clock is clock
    assert adapter.config == _config("seedstyle")
    assert adapter.resilience is not None  # the pipeline's stages are installed
    assert "rate_limit" in adapter.interceptor_names
    await adapter.get_account_summary()
    assert seen == ["authenticate", "get_account_summary"]  # on the factory's bus, not the global one
    await factory.close_all()


async def test_a_configuration_names_the_adapter_type_that_serves_it() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    config = BrokerConfiguration(
        broker_name="broker1", adapter="keyed", credentials=BrokerCredentials(api_key="right-key")
    )
    adapter = await factory.create_adapter("broker1", config.to_dict())  # the seed's multi-broker call
    assert type(adapter) is KeyedAdapter
    assert adapter.name == "broker1"
    factory.register_adapter("other", FlakyAdapter)
    with pytest.raises(FactoryError, match="whose adapter is 'keyed'; pass 'keyed'"):
        await factory.create_adapter("other", config.model_copy(update={"broker_name": "broker2"}))
    await factory.close_all()


async def test_two_accounts_of_one_broker_from_one_factory() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    a = await factory.create_adapter("keyed", _config("keyed-a"))
    b = await factory.create_adapter("keyed", _config("keyed-b"))
    assert a is not b
    assert set(factory.adapters) == {"keyed-a", "keyed-b"}
    with pytest.raises(FactoryError, match="'keyed-a' exists already"):
        await factory.create_adapter("keyed", _config("keyed-a"))
    await factory.close_all()


async def test_a_masked_secret_is_refused_before_any_adapter_sees_it() -> None:
    factory = BrokerFactory(discover_plugins=False)
    factory.register_adapter("keyed", KeyedAdapter)
    masked = _config("keyed").to_dict(masked=True)
    with pytest.raises(FactoryError, match=r"credentials\.api_key: this secret holds the mask '\*{10}'"):
        await factory.create_adapter("keyed", masked)
    assert factory.adapters == {}
    adapter = KeyedAdapter({"broker_name": "keyed"})
    with pytest.raises(AuthenticationError, match="unusable credentials"):
        await adapter.authenticate({"api_key": "***"})
    assert await adapter.authenticate({"api_key": "right-key"})  # a dict, as the seed passes it
