"""Each venue declares its live (real-money) and practice hosts in its own folder; the configuration's
live/practice check reads those declarations, without loading any adapter."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from broker_integration.adapters import hosts as registry
from broker_integration.adapters.oanda.hosts import HOSTS, hosts_for
from broker_integration.broker_config import BrokerConfiguration, Environment


def config(url: str, environment: str) -> BrokerConfiguration:
    return BrokerConfiguration.from_dict(
        {
            "broker_name": "venue",
            "credentials": {"api_key": "k", "environment": environment},
            "endpoints": {"base_url": url},
        }
    )


def declared(name: str) -> list[str]:
    return sorted(
        host
        for module in registry.VENUE_HOSTS.values()
        for host in getattr(importlib.import_module(module), name)
    )


@pytest.mark.parametrize("host", declared("LIVE_HOSTS"))
def test_every_declared_live_host_refuses_practice_credentials(host: str) -> None:
    for environment in ("practice", "paper", "sandbox"):
        with pytest.raises(ValidationError, match="live \\(real money\\) host"):
            config(f"https://{host}", environment)
    assert config(f"https://{host}/v3", "live").credentials.environment is Environment.LIVE


@pytest.mark.parametrize("host", declared("PRACTICE_HOSTS"))
def test_every_declared_practice_host_refuses_live_credentials(host: str) -> None:
    with pytest.raises(ValidationError, match="practice/paper host"):
        config(f"https://{host}", "live")
    assert config(f"https://{host}", "practice").endpoints.base_url == f"https://{host}"


def test_the_registry_gathers_the_venues_declarations() -> None:
    assert {
        "api-fxtrade.oanda.com",
        "stream-fxtrade.oanda.com",
        "api.alpaca.markets",
    } <= registry.live_hosts()
    assert {"api-fxpractice.oanda.com", "paper-api.alpaca.markets"} <= registry.practice_hosts()
    assert not registry.live_hosts() & registry.practice_hosts()


def test_alpacas_market_data_serves_paper_and_live_keys_alike() -> None:
    for url in ("wss://stream.data.alpaca.markets/v2/iex", "https://data.alpaca.markets"):
        assert config(url, "paper").endpoints.base_url == url
        assert config(url, "live").endpoints.base_url == url


def test_oandas_default_hosts_follow_the_credentials_world() -> None:
    assert hosts_for(Environment.LIVE) == HOSTS[Environment.LIVE]
    for environment in (Environment.PRACTICE, Environment.PAPER, Environment.SANDBOX):
        assert hosts_for(environment) == HOSTS[Environment.PRACTICE]


@pytest.fixture
def venue_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A venue whose host names carry no practice word: only its declaration can tell its worlds apart."""
    (tmp_path / "example_venue_hosts.py").write_text(
        'LIVE_HOSTS = frozenset({"trade.example-venue.net"})\nPRACTICE_HOSTS = frozenset({"uat.example-venue.net"})\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "VENUE_HOSTS", {**registry.VENUE_HOSTS, "example": "example_venue_hosts"})
    registry._declared.cache_clear()
    yield "example_venue_hosts"
    registry._declared.cache_clear()
    sys.modules.pop("example_venue_hosts", None)


@pytest.mark.usefixtures("venue_module")
def test_a_venues_own_declaration_decides_where_no_host_name_hints() -> None:
    with pytest.raises(ValidationError, match="live \\(real money\\) host"):
        config("https://TRADE.example-venue.net/api", "practice")
    with pytest.raises(ValidationError, match="practice/paper host"):
        config("https://uat.example-venue.net/api", "live")
    assert config("https://uat.example-venue.net/api", "practice").endpoints.base_url is not None
