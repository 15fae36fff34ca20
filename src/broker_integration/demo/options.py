"""What one demo run is asked to do: ``DemoOptions``, and ``DemoError`` for a run that cannot go on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from broker_integration.ab_testing import RoutingStrategy

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_REPORT",
    "MIN_ORDERS",
    "DemoError",
    "DemoOptions",
    "RoutingChoice",
]

#: The configuration of the demo's venues, shipped inside the package (``demo/config``) so that the demo
#: runs from an installed wheel as from a source checkout.
DEFAULT_CONFIG = Path(__file__).resolve().parent / "config"
DEFAULT_REPORT = Path("reports") / "demo-report.html"
#: Fewer orders than this leave every arm below the sample the analysis needs before any verdict.
MIN_ORDERS = 100


class DemoError(RuntimeError):
    """The demo cannot go on; the message says what failed and what to do about it."""


class RoutingChoice(StrEnum):
    """The ``--routing`` names, short for the A/B framework's routing strategies."""

    HASH = "hash"
    RANDOM = "random"
    PERFORMANCE = "performance"

    @property
    def strategy(self) -> RoutingStrategy:
        return _STRATEGIES[self]


_STRATEGIES = {
    RoutingChoice.HASH: RoutingStrategy.HASH_BASED,
    RoutingChoice.RANDOM: RoutingStrategy.RANDOM,
    RoutingChoice.PERFORMANCE: RoutingStrategy.PERFORMANCE_BASED,
}


@dataclass(frozen=True)
class DemoOptions:
    """Settings of one run. ``store_url`` ``None`` means a fresh temporary store, deleted afterwards.

    ``concurrency`` bounds the orders in flight at once; ``environment`` is the configuration section
    the demo loads (``development``: short timeouts, every venue enabled). The instruments are quoted
    in USD, so the costs the metrics collector sums across them are in one currency.
    """

    orders: int = 3000
    seed: int = 42
    routing: RoutingChoice = RoutingChoice.PERFORMANCE
    report_path: Path = DEFAULT_REPORT
    store_url: str | None = None
    config_path: Path = DEFAULT_CONFIG
    environment: str = "development"
    concurrency: int = 32
    instruments: tuple[str, ...] = field(default=("EUR/USD", "GBP/USD", "AUD/USD"))

    def __post_init__(self) -> None:
        if self.orders < MIN_ORDERS:
            raise DemoError(f"--orders must be at least {MIN_ORDERS} (got {self.orders})")
        if self.concurrency < 1:
            raise DemoError(f"concurrency must be at least 1 (got {self.concurrency})")
        if not self.instruments:
            raise DemoError("the demo needs at least one instrument to trade")
