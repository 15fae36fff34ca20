"""What every v20 rendering shares: the value formats, the v20 names of engine enums, and the context.

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

from broker_integration.models import OrderType, TimeInForce
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.conversion import RateSource
from broker_integration.sim.oanda.formats import (
    InstrumentNames,
    TimeFormat,
    price,
)
from broker_integration.sim.oanda.history import VenueHistory
from broker_integration.sim.oanda.parse import TIME_IN_FORCE, OrderExtras
from broker_integration.sim.records import (
    CancelReason,
    FillReason,
    RejectReason,
    TransactionReason,
)

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
    "client_extensions",
    "decimal_or",
    "reason_name",
]


#: Engine order types → v20 ``OrderType``. The OANDA face creates only the first four; the others can
#: exist in an engine shared with the paper adapter and are shown as their nearest v20 kind.
ORDER_TYPE_NAMES: Mapping[OrderType, str] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP",
    OrderType.MARKET_IF_TOUCHED: "MARKET_IF_TOUCHED",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TRAILING_STOP: "TRAILING_STOP_LOSS",
}
TIF_NAMES: Mapping[TimeInForce, str] = {tif: name for name, tif in TIME_IN_FORCE.items()}
#: Engine reasons without a v20 name. OANDA reports a FOK/IOC order that found too little to fill as
#: cancelled with INSUFFICIENT_LIQUIDITY [obs?], the spelling the engine's records note.
_REASON_NAMES: Mapping[TransactionReason, str] = {
    RejectReason.FOK_NOT_FILLED: "INSUFFICIENT_LIQUIDITY",
    RejectReason.IOC_NOT_FILLED: "INSUFFICIENT_LIQUIDITY",
    CancelReason.IOC_REMAINDER: "INSUFFICIENT_LIQUIDITY",
    FillReason.STOP_LIMIT_ORDER: "STOP_ORDER",
    FillReason.TRAILING_STOP_ORDER: "TRAILING_STOP_LOSS_ORDER",
}
#: [rec] the liquidity OANDA shows on each price bucket.
LIQUIDITY = 10_000_000
CLOSEOUT_TICKS = 4  # [rec] closeoutBid/closeoutAsk sit four ticks outside the best bid/ask
FACTOR_PLACES = 8  # [rec] "quoteHomeConversionFactors": {"positiveUnits": "0.89150397", …}
PERCENT_PLACES = 5  # [rec] "marginCallPercent": "0.29845"
NO_EXTRAS = OrderExtras()
ZERO = Decimal(0)
NOTHING = "0.0000"


def reason_name(reason: TransactionReason | None) -> str:
    """The v20 spelling of an engine reason (most are spelled as OANDA spells them already)."""
    if reason is None:
        return ""
    return _REASON_NAMES.get(reason, reason.value)


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
