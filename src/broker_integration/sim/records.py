"""The engine's vocabulary: reasons, states and the immutable records it hands to its faces.

Everything here is protocol-neutral: the paper adapter turns these records into the unified model, and
each wire-protocol face renders them in its venue's words through tables of its own (the OANDA v20 face:
:mod:`broker_integration.sim.oanda.vocabulary`), never by passing an engine value through. The names are
the engine's; where they read like one venue's it is because that venue's plain word fits, not a promise
of its spelling (OANDA's typo ``UNITS_MIMIMUM_NOT_MET``, for one, lives in its face, not here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from broker_integration.models import OrderSide, OrderType, PriceTick, TimeInForce

__all__ = [
    "AccountSnapshot",
    "Bar",
    "CancelReason",
    "CreateReason",
    "FillReason",
    "OrderChanges",
    "OrderOutcome",
    "OrderRequest",
    "OrderState",
    "OrderView",
    "PositionSnapshot",
    "Quote",
    "RejectReason",
    "TradeChange",
    "TradeCloseOutcome",
    "TradeEffect",
    "TradeRejectReason",
    "TradeState",
    "TradeView",
    "Transaction",
    "TransactionReason",
    "TransactionType",
]

_EMPTY: Mapping[str, object] = MappingProxyType({})


class RejectReason(StrEnum):
    """Why the venue refused an order request, or killed an order the moment it was created."""

    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    INSUFFICIENT_LIQUIDITY = "INSUFFICIENT_LIQUIDITY"  # the venue's random refusals (profile rejection_rate)
    MARKET_HALTED = "MARKET_HALTED"  # the instrument's market is closed now
    INSTRUMENT_UNKNOWN = "INSTRUMENT_UNKNOWN"
    INSTRUMENT_NOT_TRADEABLE = "INSTRUMENT_NOT_TRADEABLE"
    UNITS_INVALID = "UNITS_INVALID"
    UNITS_PRECISION_EXCEEDED = "UNITS_PRECISION_EXCEEDED"
    UNITS_MINIMUM_NOT_MET = "UNITS_MINIMUM_NOT_MET"
    UNITS_LIMIT_EXCEEDED = "UNITS_LIMIT_EXCEEDED"
    PRICE_MISSING = "PRICE_MISSING"
    PRICE_INVALID = "PRICE_INVALID"
    PRICE_PRECISION_EXCEEDED = "PRICE_PRECISION_EXCEEDED"
    PRICE_DISTANCE_MISSING = "PRICE_DISTANCE_MISSING"
    PRICE_DISTANCE_INVALID = "PRICE_DISTANCE_INVALID"
    PRICE_DISTANCE_PRECISION_EXCEEDED = "PRICE_DISTANCE_PRECISION_EXCEEDED"
    TIME_IN_FORCE_INVALID = "TIME_IN_FORCE_INVALID"
    TIME_IN_FORCE_GTD_TIMESTAMP_MISSING = "TIME_IN_FORCE_GTD_TIMESTAMP_MISSING"
    TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST = "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST"
    CLIENT_ORDER_ID_ALREADY_EXISTS = "CLIENT_ORDER_ID_ALREADY_EXISTS"
    ORDER_DOESNT_EXIST = "ORDER_DOESNT_EXIST"
    REPLACING_ORDER_INVALID = "REPLACING_ORDER_INVALID"
    CLOSEOUT_POSITION_DOESNT_EXIST = "CLOSEOUT_POSITION_DOESNT_EXIST"
    CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE = "CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE"
    FOK_NOT_FILLED = "FOK_NOT_FILLED"  # a fill-or-kill order that could not fill whole at once
    IOC_NOT_FILLED = "IOC_NOT_FILLED"  # an IOC order that found nothing to fill


class TradeRejectReason(StrEnum):
    """Why the venue refused to close a trade (kept apart from :class:`RejectReason`, the order refusals
    every face maps, since only a face that exposes trades can meet these)."""

    TRADE_DOESNT_EXIST = "TRADE_DOESNT_EXIST"
    CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE = "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE"


class CancelReason(StrEnum):
    """Why a live order was cancelled when that is not a refusal."""

    CLIENT_REQUEST = "CLIENT_REQUEST"
    CLIENT_REQUEST_REPLACED = "CLIENT_REQUEST_REPLACED"
    TIME_IN_FORCE_EXPIRED = "TIME_IN_FORCE_EXPIRED"
    IOC_REMAINDER = "IOC_REMAINDER"  # the unfilled rest of a partly filled IOC order


class CreateReason(StrEnum):
    """Why an order was created: the client sent it, it replaces another, or it closes a position or trade."""

    CLIENT_ORDER = "CLIENT_ORDER"
    REPLACEMENT = "REPLACEMENT"
    POSITION_CLOSEOUT = "POSITION_CLOSEOUT"
    TRADE_CLOSE = "TRADE_CLOSE"


class FillReason(StrEnum):
    """What kind of order a fill executed (closing orders apart from the client's market orders)."""

    MARKET_ORDER = "MARKET_ORDER"
    LIMIT_ORDER = "LIMIT_ORDER"
    STOP_ORDER = "STOP_ORDER"
    STOP_LIMIT_ORDER = "STOP_LIMIT_ORDER"
    MARKET_IF_TOUCHED_ORDER = "MARKET_IF_TOUCHED_ORDER"
    TRAILING_STOP_ORDER = "TRAILING_STOP_ORDER"
    MARKET_ORDER_POSITION_CLOSEOUT = "MARKET_ORDER_POSITION_CLOSEOUT"
    MARKET_ORDER_TRADE_CLOSE = "MARKET_ORDER_TRADE_CLOSE"


TransactionReason = RejectReason | TradeRejectReason | CancelReason | CreateReason | FillReason


class TransactionType(StrEnum):
    """The kinds of entry in the engine's log."""

    ACCOUNT_OPEN = "ACCOUNT_OPEN"
    ORDER_CREATE = "ORDER_CREATE"
    ORDER_REJECT = "ORDER_REJECT"
    ORDER_FILL = "ORDER_FILL"
    ORDER_CANCEL = "ORDER_CANCEL"
    ORDER_CANCEL_REJECT = "ORDER_CANCEL_REJECT"


class TradeState(StrEnum):
    """A trade's state: some of its units still open, or all closed."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"


class OrderState(StrEnum):
    """An order's state at the venue."""

    PENDING = "PENDING"  # resting (possibly partly filled)
    TRIGGERED = "TRIGGERED"  # a stop-limit whose stop was hit: now a resting limit
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"

    @property
    def is_open(self) -> bool:
        """Still working at the venue: resting, or a triggered stop-limit resting as a limit."""
        return self in (OrderState.PENDING, OrderState.TRIGGERED)


# ------------------------------------------------------------------------------------------ requests


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as the venue receives it; ``units`` is positive, ``side`` gives the direction.

    ``time_in_force`` defaults to FOK for market orders and GTC otherwise (the engine's defaults; a face
    whose venue defaults differently passes its own).
    """

    instrument: str
    side: OrderSide
    units: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_distance: Decimal | None = None
    time_in_force: TimeInForce | None = None
    expire_time: datetime | None = None
    client_order_id: str | None = None

    @property
    def effective_time_in_force(self) -> TimeInForce:
        if self.time_in_force is not None:
            return self.time_in_force
        return TimeInForce.FOK if self.order_type is OrderType.MARKET else TimeInForce.GTC


@dataclass(frozen=True, slots=True)
class OrderChanges:
    """What to change when replacing a resting order; unset fields keep the old order's values."""

    units: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_distance: Decimal | None = None
    time_in_force: TimeInForce | None = None
    expire_time: datetime | None = None


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book at one second; ``tradeable`` is false while the market is closed."""

    instrument: str
    bid: Decimal
    ask: Decimal
    time: datetime
    tradeable: bool

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    def price_tick(self) -> PriceTick:
        """This quote as the library's :class:`~broker_integration.models.PriceTick`, as an in-process
        client of the venue (the paper adapter, the demo's reference feed) sees it."""
        return PriceTick(
            instrument=self.instrument, bid=self.bid, ask=self.ask, time=self.time, tradeable=self.tradeable
        )


@dataclass(frozen=True, slots=True)
class TradeChange:
    """A trade a fill touched: ``units`` is signed as the fill (negative when a sell reduces a long);
    ``realized_pl`` is in the account's currency."""

    trade_id: str
    units: Decimal
    price: Decimal
    realized_pl: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class TradeEffect:
    """What one fill did to the account's trades: reduced one, closed some, and/or opened one."""

    opened: TradeChange | None = None
    reduced: TradeChange | None = None
    closed: tuple[TradeChange, ...] = ()


@dataclass(frozen=True, slots=True)
class TradeView:
    """A trade (a lot) as the venue holds it: the fill that opened units, and what later fills did to it.

    ``trade_id`` is the id of the opening fill transaction, ``order_id`` the order that fill belonged to;
    units are signed (positive long); ``realized_pl`` is in the account's currency.
    """

    trade_id: str
    account_id: str
    instrument: str
    order_id: str
    price: Decimal
    opened_at: datetime
    initial_units: Decimal
    current_units: Decimal
    realized_pl: Decimal
    state: TradeState
    closed_at: datetime | None = None
    average_close_price: Decimal | None = None
    closing_transaction_ids: tuple[int, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state is TradeState.OPEN


@dataclass(frozen=True, slots=True)
class Transaction:
    """One entry of the venue's log. Ids increase by one per engine, in the order things happened.

    ``units`` is positive (``side`` gives the direction); money (``pl``, ``commission``, ``balance``) is
    in the account's currency. A fill carries ``trades``: the trades it opened, reduced or closed.
    """

    id: int
    type: TransactionType
    time: datetime
    account_id: str
    order_id: str | None = None
    client_order_id: str | None = None
    instrument: str | None = None
    side: OrderSide | None = None
    units: Decimal | None = None
    price: Decimal | None = None
    order_type: OrderType | None = None
    time_in_force: TimeInForce | None = None
    reason: TransactionReason | None = None
    pl: Decimal | None = None
    commission: Decimal | None = None
    balance: Decimal | None = None
    replaces_order_id: str | None = None
    replaced_by_order_id: str | None = None
    trades: TradeEffect | None = None
    details: Mapping[str, object] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as the venue holds it, at one moment."""

    order_id: str
    client_order_id: str | None
    account_id: str
    instrument: str
    side: OrderSide
    order_type: OrderType
    units: Decimal
    filled_units: Decimal
    state: OrderState
    time_in_force: TimeInForce
    created_at: datetime
    updated_at: datetime
    create_reason: CreateReason
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_distance: Decimal | None = None
    trailing_stop_value: Decimal | None = None
    expire_time: datetime | None = None
    average_fill_price: Decimal | None = None
    commission: Decimal = Decimal(0)
    cancel_reason: CancelReason | RejectReason | None = None
    replaces_order_id: str | None = None
    replaced_by_order_id: str | None = None
    fill_transaction_ids: tuple[int, ...] = ()

    @property
    def remaining_units(self) -> Decimal:
        return self.units - self.filled_units

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    @property
    def was_refused(self) -> bool:
        """Created and then killed at once for a business reason (margin, closed market, FOK ...)."""
        return isinstance(self.cancel_reason, RejectReason)


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What one order action did: the order after it, or the reason it was refused.

    ``order`` is set whenever an order exists (including one created and killed at once); ``previous``
    is the replaced order for a replace. ``transactions`` are the log entries the action wrote, in order.
    """

    order: OrderView | None
    reject_reason: RejectReason | None = None
    message: str = ""
    transactions: tuple[Transaction, ...] = ()
    previous: OrderView | None = None

    @property
    def ok(self) -> bool:
        return self.reject_reason is None


@dataclass(frozen=True, slots=True)
class TradeCloseOutcome:
    """What a trade close did: the closing order (filled, or cancelled at once) or why it was refused,
    and the log entries it wrote."""

    order: OrderView | None
    reject_reason: RejectReason | TradeRejectReason | None = None
    message: str = ""
    transactions: tuple[Transaction, ...] = ()


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A netted position; ``units`` is signed (positive long). Money in the account's currency."""

    account_id: str
    instrument: str
    units: Decimal
    average_price: Decimal | None
    unrealized_pl: Decimal
    realized_pl: Decimal
    commission: Decimal
    margin_used: Decimal


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """An account's money at one moment, in its currency; ``nav`` is balance plus unrealized P&L."""

    account_id: str
    currency: str
    alias: str
    balance: Decimal
    nav: Decimal
    unrealized_pl: Decimal
    realized_pl: Decimal
    commission: Decimal
    margin_used: Decimal
    margin_available: Decimal
    open_position_count: int
    pending_order_count: int
    last_transaction_id: int
    time: datetime


@dataclass(frozen=True, slots=True)
class Bar:
    """One mid-price candle; ``time`` is the bar's open time, ``complete`` false for the current bar."""

    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    complete: bool
