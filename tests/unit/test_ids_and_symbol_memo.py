"""Client order ids (a per-process random prefix and a counter) and the symbol mapper's bounded memo."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest

from broker_integration import symbols
from broker_integration.models import UnifiedOrder, new_client_order_id
from broker_integration.symbols import SymbolMapper, SymbolStyle

ID_FORM = re.compile(r"bi-[0-9a-f]{32}")
PREFIX = len("bi-") + 16  # "bi-" and the 64 random bits drawn once per process


def order_id_pattern() -> re.Pattern[str]:
    return re.compile(UnifiedOrder.model_json_schema()["properties"]["order_id"]["pattern"])


# ------------------------------------------------------------------ client order ids


def test_ten_thousand_ids_are_unique_well_formed_and_valid_order_ids() -> None:
    ids = [new_client_order_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    pattern = order_id_pattern()
    assert all(ID_FORM.fullmatch(i) for i in ids)
    assert all(pattern.match(i) for i in ids)
    assert {i[:PREFIX] for i in ids} == {ids[0][:PREFIX]}  # one prefix per process


def test_generated_ids_are_accepted_by_unified_order() -> None:
    ids = [new_client_order_id() for _ in range(50)]
    orders = [UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1), order_id=i) for i in ids]
    assert [o.order_id for o in orders] == ids
    defaults = {
        UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1)).order_id for _ in range(50)
    }
    assert len(defaults) == 50
    assert all(ID_FORM.fullmatch(i) for i in defaults)
    assert not defaults & set(ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_its_own_prefix_and_never_repeats_the_parents_ids() -> None:
    count = 1000
    before_fork = [new_client_order_id() for _ in range(count)]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its ids and leave without running any of pytest's clean-up
        status = 1
        try:
            os.close(read_end)
            data = "\n".join(new_client_order_id() for _ in range(count)).encode()
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    after_fork = [new_client_order_id() for _ in range(count)]
    with os.fdopen(read_end, "rb") as pipe:
        child = pipe.read().decode().split("\n")
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
    assert len(child) == count
    assert all(ID_FORM.fullmatch(i) for i in child)
    assert len(set(child)) == count
    parent = before_fork + after_fork
    assert not set(child) & set(parent)
    parent_prefix = before_fork[0][:PREFIX]
    assert {i[:PREFIX] for i in after_fork} == {parent_prefix}  # the parent keeps its prefix
    child_prefixes = {i[:PREFIX] for i in child}
    assert len(child_prefixes) == 1
    assert child_prefixes != {parent_prefix}


# ------------------------------------------------------------------ the symbol memo


def test_to_broker_and_from_broker_give_the_same_answer_from_the_memo() -> None:
    mapper = SymbolMapper(style=SymbolStyle.UNDERSCORE)
    assert mapper.to_broker("eur/usd") == "EUR_USD"
    assert mapper.to_broker("eur/usd") == "EUR_USD"
    assert mapper.from_broker("EUR_USD") == "EUR/USD"
    assert mapper.from_broker("EUR_USD") == "EUR/USD"
    assert mapper.to_broker("AAPL") == "AAPL"
    assert mapper.to_broker("AAPL") == "AAPL"


def test_the_memo_belongs_to_one_mapper() -> None:
    underscore = SymbolMapper(style=SymbolStyle.UNDERSCORE)
    concat = SymbolMapper(style=SymbolStyle.CONCAT)
    slash = SymbolMapper()
    assert underscore.to_broker("EUR/USD") == "EUR_USD"
    assert concat.to_broker("EUR/USD") == "EURUSD"
    assert slash.to_broker("EUR/USD") == "EUR/USD"
    assert concat.from_broker("EURUSD") == "EUR/USD"
    assert underscore == SymbolMapper(style=SymbolStyle.UNDERSCORE)  # the memo is not part of equality


def test_overrides_are_honoured_on_every_call() -> None:
    mapper = SymbolMapper(style=SymbolStyle.UNDERSCORE, overrides={"SPX500/USD": "US500"})
    for _ in range(2):
        assert mapper.to_broker("spx500/usd") == "US500"
        assert mapper.from_broker("US500") == "SPX500/USD"


@pytest.mark.parametrize("bad", ["EUR USD", "not/a/symbol", "", "1ABC"])
def test_invalid_symbols_raise_every_time_and_are_not_remembered(bad: str) -> None:
    mapper = SymbolMapper(style=SymbolStyle.UNDERSCORE)
    for _ in range(3):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            mapper.to_broker(bad)
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            mapper.from_broker(bad)
    assert bad not in mapper._to_broker
    assert bad not in mapper._from_broker


@pytest.mark.parametrize("bad", [None, 42, b"EUR/USD", ("EUR", "USD")])
def test_non_string_symbols_raise_type_error(bad: object) -> None:
    mapper = SymbolMapper(style=SymbolStyle.UNDERSCORE)
    for _ in range(2):
        with pytest.raises(TypeError, match="must be a string"):
            mapper.to_broker(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="must be a string"):
            mapper.from_broker(bad)  # type: ignore[arg-type]
    assert mapper._to_broker == {}
    assert mapper._from_broker == {}


def test_an_unhashable_symbol_raises_type_error() -> None:
    mapper = SymbolMapper(style=SymbolStyle.UNDERSCORE)
    with pytest.raises(TypeError):
        mapper.to_broker(["EUR/USD"])  # type: ignore[arg-type]


def test_the_memo_stays_bounded() -> None:
    limit = symbols._MEMO_LIMIT
    assert limit == 4096
    mapper = SymbolMapper(style=SymbolStyle.UNDERSCORE)
    tickers = [f"T{i}" for i in range(limit + 1000)]  # "T0" … "T5095": valid tickers (one letter, digits)
    assert all(len(t) <= 10 for t in tickers)
    largest = 0
    for ticker in tickers:
        assert mapper.to_broker(ticker) == ticker
        assert mapper.from_broker(ticker) == ticker
        largest = max(largest, len(mapper._to_broker), len(mapper._from_broker))
    assert largest <= limit
    assert 0 < len(mapper._to_broker) <= limit
    assert 0 < len(mapper._from_broker) <= limit
    # Translations stay right after the memo was emptied to make room.
    assert mapper.to_broker(tickers[0]) == tickers[0]
    assert mapper.to_broker("eur/usd") == "EUR_USD"
    assert mapper.from_broker("EUR_USD") == "EUR/USD"
