"""What the simulated Alpaca lists: US stocks (with market hours) and crypto pairs (around the clock).

Each :class:`ListedAsset` pairs the engine's :class:`~broker_integration.sim.InstrumentSpec` with what
Alpaca's Asset object says of it (reference §2.3; alpaca-py ``Asset``): its class, exchange, whether it is
fractionable, marginable and shortable, and for crypto ``min_order_size``, ``min_trade_increment`` and
``price_increment``. A fractionable stock trades in steps of 10⁻⁹ shares, another only in whole shares; stocks
are marginable (a 50 % margin rate: Reg T's two-to-one buying power), crypto is not (a 100 % rate). The
prices are round 2024 levels, not data. ``BRK.A`` is listed as Alpaca lists it: tradable, not fractionable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from broker_integration.models import Instrument, InstrumentType
from broker_integration.sim.hours import ALWAYS_OPEN
from broker_integration.sim.instruments import InstrumentSpec, equity_spec

__all__ = ["ListedAsset", "default_listing"]

_FRACTION = Decimal("0.000000001")


@dataclass(frozen=True, slots=True)
class ListedAsset:
    """One asset: the engine's spec and Alpaca's facts about it."""

    spec: InstrumentSpec
    asset_id: str
    exchange: str
    fractionable: bool
    shortable: bool
    min_order_size: Decimal | None = None
    min_trade_increment: Decimal | None = None
    price_increment: Decimal | None = None

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def is_crypto(self) -> bool:
        return self.spec.instrument.type is InstrumentType.CRYPTO

    @property
    def asset_class(self) -> str:
        return "crypto" if self.is_crypto else "us_equity"

    @property
    def wire_symbol(self) -> str:
        """How positions name it: ``BTCUSD`` for crypto (reference §2.2 [rec]), the ticker for a stock."""
        return self.symbol.replace("/", "")


def _asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-sim:{symbol}"))


def _stock(
    symbol: str, name: str, price: float, vol: float, spread: str, *, fractionable: bool, exchange: str
) -> ListedAsset:
    step = _FRACTION if fractionable else Decimal(1)
    spec = equity_spec(symbol, name, price, vol, spread, step=step, max_quantity=Decimal(10_000_000))
    return ListedAsset(spec, _asset_id(symbol), exchange, fractionable, shortable=True)


def _crypto(
    symbol: str, name: str, price: float, vol: float, spread: str, tick: str, minimum: str, increment: str
) -> ListedAsset:
    spec = InstrumentSpec(
        instrument=Instrument(
            symbol=symbol,
            broker_symbol=symbol,
            type=InstrumentType.CRYPTO,
            display_name=name,
            tick_size=Decimal(tick),
            display_precision=len(tick.split(".")[1]) if "." in tick else 0,
            min_quantity=Decimal(minimum),
            quantity_increment=Decimal(increment),
            max_quantity=Decimal(1_000_000),
            margin_rate=Decimal(1),
            quote_currency="USD",
        ),
        base_price=price,
        annual_volatility=vol,
        spread=Decimal(spread),
        hours=ALWAYS_OPEN,
    )
    return ListedAsset(
        spec,
        _asset_id(symbol),
        "CRYPTO",
        fractionable=True,
        shortable=False,
        min_order_size=Decimal(minimum),
        min_trade_increment=Decimal(increment),
        price_increment=Decimal(tick),
    )


def default_listing() -> tuple[ListedAsset, ...]:
    """Four stocks (one not fractionable) and two crypto pairs."""
    return (
        _stock("AAPL", "Apple Inc. Common Stock", 190.0, 0.25, "0.02", fractionable=True, exchange="NASDAQ"),
        _stock(
            "MSFT",
            "Microsoft Corporation Common Stock",
            410.0,
            0.22,
            "0.03",
            fractionable=True,
            exchange="NASDAQ",
        ),
        _stock("SPY", "SPDR S&P 500 ETF Trust", 475.0, 0.15, "0.01", fractionable=True, exchange="ARCA"),
        _stock(
            "BRK.A",
            "Berkshire Hathaway Inc. Class A",
            545_000.0,
            0.18,
            "60.00",
            fractionable=False,
            exchange="NYSE",
        ),
        _crypto("BTC/USD", "Bitcoin / US Dollar", 43_000.0, 0.60, "8.00", "0.01", "0.0001", "0.000000001"),
        _crypto("ETH/USD", "Ethereum / US Dollar", 2_300.0, 0.70, "0.60", "0.01", "0.001", "0.000000001"),
    )
