"""v20 request bodies → engine requests, with OANDA's schema-level 400s for what cannot be read.

A body the engine can judge (units zero, a price off the tick grid, a missing limit price) is passed on,
so the engine writes the reject transaction OANDA would (reference §1.5: 400 + ``orderRejectTransaction``).
What cannot even be read (an unknown instrument, units that are not a number, an unknown enum value) is
answered here, without a transaction: ``{"errorMessage":"Invalid value specified for 'order.instrument'"}``.

Fields the engine does not model are kept as :class:`OrderExtras` and echoed in the order and its
transactions: ``positionFill``, ``triggerCondition``, ``priceBound``, the client extensions' tag and
comment, ``tradeClientExtensions`` and the on-fill details (take profit, stop loss, trailing stop), which
are validated and normalised to the instrument's precision but do not create dependent orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.errors import V20Error, invalid_value, missing_data
from broker_integration.sim.oanda.formats import InstrumentNames, parse_decimal, parse_time, price
from broker_integration.sim.oanda.vocabulary import ORDER_TYPES, TIME_IN_FORCE
from broker_integration.sim.records import OrderChanges, OrderRequest

__all__ = [
    "ORDER_TYPES",
    "TIME_IN_FORCE",
    "Closeout",
    "OrderExtras",
    "ParsedOrder",
    "TradeClose",
    "parse_closeout",
    "parse_order",
    "replacement_changes",
]

_T = TypeVar("_T")

#: Spec ``OrderPositionFill`` plus the legacy spelling seen in 2016 captures (reference §1.4).
_POSITION_FILL = frozenset({"DEFAULT", "OPEN_ONLY", "REDUCE_FIRST", "REDUCE_ONLY", "POSITION_DEFAULT"})
#: Spec ``OrderTriggerCondition`` plus the legacy ``TRIGGER_DEFAULT``.
_TRIGGER_CONDITION = frozenset({"DEFAULT", "INVERSE", "BID", "ASK", "MID", "TRIGGER_DEFAULT"})
_ON_FILL = ("takeProfitOnFill", "stopLossOnFill", "trailingStopLossOnFill")
_EXTENSION_KEYS = ("id", "tag", "comment")
_MAX_EXTENSION = 128


@dataclass(frozen=True, slots=True)
class Closeout:
    """Which side a position closeout order closes, and how much: ``"ALL"`` or a number of units."""

    side: str  # "long" or "short"
    units: str


@dataclass(frozen=True, slots=True)
class TradeClose:
    """Which trade a trade-close order closes (``tradeID``, or ``clientTradeID`` when named by client id),
    and how much: ``"ALL"`` or a number of units, as requested."""

    trade_id: str | None
    client_trade_id: str | None
    units: str


@dataclass(frozen=True, slots=True)
class OrderExtras:
    """What a request said that the engine does not keep, for echoing in the v20 answers."""

    position_fill: str = "DEFAULT"
    trigger_condition: str | None = None
    price_text: str | None = None  # the price as sent, echoed on a reject
    price_bound: str | None = None
    client_tag: str | None = None
    client_comment: str | None = None
    trade_client_extensions: Mapping[str, str] | None = None
    on_fill: Mapping[str, Mapping[str, str]] | None = None
    closeout: Closeout | None = None
    trade_close: TradeClose | None = None


@dataclass(frozen=True, slots=True)
class ParsedOrder:
    """A create or replace request read into the engine's terms."""

    type_name: str
    spec: InstrumentSpec
    request: OrderRequest
    extras: OrderExtras


def parse_order(body: Any, names: InstrumentNames) -> ParsedOrder:
    """Read ``{"order": {...}}`` from ``POST …/orders`` or ``PUT …/orders/{id}``; raise :class:`V20Error`."""
    if not isinstance(body, Mapping) or not isinstance(body.get("order"), Mapping):
        raise missing_data()
    order: Mapping[str, Any] = body["order"]
    kind = _required(order, "type", ORDER_TYPES.get)
    type_name: str = order["type"]
    spec = _required(order, "instrument", names.spec)
    if "units" not in order:
        raise missing_data()
    signed = _decimal(order["units"], "order.units")
    tif = _choice(order, "timeInForce", TIME_IN_FORCE.get)
    expire_time = None
    if tif is TimeInForce.GTD and order.get("gtdTime") is not None:
        expire_time = _time(order["gtdTime"], "order.gtdTime")
    level = (
        None
        if kind is OrderType.MARKET or order.get("price") is None
        else _decimal(order["price"], "order.price")
    )
    client_id, tag, comment = _client_extensions(order.get("clientExtensions"), "order.clientExtensions")
    request = OrderRequest(
        instrument=spec.symbol,
        side=OrderSide.SELL if signed < 0 else OrderSide.BUY,
        units=abs(signed),
        order_type=kind,
        price=level if kind is not OrderType.STOP else None,
        stop_price=level if kind is OrderType.STOP else None,
        time_in_force=tif,
        expire_time=expire_time,
        client_order_id=client_id,
    )
    extras = OrderExtras(
        position_fill=_enum_text(order, "positionFill", _POSITION_FILL) or "DEFAULT",
        trigger_condition=None
        if kind is OrderType.MARKET
        else _enum_text(order, "triggerCondition", _TRIGGER_CONDITION),
        price_text=str(order["price"]) if level is not None else None,
        price_bound=_price_text(order, "priceBound", spec),
        client_tag=tag,
        client_comment=comment,
        trade_client_extensions=_echo_extensions(
            order.get("tradeClientExtensions"), "order.tradeClientExtensions"
        ),
        on_fill=_on_fill(order, spec),
    )
    return ParsedOrder(type_name, spec, request, extras)


def replacement_changes(parsed: ParsedOrder) -> OrderChanges:
    """The engine's changes for a replace: every field of the new request (a replace sends the full order)."""
    request = parsed.request
    return OrderChanges(
        units=request.units,
        price=request.price,
        stop_price=request.stop_price,
        time_in_force=request.time_in_force,
        expire_time=request.expire_time,
    )


def parse_closeout(body: Any) -> list[Closeout]:
    """The sides to close from ``{"longUnits": "ALL"|"NONE"|n, "shortUnits": …}``; missing sides are NONE."""
    if not isinstance(body, Mapping):
        raise missing_data()
    sides: list[Closeout] = []
    for side in ("long", "short"):
        value = body.get(f"{side}Units", "NONE")
        if not isinstance(value, str):
            raise invalid_value(f"{side}Units")
        if value == "NONE":
            continue
        if value != "ALL":
            amount = _decimal(value, f"{side}Units")
            if amount <= 0:
                raise invalid_value(f"{side}Units")
        sides.append(Closeout(side, value))
    if not sides:
        raise V20Error(
            400,
            {
                "errorCode": "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION",
                "errorMessage": "The Position closeout specification is incomplete: give longUnits and/or shortUnits",
            },
        )
    return sides


# ---------------------------------------------------------------------------------------------- fields


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return parse_decimal(value)
    except ValueError:
        raise invalid_value(field) from None


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise invalid_value(field)
    try:
        return parse_time(value)
    except ValueError:
        raise invalid_value(field) from None


def _choice(order: Mapping[str, Any], key: str, look_up: Callable[[str], _T | None]) -> _T | None:
    """``order[key]`` read through ``look_up`` (a table's ``get``, the instrument names): ``None`` when
    absent; INVALID_VALUE when it is not a string or not a name ``look_up`` knows."""
    value = order.get(key)
    if value is None:
        return None
    chosen = look_up(value) if isinstance(value, str) else None
    if chosen is None:
        raise invalid_value(f"order.{key}")
    return chosen


def _required(order: Mapping[str, Any], key: str, look_up: Callable[[str], _T | None]) -> _T:
    """:func:`_choice` for a field the order must have: MISSING_DATA when it is absent."""
    chosen = _choice(order, key, look_up)
    if chosen is None:
        raise missing_data()
    return chosen


def _enum_text(order: Mapping[str, Any], key: str, allowed: frozenset[str]) -> str | None:
    value = order.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise invalid_value(f"order.{key}")
    return value


def _price_text(order: Mapping[str, Any], key: str, spec: InstrumentSpec) -> str | None:
    value = order.get(key)
    return None if value is None else price(_decimal(value, f"order.{key}"), spec)


def _client_extensions(value: Any, field: str) -> tuple[str | None, str | None, str | None]:
    echoed = _echo_extensions(value, field)
    if echoed is None:
        return None, None, None
    return echoed.get("id"), echoed.get("tag"), echoed.get("comment")


def _echo_extensions(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid_value(field)
    echoed: dict[str, str] = {}
    for key in _EXTENSION_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, str) or not item or len(item) > _MAX_EXTENSION:
            raise invalid_value(f"{field}.{key}")
        echoed[key] = item
    return echoed


def _on_fill(order: Mapping[str, Any], spec: InstrumentSpec) -> dict[str, dict[str, str]] | None:
    """The on-fill details, normalised: prices and distances at the instrument's precision, TIF defaulted."""
    details: dict[str, dict[str, str]] = {}
    for key in _ON_FILL:
        value = order.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise invalid_value(f"order.{key}")
        normalised: dict[str, str] = {}
        for level in ("price", "distance"):
            if value.get(level) is not None:
                amount = _decimal(value[level], f"order.{key}.{level}")
                if amount <= 0:
                    raise invalid_value(f"order.{key}.{level}")
                normalised[level] = price(amount, spec)
        if not normalised:
            raise missing_data()
        tif = value.get("timeInForce", "GTC")
        if tif not in TIME_IN_FORCE:
            raise invalid_value(f"order.{key}.timeInForce")
        normalised["timeInForce"] = tif
        if value.get("gtdTime") is not None:
            _time(value["gtdTime"], f"order.{key}.gtdTime")
            normalised["gtdTime"] = value["gtdTime"]
        details[key] = normalised
    return details or None
