"""``checked_update`` builds an OrderUpdate without pydantic's per-call validation: it must be
indistinguishable from the validated model for valid input, and hand anything doubtful to the validating
constructor, whose errors are the model's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from broker_integration.models import OrderSide, OrderUpdate, OrderUpdateKind, checked_update

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
sizes = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3)


@given(
    kind=st.sampled_from(OrderUpdateKind),
    fill=sizes,
    price=sizes,
    remaining=st.none() | sizes,
    client_order_id=st.none() | st.just("bi-1"),
    instrument=st.none() | st.sampled_from(["AAPL", "BTC/USD"]),
    side=st.none() | st.sampled_from(OrderSide),
)
def test_a_valid_update_equals_the_validated_model(
    kind: OrderUpdateKind,
    fill: Decimal,
    price: Decimal,
    remaining: Decimal | None,
    client_order_id: str | None,
    instrument: str | None,
    side: OrderSide | None,
) -> None:
    fields: dict[str, Any] = {
        "client_order_id": client_order_id,
        "instrument": instrument,
        "side": side,
        "fill_quantity": fill if kind.is_fill else Decimal(0),
        "fill_price": price if kind.is_fill else None,
        "filled_quantity": fill if kind.is_fill else None,
        "remaining_quantity": remaining,
        "replaced_by_order_id": "next" if kind is OrderUpdateKind.REPLACED else None,
        "reason": kind.value,
    }
    fast = checked_update(kind, "order-1", NOW, **fields)
    validated = OrderUpdate(kind=kind, broker_order_id="order-1", time=NOW, **fields)
    assert fast == validated
    assert hash(fast) == hash(validated)
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_fields_set == set(OrderUpdate.model_fields)
    assert OrderUpdate.model_validate_json(fast.model_dump_json()) == validated
    with pytest.raises(ValidationError):
        fast.reason = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": OrderUpdateKind.FILLED, "fill_quantity": Decimal(1)}, "fill_price"),
        ({"kind": OrderUpdateKind.FILLED, "fill_price": Decimal(1)}, "fill_price"),
        ({"kind": OrderUpdateKind.ACCEPTED, "fill_quantity": Decimal(1)}, "fill_quantity"),
        ({"kind": OrderUpdateKind.REPLACED}, "replaced_by_order_id"),
        (
            {"kind": OrderUpdateKind.FILLED, "fill_quantity": Decimal(1), "fill_price": Decimal(0)},
            "fill_price",
        ),
        ({"kind": OrderUpdateKind.ACCEPTED, "fill_quantity": Decimal(-1)}, "fill_quantity"),
        ({"kind": OrderUpdateKind.ACCEPTED, "filled_quantity": Decimal("NaN")}, "filled_quantity"),
        ({"kind": OrderUpdateKind.ACCEPTED, "remaining_quantity": Decimal("-0.5")}, "remaining_quantity"),
        ({"kind": OrderUpdateKind.ACCEPTED, "instrument": "eur_usd!"}, "instrument"),
        ({"kind": OrderUpdateKind.ACCEPTED, "time": NOW.replace(tzinfo=None)}, "time"),
        ({"kind": "teleported"}, "kind"),
    ],
)
def test_bad_values_get_the_models_own_error(arguments: dict[str, Any], field: str) -> None:
    given_args = {"broker_order_id": "order-1", "time": NOW, **arguments}
    with pytest.raises(ValidationError) as caught:
        checked_update(
            given_args.pop("kind"), given_args.pop("broker_order_id"), given_args.pop("time"), **given_args
        )
    assert caught.value.errors()[0]["loc"][0] == field


def test_what_the_quick_checks_do_not_pass_still_comes_out_right() -> None:
    """Not canonical, not an enum member, not UTC: the validating constructor converts as it always does."""
    paris = timezone(timedelta(hours=1))
    update = checked_update(
        "filled",  # type: ignore[arg-type]
        "order-1",
        NOW.astimezone(paris),
        instrument="aapl",
        side="sell",  # type: ignore[arg-type]
        fill_quantity=Decimal(2),
        fill_price=Decimal("10.5"),
    )
    assert (update.kind, update.instrument, update.side) == (OrderUpdateKind.FILLED, "AAPL", OrderSide.SELL)
    assert update.time == NOW
    assert update.time.tzinfo is UTC
