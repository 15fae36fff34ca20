"""The instruments a simulated venue lists, with the parameters of their price processes.

Each :class:`InstrumentSpec` pairs the public metadata (:class:`~broker_integration.models.Instrument`:
tick size, precision, sizes, margin rate) with what the simulator needs to invent a plausible market:
a reference price, an annual volatility, a typical spread and the trading hours. The figures are round,
realistic values for 2024 markets, not data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from broker_integration.models import Instrument, InstrumentType
from broker_integration.sim.hours import ALWAYS_OPEN, FX_HOURS, US_EQUITY_HOURS, MarketHours
from broker_integration.symbols import split_pair

__all__ = ["DEFAULT_INSTRUMENTS", "InstrumentSpec", "default_instruments", "equity_spec"]


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One listed instrument: its public metadata and its simulated market."""

    instrument: Instrument
    base_price: float
    annual_volatility: float
    spread: Decimal
    hours: MarketHours

    def __post_init__(self) -> None:
        if self.base_price <= 0 or self.annual_volatility <= 0:
            raise ValueError(f"{self.symbol}: base_price and annual_volatility must be positive")
        if self.spread <= 0:
            raise ValueError(f"{self.symbol}: spread must be positive")
        if self.instrument.quote_currency is None:
            raise ValueError(f"{self.symbol}: quote_currency is needed to value positions")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def tick_size(self) -> Decimal:
        return self.instrument.tick_size

    @property
    def quote_currency(self) -> str:
        currency = self.instrument.quote_currency
        assert currency is not None  # checked in __post_init__
        return currency

    @property
    def margin_rate(self) -> Decimal:
        return self.instrument.margin_rate if self.instrument.margin_rate is not None else Decimal(1)


def _fx(symbol: str, price: float, vol: float, spread: str, *, jpy: bool = False) -> InstrumentSpec:
    pair = split_pair(symbol)
    assert pair is not None
    return InstrumentSpec(
        instrument=Instrument(
            symbol=symbol,
            broker_symbol=symbol,
            type=InstrumentType.CURRENCY,
            display_name=symbol,
            tick_size=Decimal("0.001") if jpy else Decimal("0.00001"),
            display_precision=3 if jpy else 5,
            pip_location=-2 if jpy else -4,
            min_quantity=Decimal(1),
            quantity_increment=Decimal(1),
            max_quantity=Decimal(100_000_000),
            margin_rate=Decimal("0.0333"),
            quote_currency=pair[1],
        ),
        base_price=price,
        annual_volatility=vol,
        spread=Decimal(spread),
        hours=FX_HOURS,
    )


def equity_spec(
    symbol: str,
    name: str,
    price: float,
    vol: float,
    spread: str,
    *,
    step: Decimal = Decimal(1),
    max_quantity: Decimal = Decimal(1_000_000),
) -> InstrumentSpec:
    """A US stock in USD: cent ticks, a 50 % margin rate (Reg T's two-to-one), US market hours, traded in
    ``step`` shares (whole shares unless fractional)."""
    return InstrumentSpec(
        instrument=Instrument(
            symbol=symbol,
            broker_symbol=symbol,
            type=InstrumentType.EQUITY,
            display_name=name,
            tick_size=Decimal("0.01"),
            display_precision=2,
            min_quantity=step,
            quantity_increment=step,
            max_quantity=max_quantity,
            margin_rate=Decimal("0.5"),
            quote_currency="USD",
        ),
        base_price=price,
        annual_volatility=vol,
        spread=Decimal(spread),
        hours=US_EQUITY_HOURS,
    )


def default_instruments() -> tuple[InstrumentSpec, ...]:
    """The default listing: six FX majors, three US equities and bitcoin."""
    return (
        _fx("EUR/USD", 1.0850, 0.07, "0.00012"),
        _fx("GBP/USD", 1.2700, 0.08, "0.00016"),
        _fx("USD/JPY", 148.50, 0.09, "0.014", jpy=True),
        _fx("AUD/USD", 0.6600, 0.10, "0.00014"),
        _fx("USD/CHF", 0.8800, 0.07, "0.00017"),
        _fx("USD/CAD", 1.3500, 0.06, "0.00020"),
        equity_spec("AAPL", "Apple Inc.", 190.0, 0.25, "0.02"),
        equity_spec("MSFT", "Microsoft Corp.", 410.0, 0.22, "0.03"),
        equity_spec("SPY", "SPDR S&P 500 ETF", 475.0, 0.15, "0.01"),
        InstrumentSpec(
            instrument=Instrument(
                symbol="BTC/USD",
                broker_symbol="BTC/USD",
                type=InstrumentType.CRYPTO,
                display_name="Bitcoin / US Dollar",
                tick_size=Decimal("0.01"),
                display_precision=2,
                min_quantity=Decimal("0.0001"),
                quantity_increment=Decimal("0.0001"),
                max_quantity=Decimal(1_000),
                margin_rate=Decimal("0.5"),
                quote_currency="USD",
            ),
            base_price=43_000.0,
            annual_volatility=0.60,
            spread=Decimal("8.00"),
            hours=ALWAYS_OPEN,
        ),
    )


DEFAULT_INSTRUMENTS: tuple[InstrumentSpec, ...] = default_instruments()
