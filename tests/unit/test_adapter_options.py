"""Adapter options are typed: a misspelt or mistyped option is a ConfigError naming the broker and the key
when the adapter is made (directly or through the factory), never ignored; good options reach the adapter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from broker_integration.adapters.oanda import OandaAdapter, OandaOptions
from broker_integration.adapters.paper import PaperBrokerAdapter, PaperOptions
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.broker_factory import BrokerFactory
from broker_integration.config.errors import ConfigError
from broker_integration.events import EventBus


def refusal(adapter: str, options: dict[str, Any], *, broker_name: str | None = None) -> ConfigError:
    config = BrokerConfiguration(broker_name=broker_name or adapter, adapter=adapter, options=options)
    adapter_class = OandaAdapter if adapter == "oanda" else PaperBrokerAdapter
    with pytest.raises(ConfigError) as info:
        adapter_class(config, event_bus=EventBus())
    return info.value


# ------------------------------------------------------------------ OANDA


def test_oanda_options_reach_the_adapter() -> None:
    config = BrokerConfiguration(
        broker_name="oanda",
        options={
            "stream_heartbeat_timeout": "2.5",  # an interpolated ${VAR} arrives as text
            "stream_max_reconnects": 0,
            "connections": 8,
            "absence_grace_seconds": 1,
        },
    )
    adapter = OandaAdapter(config, event_bus=EventBus())
    assert adapter.heartbeat_timeout == 2.5
    assert adapter.max_stream_reconnects == 0
    assert adapter.absence_grace_seconds == 1.0
    assert adapter.options.connections == 8
    assert OandaAdapter(event_bus=EventBus()).options == OandaOptions()


def test_a_misspelt_oanda_option_is_named_with_the_option_it_resembles() -> None:
    error = refusal("oanda", {"stream_heartbeat_timout": 3})
    assert error.path == "oanda.options.stream_heartbeat_timout"
    assert "not an option of the oanda adapter" in error.problem
    assert "did you mean 'stream_heartbeat_timeout'?" in error.problem
    assert "absence_grace_seconds, connections" in error.problem  # the options it has, listed


@pytest.mark.parametrize(
    ("options", "key", "complaint"),
    [
        ({"connections": "many"}, "connections", "valid integer"),
        ({"connections": 0}, "connections", "greater than or equal to 1"),
        ({"stream_heartbeat_timeout": -1}, "stream_heartbeat_timeout", "greater than 0"),
        ({"absence_grace_seconds": [30]}, "absence_grace_seconds", "valid number"),
    ],
)
def test_a_mistyped_oanda_option_is_named(options: dict[str, Any], key: str, complaint: str) -> None:
    error = refusal("oanda", options, broker_name="oanda-eu")
    assert error.path == f"oanda-eu.options.{key}"
    assert complaint in error.problem


def test_every_bad_option_is_reported_at_once_without_its_value() -> None:
    error = refusal("oanda", {"conections": 4, "access_token": "tok-0123456789-secret", "connections": "x"})
    paths = sorted(issue.path for issue in error.issues)
    assert paths == ["oanda.options.access_token", "oanda.options.conections", "oanda.options.connections"]
    assert "tok-0123456789-secret" not in str(error)
    assert "did you mean 'connections'?" in str(error)


async def test_the_factory_refuses_a_bad_option_naming_broker_and_key() -> None:
    factory = BrokerFactory(event_bus=EventBus(), discover_plugins=False)
    with pytest.raises(ConfigError, match=r"oanda\.options\.stream_max_reconects: not an option"):
        await factory.create_adapter(
            "oanda", {"broker_name": "oanda", "options": {"stream_max_reconects": 1}}
        )
    with pytest.raises(ConfigError, match=r"paper-b\.options\.sead: .*did you mean 'seed'"):
        await factory.create_adapter(
            "paper-b", {"broker_name": "paper-b", "adapter": "paper", "options": {"sead": 1}}
        )
    assert factory.adapters == {}  # nothing was created, nothing left open


# ------------------------------------------------------------------ paper


def test_paper_options_split_into_the_adapters_own_and_the_venues() -> None:
    options = PaperOptions.from_options(
        {"preset": "ecn", "seed": 3, "account_id": 7, "poll_interval": 0.01, "latency": {"median_ms": 0}},
        broker_name="paper",
    )
    assert options.account_id == "7"  # YAML reads an account 007 as the number 7
    assert options.poll_interval == 0.01
    assert options.venue is not None
    assert options.venue.name == "ecn"  # from the preset
    assert options.venue.commission.bps == Decimal("0.3")  # from the preset
    assert options.venue.seed == 3  # the options override the preset
    assert options.venue.latency.median_ms == 0
    assert PaperOptions.from_options({"alias": "a"}, broker_name="paper").venue is None


@pytest.mark.parametrize(
    ("options", "key", "complaint"),
    [
        ({"sead": 3}, "sead", "did you mean 'seed'?"),
        ({"spread_multiplier": "wide"}, "spread_multiplier", "valid number"),
        ({"preset": "nowhere"}, "preset", "unknown venue preset 'nowhere'"),
        ({"latency": {"median_msx": 3}}, "latency.median_msx", "not an option of the paper adapter"),
        ({"poll_interval": 0}, "poll_interval", "greater than 0"),
        ({"venue": {}}, "venue", "not an option of the paper adapter"),
    ],
)
def test_a_bad_paper_option_is_named(options: dict[str, Any], key: str, complaint: str) -> None:
    error = refusal("paper", options)
    assert error.path == f"paper.options.{key}"
    assert complaint in error.problem


def test_a_profile_wide_problem_names_the_options() -> None:
    error = refusal("paper", {"error_rate": 0.6, "timeout_rate": 0.6})
    assert error.path == "paper.options"
    assert "fault rates add up to 1.200" in error.problem
