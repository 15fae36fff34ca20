"""A venue's execution and fault profile: what makes one simulated broker differ from another.

One :class:`VenueProfile` sets the prices it shows (seed, spread multiplier), how it executes (slippage,
partial fills, random refusals, commission, trading hours), the account it opens (balance, currency) and
how its connection behaves (latency, transient faults). Two paper venues with different profiles differ
measurably in spread, cost, fill rate and latency, which is what an A/B experiment needs to detect.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["PRESETS", "CommissionModel", "LatencyModel", "VenueProfile", "with_preset"]

_MONEY_QUANTUM = Decimal("0.0001")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LatencyModel(_Frozen):
    """Response latency: lognormal with the given median (ms) and shape ``sigma``; zero median means none."""

    median_ms: float = Field(default=0.0, ge=0, le=60_000)
    sigma: float = Field(default=0.5, ge=0, le=5)

    def sample_seconds(self, rng: random.Random) -> float:
        """One latency draw in seconds."""
        if self.median_ms == 0:
            return 0.0
        return self.median_ms * math.exp(self.sigma * rng.gauss(0.0, 1.0)) / 1_000


class CommissionModel(_Frozen):
    """Commission per fill, in the account's currency: ``per_unit * units + bps * notional``, at least
    ``minimum`` (which applies to every fill when set)."""

    per_unit: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)
    bps: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)
    minimum: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)

    def charge(self, units: Decimal, notional: Decimal) -> Decimal:
        """The commission for a fill of ``units`` worth ``notional`` (account currency), to 4 decimals."""
        raw = self.per_unit * abs(units) + abs(notional) * self.bps / 10_000
        return max(raw, self.minimum).quantize(_MONEY_QUANTUM)

    @property
    def is_free(self) -> bool:
        return not (self.per_unit or self.bps or self.minimum)


class VenueProfile(_Frozen):
    """Everything that sets one simulated venue apart. All rates are probabilities per call or order."""

    name: str = "paper"
    seed: int = 0
    currency: str = "USD"
    initial_balance: Decimal = Field(default=Decimal(100_000), gt=0, allow_inf_nan=False)
    enforce_trading_hours: bool = True

    # prices and execution
    spread_multiplier: float = Field(default=1.0, gt=0, le=100)
    slippage_bps: float = Field(default=0.0, ge=0, le=1_000)  # mean adverse slippage of market fills
    commission: CommissionModel = Field(default_factory=CommissionModel)
    partial_fill_probability: float = Field(default=0.0, ge=0, le=1)
    partial_fill_min_fraction: float = Field(default=0.25, gt=0, le=1)
    rejection_rate: float = Field(default=0.0, ge=0, le=1)  # orders refused with INSUFFICIENT_LIQUIDITY
    #: A client order id is unique among the account's open orders only: once its order is final it may be
    #: used again (Binance spot's ``newClientOrderId``). Off: unique for the account's lifetime (OANDA).
    reuse_closed_client_order_ids: bool = False

    # connection behaviour, applied by the venue's faces before (or after) touching the engine
    latency: LatencyModel = Field(default_factory=LatencyModel)
    error_rate: float = Field(default=0.0, ge=0, le=1)  # 503 service unavailable, nothing executed
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)  # 429 with retry_after_s, nothing executed
    timeout_rate: float = Field(default=0.0, ge=0, le=1)  # no answer, nothing executed
    response_lost_rate: float = Field(default=0.0, ge=0, le=1)  # order actions only: executed, answer lost
    latency_spike_rate: float = Field(default=0.0, ge=0, le=1)
    latency_spike_ms: float = Field(default=2_000.0, ge=0, le=600_000)
    retry_after_s: float = Field(default=1.0, ge=0, le=3_600)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be a three-letter code such as USD")
        return value.upper()

    @model_validator(mode="after")
    def _fault_rates(self) -> Self:
        total = (
            self.error_rate
            + self.rate_limit_rate
            + self.timeout_rate
            + self.response_lost_rate
            + self.latency_spike_rate
        )
        if total > 1:
            raise ValueError(f"the fault rates add up to {total:.3f}; together they must not exceed 1")
        return self

    @property
    def has_random_faults(self) -> bool:
        return (
            self.error_rate
            + self.rate_limit_rate
            + self.timeout_rate
            + self.response_lost_rate
            + self.latency_spike_rate
        ) > 0

    def with_changes(self, **changes: Any) -> VenueProfile:
        """A validated copy with ``changes`` applied (nested models may be given as dicts)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> VenueProfile:
        """A profile from a configuration's ``options``: an optional ``preset`` name, then field overrides.

        Unknown keys are refused, so a misspelt option fails loudly instead of being ignored.
        """
        return cls.model_validate(with_preset(options))


def with_preset(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with its ``preset`` name (if any) replaced by that preset's fields, which the other
    options override; ``ValueError`` for a name that is not in :data:`PRESETS`."""
    values = dict(options)
    preset = values.pop("preset", None)
    if preset is None:
        return values
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValueError(f"unknown venue preset {preset!r}; choose one of {sorted(PRESETS)}")
    return {**PRESETS[preset], **values}


#: Named starting points for venues in demos and experiments (override any field in options).
PRESETS: Mapping[str, Mapping[str, Any]] = {
    "ideal": {"name": "ideal", "enforce_trading_hours": False},
    "retail": {
        "name": "retail",
        "spread_multiplier": 1.6,
        "slippage_bps": 0.4,
        "latency": {"median_ms": 45.0, "sigma": 0.5},
        "rejection_rate": 0.005,
        "error_rate": 0.002,
    },
    "ecn": {
        "name": "ecn",
        "spread_multiplier": 0.5,
        "slippage_bps": 0.1,
        "commission": {"bps": "0.3", "minimum": "0.50"},
        "latency": {"median_ms": 12.0, "sigma": 0.3},
        "partial_fill_probability": 0.05,
    },
    "flaky": {
        "name": "flaky",
        "latency": {"median_ms": 80.0, "sigma": 0.9},
        "error_rate": 0.03,
        "rate_limit_rate": 0.01,
        "timeout_rate": 0.01,
        "response_lost_rate": 0.005,
        "latency_spike_rate": 0.02,
    },
}
