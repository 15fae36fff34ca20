"""Engine records → v20 objects, field for field as the spec and the recorded responses name them:
``Order`` (by type), ``Position``, ``TradeSummary``, ``AccountSummary``, ``Instrument``, ``ClientPrice``,
``PricingHeartbeat``, ``Candlestick`` and ``HomeConversions``; transactions come from
:class:`~broker_integration.sim.oanda.render_transactions.TransactionRenderer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from broker_integration.models import InstrumentType, OrderSide, OrderType, TimeInForce
from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.sim.oanda.formats import (
    decimal_text,
    money,
    price,
    units,
    units_places,
)
from broker_integration.sim.oanda.render_base import (
    FACTOR_PLACES,
    LIQUIDITY,
    NO_EXTRAS,
    NOTHING,
    ORDER_TYPE_NAMES,
    PERCENT_PLACES,
    TIF_NAMES,
    ZERO,
    add_request_extras,
    reason_name,
)
from broker_integration.sim.oanda.render_transactions import Batch, TransactionRenderer
from broker_integration.sim.oanda.vocabulary import ORDER_STATE_NAMES, TRADE_STATE_NAMES
from broker_integration.sim.records import (
    AccountSnapshot,
    Bar,
    OrderState,
    OrderView,
    PositionSnapshot,
    Quote,
    TradeEffect,
    TradeView,
)

__all__ = ["LIQUIDITY", "ORDER_TYPE_NAMES", "Batch", "V20Renderer", "reason_name"]


class V20Renderer(TransactionRenderer):
    """Renders one venue's records in one ``Accept-Datetime-Format``: transactions, and the v20 objects."""

    # ============================================================== orders

    def order(self, view: OrderView) -> dict[str, Any]:
        """A v20 ``Order`` (``LimitOrder``, ``MarketOrder`` …) with its state and how it ended."""
        spec = self._specs[view.instrument]
        extras = self._extras.get(view.order_id, NO_EXTRAS)
        kind = ORDER_TYPE_NAMES[view.order_type]
        signed = view.units if view.side is OrderSide.BUY else -view.units
        body: dict[str, Any] = {
            "id": view.order_id,
            "createTime": self.time(view.created_at),
            "state": ORDER_STATE_NAMES[view.state],
            "type": kind,
            "instrument": self._names.name(view.instrument),
            "units": units(signed, spec),
            "timeInForce": TIF_NAMES[view.time_in_force],
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
        add_request_extras(body, view.client_order_id, extras)
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
                trades = filled.trades or TradeEffect()
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

    def trade(self, trade: TradeView) -> dict[str, Any]:
        """A v20 ``Trade`` (the ``…/trades`` endpoints and, as ``TradeSummary``, the full account's list):
        an open trade is valued at the current quote; a closed one shows how it was closed."""
        spec = self._specs[trade.instrument]
        body: dict[str, Any] = {
            "id": trade.trade_id,
            "instrument": self._names.name(trade.instrument),
            "price": price(trade.price, spec),
            "openTime": self.time(trade.opened_at),
            "state": TRADE_STATE_NAMES[trade.state],
            "initialUnits": units(trade.initial_units, spec),
            "currentUnits": units(trade.current_units, spec),
            "realizedPL": money(trade.realized_pl),
            "financing": NOTHING,
        }
        rate = self._rates.rates(spec.quote_currency, self._engine_currency(trade.account_id)).mid
        body["initialMarginRequired"] = money(
            spec.margin_rate * abs(trade.initial_units) * trade.price * rate
        )
        if trade.is_open:
            quote = self._engine.quote(trade.instrument)
            exit_price = quote.bid if trade.current_units > 0 else quote.ask
            body["unrealizedPL"] = money((exit_price - trade.price) * trade.current_units * rate)
            body["marginUsed"] = money(spec.margin_rate * abs(trade.current_units) * quote.mid * rate)
        if trade.average_close_price is not None:
            body["averageClosePrice"] = price(trade.average_close_price, spec)
        if trade.closing_transaction_ids:
            body["closingTransactionIDs"] = [str(i) for i in trade.closing_transaction_ids]
        if trade.closed_at is not None:
            body["closeTime"] = self.time(trade.closed_at)
        extensions = self._extras.get(trade.order_id, NO_EXTRAS).trade_client_extensions
        if extensions:
            body["clientExtensions"] = dict(extensions)
        return body

    def position(
        self, account_id: str, instrument: str, open_position: PositionSnapshot | None
    ) -> dict[str, Any]:
        """A v20 ``Position``: long and short sides; ``averagePrice``/``tradeIDs`` only on a non-empty side."""
        spec = self._specs[instrument]
        ledger = self._history.ledger(account_id, instrument)
        net = open_position.units if open_position is not None else ZERO
        unrealized = open_position.unrealized_pl if open_position is not None else ZERO
        average = open_position.average_price if open_position is not None else None
        trade_ids = [trade.trade_id for trade in self._engine.trades(account_id, instrument=instrument)]
        sides: dict[str, dict[str, Any]] = {}
        for side, is_long, pl in (("long", True, ledger.long_pl), ("short", False, ledger.short_pl)):
            held = net if (net > 0) == is_long and net else ZERO
            body: dict[str, Any] = {
                "units": units(held, spec),
                "pl": money(pl),
                "unrealizedPL": money(unrealized if held else ZERO),
                "resettablePL": money(pl),
                "financing": NOTHING,
                "guaranteedExecutionFees": NOTHING,
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
            "marginUsed": money(open_position.margin_used if open_position is not None else ZERO),
            "resettablePL": money(total_pl),
            "financing": NOTHING,
            "commission": money(ledger.commission),
            "guaranteedExecutionFees": NOTHING,
            "long": sides["long"],
            "short": sides["short"],
        }

    def account_summary(self, snapshot: AccountSnapshot, positions: list[PositionSnapshot]) -> dict[str, Any]:
        """A v20 ``AccountSummary`` with every field the spec lists (financing and fees are zero here)."""
        position_value = ZERO
        for position in positions:
            spec = self._specs[position.instrument]
            quote = self._engine.quote(position.instrument)
            rate = self._rates.rates(spec.quote_currency, snapshot.currency).mid
            position_value += abs(position.units) * quote.mid * rate
        nav = snapshot.nav
        used = snapshot.margin_used
        call = used / nav if nav > 0 else ZERO
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
            "financing": NOTHING,
            "commission": money(snapshot.commission),
            "guaranteedExecutionFees": NOTHING,
            "marginRate": self.account_margin_rate(),
            "openTradeCount": len(self._engine.trades(snapshot.account_id)),
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
            "marginCloseoutPercent": decimal_text(call / 2, PERCENT_PLACES),
            "marginCloseoutPositionValue": money(position_value),
            "withdrawalLimit": money(max(ZERO, snapshot.margin_available)),
            "marginCallMarginUsed": money(used),
            "marginCallPercent": decimal_text(call, PERCENT_PLACES),
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
        fresh = (max(ZERO, snapshot.margin_available) / per_unit / step).to_integral_value(ROUND_FLOOR) * step
        long_held, short_held = max(held, ZERO), max(-held, ZERO)

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
                "positiveUnits": decimal_text(rates.gain, FACTOR_PLACES),
                "negativeUnits": decimal_text(rates.loss, FACTOR_PLACES),
            }
        if units_available is not None:
            body["unitsAvailable"] = units_available
        return body

    def home_conversions(self, currencies: list[str], home: str) -> list[dict[str, str]]:
        """``homeConversions`` (``includeHomeConversions=true``): each currency's value in the home currency."""
        result = []
        for currency in currencies:
            rates = self._rates.rates(currency, home)
            result.append(
                {
                    "currency": currency,
                    "accountGain": decimal_text(rates.gain, FACTOR_PLACES),
                    "accountLoss": decimal_text(rates.loss, FACTOR_PLACES),
                    "positionValue": decimal_text(rates.mid, FACTOR_PLACES),
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
            ("M", "mid", ZERO),
        ):
            if letter in components:
                body[key] = {
                    "o": price(bar.open + shift, spec),
                    "h": price(bar.high + shift, spec),
                    "l": price(bar.low + shift, spec),
                    "c": price(bar.close + shift, spec),
                }
        return body
