"""``checked_result`` builds an OrderResult without pydantic's per-call validation: it must be indistinguishable
from ``OrderResult(**fields)`` for valid input, and hand anything doubtful to the validating constructor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from broker_integration.errors import StandardErrorCode, make_error
from broker_integration.models import Delivery, OrderResult, OrderSide, OrderStatus, checked_result

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
sizes = st.decimals(min_value=Decimal(0), max_value=Decimal(10**9), places=8)
prices = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal(10**6), places=5)
REFUSED = make_error(StandardErrorCode.INVALID_ORDER, "refused", broker_name="venue")


def same(fast: OrderResult, validated: OrderResult) -> None:
    assert fast == validated
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_fields_set == validated.model_fields_set
    assert list(fast.__dict__) == list(validated.__dict__)
    assert {k: type(v) for k, v in fast.__dict__.items()} == {
        k: type(v) for k, v in validated.__dict__.items()
    }
    assert OrderResult.model_validate_json(fast.model_dump_json()) == validated


@given(
    success=st.booleans(),
    status=st.sampled_from(OrderStatus),
    delivery=st.sampled_from(Delivery),
    side=st.none() | st.sampled_from(OrderSide),
    instrument=st.none() | st.sampled_from(["BTC/USDT", "EUR/USD", "AAPL", "BTC/USDT:USDT"]),
    filled=sizes,
    average=prices,
    commission=sizes,
    requested=st.none() | sizes,
    rate=st.none() | prices,
    latency=st.none() | st.floats(min_value=0, max_value=1e6),
    texts=st.lists(st.none() | st.text(max_size=8), min_size=3, max_size=3),
    metadata=st.none()
    | st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    left_out=st.sets(st.sampled_from(["filled_quantity", "commission", "submitted_at", "completed_at"])),
)
def test_a_valid_result_equals_the_validated_model(
    success: bool,
    status: OrderStatus,
    delivery: Delivery,
    side: OrderSide | None,
    instrument: str | None,
    filled: Decimal,
    average: Decimal,
    commission: Decimal,
    requested: Decimal | None,
    rate: Decimal | None,
    latency: float | None,
    texts: list[str | None],
    metadata: dict[str, Any] | None,
    left_out: set[str],
) -> None:
    fields: dict[str, Any] = {
        "success": success,
        "error": None if success else REFUSED,
        "status": status,
        "delivery": delivery,
        "side": side,
        "instrument": instrument,
        "filled_quantity": filled,
        "average_fill_price": average,
        "commission": commission,
        "requested_quantity": requested,
        "quote_home_rate": rate,
        "latency_ms": latency,
        "submitted_at": NOW,
        "completed_at": NOW + timedelta(milliseconds=3),
        "client_order_id": texts[0],
        "broker_order_id": texts[1],
        "replaces_order_id": texts[2],
        "broker_name": "venue",
        "message": "" if success else "refused",
    }
    if metadata is not None:
        fields["metadata"] = metadata
    for name in left_out:
        del fields[name]
    fast = checked_result(fields)
    same(fast, OrderResult(**fields))
    if metadata is not None:
        assert fast.metadata is not metadata  # a copy of its own, as validation makes


def test_it_stays_frozen_and_copies_as_the_model_does() -> None:
    result = checked_result({"success": True, "status": OrderStatus.FILLED})
    same(result, OrderResult(success=True, status=OrderStatus.FILLED))
    with pytest.raises(ValidationError):
        result.status = OrderStatus.REJECTED  # type: ignore[misc]
    assert result.model_copy(update={"message": "x"}).message == "x"
    assert result.metadata == {}
    assert result.metadata is not checked_result({"success": True, "status": OrderStatus.FILLED}).metadata


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"filled_quantity": Decimal("0.5"), "average_fill_price": None},
            "average_fill_price",
        ),  # a fill, no price
        ({"error": REFUSED}, "error"),  # a success with an error
        ({"success": False}, "error"),  # a failure that does not say why
        ({"filled_quantity": Decimal(-1)}, "filled_quantity"),
        ({"commission": Decimal("NaN")}, "commission"),
        ({"average_fill_price": Decimal(0), "filled_quantity": Decimal(1)}, "average_fill_price"),
        ({"quote_home_rate": Decimal("Infinity")}, "quote_home_rate"),
        ({"latency_ms": -1.0}, "latency_ms"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"submitted_at": NOW.replace(tzinfo=None)}, "submitted_at"),
        ({"instrument": "btc_usdt!"}, "instrument"),
        ({"status": "no such status"}, "status"),
        ({"metadata": None}, "metadata"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_get_the_models_own_error(change: dict[str, Any], field: str) -> None:
    fields = {"success": True, "status": OrderStatus.FILLED, **change}
    with pytest.raises(ValidationError) as caught:
        checked_result(fields)
    with pytest.raises(ValidationError) as validated:
        OrderResult(**fields)
    assert caught.value.errors(include_context=False) == validated.value.errors(include_context=False)
    assert field in {str(error["loc"][0]) for error in caught.value.errors()}


def test_what_the_quick_checks_do_not_pass_still_comes_out_right() -> None:
    """Not canonical, not a Decimal, not UTC, not of the exact type: converted as validation always does."""
    paris = timezone(timedelta(hours=1))
    fields: dict[str, Any] = {
        "success": 1,
        "status": "filled",
        "side": "buy",
        "instrument": "btc/usdt",
        "filled_quantity": 0.5,
        "average_fill_price": "30000.5",
        "latency_ms": 3,
        "submitted_at": NOW.astimezone(paris),
        "metadata": {"a": 1},
    }
    result = checked_result(fields)
    same(result, OrderResult(**fields))
    assert result.success is True
    assert result.status is OrderStatus.FILLED
    assert result.instrument == "BTC/USDT"
    assert result.filled_quantity == Decimal("0.5")
    assert result.latency_ms == 3.0
    assert result.submitted_at == NOW
    assert result.submitted_at is not None
    assert result.submitted_at.tzinfo is UTC
