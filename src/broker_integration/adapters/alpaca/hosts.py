"""Alpaca's hosts: which trade real money and which belong to its paper world, and the bases an adapter uses.

Facts: Alpaca's Trading API reference ("Paper Trading") and alpaca-py's ``BaseURL``: trading
``https://api.alpaca.markets`` (live) and ``https://paper-api.alpaca.markets`` (paper), each with its
trade-updates stream at ``/stream`` on the same host. The market-data hosts (``data.alpaca.markets``,
``stream.data.alpaca.markets``) serve paper and live keys alike, so they are neither; the sandbox data
host ``data.sandbox.alpaca.markets`` is a practice host. ``LIVE_HOSTS`` and ``PRACTICE_HOSTS`` are what the configuration's
live/practice check reads (:mod:`broker_integration.adapters.hosts`); this module imports nothing heavy.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = [
    "DATA_STREAM_URL",
    "DATA_URL",
    "LIVE_HOSTS",
    "LIVE_TRADING_URL",
    "PAPER_TRADING_URL",
    "PRACTICE_HOSTS",
    "is_alpaca_host",
    "websocket_url",
]

LIVE_TRADING_URL = "https://api.alpaca.markets"
PAPER_TRADING_URL = "https://paper-api.alpaca.markets"
#: Market Data API v2 (REST) and its websocket host (alpaca-py ``BaseURL.DATA`` / ``MARKET_DATA_STREAM``).
DATA_URL = "https://data.alpaca.markets"
DATA_STREAM_URL = "wss://stream.data.alpaca.markets"

#: Hosts that trade real money.
LIVE_HOSTS: frozenset[str] = frozenset({"api.alpaca.markets"})
#: Hosts of the paper world and the data sandbox.
PRACTICE_HOSTS: frozenset[str] = frozenset({"paper-api.alpaca.markets", "data.sandbox.alpaca.markets"})
_DATA_HOSTS = frozenset({"data.alpaca.markets", "stream.data.alpaca.markets"})


def is_alpaca_host(url: str) -> bool:
    """Whether ``url`` points at one of Alpaca's own hosts (rather than a simulator or a proxy)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in LIVE_HOSTS or host in PRACTICE_HOSTS or host in _DATA_HOSTS


def websocket_url(url: str) -> str:
    """``url`` with its scheme made a websocket scheme (``https`` → ``wss``, ``http`` → ``ws``)."""
    scheme, sep, rest = url.partition("://")
    return f"{ {'https': 'wss', 'http': 'ws'}.get(scheme, scheme) }{sep}{rest}"
