"""Canonical symbols and the one mapper between them and each broker's spelling."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from broker_integration.models import OrderSide, UnifiedOrder
from broker_integration.symbols import (
    OptionType,
    SymbolMapper,
    SymbolParts,
    SymbolStyle,
    canonical_symbol,
    parse_symbol,
    split_pair,
)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("EUR/USD", "EUR/USD"),
        ("eur/usd", "EUR/USD"),
        ("EUR_USD", "EUR/USD"),
        ("eur-usd", "EUR/USD"),
        ("  gbp/jpy ", "GBP/JPY"),
        ("BTC/USDT", "BTC/USDT"),
        ("SPX500_USD", "SPX500/USD"),
        ("AAPL", "AAPL"),
        ("aapl", "AAPL"),
        ("BRK.B", "BRK.B"),
        ("EURUSD", "EURUSD"),  # six letters read as a ticker: a pair needs a separator
    ],
)
def test_canonical_forms(given: str, canonical: str) -> None:
    assert canonical_symbol(given) == canonical
    assert canonical_symbol(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "E/USD",
        "EUR/",
        "/USD",
        "EUR//USD",
        "EUR USD",
        "EUR/USD/JPY",
        "1ABC",
        "ABCDEFGHIJK",
        "EUR$",
        "ÉUR/USD",
    ],
)
def test_bad_symbols_are_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a symbol") as info:
        canonical_symbol(bad)
    assert repr(bad) in str(info.value)


def test_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="int"):
        canonical_symbol(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("style", list(SymbolStyle))
def test_a_non_string_from_a_broker_is_a_type_error_in_every_style(style: SymbolStyle) -> None:
    with pytest.raises(TypeError, match="must be a string, got int"):
        SymbolMapper(style).from_broker(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a string, got NoneType"):
        SymbolMapper(style).to_broker(None)  # type: ignore[arg-type]


def test_split_pair() -> None:
    assert split_pair("eur_usd") == ("EUR", "USD")
    assert split_pair("AAPL") is None
    with pytest.raises(ValueError):
        split_pair("EUR USD")


@pytest.mark.parametrize(
    ("style", "pair", "ticker"),
    [
        (SymbolStyle.SLASH, "EUR/USD", "AAPL"),
        (SymbolStyle.UNDERSCORE, "EUR_USD", "AAPL"),
        (SymbolStyle.CONCAT, "EURUSD", "AAPL"),
    ],
)
def test_mapper_styles(style: SymbolStyle, pair: str, ticker: str) -> None:
    mapper = SymbolMapper(style)
    assert mapper.to_broker("eur-usd") == pair
    assert mapper.to_broker("aapl") == ticker
    assert mapper.from_broker(ticker) == "AAPL"


@pytest.mark.parametrize("style", [SymbolStyle.SLASH, SymbolStyle.UNDERSCORE])
def test_separated_styles_round_trip(style: SymbolStyle) -> None:
    mapper = SymbolMapper(style)
    for symbol in ("EUR/USD", "BTC/USDT", "XAU/USD", "AAPL"):
        assert mapper.from_broker(mapper.to_broker(symbol)) == symbol


def test_concat_style_round_trips() -> None:
    mapper = SymbolMapper(SymbolStyle.CONCAT)
    assert mapper.from_broker(mapper.to_broker("EUR/USD")) == "EUR/USD"


def test_overrides_win_both_ways() -> None:
    mapper = SymbolMapper(SymbolStyle.UNDERSCORE, overrides={"SPX500/USD": "US SPX 500", "BRK.B": "BRK-B"})
    assert mapper.to_broker("spx500_usd") == "US SPX 500"
    assert mapper.from_broker("US SPX 500") == "SPX500/USD"
    assert mapper.to_broker("BRK.B") == "BRK-B"
    assert mapper.from_broker("BRK-B") == "BRK.B"
    assert mapper.to_broker("EUR/USD") == "EUR_USD"  # others keep the style


def test_from_broker_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="is not a symbol"):
        SymbolMapper(SymbolStyle.UNDERSCORE).from_broker("EUR USD")
    with pytest.raises(ValueError):
        SymbolMapper().to_broker("")


# ------------------------------------------------------------------ contracts (CCXT unified symbols)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("BTC/USDT:USDT", "BTC/USDT:USDT"),  # linear perpetual swap
        ("eth/usd:eth", "ETH/USD:ETH"),  # inverse perpetual swap
        (" BTC/USDT:USDT-250627 ", "BTC/USDT:USDT-250627"),  # dated future
        ("btc/usd:btc-250627-60000-c", "BTC/USD:BTC-250627-60000-C"),  # option
        ("XRP/USDT:USDT-250627-0.55-P", "XRP/USDT:USDT-250627-0.55-P"),
        ("1000PEPE/USDT:USDT", "1000PEPE/USDT:USDT"),
    ],
)
def test_contract_symbols_are_canonical_in_ccxts_form(given: str, canonical: str) -> None:
    assert canonical_symbol(given) == canonical
    assert canonical_symbol(canonical) == canonical


@pytest.mark.parametrize(
    ("bad", "complaint"),
    [
        ("BTC/USDT:", "a contract is BASE/QUOTE:SETTLE"),
        ("BTC_USDT:USDT", "a contract is BASE/QUOTE:SETTLE"),  # a contract is written with '/'
        ("BTC/USDT:USDT-2506", "a contract is BASE/QUOTE:SETTLE"),
        ("BTC/USDT:USDT-250631", "its expiry 250631 is not a date"),
        ("BTC/USD:BTC-250627-60000", "a contract is BASE/QUOTE:SETTLE"),  # an option needs its right
        ("BTC/USD:BTC-250627-60000-X", "a contract is BASE/QUOTE:SETTLE"),
        ("BTC/USDT:USDT:USDT", "a contract is BASE/QUOTE:SETTLE"),
    ],
)
def test_malformed_contracts_are_refused_by_name(bad: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="is not a symbol") as info:
        canonical_symbol(bad)
    assert repr(bad) in str(info.value)
    assert complaint in str(info.value)


def test_a_symbol_is_taken_apart_into_its_parts() -> None:
    option = parse_symbol("btc/usd:btc-250627-60000-c")
    assert (option.base, option.quote, option.settle) == ("BTC", "USD", "BTC")
    assert option.expiry == date(2025, 6, 27)
    assert option.strike == Decimal(60000)
    assert option.option_type is OptionType.CALL
    assert option.is_contract
    assert option.is_inverse
    future = parse_symbol("BTC/USDT:USDT-250627")
    assert future.expiry == date(2025, 6, 27)
    assert future.strike is None
    assert not future.is_inverse
    swap = parse_symbol("BTC/USDT:USDT")
    assert swap.expiry is None
    assert swap.is_contract
    assert parse_symbol("EUR_USD") == SymbolParts("EUR", "USD")
    assert not parse_symbol("EUR/USD").is_contract
    assert parse_symbol("aapl") == SymbolParts("AAPL")


def test_a_contracts_pair_is_the_pair_it_is_quoted_in() -> None:
    assert split_pair("BTC/USDT:USDT") == ("BTC", "USDT")
    assert split_pair("ETH/USD:ETH-250627") == ("ETH", "USD")


def test_the_slash_style_is_ccxts_spelling_both_ways() -> None:
    mapper = SymbolMapper(SymbolStyle.SLASH)
    for symbol in ("BTC/USDT:USDT", "ETH/USD:ETH", "BTC/USDT:USDT-250627", "BTC/USD:BTC-250627-60000-P"):
        assert mapper.to_broker(symbol.lower()) == symbol
        assert mapper.from_broker(symbol) == symbol
    assert mapper.to_broker("btc/usdt") == "BTC/USDT"  # spot unchanged


@pytest.mark.parametrize("style", [SymbolStyle.UNDERSCORE, SymbolStyle.CONCAT])
def test_separator_styles_need_an_override_for_a_contract(style: SymbolStyle) -> None:
    with pytest.raises(ValueError, match=r"'BTC/USDT:USDT' is a contract.*overrides"):
        SymbolMapper(style).to_broker("BTC/USDT:USDT")
    mapper = SymbolMapper(style, overrides={"BTC/USDT:USDT": "BTCUSDT_PERP"})
    assert mapper.to_broker("btc/usdt:usdt") == "BTCUSDT_PERP"
    assert mapper.from_broker("BTCUSDT_PERP") == "BTC/USDT:USDT"


def test_an_order_accepts_a_contract_symbol() -> None:
    order = UnifiedOrder(instrument="btc/usdt:usdt-250627", side=OrderSide.BUY, quantity=Decimal("0.01"))
    assert order.instrument == "BTC/USDT:USDT-250627"
