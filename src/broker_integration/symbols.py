"""Canonical instrument symbols and the one place where they are mapped to each broker's spelling.

Canonical form: currency pairs and crypto as ``BASE/QUOTE`` (``EUR/USD``, ``BTC/USD``), equities as
their ticker (``AAPL``). Brokers spell them differently (OANDA ``EUR_USD``, some venues ``EURUSD``);
adapters translate through a :class:`SymbolMapper` and nothing else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

_PAIR = re.compile(r"^([A-Z0-9]{2,10})[/_\-]([A-Z0-9]{2,10})$")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")

#: Quote currencies recognised at the end of a concatenated pair (``EURUSD``, ``BTCUSDT``), longest first.
CONCAT_QUOTES: tuple[str, ...] = (
    "USDT",
    "USDC",
    "USD",
    "EUR",
    "JPY",
    "GBP",
    "CHF",
    "CAD",
    "AUD",
    "NZD",
    "BTC",
    "ETH",
)


class SymbolStyle(StrEnum):
    """How a broker writes a pair."""

    SLASH = "slash"  # EUR/USD
    UNDERSCORE = "underscore"  # EUR_USD (OANDA)
    CONCAT = "concat"  # EURUSD


def canonical_symbol(symbol: str) -> str:
    """Return the canonical spelling of ``symbol`` or raise ``ValueError`` naming it.

    Accepts ``eur/usd``, ``EUR_USD`` and ``EUR-USD`` for pairs and plain tickers such as ``AAPL``.
    """
    if not isinstance(symbol, str):
        raise TypeError(f"instrument must be a string, got {type(symbol).__name__}")
    return _canonical(symbol)


@functools.lru_cache(maxsize=4096)  # every order and tick passes here; a venue lists a few hundred names
def _canonical(symbol: str) -> str:
    text = symbol.strip().upper()
    pair = _PAIR.match(text)
    if pair:
        return f"{pair.group(1)}/{pair.group(2)}"
    if _TICKER.match(text):
        return text
    raise ValueError(
        f"instrument {symbol!r} is not a symbol: use BASE/QUOTE for pairs (EUR/USD) or a ticker (AAPL)"
    )


def split_pair(symbol: str) -> tuple[str, str] | None:
    """``('EUR', 'USD')`` for a canonical pair, ``None`` for a ticker."""
    base, sep, quote = canonical_symbol(symbol).partition("/")
    return (base, quote) if sep else None


@dataclass(frozen=True)
class SymbolMapper:
    """Translates canonical symbols to one broker's spelling and back.

    ``overrides`` maps canonical symbol to broker symbol for the names no style covers
    (``{"SPX500/USD": "SPX500_USD"}`` or a renamed ticker).
    """

    style: SymbolStyle = SymbolStyle.SLASH
    overrides: Mapping[str, str] = field(default_factory=dict)
    #: Translations already made, both ways (every order and tick is translated).
    _to_broker: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _from_broker: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def to_broker(self, symbol: str) -> str:
        known = self._to_broker.get(symbol) if isinstance(symbol, str) else None
        return known if known is not None else _remember(self._to_broker, symbol, self._spell(symbol))

    def from_broker(self, broker_symbol: str) -> str:
        known = self._from_broker.get(broker_symbol) if isinstance(broker_symbol, str) else None
        if known is not None:
            return known
        return _remember(self._from_broker, broker_symbol, self._read(broker_symbol))

    def _spell(self, symbol: str) -> str:
        canonical = canonical_symbol(symbol)
        if canonical in self.overrides:
            return self.overrides[canonical]
        pair = split_pair(canonical)
        if pair is None:
            return canonical
        base, quote = pair
        if self.style is SymbolStyle.UNDERSCORE:
            return f"{base}_{quote}"
        if self.style is SymbolStyle.CONCAT:
            return f"{base}{quote}"
        return canonical

    def _read(self, broker_symbol: str) -> str:
        for canonical, spelled in self.overrides.items():
            if spelled == broker_symbol:
                return canonical
        if self.style is SymbolStyle.CONCAT and isinstance(broker_symbol, str):
            text = broker_symbol.strip().upper()
            for quote in CONCAT_QUOTES:
                base = text[: -len(quote)]
                if text.endswith(quote) and 2 <= len(base) <= 10 and base.isalnum():
                    return f"{base}/{quote}"
        return canonical_symbol(broker_symbol)


_MEMO_LIMIT = 4096


def _remember(memo: dict[str, str], key: str, value: str) -> str:
    if len(memo) >= _MEMO_LIMIT:  # a bound, so a stream of odd names cannot grow it without end
        memo.clear()
    memo[key] = value
    return value
