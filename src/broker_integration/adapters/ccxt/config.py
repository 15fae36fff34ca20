"""The CCXT adapter's options (``config.options``), typed: a misspelt or mistyped option is an error.

``exchange`` (required) is ccxt's id of the venue (``binance``, ``kraken``, ``coinbase``…); whether ccxt
knows it is checked when the adapter is made, with ccxt imported (:mod:`.exchange`). This module imports
nothing of ccxt, so reading the options, or the live/practice check of a configuration, stays light.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from broker_integration.adapters.options import AdapterOptions
from broker_integration.symbols import canonical_symbol

__all__ = ["CcxtOptions", "StreamMode"]

StreamMode = Literal["auto", "websocket", "polling"]
_EXCHANGE_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class CcxtOptions(AdapterOptions):
    """What can be tuned about one venue reached through CCXT."""

    adapter: ClassVar[str] = "ccxt"

    exchange: str = Field(description="ccxt's id of the exchange: binance, kraken, coinbase ...")
    market_type: Literal["spot", "swap", "future"] = Field(
        default="spot",
        description="Which of the exchange's markets this adapter trades (ccxt's defaultType): spot pairs "
        "(BTC/USDT) or derivatives (BTC/USDT:USDT).",
    )
    exchange_options: dict[str, Any] = Field(
        default_factory=dict, description="Merged into the ccxt exchange's own options (its `options`)."
    )
    urls: dict[str, Any] = Field(
        default_factory=dict,
        description="Merged into ccxt's urls['api'] after endpoints.base_url and stream_url are applied.",
    )
    has: dict[str, bool] = Field(
        default_factory=dict,
        description="Corrections to ccxt's has flags for this exchange (fetchOHLCV: false, say), where capability "
        "discovery shows a flag is wrong.",
    )
    password: SecretStr | None = Field(
        default=None,
        description="The API passphrase some exchanges need besides key and secret (ccxt's password).",
    )
    order_updates: StreamMode = Field(
        default="auto",
        description="stream_order_updates through ccxt.pro's watchOrders (websocket) or by polling the "
        "order endpoints (polling); auto: the websocket where ccxt.pro has one for the exchange.",
    )
    prices: StreamMode = Field(
        default="auto",
        description="stream_prices through ccxt.pro's watchTicker (websocket) or by polling fetchTicker.",
    )
    poll_interval: float = Field(
        default=1.0, gt=0, le=3_600, description="Seconds between polls when a stream is polled."
    )
    absence_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="How long after sending an order its absence from the exchange's order history is not "
        "yet proof that it was never placed (a request queued at the venue, a history read from a replica).",
    )
    history_margin_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3_600,
        description="How far before an order was sent its history search starts (clock difference between "
        "this machine and the exchange).",
    )
    symbols: tuple[str, ...] = Field(
        default=(),
        description="Instruments whose orders are searched when an order's instrument is not known (an order "
        "placed by another process), and that order-update polling watches from the start.",
    )

    @field_validator("exchange")
    @classmethod
    def _exchange(cls, value: str) -> str:
        text = value.strip().lower()
        if not _EXCHANGE_ID.match(text):
            raise ValueError(
                f"{value!r} is not a ccxt exchange id (lower-case letters and digits: binance, kraken)"
            )
        return text

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(canonical_symbol(symbol) for symbol in value)
