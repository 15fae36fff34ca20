"""What one exchange declares through ccxt: capabilities from its ``has`` flags and ``features``, times in
force from ``features``, the published pace from ``rateLimit``, and how its streams are served.

ccxt's ``has`` says per unified method whether the exchange implements it (``True``), ccxt emulates it
(``'emulated'``) or it does not (``False``/``None``); ``features`` says per market type what
``createOrder`` takes (trigger prices, times in force). Both are declarations, and sometimes wrong (CCXT's
manual, "Exchange Properties"; ``shared`` fact sheet §1 measured 9 wrong ``has`` flags in 4.5.90), so the
capability profile marks them DECLARED and discovery verifies them.

The pace: ``rateLimit`` is ccxt's published spacing, in milliseconds, between two requests of cost 1
(Binance: 50 ms, its 6,000 request weight per minute); the pipeline's limiter is fed ``1000 / rateLimit``
requests per second, orders included, since ccxt publishes no separate order pace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker_integration.broker_config import BrokerLimits
from broker_integration.models import TimeInForce
from broker_integration.pipeline import BrokerCapability

__all__ = ["ExchangeDeclaration", "declare"]

C = BrokerCapability
_TIF_FEATURES = {"IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "GTD": TimeInForce.GTD}


@dataclass(frozen=True, slots=True)
class ExchangeDeclaration:
    """What the adapter declares for one exchange, and how its two streams are served."""

    capabilities: frozenset[BrokerCapability]
    time_in_force: frozenset[TimeInForce]
    limits: BrokerLimits
    order_updates_by_websocket: bool
    prices_by_websocket: bool
    notes: Mapping[BrokerCapability, str]


def _yes(has: Mapping[str, Any], *names: str) -> bool:
    """Whether any of ``names`` is implemented natively or emulated by ccxt."""
    return any(has.get(name) in (True, "emulated") for name in names)


def _features(exchange: Any, market_type: str) -> Mapping[str, Any]:
    """``features`` for the market type (derivatives: the linear contracts' unless only inverse exist)."""
    features = getattr(exchange, "features", None) or {}
    entry = features.get(market_type) or {}
    if market_type != "spot" and isinstance(entry, Mapping) and "createOrder" not in entry:
        entry = entry.get("linear") or entry.get("inverse") or {}
    return entry if isinstance(entry, Mapping) else {}


def declare(
    exchange: Any, market_type: str, *, websocket_has: Mapping[str, Any] | None, poll_interval: float
) -> ExchangeDeclaration:
    """The declaration for ``exchange`` (a ccxt object) trading ``market_type``. ``websocket_has`` is the
    ``has`` of the ccxt.pro object when streams are to use websockets, else ``None``."""
    has: Mapping[str, Any] = exchange.has
    features = _features(exchange, market_type)
    create = features.get("createOrder") or {}
    caps: set[BrokerCapability] = set()
    notes: dict[BrokerCapability, str] = {}
    if _yes(has, "createOrder"):
        caps |= {C.MARKET_ORDERS, C.LIMIT_ORDERS, C.PARTIAL_FILLS, C.FRACTIONAL_QUANTITY}
        if _yes(has, "createStopLimitOrder") or create.get("triggerPrice"):
            caps.add(C.STOP_LIMIT_ORDERS)
        if _yes(has, "createStopMarketOrder"):
            caps.add(C.STOP_ORDERS)
    if _yes(has, "editOrder"):
        caps.add(C.MODIFY_ORDERS)
        if has.get("editOrder") == "emulated":
            notes[C.MODIFY_ORDERS] = "emulated by ccxt: the order is cancelled and placed again"
    if _yes(has, "cancelOrder"):
        caps.add(C.CANCEL_ORDERS)
    if _yes(has, "fetchOpenOrders"):
        caps.add(C.ORDER_LISTING)
    if _yes(has, "fetchOrder") or _yes(has, "fetchOrders"):
        caps.add(C.CLIENT_ORDER_ID_LOOKUP)
    if _yes(has, "fetchTicker"):
        caps.add(C.CURRENT_PRICES)
    if _yes(has, "fetchOHLCV"):
        caps.add(C.HISTORICAL_DATA)
    if _yes(has, "fetchBalance"):
        caps.add(C.ACCOUNT_SUMMARY)
    if _yes(has, "fetchMarkets"):
        caps.add(C.INSTRUMENTS)
    if _yes(has, "fetchTime", "fetchStatus", "fetchBalance"):
        caps.add(C.HEALTH_CHECK)
    if market_type != "spot" and _yes(has, "fetchPositions"):
        caps.add(C.POSITIONS)
        if _yes(has, "createReduceOnlyOrder", "closePosition"):
            caps.add(C.CLOSE_POSITION)
    orders_ws = websocket_has is not None and _yes(websocket_has, "watchOrders")
    if orders_ws:
        caps.add(C.ORDER_UPDATES)
        notes[C.ORDER_UPDATES] = "websocket: ccxt.pro watchOrders"
    elif _yes(has, "fetchOpenOrders") and _yes(has, "fetchOrder"):
        caps.add(C.ORDER_UPDATES)
        notes[C.ORDER_UPDATES] = f"polling: fetchOpenOrders and fetchOrder every {poll_interval:g} s"
    prices_ws = websocket_has is not None and _yes(websocket_has, "watchBidsAsks", "watchTicker")
    if prices_ws:
        caps.add(C.STREAMING_PRICES)
        via = "watchBidsAsks" if websocket_has and _yes(websocket_has, "watchBidsAsks") else "watchTicker"
        notes[C.STREAMING_PRICES] = f"websocket: ccxt.pro {via}"
    elif _yes(has, "fetchTicker"):
        caps.add(C.STREAMING_PRICES)
        notes[C.STREAMING_PRICES] = f"polling: fetchTicker every {poll_interval:g} s"
    tif = {TimeInForce.GTC}
    offered = create.get("timeInForce") or {}
    tif.update(value for key, value in _TIF_FEATURES.items() if offered.get(key))
    per_second = 1000 / exchange.rateLimit if exchange.rateLimit else 50.0
    limits = BrokerLimits(requests_per_second=per_second, max_orders_per_second=per_second)
    return ExchangeDeclaration(frozenset(caps), frozenset(tif), limits, orders_ws, prices_ws, notes)
