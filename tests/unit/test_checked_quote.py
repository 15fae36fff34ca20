"""``checked_quote`` builds a PriceTick without pydantic's per-call validation: it must be indistinguishable
from the validated model for valid input, and hand anything doubtful to the validating constructor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from broker_integration.models import PriceTick, checked_quote

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
prices = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal(100000), places=5)
sizes = st.none() | st.decimals(min_value=Decimal(0), max_value=Decimal(10**9), places=0)


@given(
    instrument=st.sampled_from(["EUR/USD", "USD/JPY", "AAPL", "BTC/USDT"]),
    bid=prices,
    spread=st.decimals(min_value=Decimal(0), max_value=Decimal(10), places=5),
    tradeable=st.booleans(),
    bid_size=sizes,
    ask_size=sizes,
)
def test_a_valid_quote_equals_the_validated_model(
    instrument: str,
    bid: Decimal,
    spread: Decimal,
    tradeable: bool,
    bid_size: Decimal | None,
    ask_size: Decimal | None,
) -> None:
    ask = bid + spread
    fields = {"tradeable": tradeable, "bid_size": bid_size, "ask_size": ask_size}
    fast = checked_quote(instrument, bid, ask, NOW, **fields)  # type: ignore[arg-type]
    validated = PriceTick(instrument=instrument, bid=bid, ask=ask, time=NOW, **fields)  # type: ignore[arg-type]
    assert fast == validated
    assert hash(fast) == hash(validated)
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_fields_set == validated.model_fields_set
    assert fast.mid == validated.mid
    assert fast.model_copy(update={"tradeable": not tradeable}).tradeable is not tradeable
    assert PriceTick.model_validate_json(fast.model_dump_json()) == validated


def test_it_stays_frozen() -> None:
    tick = checked_quote("EUR/USD", Decimal("1.1"), Decimal("1.2"), NOW)
    with pytest.raises(ValidationError):
        tick.bid = Decimal(2)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("EUR/USD", Decimal("1.2"), Decimal("1.1"), NOW), "ask"),  # crossed
        (("EUR/USD", Decimal(0), Decimal("1.1"), NOW), "bid"),
        (("EUR/USD", Decimal("NaN"), Decimal("1.1"), NOW), "bid"),
        (("EUR/USD", Decimal("1.1"), Decimal("Infinity"), NOW), "ask"),
        (("eur_usd!", Decimal("1.1"), Decimal("1.2"), NOW), "instrument"),
        (("EUR/USD", Decimal("1.1"), Decimal("1.2"), NOW.replace(tzinfo=None)), "time"),
    ],
)
def test_bad_values_get_the_models_own_error(arguments: tuple[object, ...], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        checked_quote(*arguments)  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"][0] == field


def test_what_the_quick_checks_do_not_pass_still_comes_out_right() -> None:
    """Not canonical, not a Decimal, not UTC: the validating constructor converts as it always does."""
    paris = timezone(timedelta(hours=1))
    tick = checked_quote("eur_usd", 1.5, "1.6", NOW.astimezone(paris), bid_size=-0.0)  # type: ignore[arg-type]
    assert tick.instrument == "EUR/USD"
    assert tick.bid == Decimal("1.5")
    assert tick.ask == Decimal("1.6")
    assert tick.time == NOW
    assert tick.time.tzinfo is UTC
    with pytest.raises(ValidationError):
        checked_quote("EUR/USD", Decimal("1.1"), Decimal("1.2"), NOW, bid_size=Decimal(-1))


def test_each_tick_owns_its_fields_set() -> None:
    """Assembled ticks start from one shared list of field names: each must get its own copy."""
    first = checked_quote("AAPL", Decimal("1.1"), Decimal("1.2"), NOW)
    second = checked_quote("AAPL", Decimal("1.1"), Decimal("1.2"), NOW)
    assert first.model_fields_set == second.model_fields_set == set(PriceTick.model_fields)
    assert first.model_fields_set is not second.model_fields_set


def test_a_symbol_seen_canonical_does_not_let_its_other_spellings_through() -> None:
    assert checked_quote("EUR/USD", Decimal("1.1"), Decimal("1.2"), NOW).instrument == "EUR/USD"
    assert checked_quote("eur/usd", Decimal("1.1"), Decimal("1.2"), NOW).instrument == "EUR/USD"
    with pytest.raises(ValidationError):
        checked_quote(["EUR/USD"], Decimal("1.1"), Decimal("1.2"), NOW)  # type: ignore[arg-type]
