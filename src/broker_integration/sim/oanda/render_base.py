"""What every v20 rendering shares: the value formats, the context, and (re-exported from
:mod:`.vocabulary`) the v20 names of the engine's enums.

Every decimal is a string at its precision (prices at the instrument's display precision, money at four
places, conversion factors at eight), every id a numeric string, every time RFC 3339 with nine digits
(or UNIX seconds when asked), integers only where the spec says integer (``liquidity``, ``volume``,
``userID``, the account's counts). Sources: reference §1.2 to §1.8 and ``oanda/v20-openapi``
``json/v20.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.conversion import RateSource
from broker_integration.sim.oanda.formats import (
    InstrumentNames,
    TimeFormat,
    price,
)
from broker_integration.sim.oanda.history import VenueHistory
from broker_integration.sim.oanda.parse import OrderExtras
from broker_integration.sim.oanda.vocabulary import ORDER_TYPE_NAMES, TIF_NAMES, reason_name

__all__ = [
    "CLOSEOUT_TICKS",
    "FACTOR_PLACES",
    "LIQUIDITY",
    "NOTHING",
    "NO_EXTRAS",
    "ORDER_TYPE_NAMES",
    "PERCENT_PLACES",
    "TIF_NAMES",
    "ZERO",
    "RenderContext",
    "add_request_extras",
    "client_extensions",
    "decimal_or",
    "reason_name",
]


#: [rec] the liquidity OANDA shows on each price bucket.
LIQUIDITY = 10_000_000
CLOSEOUT_TICKS = 4  # [rec] closeoutBid/closeoutAsk sit four ticks outside the best bid/ask
FACTOR_PLACES = 8  # [rec] "quoteHomeConversionFactors": {"positiveUnits": "0.89150397", …}
PERCENT_PLACES = 5  # [rec] "marginCallPercent": "0.29845"
NO_EXTRAS = OrderExtras()
ZERO = Decimal(0)
NOTHING = "0.0000"


class RenderContext:
    """What every v20 rendering needs: the venue, its OANDA bookkeeping, and one time format."""

    def __init__(
        self,
        engine: VenueEngine,
        history: VenueHistory,
        names: InstrumentNames,
        rates: RateSource,
        extras: Mapping[str, OrderExtras],
        currencies: Mapping[str, str],
        *,
        user_id: int,
        time_format: TimeFormat = TimeFormat.RFC3339,
    ) -> None:
        self._engine = engine
        self._history = history
        self._names = names
        self._rates = rates
        self._extras = extras
        self._currencies = currencies
        self._user_id = user_id
        self._format = time_format
        self._specs = {spec.symbol: spec for spec in engine.instruments()}

    def time(self, when: datetime) -> str:
        return self._format.render(when)

    def spec(self, symbol: str) -> InstrumentSpec:
        return self._specs[symbol]

    def _engine_currency(self, account_id: str) -> str:
        return self._currencies.get(account_id) or self._engine.profile.currency

    def _book(
        self, spec: InstrumentSpec, bid: Decimal, ask: Decimal, when: datetime, *, tradeable: bool = True
    ) -> dict[str, Any]:
        tick = spec.tick_size
        return {
            "type": "PRICE",
            "instrument": self._names.name(spec.symbol),
            "time": self.time(when),
            "status": "tradeable" if tradeable else "non-tradeable",  # deprecated, still sent
            "tradeable": tradeable,
            "bids": [{"price": price(bid, spec), "liquidity": LIQUIDITY}],
            "asks": [{"price": price(ask, spec), "liquidity": LIQUIDITY}],
            "closeoutBid": price(max(tick, bid - tick * CLOSEOUT_TICKS), spec),
            "closeoutAsk": price(ask + tick * CLOSEOUT_TICKS, spec),
        }


def decimal_or(value: object, default: Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else default


def client_extensions(client_id: str | None, extras: OrderExtras) -> dict[str, str]:
    extensions: dict[str, str] = {}
    if client_id is not None:
        extensions["id"] = client_id
    if extras.client_tag is not None:
        extensions["tag"] = extras.client_tag
    if extras.client_comment is not None:
        extensions["comment"] = extras.client_comment
    return extensions


def add_request_extras(body: dict[str, Any], client_id: str | None, extras: OrderExtras) -> None:
    """Add what the order's request carried beyond the order itself, as an order and its create
    transaction both show it: client extensions, the trade's client extensions, the on-fill orders and
    the position closeout (of ``body``'s instrument)."""
    extensions = client_extensions(client_id, extras)
    if extensions:
        body["clientExtensions"] = extensions
    if extras.trade_client_extensions:
        body["tradeClientExtensions"] = dict(extras.trade_client_extensions)
    for key, detail in (extras.on_fill or {}).items():
        body[key] = dict(detail)
    if extras.closeout is not None:
        body[f"{extras.closeout.side}PositionCloseout"] = {
            "instrument": body["instrument"],
            "units": extras.closeout.units,
        }
