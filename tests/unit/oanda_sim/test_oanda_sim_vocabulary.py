"""The OANDA face translates every engine name through its own tables, into the spec's vocabulary: the
engine keeps its own words (no OANDA typo), and no engine value reaches the wire untranslated."""

from __future__ import annotations

import pytest
from v20_shapes import (
    LIMIT_ORDER_REASONS,
    MARKET_ORDER_REASONS,
    ORDER_CANCEL_REASONS,
    ORDER_FILL_REASONS,
    ORDER_STATES,
    TIME_IN_FORCE,
    TRADE_STATES,
    TRANSACTION_REJECT_REASONS,
    TRANSACTION_TYPES,
)

from broker_integration.models import OrderType
from broker_integration.sim.oanda.vocabulary import (
    ORDER_STATE_NAMES,
    ORDER_TYPE_NAMES,
    REASON_NAMES,
    TIF_NAMES,
    TRADE_STATE_NAMES,
    TRANSACTION_TYPE_NAMES,
    reason_name,
)
from broker_integration.sim.records import (
    CancelReason,
    CreateReason,
    FillReason,
    OrderState,
    RejectReason,
    TradeRejectReason,
    TradeState,
    TransactionReason,
    TransactionType,
)
from broker_integration.sim.validation import CONTINUOUS_TIME_IN_FORCE

ENGINE_REASONS = [*RejectReason, *TradeRejectReason, *CancelReason, *CreateReason, *FillReason]


@pytest.mark.parametrize("reason", ENGINE_REASONS, ids=lambda r: f"{type(r).__name__}.{r.name}")
def test_every_engine_reason_has_a_v20_name_from_the_spec(reason: TransactionReason) -> None:
    vocabulary = {
        RejectReason: TRANSACTION_REJECT_REASONS | ORDER_CANCEL_REASONS,  # refused, or killed at once
        TradeRejectReason: TRANSACTION_REJECT_REASONS,
        CancelReason: ORDER_CANCEL_REASONS,
        CreateReason: MARKET_ORDER_REASONS | LIMIT_ORDER_REASONS,
        FillReason: ORDER_FILL_REASONS,
    }[type(reason)]
    assert REASON_NAMES[reason] in vocabulary


def test_the_states_types_and_times_in_force_have_the_specs_names() -> None:
    assert {ORDER_STATE_NAMES[state] for state in OrderState} <= ORDER_STATES
    assert {TRADE_STATE_NAMES[state] for state in TradeState} <= TRADE_STATES
    # the engine's times in force: it runs no opening or closing auction (OPG, CLS), nor does OANDA
    assert {TIF_NAMES[tif] for tif in CONTINUOUS_TIME_IN_FORCE} <= TIME_IN_FORCE
    assert set(TIF_NAMES) == CONTINUOUS_TIME_IN_FORCE
    for kind in OrderType:
        assert f"{ORDER_TYPE_NAMES[kind]}_ORDER" in TRANSACTION_TYPES
        assert f"{ORDER_TYPE_NAMES[kind]}_ORDER_REJECT" in TRANSACTION_TYPES
    order_entries = {TransactionType.ORDER_CREATE, TransactionType.ORDER_REJECT}
    for kind in set(TransactionType) - order_entries:
        assert TRANSACTION_TYPE_NAMES[kind] in TRANSACTION_TYPES


def test_the_engine_speaks_its_own_words_and_the_face_oandas() -> None:
    assert RejectReason.UNITS_MINIMUM_NOT_MET.value == "UNITS_MINIMUM_NOT_MET"
    assert reason_name(RejectReason.UNITS_MINIMUM_NOT_MET) == "UNITS_MIMIMUM_NOT_MET"  # sic: the spec's typo
    assert reason_name(RejectReason.FOK_NOT_FILLED) == "INSUFFICIENT_LIQUIDITY"
    assert reason_name(FillReason.TRAILING_STOP_ORDER) == "TRAILING_STOP_LOSS_ORDER"
    assert reason_name(None) == ""
