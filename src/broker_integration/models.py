"""The unified model: immutable, validated value types that every adapter speaks.

Money and quantities are ``Decimal``; times are timezone-aware UTC ``datetime``. Every type validates at
construction, so an invalid order cannot exist, let alone reach a broker. Errors name the field.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from broker_integration.errors import StandardizedError
from broker_integration.symbols import canonical_symbol

__all__ = [
    "Account",
    "AccountSummary",
    "Candle",
    "Delivery",
    "Granularity",
    "HealthState",
    "HealthStatus",
    "Instrument",
    "InstrumentType",
    "InvalidTransitionError",
    "Order",
    "OrderModification",
    "OrderResult",
    "OrderSide",
    "OrderStatus",
    "OrderTrace",
    "OrderTraceStatus",
    "OrderType",
    "OrderUpdate",
    "OrderUpdateKind",
    "Position",
    "PriceTick",
    "TimeInForce",
    "UnifiedOrder",
    "checked_quote",
    "checked_result",
    "checked_update",
    "new_client_order_id",
]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must be timezone-aware (UTC); naive datetimes are ambiguous")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Money = Annotated[Decimal, Field(allow_inf_nan=False)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Symbol = Annotated[str, AfterValidator(canonical_symbol)]

_CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"


class _ClientOrderIds:
    """``bi-`` and 32 hex digits: 64 random bits drawn once per process (again in a forked child), then a
    counter. Unique per intent across processes and restarts, without a system call per order."""

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._prefix = f"bi-{int.from_bytes(os.urandom(8)):016x}"
        self._counter = itertools.count(int.from_bytes(os.urandom(4)))

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


#: A fresh client order id: ``bi-`` and 32 hex digits; unique per intent.
new_client_order_id = _ClientOrderIds()


def _field_error(model: str, field: str, value: Any, message: str) -> ValidationError:
    """A pydantic ValidationError located at ``field``, for cross-field rules."""
    return ValidationError.from_exception_data(
        model,
        [InitErrorDetails(type=PydanticCustomError("invalid_field", message), loc=(field,), input=value)],
    )


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False, validate_default=False)


class _Validated:
    """The field values (``__dict__``) of the most recent model instances that validation built.

    ``model_copy`` and ``model_construct`` make a new ``__dict__`` without validating, so an instance whose
    ``__dict__`` is held here is known valid (frozen models cannot change after construction) and the call
    pipeline need not validate it again; any other is validated before it may reach a broker. Bounded, and
    the dicts are held, so an id is never mistaken for a reused one.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._held: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def remember(self, model: BaseModel) -> None:
        # No lock (every order passes here): each OrderedDict step is atomic; two threads evicting at once
        # forget one instance more, which is then validated again, never trusted wrongly.
        values = model.__dict__
        held = self._held
        held[id(values)] = values
        if len(held) > self._size:
            held.popitem(last=False)

    def holds(self, model: BaseModel) -> bool:
        values = model.__dict__
        return self._held.get(id(values)) is values


#: Instances built by validation (see :class:`_Validated`).
VALIDATED = _Validated()

_ZERO = Decimal(0)  # what the quick checks compare with: a Decimal beside a Decimal is quicker than an int


# --------------------------------------------------------------------------------------------- enums


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell: the sign a fill adds to a position."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    MARKET_IF_TOUCHED = "market_if_touched"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    GTC = "GTC"  # good till cancelled
    GTD = "GTD"  # good till date: needs expire_time
    DAY = "DAY"  # until the end of the trading day
    IOC = "IOC"  # immediate or cancel: fill what can be filled now, cancel the rest
    FOK = "FOK"  # fill or kill: fill all now or nothing
    OPG = "OPG"  # at the opening auction only (FIX "at the opening"); unfilled at the open, cancelled
    CLS = "CLS"  # at the closing auction only (FIX "at the close"); unfilled at the close, cancelled


class OrderStatus(StrEnum):
    """An order's life. Transitions are checked: see :meth:`can_transition_to`.

    ``UNKNOWN`` means the request may or may not have reached the broker (a timeout after sending);
    it is resolved by looking the order up, never by sending it again.
    """

    PENDING = "pending"  # created locally, not sent
    SUBMITTED = "submitted"  # sent, no answer yet
    ACCEPTED = "accepted"  # resting at the broker (open)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """Live at the broker: could still fill."""
        return self in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

    def can_transition_to(self, target: OrderStatus) -> bool:
        return target in _TRANSITIONS[self]

    def transition_to(self, target: OrderStatus) -> OrderStatus:
        """Return ``target`` if the move is allowed, else raise :class:`InvalidTransitionError`."""
        if not self.can_transition_to(target):
            raise InvalidTransitionError(self, target)
        return target


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_RESOLVED = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }
)
_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.SUBMITTED, OrderStatus.REJECTED, OrderStatus.CANCELLED}),
    OrderStatus.SUBMITTED: _RESOLVED | {OrderStatus.UNKNOWN},
    OrderStatus.ACCEPTED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.UNKNOWN: _RESOLVED,
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}


class InvalidTransitionError(ValueError):
    """An order status change the state machine does not allow."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        allowed = ", ".join(sorted(s.value for s in _TRANSITIONS[current])) or "none: it is final"
        super().__init__(
            f"order status cannot go from {current.value} to {target.value} (allowed: {allowed})"
        )
        self.current = current
        self.target = target


class InstrumentType(StrEnum):
    CURRENCY = "currency"
    CFD = "cfd"
    METAL = "metal"
    EQUITY = "equity"
    CRYPTO = "crypto"


class Granularity(StrEnum):
    """Candle widths, spelled as OANDA spells them (the most complete public set)."""

    S5 = "S5"
    S10 = "S10"
    S15 = "S15"
    S30 = "S30"
    M1 = "M1"
    M2 = "M2"
    M4 = "M4"
    M5 = "M5"
    M10 = "M10"
    M15 = "M15"
    M30 = "M30"
    H1 = "H1"
    H2 = "H2"
    H3 = "H3"
    H4 = "H4"
    H6 = "H6"
    H8 = "H8"
    H12 = "H12"
    D = "D"
    W = "W"
    MONTH = "M"

    @property
    def seconds(self) -> int:
        """Nominal width in seconds (a month counts as 30 days)."""
        if self is Granularity.MONTH:
            return 30 * 86_400
        unit, size = self.value[0], int(self.value[1:] or 1)
        return size * {"S": 1, "M": 60, "H": 3_600, "D": 86_400, "W": 604_800}[unit]


class HealthState(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


# ---------------------------------------------------------------------------------------- orders


_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.MARKET_IF_TOUCHED})
_NEEDS_STOP = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class UnifiedOrder(_Frozen):
    """One order intent in broker-neutral terms.

    ``order_id`` is the client order id: fixed for the life of the intent and sent to the broker so the
    order can be found again after a timeout. It is generated when not given.

    An order is sized by exactly one of ``quantity`` (units of the instrument) or ``notional`` (an amount
    of the quote currency to trade, the broker working out the units from its price). Only adapters that
    declare ``BrokerCapability.NOTIONAL_ORDERS`` take a notional order; the pipeline refuses it for the
    others before sending. A notional order's filled quantity comes from the broker's answer.
    """

    order_id: Annotated[str, Field(pattern=_CLIENT_ID_PATTERN)] = Field(default_factory=new_client_order_id)
    instrument: Symbol
    side: OrderSide
    order_type: OrderType = OrderType.MARKET
    quantity: PositiveDecimal | None = None
    notional: PositiveDecimal | None = None
    price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    trailing_distance: PositiveDecimal | None = None
    time_in_force: TimeInForce | None = None
    expire_time: UtcDatetime | None = None
    take_profit: PositiveDecimal | None = None
    stop_loss: PositiveDecimal | None = None
    account_id: str | None = None
    metadata: Mapping[str, Any] = Field(default_factory=dict)
    created_at: UtcDatetime = Field(default_factory=functools.partial(datetime.now, UTC))

    @model_validator(mode="after")
    def _check_order_shape(self) -> Self:
        # The fields are read once from the instance's dict: this runs for every order built.
        values = self.__dict__
        kind, quantity, notional, price, stop_price, trailing, tif, expire_time = (
            values["order_type"],
            values["quantity"],
            values["notional"],
            values["price"],
            values["stop_price"],
            values["trailing_distance"],
            values["time_in_force"],
            values["expire_time"],
        )
        name = type(self).__name__
        if quantity is None and notional is None:
            raise _field_error(name, "quantity", None, "an order needs a quantity or a notional")
        if quantity is not None and notional is not None:
            raise _field_error(
                name, "notional", str(notional), "an order takes a quantity or a notional, not both"
            )
        needs_price = kind in _NEEDS_PRICE
        if needs_price and price is None:
            raise _field_error(name, "price", None, f"a {kind.value} order needs a price")
        if not needs_price and price is not None:
            raise _field_error(name, "price", str(price), f"a {kind.value} order takes no price")
        needs_stop = kind in _NEEDS_STOP
        if needs_stop and stop_price is None:
            raise _field_error(name, "stop_price", None, f"a {kind.value} order needs a stop_price")
        if not needs_stop and stop_price is not None:
            raise _field_error(
                name, "stop_price", str(stop_price), f"a {kind.value} order takes no stop_price"
            )
        trailing_stop = kind is OrderType.TRAILING_STOP
        if trailing_stop and trailing is None:
            raise _field_error(
                name, "trailing_distance", None, "a trailing_stop order needs a trailing_distance"
            )
        if not trailing_stop and trailing is not None:
            raise _field_error(name, "trailing_distance", str(trailing), "only trailing_stop orders take one")
        if tif is None:
            tif = TimeInForce.FOK if kind is OrderType.MARKET else TimeInForce.GTC
            values["time_in_force"] = tif
        if tif is TimeInForce.GTD and expire_time is None:
            raise _field_error(name, "expire_time", None, "a GTD order needs an expire_time")
        if tif is not TimeInForce.GTD and expire_time is not None:
            raise _field_error(
                name, "expire_time", expire_time.isoformat(), "expire_time only goes with time_in_force GTD"
            )
        reference = price if kind is not OrderType.STOP else stop_price
        if reference is not None:
            self._check_exit_levels(name, reference)
        VALIDATED.remember(self)
        return self

    def _check_exit_levels(self, name: str, reference: Decimal) -> None:
        """Take-profit must lie on the winning side of the entry price, stop-loss on the losing side."""
        buy = self.side is OrderSide.BUY
        if self.take_profit is not None and (
            self.take_profit <= reference if buy else self.take_profit >= reference
        ):
            where = "above" if buy else "below"
            raise _field_error(
                name,
                "take_profit",
                str(self.take_profit),
                f"a {self.side.value} take_profit must be {where} {reference}",
            )
        if self.stop_loss is not None and (
            self.stop_loss >= reference if buy else self.stop_loss <= reference
        ):
            where = "below" if buy else "above"
            raise _field_error(
                name,
                "stop_loss",
                str(self.stop_loss),
                f"a {self.side.value} stop_loss must be {where} {reference}",
            )

    @property
    def units(self) -> Decimal:
        """The quantity, for code that only ever sees quantity-sized orders (an adapter without
        ``NOTIONAL_ORDERS``: the pipeline refuses notional orders before they reach it)."""
        if self.quantity is None:
            raise ValueError(f"order {self.order_id} is sized by notional {self.notional}, not by quantity")
        return self.quantity

    @property
    def signed_quantity(self) -> Decimal:
        """Quantity with the side's sign: positive to buy, negative to sell (a quantity-sized order's)."""
        return self.units * self.side.sign


class OrderModification(_Frozen):
    """The fields of a resting order to change; at least one must be set."""

    quantity: PositiveDecimal | None = None
    price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    trailing_distance: PositiveDecimal | None = None
    take_profit: PositiveDecimal | None = None
    stop_loss: PositiveDecimal | None = None
    time_in_force: TimeInForce | None = None
    expire_time: UtcDatetime | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise _field_error(type(self).__name__, "quantity", None, "an OrderModification changes nothing")
        if self.time_in_force is TimeInForce.GTD and self.expire_time is None:
            raise _field_error(type(self).__name__, "expire_time", None, "GTD needs an expire_time")
        VALIDATED.remember(self)
        return self


class Delivery(StrEnum):
    """Whether an order action reached the broker, as far as is known.

    The fact decides what may happen next: only a ``NOT_SENT`` order may go to another broker; an
    ``UNKNOWN`` one is never sent again but settled from the broker's record.
    """

    #: The broker never took it in: refused before sending, breaker open, connection refused, or turned away
    #: unexecuted at the broker's door (a maintenance page, a 429).
    NOT_SENT = "not_sent"
    #: The broker took it in and its answer says what became of it.
    SENT = "sent"
    #: It may have reached the broker and nobody knows yet what became of it.
    UNKNOWN = "unknown"
    #: Its answer was lost; the broker's own record settled it afterwards (the journal's lookups).
    SETTLED = "settled"


class OrderResult(_Frozen):
    """What became of one order action (place, modify, cancel, close).

    ``success`` is false when the broker refused or the call failed; ``error`` then says why in
    standard terms. ``status`` UNKNOWN means the outcome could not be established yet. ``delivery`` says
    whether the request reached the broker (:class:`Delivery`).

    Prices are in the instrument's quote currency; ``commission`` and ``fees`` are in the account's
    currency, as brokers charge them. ``quote_home_rate``, when the adapter knows it, is what one unit of
    the quote currency was worth in the account currency at the fill, so costs can be set against the
    notional (USD/JPY on a USD account: about 0.0067).
    """

    success: bool
    client_order_id: str | None = None
    broker_order_id: str | None = None
    broker_name: str = ""
    status: OrderStatus
    instrument: Symbol | None = None
    side: OrderSide | None = None
    requested_quantity: NonNegativeDecimal | None = None
    filled_quantity: NonNegativeDecimal = Decimal(0)
    average_fill_price: PositiveDecimal | None = None
    commission: NonNegativeDecimal = Decimal(0)
    fees: NonNegativeDecimal = Decimal(0)
    submitted_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    latency_ms: Annotated[float, Field(ge=0)] | None = None
    quote_home_rate: PositiveDecimal | None = None
    replaces_order_id: str | None = None
    delivery: Delivery = Delivery.SENT
    error: StandardizedError | None = None
    message: str = ""
    metadata: Mapping[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        name = type(self).__name__
        if self.success and self.error is not None:
            raise _field_error(
                name, "error", self.error.error_code.value, "a successful result carries no error"
            )
        if not self.success and self.error is None:
            raise _field_error(name, "error", None, "a failed result must say why in error")
        if self.filled_quantity > 0 and self.average_fill_price is None:
            raise _field_error(name, "average_fill_price", None, "a fill needs an average_fill_price")
        return self

    @property
    def total_cost(self) -> Decimal:
        """Commission plus fees."""
        return self.commission + self.fees

    @property
    def resolved_by_lookup(self) -> bool:
        """Its answer was lost and the broker's record settled it afterwards."""
        return self.delivery is Delivery.SETTLED


class Order(_Frozen):
    """An order as the broker holds it."""

    broker_order_id: str
    client_order_id: str | None = None
    instrument: Symbol
    side: OrderSide
    order_type: OrderType
    quantity: PositiveDecimal
    filled_quantity: NonNegativeDecimal = Decimal(0)
    price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    trailing_distance: PositiveDecimal | None = None
    time_in_force: TimeInForce
    expire_time: UtcDatetime | None = None
    take_profit: PositiveDecimal | None = None
    stop_loss: PositiveDecimal | None = None
    #: The cash amount a notional order was sized by (``quantity`` is then the best known size: the
    #: filled quantity once it fills).
    notional: PositiveDecimal | None = None
    status: OrderStatus
    average_fill_price: PositiveDecimal | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    account_id: str | None = None
    replaces_order_id: str | None = None
    replaced_by_order_id: str | None = None

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity


class OrderTraceStatus(StrEnum):
    """What the broker's own record says of an order sent with a client order id."""

    #: The broker holds the order (``OrderTrace.order`` has it when it could be read).
    PLACED = "placed"
    #: The broker's record shows it refused the order: nothing executed.
    REFUSED = "refused"
    #: The broker's record from before the order was sent up to now holds no trace of it.
    ABSENT = "absent"
    #: The broker cannot tell now (no history to search, or the search failed).
    UNKNOWN = "unknown"


class OrderTrace(_Frozen):
    """The evidence :meth:`BrokerAdapter.trace_order` found for one client order id.

    Only ``ABSENT`` past the adapter's ``absence_grace_seconds`` lets the journal record an order as never
    placed; a lookup that merely missed it is ``UNKNOWN``.
    """

    status: OrderTraceStatus
    order: Order | None = None
    broker_order_id: str | None = None
    error: StandardizedError | None = None
    evidence: str = ""


class OrderUpdateKind(StrEnum):
    """What happened to an order at the broker."""

    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"

    @property
    def is_fill(self) -> bool:
        return self in (OrderUpdateKind.PARTIALLY_FILLED, OrderUpdateKind.FILLED)

    @property
    def status(self) -> OrderStatus:
        """The order's status after this update."""
        return _UPDATE_STATUS[self]


class OrderUpdate(_Frozen):
    """One change of an order at the broker, as it happens (``BrokerAdapter.stream_order_updates``).

    A fill update carries that fill's quantity and price (``fill_quantity``, ``fill_price``) and its costs in
    the account currency; ``filled_quantity`` is the order's cumulative fill when the broker says it.
    ``replaced_by_order_id`` names the new order of a REPLACED one. ``reason`` is the broker's own word for a
    cancel, reject or expiry.
    """

    kind: OrderUpdateKind
    broker_order_id: str
    client_order_id: str | None = None
    instrument: Symbol | None = None
    side: OrderSide | None = None
    time: UtcDatetime
    fill_quantity: NonNegativeDecimal = Decimal(0)
    fill_price: PositiveDecimal | None = None
    commission: NonNegativeDecimal = Decimal(0)
    fees: NonNegativeDecimal = Decimal(0)
    quote_home_rate: PositiveDecimal | None = None
    filled_quantity: NonNegativeDecimal | None = None
    remaining_quantity: NonNegativeDecimal | None = None
    replaced_by_order_id: str | None = None
    reason: str = ""
    account_id: str | None = None

    @model_validator(mode="after")
    def _fills_have_a_price(self) -> Self:
        name = type(self).__name__
        if self.kind.is_fill and (self.fill_quantity <= 0 or self.fill_price is None):
            raise _field_error(
                name, "fill_price", None, f"a {self.kind.value} update needs a quantity and a price"
            )
        if not self.kind.is_fill and self.fill_quantity > 0:
            raise _field_error(
                name, "fill_quantity", str(self.fill_quantity), f"a {self.kind.value} update has no fill"
            )
        if self.kind is OrderUpdateKind.REPLACED and self.replaced_by_order_id is None:
            raise _field_error(name, "replaced_by_order_id", None, "a replaced order names its replacement")
        return self


def checked_update(
    kind: OrderUpdateKind,
    broker_order_id: str,
    time: datetime,
    *,
    client_order_id: str | None = None,
    instrument: str | None = None,
    side: OrderSide | None = None,
    fill_quantity: Decimal = Decimal(0),
    fill_price: Decimal | None = None,
    filled_quantity: Decimal | None = None,
    remaining_quantity: Decimal | None = None,
    replaced_by_order_id: str | None = None,
    reason: str = "",
) -> OrderUpdate:
    """An :class:`OrderUpdate` with no costs, the model's rules checked in plain Python: an account's order
    stream reads one per event, and pydantic's validation of each cost several times the decoding of the
    frame. Values that pass the quick checks (field types exact, Decimals finite and of the right sign, a UTC
    time, a canonical symbol, a fill with its quantity and price, a replacement naming its successor)
    become the model directly; anything else goes to the validating constructor, so errors are exactly
    the model's own. Every field is given, so ``model_fields_set`` is all of them either way."""
    values = {
        "kind": kind,
        "broker_order_id": broker_order_id,
        "client_order_id": client_order_id,
        "instrument": instrument,
        "side": side,
        "time": time,
        "fill_quantity": fill_quantity,
        "fill_price": fill_price,
        "commission": _ZERO,
        "fees": _ZERO,
        "quote_home_rate": None,
        "filled_quantity": filled_quantity,
        "remaining_quantity": remaining_quantity,
        "replaced_by_order_id": replaced_by_order_id,
        "reason": reason,
        "account_id": None,
    }
    if (
        type(kind) is OrderUpdateKind
        and type(broker_order_id) is str
        and (client_order_id is None or type(client_order_id) is str)
        and (side is None or type(side) is OrderSide)
        and type(time) is datetime
        and time.tzinfo is UTC
        and _is_size(fill_quantity)
        and (fill_price is None or (_is_size(fill_price) and fill_price > _ZERO))
        and (filled_quantity is None or _is_size(filled_quantity))
        and (remaining_quantity is None or _is_size(remaining_quantity))
        and (replaced_by_order_id is None or type(replaced_by_order_id) is str)
        and type(reason) is str
        and (
            (fill_quantity > _ZERO and fill_price is not None)
            if kind in _FILL_KINDS
            else fill_quantity == _ZERO
            and (kind is not OrderUpdateKind.REPLACED or replaced_by_order_id is not None)
        )
        and (instrument is None or _is_canonical(instrument))
    ):
        return assemble(OrderUpdate, values)
    return OrderUpdate(**values)


def checked_result(fields: Mapping[str, Any]) -> OrderResult:
    """``OrderResult(**fields)``, the model's rules checked in plain Python: every order's result is built
    once, and with a broker's I/O between orders pydantic's validation of it measured about half again the
    CPU time of these checks (bench_ccxt's setting: 30 against 19 µs per order). Values that pass the quick
    checks (field types exact, Decimals finite and of the right sign, UTC times, a canonical symbol, a failure
    that says why and a success that does not, a fill with its price) become the model directly; anything
    else goes to the validating constructor, so errors and conversions are exactly the model's own."""
    values = _RESULT_DEFAULTS.copy()
    values.update(fields)
    metadata = fields.get("metadata", _ABSENT)
    if metadata is _ABSENT:
        values["metadata"] = {}
    elif type(metadata) is dict and all(type(key) is str for key in metadata):
        values["metadata"] = metadata.copy()  # validation hands the model a copy of its own
    else:
        return OrderResult(**fields)
    if len(values) == len(_RESULT_DEFAULTS) and _result_passes(values):  # no name that is not a field
        return assemble(OrderResult, values, set(fields))
    return OrderResult(**fields)


_ABSENT = object()
#: Every field of an OrderResult with its default (a required field's stands for "not given" and fails the
#: checks; ``metadata``'s factory is called by :func:`checked_result`).
_RESULT_DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=False) for name, field in OrderResult.model_fields.items()
}


def _result_passes(v: dict[str, Any]) -> bool:
    """Whether ``v`` (every field of an OrderResult) holds what validation would accept unchanged."""
    success, error, filled, average = v["success"], v["error"], v["filled_quantity"], v["average_fill_price"]
    requested, rate, submitted, completed = (
        v["requested_quantity"],
        v["quote_home_rate"],
        v["submitted_at"],
        v["completed_at"],
    )
    latency, instrument, side = v["latency_ms"], v["instrument"], v["side"]
    client_id, broker_id, replaces = v["client_order_id"], v["broker_order_id"], v["replaces_order_id"]
    return (
        type(success) is bool
        and (error is None if success else type(error) is StandardizedError)
        and type(v["status"]) is OrderStatus
        and type(v["delivery"]) is Delivery
        and (side is None or type(side) is OrderSide)
        and _is_size(filled)
        and (average is not None or filled == _ZERO)
        and _is_size(v["commission"])
        and _is_size(v["fees"])
        and (requested is None or _is_size(requested))
        and (average is None or (_is_size(average) and average > _ZERO))
        and (rate is None or (_is_size(rate) and rate > _ZERO))
        and (submitted is None or (type(submitted) is datetime and submitted.tzinfo is UTC))
        and (completed is None or (type(completed) is datetime and completed.tzinfo is UTC))
        and (latency is None or (type(latency) is float and latency >= 0))
        and type(v["broker_name"]) is str
        and type(v["message"]) is str
        and (client_id is None or type(client_id) is str)
        and (broker_id is None or type(broker_id) is str)
        and (replaces is None or type(replaces) is str)
        and (instrument is None or _is_canonical(instrument))
    )


def _is_size(value: object) -> bool:
    """A finite Decimal, not negative."""
    return type(value) is Decimal and value.is_finite() and value >= _ZERO


_FILL_KINDS = frozenset({OrderUpdateKind.PARTIALLY_FILLED, OrderUpdateKind.FILLED})

_UPDATE_STATUS: dict[OrderUpdateKind, OrderStatus] = {
    OrderUpdateKind.ACCEPTED: OrderStatus.ACCEPTED,
    OrderUpdateKind.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    OrderUpdateKind.FILLED: OrderStatus.FILLED,
    OrderUpdateKind.CANCELLED: OrderStatus.CANCELLED,
    OrderUpdateKind.REJECTED: OrderStatus.REJECTED,
    OrderUpdateKind.EXPIRED: OrderStatus.EXPIRED,
    OrderUpdateKind.REPLACED: OrderStatus.CANCELLED,
}


class Position(_Frozen):
    """A net position in one instrument. ``quantity`` is signed: positive long, negative short."""

    instrument: Symbol
    quantity: Money
    average_price: PositiveDecimal | None = None
    unrealized_pnl: Money = Decimal(0)
    realized_pnl: Money = Decimal(0)
    margin_used: NonNegativeDecimal = Decimal(0)
    account_id: str | None = None
    long_quantity: NonNegativeDecimal | None = None
    short_quantity: NonNegativeDecimal | None = None

    @property
    def side(self) -> OrderSide | None:
        """BUY for long, SELL for short, ``None`` when flat."""
        if self.quantity > 0:
            return OrderSide.BUY
        if self.quantity < 0:
            return OrderSide.SELL
        return None


# ----------------------------------------------------------------------------------- market data


class PriceTick(_Frozen):
    """A top-of-book quote."""

    instrument: Symbol
    bid: PositiveDecimal
    ask: PositiveDecimal
    time: UtcDatetime
    tradeable: bool = True
    bid_size: NonNegativeDecimal | None = None
    ask_size: NonNegativeDecimal | None = None

    @model_validator(mode="after")
    def _not_crossed(self) -> Self:
        if self.ask < self.bid:
            raise _field_error(type(self).__name__, "ask", str(self.ask), f"ask is below bid {self.bid}")
        return self

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid


def checked_quote(
    instrument: str,
    bid: Decimal,
    ask: Decimal,
    time: datetime,
    *,
    tradeable: bool = True,
    bid_size: Decimal | None = None,
    ask_size: Decimal | None = None,
) -> PriceTick:
    """A :class:`PriceTick`, with the model's rules checked in plain Python: the price stream's hot path.

    A stream delivers a hundred thousand quotes a second; pydantic's validation of each would cost more
    than reading and decoding the line. Values that pass the quick checks (canonical symbol, finite
    positive Decimals, ask not below bid, a UTC time, sizes absent or not negative) become the model
    directly; anything else goes to the validating constructor, so errors are exactly the model's own.
    """
    values = {
        "instrument": instrument,
        "bid": bid,
        "ask": ask,
        "time": time,
        "tradeable": tradeable,
        "bid_size": bid_size,
        "ask_size": ask_size,
    }
    if (
        type(bid) is Decimal
        and type(ask) is Decimal
        and bid.is_finite()
        and ask.is_finite()
        and _ZERO < bid <= ask
        and type(time) is datetime
        and time.tzinfo is UTC
        and type(tradeable) is bool
        and (bid_size is None or (type(bid_size) is Decimal and bid_size.is_finite() and bid_size >= _ZERO))
        and (ask_size is None or (type(ask_size) is Decimal and ask_size.is_finite() and ask_size >= _ZERO))
        and _is_canonical(instrument)
    ):
        return assemble(PriceTick, values)
    return PriceTick(**values)


#: Symbols found canonical already: a stream names the same few instruments in every quote. Bounded.
_CANONICAL: set[str] = set()


def _is_canonical(instrument: object) -> bool:
    if type(instrument) is not str:
        return False
    if instrument in _CANONICAL:
        return True
    try:
        canonical = canonical_symbol(instrument) == instrument
    except ValueError:
        return False
    if canonical and len(_CANONICAL) < 4096:
        _CANONICAL.add(instrument)
    return canonical


_ModelT = TypeVar("_ModelT", bound=BaseModel)

# The slots a pydantic model keeps its state in, set through their descriptors (what ``object.__setattr__``
# finds by a lookup on every call).
_set_values = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
#: Each assembled class's field names, copied as an instance's fields set (every field is given).
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}


def assemble(cls: type[_ModelT], values: dict[str, Any], given: set[str] | None = None) -> _ModelT:
    """An instance of ``cls`` from already checked ``values`` (every field, each what validation would make
    of it): what ``model_construct`` does, without its per-field loop. ``given`` is the instance's fields set
    (every field when ``None``). For the checked constructors here and the pipeline's copy of a result;
    guarded by tests that compare what they build with a validated instance."""
    instance = object.__new__(cls)
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    if len(values) != len(fields):
        raise TypeError(f"{cls.__name__} is assembled from all its fields, got {sorted(values)}")
    _set_values(instance, values)
    _set_fields_set(instance, fields.copy() if given is None else given)
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance


class Candle(_Frozen):
    """One OHLCV bar; ``time`` is the bar's open time."""

    instrument: Symbol
    granularity: Granularity
    time: UtcDatetime
    open: PositiveDecimal
    high: PositiveDecimal
    low: PositiveDecimal
    close: PositiveDecimal
    volume: Annotated[int, Field(ge=0)] = 0
    complete: bool = True

    @model_validator(mode="after")
    def _range(self) -> Self:
        name = type(self).__name__
        if self.high < max(self.open, self.close, self.low):
            raise _field_error(name, "high", str(self.high), "high is below open, close or low")
        if self.low > min(self.open, self.close):
            raise _field_error(name, "low", str(self.low), "low is above open or close")
        return self


class Instrument(_Frozen):
    """What a broker says about one tradeable instrument."""

    symbol: Symbol
    broker_symbol: str
    type: InstrumentType
    display_name: str = ""
    tick_size: PositiveDecimal
    display_precision: Annotated[int, Field(ge=0, le=12)]
    pip_location: int | None = None
    min_quantity: PositiveDecimal
    quantity_increment: PositiveDecimal = Decimal(1)
    max_quantity: PositiveDecimal | None = None
    margin_rate: Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    quote_currency: str | None = None

    def is_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_valid_quantity(self, quantity: Decimal) -> bool:
        return self.quantity_refusal(quantity) is None

    def quantity_refusal(self, quantity: Decimal) -> str | None:
        """Why the broker's published size rules forbid ``quantity``, or ``None``."""
        symbol = self.symbol
        if quantity < self.min_quantity:
            return f"{quantity} {symbol} is below the minimum order size {self.min_quantity}"
        if self.max_quantity is not None and quantity > self.max_quantity:
            return f"{quantity} {symbol} is above the maximum order size {self.max_quantity}"
        if quantity % self.quantity_increment:
            return f"{symbol} trades in steps of {self.quantity_increment}; {quantity} is not one"
        return None

    def order_refusal(self, order: UnifiedOrder) -> str | None:
        """Why the instrument's rules forbid ``order`` (its size, or a price off the tick), or ``None``. A
        notional order's size is the broker's to work out, so only its prices are checked here."""
        if order.quantity is not None:
            refusal = self.quantity_refusal(order.quantity)
            if refusal is not None:
                return refusal
        values = order.__dict__  # read by name, not copied into a dict: this runs for every order
        for name in _PRICE_LEVELS:
            level = values[name]
            if level is not None and not self.is_on_tick(level):
                return f"{name} {level} is off the {self.symbol} tick size {self.tick_size}"
        return None


#: An order's prices that must lie on its instrument's tick, in the order they are checked.
_PRICE_LEVELS = ("price", "stop_price", "trailing_distance", "take_profit", "stop_loss")


# -------------------------------------------------------------------------------------- accounts


class Account(_Frozen):
    """An account the credentials reach. ``currency`` is ``None`` when the broker would not say."""

    account_id: str
    currency: str | None = None
    alias: str = ""
    environment: str | None = None
    tags: tuple[str, ...] = ()


class AccountSummary(_Frozen):
    """Balances in the account's currency. ``equity`` is balance plus unrealized P&L (NAV)."""

    account_id: str
    currency: str
    balance: Money
    equity: Money
    unrealized_pnl: Money = Decimal(0)
    realized_pnl: Money = Decimal(0)
    margin_used: NonNegativeDecimal = Decimal(0)
    margin_available: Money
    open_position_count: Annotated[int, Field(ge=0)] = 0
    open_order_count: Annotated[int, Field(ge=0)] = 0
    time: UtcDatetime

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        # ISO 4217 (USD), or a crypto venue's cash asset (USDT, USDC): 3 to 10 letters and digits
        if not 3 <= len(value) <= 10 or not value.isascii() or not value.isalnum() or value.isdigit():
            raise ValueError("currency must be a currency or asset code such as USD or USDT")
        return value.upper()


class HealthStatus(_Frozen):
    """The answer to ``health_check()``."""

    state: HealthState
    checked_at: UtcDatetime
    latency_ms: Annotated[float, Field(ge=0)] | None = None
    message: str = ""
    details: Mapping[str, Any] = Field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.state is HealthState.HEALTHY
