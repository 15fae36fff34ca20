"""The paper broker's options (``config.options``), typed: a misspelt or mistyped option is an error.

The options are flat, as the seed's JSON writes them: the adapter's own ``account_id``, ``alias`` and
``poll_interval``, and the simulated venue's profile, given as a ``preset`` name and/or any
:class:`~broker_integration.sim.profile.VenueProfile` field (``seed``, ``spread_multiplier``,
``latency`` ...). :class:`PaperOptions` gathers the venue's keys into ``venue``; an unknown key or a bad
value is a :class:`~broker_integration.config.errors.ConfigError` naming the broker and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from broker_integration.adapters.options import AdapterOptions
from broker_integration.sim.profile import PRESETS, VenueProfile, with_preset

__all__ = ["ADAPTER_KEYS", "DEFAULT_POLL_INTERVAL", "PaperOptions"]

#: Seconds between price polls when a price stream is open.
DEFAULT_POLL_INTERVAL = 0.25
#: The options that configure the adapter rather than the venue.
ADAPTER_KEYS: frozenset[str] = frozenset({"account_id", "alias", "poll_interval"})


class PaperOptions(AdapterOptions):
    """The paper adapter's own options, and the venue profile the other options describe."""

    adapter: ClassVar[str] = "paper"

    model_config = AdapterOptions.model_config | {"coerce_numbers_to_str": True}  # YAML reads 007 as 7

    account_id: str | None = Field(
        default=None, max_length=64, description="The account to trade in (else the credentials')."
    )
    alias: str = Field(default="", max_length=64, description="The account's display alias.")
    poll_interval: float = Field(
        default=DEFAULT_POLL_INTERVAL,
        gt=0,
        le=3_600,
        description="Seconds between price polls when streaming.",
    )
    preset: str | None = Field(default=None, description=f"A venue preset: {', '.join(sorted(PRESETS))}.")
    venue: VenueProfile | None = Field(
        default=None,
        description="The venue's profile, from the preset and the VenueProfile fields among the options; None "
        "when the options name no venue setting (the adapter then uses the default profile, or a shared engine).",
    )

    @model_validator(mode="before")
    @classmethod
    def _gather_venue(cls, data: Any) -> Any:
        """Flat options → the adapter's own keys, plus ``venue`` holding the preset's and the other keys."""
        if not isinstance(data, Mapping):
            return data
        own = {key: value for key, value in data.items() if key in ADAPTER_KEYS or key == "preset"}
        rest = {key: value for key, value in data.items() if key not in own}
        preset = own.get("preset")
        if rest or preset is not None:
            known_preset = isinstance(preset, str) and preset in PRESETS
            own["venue"] = with_preset({**rest, "preset": preset}) if known_preset else rest
        return own

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None:
            with_preset({"preset": value})  # refuses a name that is not a preset
        return value

    @classmethod
    def option_keys(cls) -> tuple[str, ...]:
        return tuple(sorted({*ADAPTER_KEYS, "preset", *VenueProfile.model_fields}))

    @classmethod
    def option_key(cls, loc: tuple[int | str, ...]) -> str:
        """Errors inside ``venue`` are about the flat option of that name."""
        inside = loc[1:] if loc[:1] == ("venue",) else loc
        return ".".join(str(part) for part in inside)
