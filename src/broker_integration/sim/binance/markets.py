"""The symbols the Binance spot simulator lists, their filters, and the names both ways.

Each :class:`SymbolRules` pairs the venue engine's instrument (its price process and sizes) with the
filters Binance publishes for the symbol in ``GET /api/v3/exchangeInfo`` and checks on every order
(``filters.md`` of github.com/binance/binance-spot-api-docs): ``PRICE_FILTER`` (tick size and price
range), ``LOT_SIZE`` and ``MARKET_LOT_SIZE`` (quantity steps and range), ``NOTIONAL`` (price times quantity
range) and ``PERCENT_PRICE_BY_SIDE`` (a limit price within a band around the average price), plus
``MAX_NUM_ORDERS``. The default listing is BTCUSDT and ETHUSDT with round values like Binance's own
listing in 2024-2025, every pair quoted in the quote asset the accounts hold as cash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from broker_integration.models import Instrument, InstrumentType
from broker_integration.sim.hours import ALWAYS_OPEN
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.symbols import split_pair

__all__ = ["DEFAULT_ORDER_TYPES", "Listing", "SymbolRules", "crypto_spec", "decimal_text", "default_rules"]

#: The order types the simulator executes, as Binance names them (``enums.md`` "Order types").
DEFAULT_ORDER_TYPES: tuple[str, ...] = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT")

_PLACES = Decimal("0.00000001")


def decimal_text(value: Decimal, places: Decimal = _PLACES) -> str:
    """A decimal as Binance writes it: a string with eight decimal places."""
    return f"{value.quantize(places):f}"


def crypto_spec(
    symbol: str,
    *,
    price: float,
    volatility: float,
    spread: str,
    tick: str,
    step: str,
    max_quantity: str,
) -> InstrumentSpec:
    """An engine instrument for a spot pair that trades around the clock, unleveraged (margin rate 1)."""
    pair = split_pair(symbol)
    assert pair is not None, symbol
    tick_size = Decimal(tick)
    exponent = tick_size.normalize().as_tuple().exponent
    return InstrumentSpec(
        instrument=Instrument(
            symbol=symbol,
            broker_symbol=symbol.replace("/", ""),
            type=InstrumentType.CRYPTO,
            display_name=symbol,
            tick_size=tick_size,
            display_precision=max(0, -exponent) if isinstance(exponent, int) else 0,
            min_quantity=Decimal(step),
            quantity_increment=Decimal(step),
            max_quantity=Decimal(max_quantity),
            margin_rate=Decimal(1),
            quote_currency=pair[1],
        ),
        base_price=price,
        annual_volatility=volatility,
        spread=Decimal(spread),
        hours=ALWAYS_OPEN,
    )


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """One listed symbol: the engine's instrument and Binance's filters for it."""

    spec: InstrumentSpec
    min_price: Decimal
    max_price: Decimal
    max_market_quantity: Decimal
    min_notional: Decimal
    max_notional: Decimal
    bid_multiplier_up: Decimal = Decimal(5)
    bid_multiplier_down: Decimal = Decimal("0.2")
    ask_multiplier_up: Decimal = Decimal(5)
    ask_multiplier_down: Decimal = Decimal("0.2")
    max_num_orders: int = 200
    max_num_algo_orders: int = 5
    order_types: tuple[str, ...] = DEFAULT_ORDER_TYPES

    @property
    def symbol(self) -> str:
        """Binance's name: the assets run together (``BTCUSDT``)."""
        return f"{self.base}{self.quote}"

    @property
    def base(self) -> str:
        pair = split_pair(self.spec.symbol)
        assert pair is not None
        return pair[0]

    @property
    def quote(self) -> str:
        return self.spec.quote_currency

    @property
    def tick_size(self) -> Decimal:
        return self.spec.tick_size

    @property
    def step_size(self) -> Decimal:
        return self.spec.instrument.quantity_increment

    @property
    def min_quantity(self) -> Decimal:
        return self.spec.instrument.min_quantity

    @property
    def max_quantity(self) -> Decimal:
        maximum = self.spec.instrument.max_quantity
        assert maximum is not None
        return maximum

    def exchange_info(self) -> dict[str, Any]:
        """The symbol's entry in ``GET /api/v3/exchangeInfo``."""
        text = decimal_text
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(self.order_types),
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "opoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": True,
            "amendAllowed": False,
            "pegInstructionsAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": text(self.min_price),
                    "maxPrice": text(self.max_price),
                    "tickSize": text(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": text(self.min_quantity),
                    "maxQty": text(self.max_quantity),
                    "stepSize": text(self.step_size),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": text(Decimal(0)),
                    "maxQty": text(self.max_market_quantity),
                    "stepSize": text(Decimal(0)),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": text(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": text(self.max_notional),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": str(self.bid_multiplier_up),
                    "bidMultiplierDown": str(self.bid_multiplier_down),
                    "askMultiplierUp": str(self.ask_multiplier_up),
                    "askMultiplierDown": str(self.ask_multiplier_down),
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_num_orders},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": self.max_num_algo_orders},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }


def spot_pair(
    symbol: str, *, price: float, volatility: float, step: str, max_market_quantity: int, tick: str = "0.01"
) -> SymbolRules:
    """A spot pair with Binance's usual rules: prices from one tick to a million, 9,000 units a limit
    order at most, a minimum order value of 5 quote units."""
    return SymbolRules(
        spec=crypto_spec(
            symbol,
            price=price,
            volatility=volatility,
            spread="0.02",
            tick=tick,
            step=step,
            max_quantity="9000",
        ),
        min_price=Decimal(tick),
        max_price=Decimal(1_000_000),
        max_market_quantity=Decimal(max_market_quantity),
        min_notional=Decimal(5),
        max_notional=Decimal(9_000_000),
    )


def default_rules(quote: str = "USDT") -> tuple[SymbolRules, ...]:
    """The default listing: bitcoin and ether against ``quote``."""
    return (
        spot_pair(f"BTC/{quote}", price=43_000.0, volatility=0.6, step="0.00001", max_market_quantity=120),
        spot_pair(f"ETH/{quote}", price=2_300.0, volatility=0.7, step="0.0001", max_market_quantity=2_000),
    )


class Listing:
    """The simulator's symbols by Binance name and by engine symbol."""

    def __init__(self, rules: Iterable[SymbolRules], quote_asset: str) -> None:
        self.rules = tuple(rules)
        if not self.rules:
            raise ValueError("the simulator needs at least one symbol")
        for rule in self.rules:
            if rule.quote != quote_asset:
                # the accounts' cash is the quote asset: a pair quoted in another asset would need balances
                # the engine's single-currency account cannot keep exactly
                raise ValueError(
                    f"{rule.spec.symbol} is quoted in {rule.quote}; every pair must be quoted in {quote_asset}"
                )
        self._by_name: Mapping[str, SymbolRules] = {rule.symbol: rule for rule in self.rules}
        self._by_engine: Mapping[str, SymbolRules] = {rule.spec.symbol: rule for rule in self.rules}
        self.quote_asset = quote_asset

    def get(self, name: str) -> SymbolRules | None:
        """The symbol Binance calls ``name`` (``BTCUSDT``; case as sent: Binance's names are upper case)."""
        return self._by_name.get(name)

    def of_engine(self, symbol: str) -> SymbolRules:
        """The symbol of the engine's ``BTC/USDT``."""
        return self._by_engine[symbol]

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset of the listing, the quote asset first."""
        bases = [rule.base for rule in self.rules if rule.base != self.quote_asset]
        return (self.quote_asset, *dict.fromkeys(bases))

    def specs(self) -> tuple[InstrumentSpec, ...]:
        return tuple(rule.spec for rule in self.rules)
