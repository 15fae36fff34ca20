"""The engine's working copy of an order: mutable, in whole ticks, and turned into an immutable
:class:`~broker_integration.sim.records.OrderView` whenever it leaves the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim.records import CancelReason, CreateReason, OrderState, OrderView, RejectReason

__all__ = ["LiveOrder"]

_ZERO = Decimal(0)


@dataclass(slots=True, eq=False)
class LiveOrder:
    """One order inside the engine. Prices are kept in whole ticks for exact comparisons with quotes."""

    id: int
    account_id: str
    instrument: str
    side: OrderSide
    order_type: OrderType
    units: Decimal
    time_in_force: TimeInForce
    tick: Decimal
    created_at: datetime
    create_reason: CreateReason
    client_order_id: str | None = None
    price_ticks: int | None = None
    stop_ticks: int | None = None
    trailing_ticks: int | None = None
    gtd_time: datetime | None = None  # as requested (GTD only)
    expire_time: datetime | None = None  # effective expiry: the GTD time or the DAY cutoff
    expire_step: int | None = None
    state: OrderState = OrderState.PENDING
    updated_at: datetime | None = None
    filled_units: Decimal = _ZERO
    fill_value: Decimal = _ZERO  # sum of units * price over fills, for the average price
    commission: Decimal = _ZERO
    fill_ids: list[int] = field(default_factory=list)
    cancel_reason: CancelReason | RejectReason | None = None
    note: str = ""  # why it ended, in words
    replaces_order_id: str | None = None
    replaced_by_order_id: str | None = None
    close_trade_id: str | None = None  # the trade a trade-close order reduces
    live_step: int = 0  # the second it began to rest (or a stop-limit was triggered)
    trail_extreme: int | None = None  # best bid (sell) or ask (buy) seen since placement, in ticks
    liquidity_draws: int = 0

    @property
    def key(self) -> str:
        """The broker order id: the id of the transaction that created the order."""
        return str(self.id)

    @property
    def remaining(self) -> Decimal:
        return self.units - self.filled_units

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    @property
    def is_buy(self) -> bool:
        return self.side is OrderSide.BUY

    def trailing_stop_ticks(self) -> int | None:
        """The trailing stop's current trigger level in ticks."""
        if self.trailing_ticks is None or self.trail_extreme is None:
            return None
        return (
            self.trail_extreme + self.trailing_ticks
            if self.is_buy
            else self.trail_extreme - self.trailing_ticks
        )

    def average_fill_price(self) -> Decimal | None:
        """Volume-weighted over fills: on the tick when it is, else to a thousandth of a tick."""
        if not self.filled_units:
            return None
        average = self.fill_value / self.filled_units
        on_tick = average.quantize(self.tick)
        return on_tick if on_tick == average else average.quantize(self.tick.scaleb(-3))

    def _price(self, ticks: int | None) -> Decimal | None:
        return None if ticks is None else self.tick * ticks

    def view(self) -> OrderView:
        return OrderView(
            order_id=self.key,
            client_order_id=self.client_order_id,
            account_id=self.account_id,
            instrument=self.instrument,
            side=self.side,
            order_type=self.order_type,
            units=self.units,
            filled_units=self.filled_units,
            state=self.state,
            time_in_force=self.time_in_force,
            created_at=self.created_at,
            updated_at=self.updated_at or self.created_at,
            create_reason=self.create_reason,
            price=self._price(self.price_ticks),
            stop_price=self._price(self.stop_ticks),
            trailing_distance=self._price(self.trailing_ticks),
            trailing_stop_value=self._price(self.trailing_stop_ticks()),
            expire_time=self.expire_time,
            average_fill_price=self.average_fill_price(),
            commission=self.commission,
            cancel_reason=self.cancel_reason,
            replaces_order_id=self.replaces_order_id,
            replaced_by_order_id=self.replaced_by_order_id,
            fill_transaction_ids=tuple(self.fill_ids),
        )
