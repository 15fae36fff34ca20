"""Alpaca's hosts: which trade real money and which belong to its paper world.

Facts: Alpaca's Trading API reference ("Paper Trading") and alpaca-py's ``BaseURL``: trading
``https://api.alpaca.markets`` (live) and ``https://paper-api.alpaca.markets`` (paper), each with its
trade-updates stream at ``/stream`` on the same host. The market-data hosts (``data.alpaca.markets``,
``stream.data.alpaca.markets``) serve paper and live keys alike, so they are neither; the sandbox data
host ``data.sandbox.alpaca.markets`` is a practice host. ``LIVE_HOSTS`` and ``PRACTICE_HOSTS`` are what the configuration's
live/practice check reads (:mod:`broker_integration.adapters.hosts`); this module imports nothing.
"""

from __future__ import annotations

__all__ = ["LIVE_HOSTS", "LIVE_TRADING_URL", "PAPER_TRADING_URL", "PRACTICE_HOSTS"]

LIVE_TRADING_URL = "https://api.alpaca.markets"
PAPER_TRADING_URL = "https://paper-api.alpaca.markets"

#: Hosts that trade real money.
LIVE_HOSTS: frozenset[str] = frozenset({"api.alpaca.markets"})
#: Hosts of the paper world and the data sandbox.
PRACTICE_HOSTS: frozenset[str] = frozenset({"paper-api.alpaca.markets", "data.sandbox.alpaca.markets"})
