"""Engine records → v20 JSON objects, field for field as the spec and the recorded responses name them.

Every decimal is a string at its precision (prices at the instrument's display precision, money at four
places, conversion factors at eight), every id a numeric string, every time RFC 3339 with nine digits
(or UNIX seconds when asked), integers only where the spec says integer (``liquidity``, ``volume``,
``userID``, the account's counts). Transactions carry ``id``, ``time``, ``userID``, ``accountID``,
``batchID`` (the first transaction of the request) and ``requestID``. Sources: reference §1.2 to §1.8 and
``oanda/v20-openapi`` ``json/v20.json`` (definitions ``Transaction`` family, ``Order`` family,
``Position``, ``AccountSummary``, ``ClientPrice``, ``Candlestick``, ``Instrument``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from broker_integration.models import InstrumentType, OrderSide, OrderType, TimeInForce
from broker_integration.sim.engine import VenueEngine
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.conversion import RateSource
from broker_integration.sim.oanda.formats import (
    InstrumentNames,
    TimeFormat,
    decimal_text,
    money,
    price,
    units,
    units_places,
)
from broker_integration.sim.oanda.history import FillTrades, Trade, TradeChange, VenueHistory
from broker_integration.sim.oanda.parse import TIME_IN_FORCE, OrderExtras
from broker_integration.sim.records import (
    AccountSnapshot,
    Bar,
    CancelReason,
    FillReason,
    OrderState,
    OrderView,
    PositionSnapshot,
    Quote,
    RejectReason,
    Transaction,
    TransactionReason,
    TransactionType,
)

__all__ = ["LIQUIDITY", "ORDER_TYPE_NAMES", "Batch", "V20Renderer", "reason_name"]

#: Engine order types → v20 ``OrderType``. The OANDA face creates only the first four; the others can
#: exist in an engine shared with the paper adapter and are shown as their nearest v20 kind.
ORDER_TYPE_NAMES: Mapping[OrderType, str] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP",
    OrderType.MARKET_IF_TOUCHED: "MARKET_IF_TOUCHED",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TRAILING_STOP: "TRAILING_STOP_LOSS",
}
_TIF_NAMES: Mapping[TimeInForce, str] = {tif: name for name, tif in TIME_IN_FORCE.items()}
#: Engine reasons without a v20 name. OANDA reports a FOK/IOC order that found too little to fill as
#: cancelled with INSUFFICIENT_LIQUIDITY [obs?], the spelling the engine's records note.
_REASON_NAMES: Mapping[TransactionReason, str] = {
    RejectReason.FOK_NOT_FILLED: "INSUFFICIENT_LIQUIDITY",
    RejectReason.IOC_NOT_FILLED: "INSUFFICIENT_LIQUIDITY",
    CancelReason.IOC_REMAINDER: "INSUFFICIENT_LIQUIDITY",
    FillReason.STOP_LIMIT_ORDER: "STOP_ORDER",
    FillReason.TRAILING_STOP_ORDER: "TRAILING_STOP_LOSS_ORDER",
}
#: [rec] the liquidity OANDA shows on each price bucket.
LIQUIDITY = 10_000_000
_CLOSEOUT_TICKS = 4  # [rec] closeoutBid/closeoutAsk sit four ticks outside the best bid/ask
_FACTOR_PLACES = 8  # [rec] "quoteHomeConversionFactors": {"positiveUnits": "0.89150397", …}
_PERCENT_PLACES = 5  # [rec] "marginCallPercent": "0.29845"
_NO_EXTRAS = OrderExtras()
_ZERO = Decimal(0)
_NOTHING = "0.0000"


def reason_name(reason: TransactionReason | None) -> str:
    """The v20 spelling of an engine reason (most are spelled as OANDA spells them already)."""
    if reason is None:
        return ""
    return _REASON_NAMES.get(reason, reason.value)


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


class V20Renderer:
    """Renders one venue's records in one ``Accept-Datetime-Format``."""

    def __init__(
        self,
        engine: VenueEngine,
        history: VenueHistory,
        names: InstrumentNames,
        rates: RateSource,
        extras: Mapping[str, OrderExtras],
        currencies: Mapping[str, str],
        *,
        user_id: int,
        time_format: TimeFormat = TimeFormat.RFC3339,
    ) -> None:
        self._engine = engine
        self._history = history
        self._names = names
        self._rates = rates
        self._extras = extras
        self._currencies = currencies
        self._user_id = user_id
        self._format = time_format
        self._specs = {spec.symbol: spec for spec in engine.instruments()}

    def time(self, when: datetime) -> str:
        return self._format.render(when)

    def spec(self, symbol: str) -> InstrumentSpec:
        return self._specs[symbol]

    # ============================================================== transactions

    def transaction(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        """One engine log entry as the v20 transaction it stands for."""
        kind = t.type
        if kind is TransactionType.ORDER_CREATE:
            return self._order_create(t, batch)
        if kind is TransactionType.ORDER_FILL:
            return self._order_fill(t, batch)
        if kind is TransactionType.ORDER_CANCEL:
            body = self._header(t, batch, "ORDER_CANCEL")
            self._order_ids(body, t.order_id, t.client_order_id)
            body["reason"] = reason_name(t.reason)
            if t.replaced_by_order_id is not None:
                body["replacedByOrderID"] = t.replaced_by_order_id
            return body
        if kind is TransactionType.ORDER_CANCEL_REJECT:
            body = self._header(t, batch, "ORDER_CANCEL_REJECT")
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
        body = self._header(t, batch, "CREATE")  # ACCOUNT_OPEN: v20's account CREATE transaction
        body["accountUserID"] = self._user_id
        body["homeCurrency"] = str(t.details.get("currency", ""))
        return body

    def _header(self, t: Transaction, batch: Batch, type_name: str) -> dict[str, Any]:
        header: dict[str, Any] = {
            "id": str(t.id),
            "time": self.time(t.time),
            "userID": self._user_id,
            "accountID": t.account_id,
            "batchID": str(batch.batch_id),
            "type": type_name,
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
        """The order request's fields, shared by create and reject transactions."""
        assert t.instrument is not None
        assert t.order_type is not None
        spec = self._specs.get(t.instrument)
        kind = ORDER_TYPE_NAMES[t.order_type]
        body["instrument"] = self._names.name(t.instrument)
        if t.units is not None:
            signed = t.units if t.side is not OrderSide.SELL else -t.units
            body["units"] = units(signed, spec) if spec is not None else format(signed, "f")
        if t.time_in_force is not None:
            body["timeInForce"] = _TIF_NAMES[t.time_in_force]
        body["positionFill"] = extras.position_fill
        if kind != "MARKET":
            body["triggerCondition"] = extras.trigger_condition or "DEFAULT"
        if extras.price_bound is not None and kind in ("MARKET", "STOP", "MARKET_IF_TOUCHED"):
            body["priceBound"] = extras.price_bound
        extensions = _client_extensions(t.client_order_id, extras)
        if extensions:
            body["clientExtensions"] = extensions
        if extras.trade_client_extensions:
            body["tradeClientExtensions"] = dict(extras.trade_client_extensions)
        for key, detail in (extras.on_fill or {}).items():
            body[key] = dict(detail)
        if extras.closeout is not None:
            body[f"{extras.closeout.side}PositionCloseout"] = {
                "instrument": body["instrument"],
                "units": extras.closeout.units,
            }

    def _order_create(self, t: Transaction, batch: Batch) -> dict[str, Any]:
        assert t.order_type is not None
        extras = self._extras.get(t.order_id or "", batch.extras or _NO_EXTRAS)
        body = self._header(t, batch, f"{ORDER_TYPE_NAMES[t.order_type]}_ORDER")
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
        extras = batch.extras or _NO_EXTRAS
        body = self._header(t, batch, f"{ORDER_TYPE_NAMES[t.order_type]}_ORDER_REJECT")
        self._request_fields(t, extras, body)
        if extras.price_text is not None:
            body["price"] = extras.price_text  # echoed as sent: the reject may be about its precision
        if extras.closeout is not None:
            body["reason"] = "POSITION_CLOSEOUT"
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
        bid = _as_decimal(t.details.get("bid"), t.price)
        ask = _as_decimal(t.details.get("ask"), t.price)
        half_spread = abs(signed) * (ask - bid) / 2 * rates.mid
        body = self._header(t, batch, "ORDER_FILL")
        self._order_ids(body, t.order_id, t.client_order_id)
        body.update(
            {
                "instrument": self._names.name(t.instrument),
                "units": units(signed, spec),
                "gainQuoteHomeConversionFactor": decimal_text(rates.gain, _FACTOR_PLACES),
                "lossQuoteHomeConversionFactor": decimal_text(rates.loss, _FACTOR_PLACES),
                "price": price(t.price, spec),
                "fullVWAP": price(t.price, spec),
                "fullPrice": self._book(spec, bid, ask, t.time),
                "reason": reason_name(t.reason),
                "pl": money(t.pl or _ZERO),
                "financing": _NOTHING,
                "commission": money(t.commission or _ZERO),
                "guaranteedExecutionFee": _NOTHING,
                "accountBalance": money(t.balance or _ZERO),
                "halfSpreadCost": money(half_spread),
            }
        )
        self._trade_changes(body, self._history.fill_trades(t.id), spec, t.units, half_spread, rates.mid)
        return body

    def _trade_changes(
        self,
        body: dict[str, Any],
        trades: FillTrades,
        spec: InstrumentSpec,
        filled: Decimal,
        cost: Decimal,
        rate: Decimal,
    ) -> None:
        def share(change: TradeChange) -> str:
            return money(cost * abs(change.units) / filled) if filled else _NOTHING

        if trades.opened is not None:
            opened = trades.opened
            margin = spec.margin_rate * abs(opened.units) * opened.price * rate
            body["tradeOpened"] = {
                "tradeID": opened.trade_id,
                "units": units(opened.units, spec),
                "price": price(opened.price, spec),
                "guaranteedExecutionFee": _NOTHING,
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
            "financing": _NOTHING,
            "guaranteedExecutionFee": _NOTHING,
            "halfSpreadCost": half_spread,
        }

    def _engine_currency(self, account_id: str) -> str:
        return self._currencies.get(account_id) or self._engine.profile.currency

    # ============================================================== orders

    def order(self, view: OrderView) -> dict[str, Any]:
        """A v20 ``Order`` (``LimitOrder``, ``MarketOrder`` …) with its state and how it ended."""
        spec = self._specs[view.instrument]
        extras = self._extras.get(view.order_id, _NO_EXTRAS)
        kind = ORDER_TYPE_NAMES[view.order_type]
        signed = view.units if view.side is OrderSide.BUY else -view.units
        body: dict[str, Any] = {
            "id": view.order_id,
            "createTime": self.time(view.created_at),
            "state": view.state.value,
            "type": kind,
            "instrument": self._names.name(view.instrument),
            "units": units(signed, spec),
            "timeInForce": _TIF_NAMES[view.time_in_force],
            "positionFill": extras.position_fill,
        }
        level = view.stop_price if view.order_type is OrderType.STOP else view.price
        if view.order_type is not OrderType.MARKET:
            if level is not None:
                body["price"] = price(level, spec)
            body["triggerCondition"] = extras.trigger_condition or "DEFAULT"
        if extras.price_bound is not None and kind in ("MARKET", "STOP", "MARKET_IF_TOUCHED"):
            body["priceBound"] = extras.price_bound
        if view.time_in_force is TimeInForce.GTD and view.expire_time is not None:
            body["gtdTime"] = self.time(view.expire_time)
        extensions = _client_extensions(view.client_order_id, extras)
        if extensions:
            body["clientExtensions"] = extensions
        if extras.trade_client_extensions:
            body["tradeClientExtensions"] = dict(extras.trade_client_extensions)
        for key, detail in (extras.on_fill or {}).items():
            body[key] = dict(detail)
        if extras.closeout is not None:
            body[f"{extras.closeout.side}PositionCloseout"] = {
                "instrument": body["instrument"],
                "units": extras.closeout.units,
            }
        self._ending(body, view)
        if view.replaces_order_id is not None:
            body["replacesOrderID"] = view.replaces_order_id
        if view.replaced_by_order_id is not None:
            body["replacedByOrderID"] = view.replaced_by_order_id
        return body

    def _ending(self, body: dict[str, Any], view: OrderView) -> None:
        """``fillingTransactionID``/``filledTime``/trade ids, or ``cancellingTransactionID``/``cancelledTime``."""
        if view.state is OrderState.FILLED:
            filled = self._history.filled_by(view.order_id)
            if filled is not None:
                body["fillingTransactionID"] = str(filled.transaction_id)
                body["filledTime"] = self.time(filled.time)
                trades = self._history.fill_trades(filled.transaction_id)
                if trades.opened is not None:
                    body["tradeOpenedID"] = trades.opened.trade_id
                if trades.reduced is not None:
                    body["tradeReducedID"] = trades.reduced.trade_id
                if trades.closed:
                    body["tradeClosedIDs"] = [change.trade_id for change in trades.closed]
        elif view.state is OrderState.CANCELLED:
            cancelled = self._history.cancelled_by(view.order_id)
            if cancelled is not None:
                body["cancellingTransactionID"] = str(cancelled.transaction_id)
                body["cancelledTime"] = self.time(cancelled.time)

    # ============================================================== positions, trades and accounts

    def trade(self, trade: Trade, account_id: str) -> dict[str, Any]:
        """A v20 ``TradeSummary`` of an open trade (the full account's ``trades`` list)."""
        spec = self._specs[trade.instrument]
        quote = self._engine.quote(trade.instrument)
        exit_price = quote.bid if trade.units > 0 else quote.ask
        rate = self._rates.rates(spec.quote_currency, self._engine_currency(account_id)).mid
        return {
            "id": trade.trade_id,
            "instrument": self._names.name(trade.instrument),
            "price": price(trade.price, spec),
            "openTime": self.time(trade.opened_at),
            "state": "OPEN",
            "initialUnits": units(trade.initial_units, spec),
            "currentUnits": units(trade.units, spec),
            "realizedPL": money(trade.realized_pl),
            "unrealizedPL": money((exit_price - trade.price) * trade.units * rate),
            "marginUsed": money(spec.margin_rate * abs(trade.units) * quote.mid * rate),
            "financing": _NOTHING,
        }

    def position(
        self, account_id: str, instrument: str, open_position: PositionSnapshot | None
    ) -> dict[str, Any]:
        """A v20 ``Position``: long and short sides; ``averagePrice``/``tradeIDs`` only on a non-empty side."""
        spec = self._specs[instrument]
        ledger = self._history.ledger(account_id, instrument)
        net = open_position.units if open_position is not None else _ZERO
        unrealized = open_position.unrealized_pl if open_position is not None else _ZERO
        average = open_position.average_price if open_position is not None else None
        trade_ids = [trade.trade_id for trade in ledger.trades]
        sides: dict[str, dict[str, Any]] = {}
        for side, is_long, pl in (("long", True, ledger.long_pl), ("short", False, ledger.short_pl)):
            held = net if (net > 0) == is_long and net else _ZERO
            body: dict[str, Any] = {
                "units": units(held, spec),
                "pl": money(pl),
                "unrealizedPL": money(unrealized if held else _ZERO),
                "resettablePL": money(pl),
                "financing": _NOTHING,
                "guaranteedExecutionFees": _NOTHING,
            }
            if held:
                if average is not None:
                    body["averagePrice"] = price(average, spec)
                body["tradeIDs"] = trade_ids
            sides[side] = body
        total_pl = ledger.long_pl + ledger.short_pl
        return {
            "instrument": self._names.name(instrument),
            "pl": money(total_pl),
            "unrealizedPL": money(unrealized),
            "marginUsed": money(open_position.margin_used if open_position is not None else _ZERO),
            "resettablePL": money(total_pl),
            "financing": _NOTHING,
            "commission": money(ledger.commission),
            "guaranteedExecutionFees": _NOTHING,
            "long": sides["long"],
            "short": sides["short"],
        }

    def account_summary(self, snapshot: AccountSnapshot, positions: list[PositionSnapshot]) -> dict[str, Any]:
        """A v20 ``AccountSummary`` with every field the spec lists (financing and fees are zero here)."""
        position_value = _ZERO
        for position in positions:
            spec = self._specs[position.instrument]
            quote = self._engine.quote(position.instrument)
            rate = self._rates.rates(spec.quote_currency, snapshot.currency).mid
            position_value += abs(position.units) * quote.mid * rate
        nav = snapshot.nav
        used = snapshot.margin_used
        call = used / nav if nav > 0 else _ZERO
        opened = self._history.opened_at(snapshot.account_id) or snapshot.time
        body: dict[str, Any] = {
            "id": snapshot.account_id,
            "alias": snapshot.alias,
            "currency": snapshot.currency,
            "balance": money(snapshot.balance),
            "createdByUserID": self._user_id,
            "createdTime": self.time(opened),
            "guaranteedStopLossOrderMode": "DISABLED",
            "pl": money(snapshot.realized_pl),
            "resettablePL": money(snapshot.realized_pl),
            "financing": _NOTHING,
            "commission": money(snapshot.commission),
            "guaranteedExecutionFees": _NOTHING,
            "marginRate": self.account_margin_rate(),
            "openTradeCount": len(self._history.open_trades(snapshot.account_id)),
            "openPositionCount": snapshot.open_position_count,
            "pendingOrderCount": snapshot.pending_order_count,
            "hedgingEnabled": False,
            "unrealizedPL": money(snapshot.unrealized_pl),
            "NAV": money(nav),
            "marginUsed": money(used),
            "marginAvailable": money(snapshot.margin_available),
            "positionValue": money(position_value),
            "marginCloseoutUnrealizedPL": money(snapshot.unrealized_pl),
            "marginCloseoutNAV": money(nav),
            "marginCloseoutMarginUsed": money(used),
            "marginCloseoutPercent": decimal_text(call / 2, _PERCENT_PLACES),
            "marginCloseoutPositionValue": money(position_value),
            "withdrawalLimit": money(max(_ZERO, snapshot.margin_available)),
            "marginCallMarginUsed": money(used),
            "marginCallPercent": decimal_text(call, _PERCENT_PLACES),
            "lastTransactionID": str(snapshot.last_transaction_id),
        }
        last_fill = self._history.last_fill_time(snapshot.account_id)
        if last_fill is not None:
            body["lastOrderFillTimestamp"] = self.time(last_fill)
        return body

    def account_margin_rate(self) -> str:
        """The account's margin rate: the lowest of its instruments' (its maximum leverage)."""
        lowest = min((spec.margin_rate for spec in self._specs.values()), default=Decimal("0.05"))
        return format(lowest.normalize(), "f")

    def units_available(
        self, snapshot: AccountSnapshot, spec: InstrumentSpec, held: Decimal, quote: Quote
    ) -> dict[str, dict[str, str]]:
        """``unitsAvailable``: what margin allows in each ``positionFill`` mode (long and short)."""
        rate = self._rates.rates(spec.quote_currency, snapshot.currency).mid
        per_unit = spec.margin_rate * quote.mid * rate
        step = spec.instrument.quantity_increment
        fresh = (max(_ZERO, snapshot.margin_available) / per_unit / step).to_integral_value(
            ROUND_FLOOR
        ) * step
        long_held, short_held = max(held, _ZERO), max(-held, _ZERO)

        def pair(long: Decimal, short: Decimal) -> dict[str, str]:
            return {"long": units(long, spec), "short": units(short, spec)}

        return {
            "default": pair(fresh + short_held, fresh + long_held),
            "reduceFirst": pair(fresh + short_held, fresh + long_held),
            "reduceOnly": pair(short_held, long_held),
            "openOnly": pair(fresh, fresh),
        }

    # ============================================================== market data

    def instrument(self, spec: InstrumentSpec) -> dict[str, Any]:
        """A v20 ``Instrument``: precisions, sizes and margin rate (reference §1.3, spec ``Instrument``)."""
        info = spec.instrument
        precision = info.display_precision
        pip_location = info.pip_location if info.pip_location is not None else -precision
        pip = Decimal(1).scaleb(pip_location)
        kind = (
            "CURRENCY"
            if info.type is InstrumentType.CURRENCY
            else "METAL"
            if info.type is InstrumentType.METAL
            else "CFD"
        )
        return {
            "name": self._names.name(spec.symbol),
            "type": kind,
            "displayName": info.display_name or info.symbol,
            "pipLocation": pip_location,
            "displayPrecision": precision,
            "tradeUnitsPrecision": units_places(spec),
            "minimumTradeSize": units(info.min_quantity, spec),
            "maximumTrailingStopDistance": price(pip * 10_000, spec),
            "minimumTrailingStopDistance": price(pip * 5, spec),
            "maximumPositionSize": "0",
            "maximumOrderUnits": units(info.max_quantity, spec) if info.max_quantity is not None else "0",
            "marginRate": format(spec.margin_rate.normalize(), "f"),
        }

    def price(
        self,
        quote: Quote,
        *,
        home: str | None = None,
        units_available: Mapping[str, Mapping[str, str]] | None = None,
    ) -> dict[str, Any]:
        """A v20 ``ClientPrice``; ``home`` adds ``quoteHomeConversionFactors`` (REST, not the stream)."""
        spec = self._specs[quote.instrument]
        body = self._book(spec, quote.bid, quote.ask, quote.time, tradeable=quote.tradeable)
        if home is not None:
            rates = self._rates.rates(spec.quote_currency, home)
            body["quoteHomeConversionFactors"] = {
                "positiveUnits": decimal_text(rates.gain, _FACTOR_PLACES),
                "negativeUnits": decimal_text(rates.loss, _FACTOR_PLACES),
            }
        if units_available is not None:
            body["unitsAvailable"] = units_available
        return body

    def _book(
        self, spec: InstrumentSpec, bid: Decimal, ask: Decimal, when: datetime, *, tradeable: bool = True
    ) -> dict[str, Any]:
        tick = spec.tick_size
        return {
            "type": "PRICE",
            "instrument": self._names.name(spec.symbol),
            "time": self.time(when),
            "status": "tradeable" if tradeable else "non-tradeable",  # deprecated, still sent
            "tradeable": tradeable,
            "bids": [{"price": price(bid, spec), "liquidity": LIQUIDITY}],
            "asks": [{"price": price(ask, spec), "liquidity": LIQUIDITY}],
            "closeoutBid": price(max(tick, bid - tick * _CLOSEOUT_TICKS), spec),
            "closeoutAsk": price(ask + tick * _CLOSEOUT_TICKS, spec),
        }

    def home_conversions(self, currencies: list[str], home: str) -> list[dict[str, str]]:
        """``homeConversions`` (``includeHomeConversions=true``): each currency's value in the home currency."""
        result = []
        for currency in currencies:
            rates = self._rates.rates(currency, home)
            result.append(
                {
                    "currency": currency,
                    "accountGain": decimal_text(rates.gain, _FACTOR_PLACES),
                    "accountLoss": decimal_text(rates.loss, _FACTOR_PLACES),
                    "positionValue": decimal_text(rates.mid, _FACTOR_PLACES),
                }
            )
        return result

    def heartbeat(self, when: datetime) -> dict[str, str]:
        """[rec] ``{"type":"HEARTBEAT","time":"…"}``, the stream's keep-alive line."""
        return {"type": "HEARTBEAT", "time": self.time(when)}

    def candle(self, bar: Bar, spec: InstrumentSpec, components: str, half_spread: Decimal) -> dict[str, Any]:
        """A v20 ``Candlestick``; bid and ask candles are the mid candle shifted by half the typical spread."""
        body: dict[str, Any] = {"complete": bar.complete, "volume": bar.volume, "time": self.time(bar.time)}
        for letter, key, shift in (
            ("B", "bid", -half_spread),
            ("A", "ask", half_spread),
            ("M", "mid", _ZERO),
        ):
            if letter in components:
                body[key] = {
                    "o": price(bar.open + shift, spec),
                    "h": price(bar.high + shift, spec),
                    "l": price(bar.low + shift, spec),
                    "c": price(bar.close + shift, spec),
                }
        return body


def _as_decimal(value: object, default: Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else default


def _client_extensions(client_id: str | None, extras: OrderExtras) -> dict[str, str]:
    extensions: dict[str, str] = {}
    if client_id is not None:
        extensions["id"] = client_id
    if extras.client_tag is not None:
        extensions["tag"] = extras.client_tag
    if extras.client_comment is not None:
        extensions["comment"] = extras.client_comment
    return extensions
