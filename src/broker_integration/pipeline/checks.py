"""The checks every call passes before any stage: arguments made the types adapters expect, and orders that
must not be sent refused — whatever stages an adapter has, so a malformed order never reaches a broker.

* ``authenticate`` given a dict (as the seed passes credentials) gets :class:`BrokerCredentials`; a masked
  secret is refused there, never sent.
* ``place_order``'s order and ``modify_order``'s modification are validated again: a copied
  (``model_copy(update=...)``) or constructed (``model_construct``) model is not trusted.
* An order the adapter's declaration excludes (order type, time in force, exits on fill, sizing by notional
  — which needs an explicit declaration, since an undeclared adapter would send no size), one its broker's
  published instrument rules forbid (from the listing the adapter has loaded), or one whose expiry is
  already past is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from broker_integration.broker_config import BrokerCredentials
from broker_integration.errors import (
    AuthenticationError,
    StandardErrorCode,
    StandardizedError,
    describe_validation_error,
    make_error,
)
from broker_integration.models import VALIDATED, OrderModification, UnifiedOrder
from broker_integration.pipeline.context import CallContext
from broker_integration.pipeline.operations import ORDER_TYPE_CAPABILITY, BrokerCapability, Operation

if TYPE_CHECKING:
    from broker_integration.pipeline.adapter import BrokerAdapter

__all__ = ["order_refusal", "typed_credentials"]


def typed_credentials(adapter: BrokerAdapter, ctx: CallContext) -> None:
    """Turn a dict given to ``authenticate`` into :class:`BrokerCredentials`, or refuse it naming the key."""
    args, kwargs = ctx.args, ctx.kwargs
    given = args[0] if args else kwargs.get("credentials")
    if not isinstance(given, Mapping):
        return
    try:
        credentials = BrokerCredentials.model_validate(dict(given))
    except ValidationError as exc:
        raise AuthenticationError(
            f"{adapter.name}: unusable credentials ({describe_validation_error(exc)})",
            broker_name=adapter.name,
        ) from None
    if args:
        ctx.args = (credentials, *args[1:])
    else:
        ctx.kwargs = {**kwargs, "credentials": credentials}


def order_refusal(adapter: BrokerAdapter, ctx: CallContext) -> StandardizedError | None:
    """Why the order action ``ctx`` must not be sent, or ``None``; the checked order replaces the argument."""
    refusal = _checked_argument(ctx)
    order = ctx.order
    if refusal is None and order is not None:
        refusal = _declared(adapter, order) or _instrument_rules(adapter, order)
    if refusal is not None and not refusal.broker_name:
        refusal = refusal.model_copy(update={"broker_name": adapter.name})
    return refusal


def _checked_argument(ctx: CallContext) -> StandardizedError | None:
    model: type[UnifiedOrder] | type[OrderModification]
    op = ctx.operation
    if op is Operation.PLACE_ORDER:
        args = ctx.args
        if args and isinstance(order := args[0], UnifiedOrder) and VALIDATED.holds(order):
            ctx.order = order  # the common case, first: an order validation built, passed by position
            return None
        position, name, model = 0, "order", UnifiedOrder
    elif op is Operation.MODIFY_ORDER:
        position, name, model = 1, "modification", OrderModification
    else:
        return None
    args, kwargs = ctx.args, ctx.kwargs
    given = args[position] if len(args) > position else kwargs.get(name)
    checked: Any
    try:
        if isinstance(given, model) and VALIDATED.holds(given):
            _set_checked(ctx, position, name, given)
            return None
        if isinstance(given, model):
            checked = type(given).__pydantic_validator__.validate_python(given.__dict__)
            # Validation from every field would mark all of them as given; keep what the caller set.
            object.__setattr__(checked, "__pydantic_fields_set__", set(given.model_fields_set))
        elif isinstance(given, Mapping):
            checked = model.model_validate(given)
        else:
            return make_error(
                StandardErrorCode.INVALID_ORDER,
                f"{op.value} takes a {model.__name__}, got {type(given).__name__}",
                context={"field": name},
            )
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        code = (
            StandardErrorCode.INVALID_INSTRUMENT
            if fields == ["instrument"]
            else StandardErrorCode.INVALID_ORDER
        )
        return make_error(
            code,
            f"invalid {name}: {describe_validation_error(exc)}",
            context={"field": ", ".join(fields) or name},
        )
    _set_checked(ctx, position, name, checked)
    return None


def _set_checked(ctx: CallContext, position: int, name: str, checked: Any) -> None:
    """The checked value in place of the argument it came from."""
    if len(ctx.args) > position:
        if ctx.args[position] is not checked:
            ctx.args = (*ctx.args[:position], checked, *ctx.args[position + 1 :])
    else:
        ctx.kwargs = {**ctx.kwargs, name: checked}
    if isinstance(checked, UnifiedOrder):
        ctx.order = checked


def _declared(adapter: BrokerAdapter, order: UnifiedOrder) -> StandardizedError | None:
    """Refuse an order type, time in force, exits on fill or notional sizing that the adapter's declaration
    excludes."""
    declaration = adapter.declaration
    declared = declaration.capabilities
    if declared is not None and ORDER_TYPE_CAPABILITY[order.order_type] not in declared:
        return _unsupported(adapter, f"{order.order_type.value} orders", order_type=order.order_type.value)
    tifs = declaration.time_in_force
    if tifs is not None and order.time_in_force not in tifs:
        tif = order.time_in_force.value if order.time_in_force else None
        return _unsupported(adapter, f"time in force {tif}", time_in_force=tif)
    has_exits = order.take_profit is not None or order.stop_loss is not None
    if has_exits and declared is not None and BrokerCapability.TAKE_PROFIT_STOP_LOSS not in declared:
        return _unsupported(adapter, "take-profit/stop-loss on fill")
    if order.notional is not None and (declared is None or BrokerCapability.NOTIONAL_ORDERS not in declared):
        return _unsupported(adapter, "orders sized by notional", notional=str(order.notional))
    return None


def _unsupported(adapter: BrokerAdapter, what: str, **context: Any) -> StandardizedError:
    return make_error(
        StandardErrorCode.UNSUPPORTED_OPERATION,
        f"{adapter.name} does not support {what}",
        broker_name=adapter.name,
        context=context,
    )


def _instrument_rules(adapter: BrokerAdapter, order: UnifiedOrder) -> StandardizedError | None:
    """Refuse, from the instruments the adapter has loaded, an instrument the broker does not list or an
    order its rules forbid; and an expiry already past."""
    if order.expire_time is not None and order.expire_time <= adapter.clock.now():
        return make_error(
            StandardErrorCode.INVALID_ORDER,
            f"expire_time {order.expire_time.isoformat()} is already past",
            context={"field": "expire_time"},
        )
    listing = adapter.known_instruments()
    if listing is None:
        return None
    instrument = listing.get(order.instrument)
    if instrument is None:
        return make_error(
            StandardErrorCode.INVALID_INSTRUMENT,
            f"{adapter.name} does not list {order.instrument}",
            context={"field": "instrument", "instrument": order.instrument},
        )
    refusal = instrument.order_refusal(order)
    if refusal is None:
        return None
    return make_error(
        StandardErrorCode.INVALID_ORDER,
        f"{adapter.name}: {refusal}",
        context={"instrument": order.instrument},
    )
