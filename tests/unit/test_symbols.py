"""Canonical symbols and the one mapper between them and each broker's spelling."""

from __future__ import annotations

import pytest

from broker_integration.symbols import SymbolMapper, SymbolStyle, canonical_symbol, split_pair


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
