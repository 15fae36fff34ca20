"""When resting orders trigger: vectorized searches over a window of sampled quotes.

Trigger rules follow OANDA's default trigger condition: a buy limit (or market-if-touched) triggers
when the ask is at or below its price, a sell when the bid is at or above; a buy stop triggers when the
ask is at or above its stop, a sell stop when the bid is at or below; a trailing stop follows the best
bid (sell) or ask (buy) seen since it was placed. Nothing triggers while the market is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from broker_integration.models import OrderType
from broker_integration.sim.orders import LiveOrder
from broker_integration.sim.records import OrderState

__all__ = ["EventKind", "Window", "limit_reached", "next_event", "stop_reached", "touch", "update_trailing"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_LOWEST = np.iinfo(np.int64).min
_HIGHEST = np.iinfo(np.int64).max


class EventKind(IntEnum):
    """What happens to an order at a sample; at the same sample an expiry comes before a trigger."""

    EXPIRE = 0
    TRIGGER = 1


@dataclass(frozen=True, slots=True)
class Window:
    """Quotes of one instrument at a run of sampled seconds (in ticks), and whether it was open then.

    ``open_before`` says whether the market was open at the sample before the first one, to tell a
    price that moved through a level from one that gapped over it at the open.
    """

    steps: IntArray
    bid: IntArray
    ask: IntArray
    open: BoolArray
    open_before: bool

    def gapped(self, index: int) -> bool:
        """Whether the market was closed just before sample ``index`` (so ``index`` is an opening)."""
        return not (bool(self.open[index - 1]) if index > 0 else self.open_before)


def touch(order: LiveOrder, bid: int, ask: int) -> int:
    """The price an order meets at the touch: the ask for a buy, the bid for a sell."""
    return ask if order.is_buy else bid


def limit_reached(order: LiveOrder, bid: int, ask: int) -> bool:
    """Whether a limit (or market-if-touched) price is reached by this quote."""
    assert order.price_ticks is not None
    return ask <= order.price_ticks if order.is_buy else bid >= order.price_ticks


def stop_reached(order: LiveOrder, bid: int, ask: int) -> bool:
    assert order.stop_ticks is not None
    return ask >= order.stop_ticks if order.is_buy else bid <= order.stop_ticks


def _acts_as_limit(order: LiveOrder) -> bool:
    return order.order_type is OrderType.LIMIT or (
        order.order_type is OrderType.STOP_LIMIT and order.state is OrderState.TRIGGERED
    )


def _trailing_levels(order: LiveOrder, window: Window, start: int) -> IntArray:
    """The best price seen so far at each sample from ``start``, counting only open samples."""
    assert order.trail_extreme is not None
    if order.is_buy:
        seen = np.where(window.open[start:], window.ask[start:], _HIGHEST)
        levels: IntArray = np.minimum(np.minimum.accumulate(seen), order.trail_extreme)
    else:
        seen = np.where(window.open[start:], window.bid[start:], _LOWEST)
        levels = np.maximum(np.maximum.accumulate(seen), order.trail_extreme)
    return levels


def _first_trigger(order: LiveOrder, window: Window, start: int) -> int | None:
    bid, ask = window.bid[start:], window.ask[start:]
    buy = order.is_buy
    kind = order.order_type
    hit: BoolArray
    if _acts_as_limit(order) or kind is OrderType.MARKET_IF_TOUCHED:
        assert order.price_ticks is not None
        hit = ask <= order.price_ticks if buy else bid >= order.price_ticks
    elif kind in (OrderType.STOP, OrderType.STOP_LIMIT):
        assert order.stop_ticks is not None
        hit = ask >= order.stop_ticks if buy else bid <= order.stop_ticks
    elif kind is OrderType.TRAILING_STOP:
        assert order.trailing_ticks is not None
        levels = _trailing_levels(order, window, start)
        hit = ask >= levels + order.trailing_ticks if buy else bid <= levels - order.trailing_ticks
    else:
        return None  # market orders never rest
    hit = hit & window.open[start:]
    if not hit.size:
        return None
    first = int(np.argmax(hit))
    return start + first if hit[first] else None


def next_event(order: LiveOrder, window: Window, start: int) -> tuple[int, EventKind] | None:
    """The first sample at or after ``start`` where ``order`` expires or triggers, if any."""
    size = len(window.steps)
    if start >= size:
        return None
    expires = size
    if order.expire_step is not None:
        expires = start + int(np.searchsorted(window.steps[start:], order.expire_step, side="left"))
    trigger = _first_trigger(order, window, start)
    triggers = size if trigger is None else trigger
    if expires >= size and triggers >= size:
        return None
    return (expires, EventKind.EXPIRE) if expires <= triggers else (triggers, EventKind.TRIGGER)


def update_trailing(order: LiveOrder, window: Window) -> None:
    """Carry a trailing stop's best price over the whole window into the next one."""
    if order.order_type is OrderType.TRAILING_STOP and window.steps.size:
        order.trail_extreme = int(_trailing_levels(order, window, 0)[-1])
