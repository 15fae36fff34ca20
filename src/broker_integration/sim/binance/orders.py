"""A new order as Binance checks it before the matching engine sees it (``rest-api.md`` "New order",
``filters.md``, ``errors.md``): the parameters each order type needs and refuses, the symbol's order types,
its filters, the account's free balance; then the engine request that executes it.

Binance's order types map onto the engine's: ``LIMIT`` and ``LIMIT_MAKER`` (a limit that must rest) are
limits, ``MARKET`` a market order whose unfilled rest expires (the engine's IOC), ``STOP_LOSS`` a stop that
becomes a market order, ``STOP_LOSS_LIMIT`` a stop-limit. ``quoteOrderQty`` buys (or sells) as much of the
base asset as the quote amount pays for at the touch, on the lot step. Take-profit orders, icebergs,
trailing stops and pegs are not listed for the simulator's symbols, so Binance's refusal answers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from broker_integration.models import OrderSide, OrderType, TimeInForce
from broker_integration.sim.binance.errors import (
    BinanceError,
    bad_symbol,
    filter_failure,
    insufficient_balance,
    mandatory,
    order_type_not_supported,
    would_take,
)
from broker_integration.sim.binance.markets import Listing, SymbolRules
from broker_integration.sim.binance.params import Params
from broker_integration.sim.binance.wallet import Balance, needed
from broker_integration.sim.records import OrderRequest, Quote

__all__ = [
    "NewOrder",
    "check_balance",
    "check_filters",
    "engine_request",
    "read_new_order",
    "symbol_rules",
]

ORDER_TYPES = (
    "LIMIT",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
    "LIMIT_MAKER",
)
TIMES_IN_FORCE = ("GTC", "IOC", "FOK")
RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_SIDES = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}
_DESCRIPTIONS = {
    "MARKET": "Market orders",
    "STOP_LOSS": "Stop loss orders",
    "STOP_LOSS_LIMIT": "Stop loss limit orders",
    "TAKE_PROFIT": "Take profit orders",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders",
    "LIMIT_MAKER": "Limit maker orders",
}
#: What each type must be sent with (beyond symbol, side and type) and may not be sent with.
_NEEDS: dict[str, tuple[str, ...]] = {
    "LIMIT": ("timeInForce", "quantity", "price"),
    "MARKET": (),
    "STOP_LOSS": ("quantity", "stopPrice"),
    "STOP_LOSS_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
    "TAKE_PROFIT": ("quantity", "stopPrice"),
    "TAKE_PROFIT_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
    "LIMIT_MAKER": ("quantity", "price"),
}
_ENGINE_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LOSS": OrderType.STOP,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
}
_UNSUPPORTED_EXTRAS = {
    "icebergQty": "Iceberg orders",
    "trailingDelta": "Trailing stop orders",
    "pegPriceType": "Pegged orders",
}


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A new order's parameters, read and checked against what its type needs."""

    rule: SymbolRules
    side: OrderSide
    binance_type: str
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str | None
    client_order_id: str | None
    response_type: str

    @property
    def is_market(self) -> bool:
        return self.binance_type == "MARKET"

    @property
    def is_algo(self) -> bool:
        """A stop order: counts against ``MAX_NUM_ALGO_ORDERS``."""
        return self.binance_type in ("STOP_LOSS", "STOP_LOSS_LIMIT")


def symbol_rules(params: Params, listing: Listing, *, required: bool = True) -> SymbolRules | None:
    """The symbol the request names: ``-1121`` for one the simulator does not list."""
    name = params.text("symbol", required=required)
    if name is None:
        return None
    rule = listing.get(name)
    if rule is None:
        raise bad_symbol()
    return rule


def read_new_order(params: Params, listing: Listing) -> NewOrder:
    """The parameters of ``POST /api/v3/order`` (and the new order of ``cancelReplace``)."""
    rule = symbol_rules(params, listing)
    assert rule is not None
    side = params.one_of("side", _SIDES, BinanceError(400, -1117, "Invalid side."))
    kind = params.one_of("type", ORDER_TYPES, BinanceError(400, -1116, "Invalid orderType."))
    tif = params.choice("timeInForce", TIMES_IN_FORCE, BinanceError(400, -1115, "Invalid timeInForce."))
    response = params.choice(
        "newOrderRespType",
        RESPONSE_TYPES,
        BinanceError(400, -1130, "Data sent for parameter 'newOrderRespType' is not valid."),
    )
    order = NewOrder(
        rule=rule,
        side=_SIDES[side],
        binance_type=kind,
        quantity=params.decimal("quantity"),
        quote_order_qty=params.decimal("quoteOrderQty"),
        price=params.decimal("price"),
        stop_price=params.decimal("stopPrice"),
        time_in_force=tif,
        client_order_id=params.client_id("newClientOrderId"),
        response_type=response or ("FULL" if kind in ("MARKET", "LIMIT") else "ACK"),
    )
    params.accept("strategyId", "strategyType", "selfTradePreventionMode", "pegOffsetValue", "pegOffsetType")
    for name, description in _UNSUPPORTED_EXTRAS.items():
        if params.text(name) is not None:
            raise order_type_not_supported(description)
    _check_composition(order)
    if kind not in rule.order_types:
        raise order_type_not_supported(_DESCRIPTIONS.get(kind, "These orders"))
    return order


def _check_composition(order: NewOrder) -> None:
    """Mandatory parameters of the order's type, and the ones it must not have."""
    kind = order.binance_type
    sent = {
        "timeInForce": order.time_in_force,
        "quantity": order.quantity,
        "price": order.price,
        "stopPrice": order.stop_price,
    }
    if kind == "MARKET":
        if order.quantity is None and order.quote_order_qty is None:
            raise BinanceError(
                400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        if order.quantity is not None and order.quote_order_qty is not None:
            raise BinanceError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
    elif order.quote_order_qty is not None:
        raise BinanceError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
    needs = _NEEDS[kind]
    for name in needs:
        if sent[name] is None:
            raise mandatory(name)
    for name, value in sent.items():
        if value is None or name in needs or (kind == "MARKET" and name == "quantity"):
            continue
        if name == "timeInForce":
            raise BinanceError(400, -1114, "TimeInForce parameter sent when not required.")
        raise BinanceError(400, -1106, f"Parameter '{name}' sent when not required.")
    if kind == "STOP_LOSS_LIMIT" and order.time_in_force != "GTC":
        raise BinanceError(400, -1014, "Unsupported order combination.")


def market_quantity(order: NewOrder, quote: Quote) -> Decimal:
    """The base quantity of a market order: as sent, or what ``quoteOrderQty`` pays for at the touch."""
    if order.quantity is not None:
        return order.quantity
    assert order.quote_order_qty is not None
    touch = quote.ask if order.side is OrderSide.BUY else quote.bid
    step = order.rule.step_size
    return (order.quote_order_qty / touch / step).to_integral_value(ROUND_FLOOR) * step


def _on_step(value: Decimal, step: Decimal) -> bool:
    return step == 0 or value % step == 0


def check_filters(
    order: NewOrder, quantity: Decimal, quote: Quote, open_orders: int, open_algo_orders: int
) -> None:
    """The symbol's filters, in Binance's words (``Filter failure: …``, code ``-1013``)."""
    rule = order.rule
    average = (quote.bid + quote.ask) / 2
    for level in (order.price, order.stop_price):
        if level is not None and (
            level < rule.min_price or level > rule.max_price or not _on_step(level, rule.tick_size)
        ):
            raise filter_failure("PRICE_FILTER")
    if order.price is not None:
        up, down = (
            (rule.bid_multiplier_up, rule.bid_multiplier_down)
            if order.side is OrderSide.BUY
            else (rule.ask_multiplier_up, rule.ask_multiplier_down)
        )
        if not average * down <= order.price <= average * up:
            raise filter_failure("PERCENT_PRICE_BY_SIDE")
    if order.quantity is not None and (
        quantity < rule.min_quantity or quantity > rule.max_quantity or not _on_step(quantity, rule.step_size)
    ):
        raise filter_failure("LOT_SIZE")
    if order.is_market and quantity > rule.max_market_quantity:
        raise filter_failure("MARKET_LOT_SIZE")
    notional = quantity * (order.price if order.price is not None else average)
    if notional < rule.min_notional or (not order.is_market and notional > rule.max_notional):
        raise filter_failure("NOTIONAL")
    if open_orders >= rule.max_num_orders:
        raise filter_failure("MAX_NUM_ORDERS")
    if order.is_algo and open_algo_orders >= rule.max_num_algo_orders:
        raise filter_failure("MAX_NUM_ALGO_ORDERS")


def check_placement(order: NewOrder, quote: Quote) -> None:
    """What the matching engine refuses before an order rests: a ``LIMIT_MAKER`` that would take, a stop
    that would trigger at once (``enums.md``/``rest-api.md``: a buy stop above the market, a sell below)."""
    if order.binance_type == "LIMIT_MAKER":
        assert order.price is not None
        if (order.side is OrderSide.BUY and order.price >= quote.ask) or (
            order.side is OrderSide.SELL and order.price <= quote.bid
        ):
            raise would_take()
    if order.stop_price is not None:
        last = (quote.bid + quote.ask) / 2
        if (order.side is OrderSide.BUY and order.stop_price <= last) or (
            order.side is OrderSide.SELL and order.stop_price >= last
        ):
            raise BinanceError(400, -2010, "Order would trigger immediately.")


def check_balance(order: NewOrder, quantity: Decimal, quote: Quote, wallet: dict[str, Balance]) -> None:
    """``-2010`` insufficient balance unless the account's free balance covers the order."""
    rule = order.rule
    if order.side is OrderSide.SELL:
        asset, price = rule.base, Decimal(0)
    else:
        asset = rule.quote
        price = order.price or order.stop_price or quote.ask
    free = wallet[asset].free if asset in wallet else Decimal(0)
    if needed(order.side, quantity, price) > free:
        raise insufficient_balance()


def engine_request(order: NewOrder, quantity: Decimal) -> OrderRequest:
    """The engine request that executes ``order``: a market order's rest expires (IOC)."""
    kind = _ENGINE_TYPES[order.binance_type]
    if order.binance_type == "MARKET":
        tif = TimeInForce.IOC
    elif order.binance_type == "LIMIT":
        tif = TimeInForce(order.time_in_force or "GTC")
    else:
        tif = TimeInForce.GTC
    return OrderRequest(
        instrument=order.rule.spec.symbol,
        side=order.side,
        units=quantity,
        order_type=kind,
        price=order.price,
        stop_price=order.stop_price,
        time_in_force=tif,
        client_order_id=order.client_order_id,
    )
