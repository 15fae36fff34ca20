"""The OANDA adapter's options (``config.options``), typed: a misspelt or mistyped option is an error.

Read by :class:`~broker_integration.adapters.oanda.adapter.OandaAdapter` when it is made; an unknown key
or a bad value is a :class:`~broker_integration.config.errors.ConfigError` naming the broker and the key.
OANDA's hosts are in :mod:`broker_integration.adapters.oanda.hosts`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from broker_integration.adapters.options import AdapterOptions

__all__ = ["OandaOptions"]


class OandaOptions(AdapterOptions):
    """What can be tuned about one OANDA connection."""

    adapter: ClassVar[str] = "oanda"

    stream_heartbeat_timeout: float = Field(
        default=10.0,
        gt=0,
        le=3_600,
        description="Seconds without a line (OANDA sends a heartbeat every 5 s) before a stream counts as "
        "dead and is reconnected.",
    )
    stream_max_reconnects: int = Field(
        default=5, ge=0, le=1_000, description="Reconnections of a stream in a row before it fails."
    )
    connections: int = Field(default=64, ge=1, le=10_000, description="The HTTP connection pool's size.")
    absence_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="How long after sending an order its absence from the account's transaction history is "
        "not yet proof that it was never placed: OANDA's documented read-after-write lag is 0.25-0.5 s, and "
        "a request still queued at the venue is covered too.",
    )
