"""Orders the pipeline must refuse before anything is sent: built around validation, or against the rules
OANDA publishes for the instrument (loaded at login). None reaches the simulator; each says what was wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from broker_integration.adapters.oanda import OandaAdapter
from broker_integration.errors import StandardErrorCode as C
from broker_integration.models import Delivery, OrderSide, OrderStatus, OrderType, TimeInForce, UnifiedOrder
from broker_integration.sim.oanda import OandaSimulator


def eur(quantity: str = "1000", **fields: object) -> UnifiedOrder:
    return UnifiedOrder.model_validate(
        {"instrument": "EUR/USD", "side": OrderSide.BUY, "quantity": Decimal(quantity), **fields}
    )


def limit(price: str, **fields: object) -> UnifiedOrder:
    return eur(order_type=OrderType.LIMIT, price=Decimal(price), **fields)


BAD_ORDERS: list[tuple[str, Callable[[], UnifiedOrder], C, str]] = [
    ("below-minimum", lambda: eur("0.5"), C.INVALID_ORDER, "below the minimum order size"),
    ("absurd-size", lambda: eur("1e30"), C.INVALID_ORDER, "above the maximum order size"),
    ("units-precision", lambda: eur("1000.5"), C.INVALID_ORDER, "trades in steps of 1"),
    ("price-precision", lambda: limit("1.123456"), C.INVALID_ORDER, "off the EUR/USD tick size"),
    (
        "expiry-past",
        lambda: limit(
            "1.1", time_in_force=TimeInForce.GTD, expire_time=datetime.now(UTC) - timedelta(days=1)
        ),
        C.INVALID_ORDER,
        "expire_time",
    ),
    ("unlisted", lambda: eur().model_copy(update={"instrument": "XAU/JPY"}), C.INVALID_INSTRUMENT, "XAU/JPY"),
    (
        "bad-symbol",
        lambda: eur().model_copy(update={"instrument": "$$$"}),
        C.INVALID_INSTRUMENT,
        "instrument",
    ),
    ("nan", lambda: eur().model_copy(update={"quantity": Decimal("NaN")}), C.INVALID_ORDER, "quantity"),
    ("zero", lambda: eur().model_copy(update={"quantity": Decimal(0)}), C.INVALID_ORDER, "quantity"),
    (
        "constructed",
        lambda: UnifiedOrder.model_construct(instrument="EUR/USD", side=OrderSide.BUY),
        C.INVALID_ORDER,
        "quantity: an order needs a quantity or a notional",
    ),
]


@pytest.mark.parametrize(
    ("build", "code", "words"), [case[1:] for case in BAD_ORDERS], ids=[case[0] for case in BAD_ORDERS]
)
async def test_a_bad_order_is_refused_before_it_reaches_oanda(
    sim: OandaSimulator, adapter: OandaAdapter, build: Callable[[], UnifiedOrder], code: C, words: str
) -> None:
    served = sum(sim.counts.requests.values())
    result = await adapter.place_order(build())
    assert not result.success
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None
    assert result.error.error_code is code, result.error
    assert words in result.error.message
    assert result.error.broker_name == "oanda"
    assert result.delivery is Delivery.NOT_SENT
    assert sum(sim.counts.requests.values()) == served  # not even a lookup
    assert sim.engine.orders(sim.account_id, include_closed=True) == []


async def test_the_rules_come_from_the_listing_loaded_at_login(adapter: OandaAdapter) -> None:
    listing = adapter.known_instruments()
    assert listing is not None
    eur_usd = listing["EUR/USD"]
    assert eur_usd.tick_size == Decimal("0.00001")
    assert eur_usd.quantity_increment == Decimal(1)
    assert eur_usd.max_quantity is not None
    assert (await adapter.place_order(eur())).status is OrderStatus.FILLED  # a good order still goes
