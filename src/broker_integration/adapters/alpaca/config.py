"""The Alpaca adapter's options (``config.options``), typed: a misspelt or mistyped option is an error.

Read by :class:`~broker_integration.adapters.alpaca.adapter.AlpacaAdapter` when it is made; an unknown key
or a bad value is a :class:`~broker_integration.config.errors.ConfigError` naming the broker and the key.
Alpaca's hosts are in :mod:`broker_integration.adapters.alpaca.hosts`.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from broker_integration.adapters.options import AdapterOptions

__all__ = ["AlpacaOptions"]

_URL = re.compile(r"^(https?|wss?)://[^\s/]+")


class AlpacaOptions(AdapterOptions):
    """What can be tuned about one Alpaca connection."""

    adapter: ClassVar[str] = "alpaca"

    data_url: str | None = Field(
        default=None,
        description="The Market Data API base. Default: https://data.alpaca.markets when the trading base is "
        "Alpaca's own, else the trading base itself (a simulator serves both on one port).",
    )
    data_stream_url: str | None = Field(
        default=None,
        description="The market-data websocket base. Default: wss://stream.data.alpaca.markets when the "
        "trading base is Alpaca's own, else endpoints.stream_url or the trading base as ws(s)://.",
    )
    feed: Literal["iex", "sip"] = Field(
        default="iex", description="The stock data feed (iex on free plans, sip with a subscription)."
    )
    connections: int = Field(default=64, ge=1, le=10_000, description="The HTTP connection pool's size.")
    fill_timeout_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long place_order waits for an order that executes at once (market, IOC, FOK) to be "
        "filled or cancelled: Alpaca answers an order 'accepted' and fills it afterwards. The fill is read "
        "from trade_updates (or by lookup while that stream is down); 0 returns the acceptance at once.",
    )
    stream_silence_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3_600,
        description="Seconds a websocket may stay silent, its pings unanswered, before it counts as dead and "
        "is reconnected.",
    )
    stream_max_reconnects: int = Field(
        default=5, ge=0, le=1_000, description="Reconnections of a stream in a row before it fails."
    )
    absence_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="How long after sending an order its absence from Alpaca's record is not yet proof that "
        "it was never placed (a request still on its way, the record's own lag).",
    )
    refuse_when_closed: bool = Field(
        default=True,
        description="Refuse, before sending, a DAY stock order while Alpaca's market clock says the market is "
        "closed (Alpaca would queue it for the next open, at a price nobody has seen yet).",
    )

    @field_validator("data_url", "data_stream_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise ValueError("not an http(s) or ws(s) URL")
        return value.rstrip("/") if value else value
