"""Alpaca's own order rules, checked before an order is sent (the pipeline's checks cover what every broker
shares: declared order types and times in force, sizes and ticks from the loaded assets).

Facts, from Alpaca's public docs ("Orders at Alpaca", "Fractional Trading"; reference §2.3):

* ``notional`` (an amount of dollars instead of ``qty``) goes with market orders only; for stocks only with
  time in force ``day`` and only on assets whose ``fractionable`` is true. Crypto assets all trade in
  fractions.
* ``opg`` (the opening auction) and ``cls`` (the closing auction) go with market and limit orders on stocks;
  crypto has no auctions.
"""

from __future__ import annotations

from broker_integration.adapters.alpaca.parsing import effective_time_in_force, is_crypto
from broker_integration.models import Instrument, OrderType, TimeInForce, UnifiedOrder

__all__ = ["AUCTIONS", "rule_refusal"]

#: The auction times in force, Alpaca's ``opg`` and ``cls``.
AUCTIONS = frozenset({TimeInForce.OPG, TimeInForce.CLS})
_AUCTION_TYPES = frozenset({OrderType.MARKET, OrderType.LIMIT})


def rule_refusal(
    order: UnifiedOrder, instrument: Instrument | None, tif: TimeInForce | None = None
) -> tuple[str, str] | None:
    """The field at fault and why Alpaca would refuse ``order``, or ``None``. ``instrument`` is the asset as
    loaded (``None`` when the assets are not known: its fractionability is then Alpaca's to check); ``tif``
    is :func:`effective_time_in_force` of ``order`` when the caller has it already."""
    crypto = is_crypto(order.instrument)
    tif = tif or effective_time_in_force(order)
    kind = order.order_type
    if order.notional is not None:
        if kind is not OrderType.MARKET:
            return "notional", f"Alpaca takes notional only with market orders, not with a {kind.value} order"
        if not crypto and tif is not TimeInForce.DAY:
            return (
                "notional",
                f"Alpaca takes a notional stock order only with time in force DAY, not {tif.value}",
            )
        if not crypto and instrument is not None and instrument.quantity_increment >= 1:
            return (
                "notional",
                f"{order.instrument} is not fractionable at Alpaca: it cannot be sized by notional",
            )
    if tif in AUCTIONS:
        if crypto:
            return "time_in_force", f"Alpaca has no {tif.value} auction for crypto ({order.instrument})"
        if kind not in _AUCTION_TYPES:
            return (
                "time_in_force",
                f"Alpaca takes {tif.value} only with market and limit orders, not {kind.value}",
            )
    return None
