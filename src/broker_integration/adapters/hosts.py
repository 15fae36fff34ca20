"""Which hosts trade real money, as each built-in venue declares them in its own folder.

Each venue's ``hosts`` module (``adapters/<broker>/hosts.py``) declares ``LIVE_HOSTS`` and
``PRACTICE_HOSTS``, frozensets of host names. The configuration's live/practice check
(:class:`~broker_integration.broker_config.BrokerConfiguration`) reads them through this registry of
module paths, imported on the first check: the venues' modules are light, and no adapter (nor aiohttp) is
imported for it. Adding a venue's hosts means one line here and the venue's own module.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping

__all__ = ["VENUE_HOSTS", "live_hosts", "practice_hosts"]

#: Venue → the module declaring its ``LIVE_HOSTS`` and ``PRACTICE_HOSTS``.
VENUE_HOSTS: Mapping[str, str] = {
    "oanda": "broker_integration.adapters.oanda.hosts",
    "alpaca": "broker_integration.adapters.alpaca.hosts",
}


def live_hosts() -> frozenset[str]:
    """Every built-in venue's real-money hosts (lower-case host names)."""
    return _declared("LIVE_HOSTS")


def practice_hosts() -> frozenset[str]:
    """Every built-in venue's practice, paper and sandbox hosts (lower-case host names)."""
    return _declared("PRACTICE_HOSTS")


@functools.cache
def _declared(name: str) -> frozenset[str]:
    hosts: set[str] = set()
    for module in VENUE_HOSTS.values():
        declared: frozenset[str] = getattr(importlib.import_module(module), name)
        hosts.update(host.lower() for host in declared)
    return frozenset(hosts)
