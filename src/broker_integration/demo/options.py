"""What one demo run is asked to do: ``DemoOptions``, and ``DemoError`` for a run that cannot go on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from broker_integration.ab_testing import RoutingStrategy
from broker_integration.symbols import split_pair

__all__ = [
    "CRYPTO_SHARE",
    "DEFAULT_CONFIG",
    "DEFAULT_REPORT",
    "MIN_CRYPTO_ORDERS",
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
#: The crypto part routes a third of ``--orders`` on top of the FX part's, and at least this many: enough
#: for each of its three venues to reach the broker comparison's 30 calls once adaptive routing favours one.
CRYPTO_SHARE = 3
MIN_CRYPTO_ORDERS = 150


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

    The run has two parts. The FX part trades ``instruments`` on every enabled venue not named in
    ``crypto_venues``; the crypto part trades ``crypto_instrument`` on the enabled ``crypto_venues`` (three
    protocols: Alpaca's REST and websockets, Binance's through CCXT, the paper broker in process), control
    first, with a third of ``orders``. ``crypto_venues`` empty leaves the crypto part out.
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
    crypto_instrument: str = "BTC/USD"
    crypto_venues: tuple[str, ...] = ("alpaca", "binance", "paper-crypto")

    def __post_init__(self) -> None:
        if self.orders < MIN_ORDERS:
            raise DemoError(f"--orders must be at least {MIN_ORDERS} (got {self.orders})")
        if self.concurrency < 1:
            raise DemoError(f"concurrency must be at least 1 (got {self.concurrency})")
        if not self.instruments:
            raise DemoError("the demo needs at least one instrument to trade")
        if self.crypto_venues and split_pair(self.crypto_instrument) is None:
            raise DemoError(f"the crypto part trades a pair such as BTC/USD (got {self.crypto_instrument!r})")

    @property
    def crypto_orders(self) -> int:
        """How many orders the crypto part routes: a third of ``orders``, at least :data:`MIN_CRYPTO_ORDERS`."""
        return max(MIN_CRYPTO_ORDERS, self.orders // CRYPTO_SHARE)

    def crypto_part(self) -> DemoOptions:
        """The options of the crypto part's experiment: its orders and its one instrument, no crypto part
        of its own."""
        return replace(
            self,
            orders=self.crypto_orders,
            instruments=(self.crypto_instrument,),
            crypto_venues=(),
        )
