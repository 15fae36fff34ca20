"""v20 transactions from the engine's log: create, reject, fill, cancel and cancel-reject, each with the
header every transaction carries (``id``, ``time``, ``userID``, ``accountID``, ``batchID``, ``requestID``)
and the fields of its spec definition (``MarketOrderTransaction``, ``OrderFillTransaction`` …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.formats import (
    decimal_text,
    money,
    price,
    units,
)
from broker_integration.sim.oanda.parse import OrderExtras, TradeClose
from broker_integration.sim.oanda.render_base import (
    FACTOR_PLACES,
    NO_EXTRAS,
    NOTHING,
    ORDER_TYPE_NAMES,
    TIF_NAMES,
    ZERO,
    RenderContext,
    add_request_extras,
    decimal_or,
    reason_name,
)
from broker_integration.sim.oanda.vocabulary import TRANSACTION_TYPE_NAMES
from broker_integration.sim.records import (
    TradeChange,
    TradeEffect,
    Transaction,
    TransactionType,
)

__all__ = ["Batch", "TransactionRenderer", "trade_close", "v20_type"]


def v20_type(t: Transaction) -> str:
    """The v20 ``TransactionType`` an engine log entry is rendered as (``LIMIT_ORDER``, ``ORDER_FILL`` …)."""
    if t.type is TransactionType.ORDER_CREATE and t.order_type is not None:
        return f"{ORDER_TYPE_NAMES[t.order_type]}_ORDER"
    if t.type is TransactionType.ORDER_REJECT and t.order_type is not None:
        return f"{ORDER_TYPE_NAMES[t.order_type]}_ORDER_REJECT"
    return TRANSACTION_TYPE_NAMES[t.type]


def trade_close(close: TradeClose) -> dict[str, str]:
    """A v20 ``MarketOrderTradeClose``: the trade (by id, or by client id when it was named so) and units."""
    body = {"tradeID": close.trade_id} if close.trade_id is not None else {}
    if close.client_trade_id is not None:
        body["clientTradeID"] = close.client_trade_id
    body["units"] = close.units
    return body


@dataclass(frozen=True, slots=True)
class Batch:
    """The request a group of transactions answers: its ``requestID``, and the ``batchID`` they share.

    ``extras`` describes a rejected request (a reject has no order to look its extras up by);
    ``reference`` is the order specifier a cancel-reject answers when the order is unknown.
    """

    request_id: str
    batch_id: int
    extras: OrderExtras | None = None
    reference: str | None = None


class TransactionRenderer(RenderContext):
    """Renders engine transactions as v20 transactions."""

    # ============================================================== transactions

    def transaction(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        """One engine log entry as the v20 transaction it stands for."""
        kind = t.type
        if kind is TransactionType.ORDER_CREATE:
            return self._order_create(t, batch)
        if kind is TransactionType.ORDER_FILL:
            return self._order_fill(t, batch)
        if kind is TransactionType.ORDER_CANCEL:
            body = self._header(t, batch)
            self._order_ids(body, t.order_id, t.client_order_id)
            body["reason"] = reason_name(t.reason)
            if t.replaced_by_order_id is not None:
                body["replacedByOrderID"] = t.replaced_by_order_id
            return body
        if kind is TransactionType.ORDER_CANCEL_REJECT:
            body = self._header(t, batch)
            order_id, client_id = t.order_id, t.client_order_id
            if order_id is None and client_id is None and batch.reference is not None:
                order_id, client_id = (
                    (batch.reference, None) if batch.reference.isdigit() else (None, batch.reference)
                )
            self._order_ids(body, order_id, client_id)
            body["rejectReason"] = reason_name(t.reason)
            return body
        if kind is TransactionType.ORDER_REJECT:
            return self._order_reject(t, batch)
        body = self._header(t, batch)  # ACCOUNT_OPEN: v20's account CREATE transaction
        body["accountUserID"] = self._user_id
        body["homeCurrency"] = str(t.details.get("currency", ""))
        return body

    def _header(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        header: dict[str, Any] = {
            "id": str(t.id),
            "time": self.time(t.time),
            "userID": self._user_id,
            "accountID": t.account_id,
            "batchID": str(batch.batch_id),
            "type": v20_type(t),
        }
        if batch.request_id:  # a fill of a resting order was caused by the market, not by a request
            header["requestID"] = batch.request_id
        return header

    @staticmethod
    def _order_ids(body: dict[str, Any], order_id: str | None, client_id: str | None) -> None:
        if order_id is not None:
            body["orderID"] = order_id
        if client_id is not None:
            body["clientOrderID"] = client_id

    def _request_fields(self, t: Transaction, extras: OrderExtras, body: dict[str, Any]) -> None:
        """The order request's fields, shared by create and reject transactions (a trade close of an
        unknown trade names no instrument and no units)."""
        assert t.order_type is not None
        spec = self._specs.get(t.instrument or "")
        kind = ORDER_TYPE_NAMES[t.order_type]
        if t.instrument is not None:
            body["instrument"] = self._names.name(t.instrument)
        if t.units is not None and t.instrument is not None:
            signed = t.units if t.side is not OrderSide.SELL else -t.units
            body["units"] = units(signed, spec) if spec is not None else format(signed, "f")
        if t.time_in_force is not None:
            body["timeInForce"] = TIF_NAMES[t.time_in_force]
        body["positionFill"] = extras.position_fill
        if kind != "MARKET":
            body["triggerCondition"] = extras.trigger_condition or "DEFAULT"
        if extras.price_bound is not None and kind in ("MARKET", "STOP", "MARKET_IF_TOUCHED"):
            body["priceBound"] = extras.price_bound
        add_request_extras(body, t.client_order_id, extras)
        if extras.trade_close is not None:
            body["tradeClose"] = trade_close(extras.trade_close)

    def _order_create(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        assert t.order_type is not None
        extras = self._extras.get(t.order_id or "", batch.extras or NO_EXTRAS)
        body = self._header(t, batch)
        self._request_fields(t, extras, body)
        spec = self._specs.get(t.instrument or "")
        if t.order_type is not OrderType.MARKET and t.price is not None and spec is not None:
            body["price"] = price(t.price, spec)
        expire = t.details.get("expire_time")
        if t.time_in_force is TimeInForce.GTD and isinstance(expire, datetime):
            body["gtdTime"] = self.time(expire)
        body["reason"] = reason_name(t.reason)
        if t.replaces_order_id is not None:
            body["replacesOrderID"] = t.replaces_order_id
        return body

    def _order_reject(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        assert t.order_type is not None
        extras = batch.extras or NO_EXTRAS
        body = self._header(t, batch)
        self._request_fields(t, extras, body)
        if extras.price_text is not None:
            body["price"] = extras.price_text  # echoed as sent: the reject may be about its precision
        if extras.closeout is not None:
            body["reason"] = "POSITION_CLOSEOUT"
        elif extras.trade_close is not None:
            body["reason"] = "TRADE_CLOSE"
        elif t.replaces_order_id is not None:
            body["reason"] = "REPLACEMENT"
            body["intendedReplacesOrderID"] = t.replaces_order_id
        else:
            body["reason"] = "CLIENT_ORDER"
        body["rejectReason"] = reason_name(t.reason)
        return body

    def _order_fill(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        assert t.instrument is not None
        assert t.units is not None
        assert t.price is not None
        spec = self._specs[t.instrument]
        home = self._engine_currency(t.account_id)
        rates = self._rates.rates(spec.quote_currency, home)
        signed = t.units if t.side is OrderSide.BUY else -t.units
        bid = decimal_or(t.details.get("bid"), t.price)
        ask = decimal_or(t.details.get("ask"), t.price)
        half_spread = abs(signed) * (ask - bid) / 2 * rates.mid
        body = self._header(t, batch)
        self._order_ids(body, t.order_id, t.client_order_id)
        body.update(
            {
                "instrument": self._names.name(t.instrument),
                "units": units(signed, spec),
                "gainQuoteHomeConversionFactor": decimal_text(rates.gain, FACTOR_PLACES),
                "lossQuoteHomeConversionFactor": decimal_text(rates.loss, FACTOR_PLACES),
                "price": price(t.price, spec),
                "fullVWAP": price(t.price, spec),
                "fullPrice": self._book(spec, bid, ask, t.time),
                "reason": reason_name(t.reason),
                "pl": money(t.pl or ZERO),
                "financing": NOTHING,
                "commission": money(t.commission or ZERO),
                "guaranteedExecutionFee": NOTHING,
                "accountBalance": money(t.balance or ZERO),
                "halfSpreadCost": money(half_spread),
            }
        )
        self._trade_changes(body, t.trades or TradeEffect(), spec, t.units, half_spread, rates.mid)
        return body

    def _trade_changes(
        self,
        body: dict[str, Any],
        trades: TradeEffect,
        spec: InstrumentSpec,
        filled: Decimal,
        cost: Decimal,
        rate: Decimal,
    ) -> None:
        def share(change: TradeChange) -> str:
            return money(cost * abs(change.units) / filled) if filled else NOTHING

        if trades.opened is not None:
            opened = trades.opened
            margin = spec.margin_rate * abs(opened.units) * opened.price * rate
            body["tradeOpened"] = {
                "tradeID": opened.trade_id,
                "units": units(opened.units, spec),
                "price": price(opened.price, spec),
                "guaranteedExecutionFee": NOTHING,
                "halfSpreadCost": share(opened),
                "initialMarginRequired": money(margin),
            }
        if trades.reduced is not None:
            body["tradeReduced"] = self._trade_reduce(trades.reduced, spec, share(trades.reduced))
        if trades.closed:
            body["tradesClosed"] = [self._trade_reduce(c, spec, share(c)) for c in trades.closed]

    @staticmethod
    def _trade_reduce(change: TradeChange, spec: InstrumentSpec, half_spread: str) -> dict[str, Any]:
        return {
            "tradeID": change.trade_id,
            "units": units(change.units, spec),
            "price": price(change.price, spec),
            "realizedPL": money(change.realized_pl),
            "financing": NOTHING,
            "guaranteedExecutionFee": NOTHING,
            "halfSpreadCost": half_spread,
        }
