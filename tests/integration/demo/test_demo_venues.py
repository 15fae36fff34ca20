"""The demo's set-up: venues from the example configuration, its variables, and clear failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from demo_support import CRYPTO_VENUES, VENUES

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.capabilities.profile import CapabilityTestType
from broker_integration.capability_discovery import CapabilityDiscoveryEngine
from broker_integration.demo import DemoError, DemoOptions
from broker_integration.demo.discovery import discover_venues
from broker_integration.demo.market import CRYPTO_SIZES, ORDER_SIZES, ReferenceFeed, order_intents
from broker_integration.demo.venues import open_venues
from broker_integration.events import EventBus
from broker_integration.pipeline import BrokerAdapter
from broker_integration.store import Store, sqlite_url

REAL_TOKEN = "real-token-of-the-user-0123456789abcdef"


async def test_venues_come_from_the_example_config_with_the_simulators_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OANDA_API_KEY", REAL_TOKEN)
    monkeypatch.delenv("OANDA_BASE_URL", raising=False)
    async with open_venues(DemoOptions(seed=11), EventBus()) as venues:
        oanda = venues.adapters["oanda"]
        assert isinstance(oanda, OandaAdapter)
        assert oanda.base_url == venues.simulator.base_url
        assert oanda.account_id == venues.simulator.account_id
        assert oanda.credentials is not None
        assert oanda.credentials.api_key is not None
        assert oanda.credentials.api_key.get_secret_value() == venues.simulator.token
        assert (await oanda.get_account_summary()).account_id == venues.simulator.account_id
        assert sorted(venues.adapters) == sorted({*VENUES, *CRYPTO_VENUES})
        assert venues.left_out == {}  # ccxt is installed with the dev extra: the CCXT venue is made
        assert venues.environment == "development"
        assert venues.loaded.configs["paper-ecn"].settings.timeout_seconds == 5  # development overlay
        seeds = {info.profile.seed for info in venues.info.values() if info.profile is not None}
        assert seeds == {11}  # one market for every venue
    assert os.environ["OANDA_API_KEY"] == REAL_TOKEN  # the process environment is left alone
    assert "OANDA_BASE_URL" not in os.environ


async def test_a_missing_config_folder_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match=r"is missing; run the demo from a source checkout or pass --config"):
        async with open_venues(DemoOptions(config_path=tmp_path / "nowhere"), EventBus()):
            pass


async def test_an_invalid_config_is_reported_with_its_problem(tmp_path: Path) -> None:
    (tmp_path / "brokers.yaml").write_text(
        "brokers:\n  a: {adapter: paper, settings: {timeout_seconds: -1}}\n"
    )
    with pytest.raises(DemoError, match=r"is invalid:[\s\S]*timeout_seconds"):
        async with open_venues(DemoOptions(config_path=tmp_path), EventBus()):
            pass


async def test_fewer_than_two_enabled_venues_cannot_make_an_experiment(tmp_path: Path) -> None:
    (tmp_path / "brokers.yaml").write_text(
        "brokers:\n  a: {adapter: paper}\n  b: {adapter: paper, enabled: false}\n"
    )
    with pytest.raises(
        DemoError, match=r"enables 1 broker\(s\) in development; an A/B test needs at least two"
    ):
        async with open_venues(DemoOptions(config_path=tmp_path), EventBus()):
            pass


def test_too_few_orders_are_refused() -> None:
    with pytest.raises(DemoError, match=r"--orders must be at least 100 \(got 5\)"):
        DemoOptions(orders=5)


def test_the_order_flow_is_fixed_by_its_seed() -> None:
    instruments = ("EUR/USD", "GBP/USD")
    first = list(order_intents(3, 200, instruments))
    assert first == list(order_intents(3, 200, instruments))
    assert first != list(order_intents(4, 200, instruments))
    assert {i.instrument for i in first} == set(instruments)
    assert {i.quantity for i in first} <= set(ORDER_SIZES)
    assert {i.side.value for i in first} == {"buy", "sell"}
    crypto = list(order_intents(3, 50, ("BTC/USD",)))
    assert {i.quantity for i in crypto} <= set(CRYPTO_SIZES)  # coins, not FX units


def test_orders_carry_the_reference_mid_for_the_collector() -> None:
    feed = ReferenceFeed(seed=5)
    quote = feed.quote("EUR/USD")
    intent = next(order_intents(1, 1, ("EUR/USD",)))
    order = intent.order(quote)
    assert order.metadata["arrival_mid"] == str(quote.mid)
    assert quote.bid < quote.mid < quote.ask


async def test_discovery_raising_stops_the_demo_with_the_venue_and_depth(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def broken(self: CapabilityDiscoveryEngine, adapter: BrokerAdapter, test_type: object) -> None:
        if adapter.name == "b" and test_type is CapabilityTestType.DYNAMIC:
            raise RuntimeError("probe table corrupt")

    monkeypatch.setattr(CapabilityDiscoveryEngine, "discover_capabilities", broken)
    adapters = {name: PaperBrokerAdapter(BrokerConfiguration(broker_name=name)) for name in ("a", "b")}
    async with Store(sqlite_url(tmp_path / "s.sqlite3")) as store:
        with pytest.raises(
            DemoError, match=r"capability discovery \(dynamic\) of b failed unexpectedly: RuntimeError: probe"
        ):
            await discover_venues(adapters, store, ("EUR/USD",))
