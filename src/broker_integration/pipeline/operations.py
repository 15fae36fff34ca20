"""The operations of :class:`~broker_integration.pipeline.BrokerAdapter`, one row each.

Every fact the pipeline, its stages, capability discovery and the conformance suite need about an operation
is a field of its :class:`OpSpec` in :data:`OPERATIONS`: whether it is an order action (returns an
``OrderResult`` instead of raising), safe to repeat, retried, inside the circuit breaker, journaled,
streaming, the capability implementing it gives, and which implemented operations its base-class default
is derived from. Adding an operation is adding a row (and the method, and the adapters that implement it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from broker_integration.models import OrderType

__all__ = [
    "CAPABILITY_OPERATIONS",
    "DERIVED_DEFAULTS",
    "OPERATIONS",
    "ORDER_ACTIONS",
    "ORDER_TYPE_CAPABILITY",
    "BrokerCapability",
    "OpSpec",
    "Operation",
]


class BrokerCapability(StrEnum):
    """What a broker can do. Declared by an adapter, verified by capability discovery."""

    MARKET_ORDERS = "market_orders"
    LIMIT_ORDERS = "limit_orders"
    STOP_ORDERS = "stop_orders"
    STOP_LIMIT_ORDERS = "stop_limit_orders"
    MARKET_IF_TOUCHED_ORDERS = "market_if_touched_orders"
    TRAILING_STOP_ORDERS = "trailing_stop_orders"
    TAKE_PROFIT_STOP_LOSS = "take_profit_stop_loss"
    MODIFY_ORDERS = "modify_orders"
    CANCEL_ORDERS = "cancel_orders"
    ORDER_LISTING = "order_listing"
    CLIENT_ORDER_ID_LOOKUP = "client_order_id_lookup"
    ORDER_UPDATES = "order_updates"
    POSITIONS = "positions"
    CLOSE_POSITION = "close_position"
    CURRENT_PRICES = "current_prices"
    STREAMING_PRICES = "streaming_prices"
    HISTORICAL_DATA = "historical_data"
    ACCOUNT_SUMMARY = "account_summary"
    MULTIPLE_ACCOUNTS = "multiple_accounts"
    INSTRUMENTS = "instruments"
    PARTIAL_FILLS = "partial_fills"
    FRACTIONAL_QUANTITY = "fractional_quantity"
    #: Orders sized by a cash amount (``UnifiedOrder.notional``) instead of a quantity. Refused by the
    #: pipeline for every adapter that does not declare it.
    NOTIONAL_ORDERS = "notional_orders"
    HEALTH_CHECK = "health_check"


ORDER_TYPE_CAPABILITY: Mapping[OrderType, BrokerCapability] = MappingProxyType(
    {
        OrderType.MARKET: BrokerCapability.MARKET_ORDERS,
        OrderType.LIMIT: BrokerCapability.LIMIT_ORDERS,
        OrderType.STOP: BrokerCapability.STOP_ORDERS,
        OrderType.STOP_LIMIT: BrokerCapability.STOP_LIMIT_ORDERS,
        OrderType.MARKET_IF_TOUCHED: BrokerCapability.MARKET_IF_TOUCHED_ORDERS,
        OrderType.TRAILING_STOP: BrokerCapability.TRAILING_STOP_ORDERS,
    }
)


class Operation(StrEnum):
    """The public calls of ``BrokerAdapter``; the value is the method name."""

    AUTHENTICATE = "authenticate"
    DISCONNECT = "disconnect"
    HEALTH_CHECK = "health_check"
    PLACE_ORDER = "place_order"
    MODIFY_ORDER = "modify_order"
    CANCEL_ORDER = "cancel_order"
    GET_ORDERS = "get_orders"
    GET_ORDER = "get_order"
    TRACE_ORDER = "trace_order"
    STREAM_ORDER_UPDATES = "stream_order_updates"
    GET_POSITIONS = "get_positions"
    CLOSE_POSITION = "close_position"
    GET_CURRENT_PRICE = "get_current_price"
    GET_CURRENT_PRICES = "get_current_prices"
    STREAM_PRICES = "stream_prices"
    GET_HISTORICAL_DATA = "get_historical_data"
    GET_ACCOUNT_SUMMARY = "get_account_summary"
    GET_ACCOUNTS = "get_accounts"
    GET_INSTRUMENTS = "get_instruments"

    @property
    def spec(self) -> OpSpec:
        return OPERATIONS[self]

    @property
    def is_order_action(self) -> bool:
        """Returns an ``OrderResult`` instead of raising."""
        return self in ORDER_ACTIONS

    @property
    def is_read_only(self) -> bool:
        """Changes nothing at the broker, so it is safe to repeat."""
        return OPERATIONS[self].read_only


@dataclass(frozen=True, slots=True)
class OpSpec:
    """What the pipeline and its stages know about one operation.

    ``order_action``: returns an ``OrderResult`` (success or refusal) instead of raising.
    ``read_only``: changes nothing at the broker.
    ``retried``: repeated on retryable errors (read-only calls whose caller wants an answer, not a stream
    that reconnects by itself nor a health probe that must report what it sees).
    ``inside_breaker``: waits for and counts against the circuit breaker (logging in and out and the
    health probe do not: the probe must see a broker recover while the breaker is open).
    ``journaled``: its intent is written to the order journal before it is sent.
    ``streaming``: an async iterator; the pipeline times opening the stream, not each item.
    ``capability``: what implementing it gives the adapter (order types are declared separately).
    ``derived_from``: the base class's default works as soon as one of these is implemented.
    """

    operation: Operation
    order_action: bool = False
    read_only: bool = False
    retried: bool = False
    inside_breaker: bool = True
    journaled: bool = False
    streaming: bool = False
    capability: BrokerCapability | None = None
    derived_from: frozenset[Operation] = frozenset()


def _rows(*specs: OpSpec) -> Mapping[Operation, OpSpec]:
    table = {spec.operation: spec for spec in specs}
    missing = set(Operation) - set(table)
    if missing:
        raise AssertionError(f"operations without a row: {sorted(missing)}")
    return MappingProxyType(table)


_O, _C = Operation, BrokerCapability

#: One row per operation.
OPERATIONS: Mapping[Operation, OpSpec] = _rows(
    OpSpec(_O.AUTHENTICATE, inside_breaker=False),
    OpSpec(_O.DISCONNECT, inside_breaker=False, derived_from=frozenset(Operation)),
    OpSpec(
        _O.HEALTH_CHECK,
        read_only=True,
        inside_breaker=False,
        capability=_C.HEALTH_CHECK,
        derived_from=frozenset({_O.GET_ACCOUNT_SUMMARY, _O.GET_ACCOUNTS}),
    ),
    OpSpec(_O.PLACE_ORDER, order_action=True, journaled=True),
    OpSpec(_O.MODIFY_ORDER, order_action=True, capability=_C.MODIFY_ORDERS),
    OpSpec(_O.CANCEL_ORDER, order_action=True, capability=_C.CANCEL_ORDERS),
    OpSpec(_O.GET_ORDERS, read_only=True, retried=True, capability=_C.ORDER_LISTING),
    OpSpec(
        _O.GET_ORDER,
        read_only=True,
        retried=True,
        capability=_C.CLIENT_ORDER_ID_LOOKUP,
        derived_from=frozenset({_O.GET_ORDERS}),
    ),
    OpSpec(
        _O.TRACE_ORDER,
        read_only=True,
        retried=True,
        derived_from=frozenset({_O.GET_ORDER, _O.GET_ORDERS}),
    ),
    OpSpec(_O.STREAM_ORDER_UPDATES, read_only=True, streaming=True, capability=_C.ORDER_UPDATES),
    OpSpec(_O.GET_POSITIONS, read_only=True, retried=True, capability=_C.POSITIONS),
    OpSpec(_O.CLOSE_POSITION, order_action=True, capability=_C.CLOSE_POSITION),
    OpSpec(_O.GET_CURRENT_PRICE, read_only=True, retried=True, capability=_C.CURRENT_PRICES),
    OpSpec(
        _O.GET_CURRENT_PRICES,
        read_only=True,
        retried=True,
        derived_from=frozenset({_O.GET_CURRENT_PRICE}),
    ),
    OpSpec(_O.STREAM_PRICES, read_only=True, streaming=True, capability=_C.STREAMING_PRICES),
    OpSpec(_O.GET_HISTORICAL_DATA, read_only=True, retried=True, capability=_C.HISTORICAL_DATA),
    OpSpec(_O.GET_ACCOUNT_SUMMARY, read_only=True, retried=True, capability=_C.ACCOUNT_SUMMARY),
    OpSpec(_O.GET_ACCOUNTS, read_only=True, retried=True, capability=_C.MULTIPLE_ACCOUNTS),
    OpSpec(_O.GET_INSTRUMENTS, read_only=True, retried=True, capability=_C.INSTRUMENTS),
)

#: The order actions (``order_action`` rows): a set to test membership in on every call.
ORDER_ACTIONS: frozenset[Operation] = frozenset(op for op, spec in OPERATIONS.items() if spec.order_action)

#: Base-class defaults that work as soon as the subclass implements any one of the listed calls.
DERIVED_DEFAULTS: Mapping[Operation, frozenset[Operation]] = MappingProxyType(
    {op: spec.derived_from for op, spec in OPERATIONS.items() if spec.derived_from}
)


def _capability_operations() -> Mapping[BrokerCapability, frozenset[Operation]]:
    table: dict[BrokerCapability, set[Operation]] = {}
    for op, spec in OPERATIONS.items():
        if spec.capability is not None:
            table.setdefault(spec.capability, set()).update({op, *spec.derived_from})
    for capability in (
        *ORDER_TYPE_CAPABILITY.values(),
        _C.TAKE_PROFIT_STOP_LOSS,
        _C.PARTIAL_FILLS,
        _C.FRACTIONAL_QUANTITY,
        _C.NOTIONAL_ORDERS,
    ):
        table[capability] = {_O.PLACE_ORDER}
    return MappingProxyType({cap: frozenset(ops) for cap, ops in table.items()})


#: For each capability, the calls of which at least one must be implemented for it to work.
CAPABILITY_OPERATIONS: Mapping[BrokerCapability, frozenset[Operation]] = _capability_operations()
