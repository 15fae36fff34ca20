"""Checks an order request against the instrument before the venue creates an order.

A request that fails here never becomes an order: the venue logs an ``ORDER_REJECT`` with the reason.
The engine checks everything itself, because a wire-protocol face passes requests that were never
validated by the unified model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from broker_integration.models import OrderType, TimeInForce
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.records import OrderRequest, RejectReason

__all__ = ["ALLOWED_TIME_IN_FORCE", "CONTINUOUS_TIME_IN_FORCE", "Refusal", "check_request", "check_units"]

_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.MARKET_IF_TOUCHED})
_NEEDS_STOP = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
_RESTING_ONLY = frozenset({TimeInForce.GTC, TimeInForce.GTD, TimeInForce.DAY})
#: The times in force of continuous trading; the engine runs no opening or closing auction (OPG, CLS).
CONTINUOUS_TIME_IN_FORCE = _RESTING_ONLY | {TimeInForce.IOC, TimeInForce.FOK}

#: The times in force each order type accepts (market orders execute at once: FOK or IOC, as at OANDA).
ALLOWED_TIME_IN_FORCE: dict[OrderType, frozenset[TimeInForce]] = {
    OrderType.MARKET: frozenset({TimeInForce.FOK, TimeInForce.IOC}),
    OrderType.LIMIT: CONTINUOUS_TIME_IN_FORCE,
    OrderType.STOP: _RESTING_ONLY,
    OrderType.STOP_LIMIT: _RESTING_ONLY,
    OrderType.MARKET_IF_TOUCHED: _RESTING_ONLY,
    OrderType.TRAILING_STOP: _RESTING_ONLY,
}


#: Digits above the step a value may have before it is refused as too large (prices and units alike):
#: far beyond any real size, and small enough that exact arithmetic on it stays cheap.
_MAX_DIGITS = 24


def _off_grid(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is not a whole multiple of ``step``, computed exactly (the default 28-digit
    context cannot divide ``1e30`` by ``0.00001``). ``value`` must be within :func:`_too_large`."""
    with localcontext() as exact:
        exact.prec = 2 * _MAX_DIGITS + len(value.as_tuple().digits) + len(step.as_tuple().digits)
        return bool(value % step)


def _too_large(value: Decimal, step: Decimal) -> bool:
    """More than :data:`_MAX_DIGITS` digits above ``step``'s place."""
    return value.adjusted() - step.adjusted() > _MAX_DIGITS


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RejectReason
    message: str


def check_units(units: Decimal, spec: InstrumentSpec) -> Refusal | None:
    """Units must be positive, on the quantity increment and within the instrument's size limits."""
    info = spec.instrument
    if not units.is_finite() or units <= 0:
        return Refusal(RejectReason.UNITS_INVALID, f"units must be positive, got {units}")
    if _too_large(units, info.quantity_increment):
        return Refusal(RejectReason.UNITS_LIMIT_EXCEEDED, f"{units} units is more than {spec.symbol} allows")
    if _off_grid(units, info.quantity_increment):
        return Refusal(
            RejectReason.UNITS_PRECISION_EXCEEDED,
            f"{spec.symbol} trades in steps of {info.quantity_increment}; {units} is not one",
        )
    if units < info.min_quantity:
        return Refusal(
            RejectReason.UNITS_MINIMUM_NOT_MET, f"{spec.symbol} needs at least {info.min_quantity} units"
        )
    if info.max_quantity is not None and units > info.max_quantity:
        return Refusal(
            RejectReason.UNITS_LIMIT_EXCEEDED, f"{spec.symbol} allows at most {info.max_quantity} units"
        )
    return None


def _check_level(
    name: str, value: Decimal | None, needed: bool, spec: InstrumentSpec, *, distance: bool = False
) -> Refusal | None:
    missing, invalid, precision = (
        (
            RejectReason.PRICE_DISTANCE_MISSING,
            RejectReason.PRICE_DISTANCE_INVALID,
            RejectReason.PRICE_DISTANCE_PRECISION_EXCEEDED,
        )
        if distance
        else (RejectReason.PRICE_MISSING, RejectReason.PRICE_INVALID, RejectReason.PRICE_PRECISION_EXCEEDED)
    )
    if value is None:
        return Refusal(missing, f"this order type needs a {name}") if needed else None
    if not needed:
        return Refusal(invalid, f"this order type takes no {name}")
    if not value.is_finite() or value <= 0 or _too_large(value, spec.tick_size):
        return Refusal(invalid, f"{name} must be a positive price {spec.symbol} can trade at, got {value}")
    if _off_grid(value, spec.tick_size):
        return Refusal(
            precision,
            f"{name} {value} has more precision than {spec.symbol} allows (tick size {spec.tick_size})",
        )
    return None


def check_request(request: OrderRequest, spec: InstrumentSpec, now: datetime) -> Refusal | None:
    """The first problem with ``request`` for ``spec`` at ``now``, or ``None`` when it may be placed."""
    refusal = check_units(request.units, spec)
    if refusal is not None:
        return refusal
    kind = request.order_type
    for refusal in (
        _check_level("price", request.price, kind in _NEEDS_PRICE, spec),
        _check_level("stop_price", request.stop_price, kind in _NEEDS_STOP, spec),
        _check_level(
            "trailing_distance",
            request.trailing_distance,
            kind is OrderType.TRAILING_STOP,
            spec,
            distance=True,
        ),
    ):
        if refusal is not None:
            return refusal
    tif = request.effective_time_in_force
    if tif not in ALLOWED_TIME_IN_FORCE[kind]:
        allowed = ", ".join(sorted(t.value for t in ALLOWED_TIME_IN_FORCE[kind]))
        return Refusal(
            RejectReason.TIME_IN_FORCE_INVALID,
            f"a {kind.value} order takes time in force {allowed}, not {tif.value}",
        )
    if tif is TimeInForce.GTD:
        if request.expire_time is None:
            return Refusal(
                RejectReason.TIME_IN_FORCE_GTD_TIMESTAMP_MISSING, "a GTD order needs an expire_time"
            )
        if request.expire_time <= now:
            return Refusal(
                RejectReason.TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST,
                f"expire_time {request.expire_time.isoformat()} is not in the future",
            )
    elif request.expire_time is not None:
        return Refusal(RejectReason.TIME_IN_FORCE_INVALID, "expire_time only goes with time in force GTD")
    return None
