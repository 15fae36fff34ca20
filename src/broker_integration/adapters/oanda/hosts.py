"""OANDA's hosts: the REST and streaming bases of its practice world and its live (real-money) world.

Facts: OANDA's v20 development guide ("Environments") and oandapyV20's ``TRADING_ENVIRONMENTS``: practice
``api-fxpractice.oanda.com`` / ``stream-fxpractice.oanda.com``, live ``api-fxtrade.oanda.com`` /
``stream-fxtrade.oanda.com``. ``LIVE_HOSTS`` and ``PRACTICE_HOSTS`` are what the configuration's
live/practice check reads (:mod:`broker_integration.adapters.hosts`); this module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from broker_integration.broker_config import Environment

__all__ = ["HOSTS", "LIVE_HOSTS", "PRACTICE_HOSTS", "hosts_for"]

#: (REST base, stream base) per environment; OANDA has a practice and a live world only.
HOSTS: Mapping[Environment, tuple[str, str]] = {
    Environment.PRACTICE: ("https://api-fxpractice.oanda.com", "https://stream-fxpractice.oanda.com"),
    Environment.LIVE: ("https://api-fxtrade.oanda.com", "https://stream-fxtrade.oanda.com"),
}


def _host_names(*bases: str) -> frozenset[str]:
    return frozenset(urlsplit(base).hostname or "" for base in bases)


#: Hosts that trade real money.
LIVE_HOSTS: frozenset[str] = _host_names(*HOSTS[Environment.LIVE])
#: Hosts of the practice (demo) world.
PRACTICE_HOSTS: frozenset[str] = _host_names(*HOSTS[Environment.PRACTICE])


def hosts_for(environment: Environment) -> tuple[str, str]:
    """The (REST, stream) bases for a credential's environment: live for LIVE, practice otherwise (OANDA
    has no separate paper or sandbox world)."""
    return HOSTS.get(environment, HOSTS[Environment.PRACTICE])
