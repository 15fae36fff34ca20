"""``DiscoveryOptions``: how far discovery may go and where it looks."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from broker_integration.models import Granularity, Symbol

__all__ = ["MAX_SYNTHETIC_ORDERS", "DiscoveryOptions"]

#: The hard ceiling on test orders in one synthetic discovery, whatever the options say.
MAX_SYNTHETIC_ORDERS = 50


class DiscoveryOptions(BaseModel):
    """Settings of one discovery engine.

    ``probe_instruments``: where to look first for prices, candles, the streamed tick and test orders
    (default: the broker's own listing, then ``fallback_instruments``); the first one whose quote is
    tradeable is used. ``max_synthetic_orders`` bounds the test orders one synthetic discovery places.
    ``far_fraction`` sets how far from the market test orders go (0.5: a buy limit at half the bid, a buy
    stop at one and a half times the ask), so that they cannot fill. ``fallback_quantity`` sizes test
    orders only when the broker gives no instrument metadata.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    probe_instruments: tuple[Symbol, ...] = ()
    fallback_instruments: tuple[Symbol, ...] = ("EUR/USD",)
    quote_candidates: Annotated[int, Field(ge=1, le=50)] = 12
    granularities: tuple[Granularity, ...] = tuple(Granularity)
    candle_count: Annotated[int, Field(ge=1, le=500)] = 2
    probe_timeout: Annotated[float, Field(gt=0, le=600)] = 15.0
    stream_timeout: Annotated[float, Field(gt=0, le=600)] = 10.0
    max_synthetic_orders: Annotated[int, Field(ge=1, le=MAX_SYNTHETIC_ORDERS)] = 10
    far_fraction: Annotated[Decimal, Field(gt=Decimal("0.05"), lt=Decimal("0.95"))] = Decimal("0.5")
    fallback_quantity: Annotated[Decimal, Field(gt=0)] = Decimal(1)

    @field_validator("granularities")
    @classmethod
    def _unique(cls, value: tuple[Granularity, ...]) -> tuple[Granularity, ...]:
        return tuple(dict.fromkeys(value))
