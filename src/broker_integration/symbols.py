"""Canonical instrument symbols and the one place where they are mapped to each broker's spelling.

Canonical form: currency pairs and crypto as ``BASE/QUOTE`` (``EUR/USD``, ``BTC/USD``), equities as
their ticker (``AAPL``), and crypto derivatives in CCXT's unified form: ``BASE/QUOTE:SETTLE`` for a
perpetual swap (``BTC/USDT:USDT`` linear, ``ETH/USD:ETH`` inverse), ``-YYMMDD`` appended for a dated
future (``BTC/USDT:USDT-250627``) and ``-STRIKE-C`` or ``-STRIKE-P`` after that for an option
(``BTC/USD:BTC-250627-60000-C``); see CCXT's manual, "Contract naming conventions". Brokers spell them
differently (OANDA ``EUR_USD``, some venues ``EURUSD``); adapters translate through a
:class:`SymbolMapper` and nothing else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

_PAIR = re.compile(r"^([A-Z0-9]{2,10})[/_\-]([A-Z0-9]{2,10})$")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
#: CCXT's unified contract symbol: BASE/QUOTE:SETTLE, then -YYMMDD (expiry), then -STRIKE-C|P (option).
_CONTRACT = re.compile(
    r"^([A-Z0-9]{2,10})/([A-Z0-9]{2,10}):([A-Z0-9]{2,10})"
    r"(?:-(\d{6})(?:-(\d{1,12}(?:\.\d{1,12})?)-([CP]))?)?$"
)

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


class OptionType(StrEnum):
    """An option's right, as CCXT's unified symbols end: ``C`` (call) or ``P`` (put)."""

    CALL = "C"
    PUT = "P"


@dataclass(frozen=True, slots=True)
class SymbolParts:
    """A canonical symbol taken apart: a ticker has only ``base``; a pair adds ``quote``; a contract adds
    the currency it settles in, a future its expiry date, an option its strike and right."""

    base: str
    quote: str | None = None
    settle: str | None = None
    expiry: date | None = None
    strike: Decimal | None = None
    option_type: OptionType | None = None

    @property
    def is_contract(self) -> bool:
        """A derivative (swap, future or option) rather than a spot pair or a ticker."""
        return self.settle is not None

    @property
    def is_inverse(self) -> bool:
        """A contract settled in its base currency (``ETH/USD:ETH``), not its quote currency."""
        return self.settle is not None and self.settle == self.base and self.settle != self.quote


def canonical_symbol(symbol: str) -> str:
    """Return the canonical spelling of ``symbol`` or raise ``ValueError`` naming it.

    Accepts ``eur/usd``, ``EUR_USD`` and ``EUR-USD`` for pairs, plain tickers such as ``AAPL``, and CCXT's
    unified contract symbols in any case (``btc/usdt:usdt``, ``BTC/USDT:USDT-250627``).
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
    if ":" in text:
        return _contract(symbol, text).group(0)
    raise ValueError(
        f"instrument {symbol!r} is not a symbol: use BASE/QUOTE for pairs (EUR/USD), a ticker (AAPL) or "
        "BASE/QUOTE:SETTLE[-YYMMDD[-STRIKE-C|P]] for a contract (BTC/USDT:USDT)"
    )


def _contract(symbol: str, text: str) -> re.Match[str]:
    """The match of a unified contract symbol, its expiry checked to be a real date."""
    match = _CONTRACT.match(text)
    if match is None:
        raise ValueError(
            f"instrument {symbol!r} is not a symbol: a contract is BASE/QUOTE:SETTLE (BTC/USDT:USDT), "
            "-YYMMDD after it for a future (BTC/USDT:USDT-250627), then -STRIKE-C or -STRIKE-P for an option"
        )
    expiry = match.group(4)
    if expiry is not None:
        _expiry_date(symbol, expiry)
    return match


def _expiry_date(symbol: str, text: str) -> date:
    try:
        return datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        raise ValueError(
            f"instrument {symbol!r} is not a symbol: its expiry {text} is not a date (YYMMDD)"
        ) from None


def parse_symbol(symbol: str) -> SymbolParts:
    """``symbol`` (any spelling :func:`canonical_symbol` accepts) taken apart into its parts."""
    canonical = canonical_symbol(symbol)
    contract = _CONTRACT.match(canonical)
    if contract is not None:
        base, quote, settle, expiry, strike, right = contract.groups()
        return SymbolParts(
            base,
            quote,
            settle,
            None if expiry is None else _expiry_date(symbol, expiry),
            None if strike is None else Decimal(strike),
            None if right is None else OptionType(right),
        )
    base, sep, quote = canonical.partition("/")
    return SymbolParts(base, quote) if sep else SymbolParts(base)


def split_pair(symbol: str) -> tuple[str, str] | None:
    """``('EUR', 'USD')`` for a canonical pair (for a contract, the pair it is quoted in: ``('BTC', 'USDT')``
    for ``BTC/USDT:USDT``), ``None`` for a ticker."""
    parts = parse_symbol(symbol)
    return None if parts.quote is None else (parts.base, parts.quote)


@dataclass(frozen=True)
class SymbolMapper:
    """Translates canonical symbols to one broker's spelling and back.

    ``overrides`` maps canonical symbol to broker symbol for the names no style covers
    (``{"SPX500/USD": "SPX500_USD"}``, a renamed ticker, or a venue's own name for a contract such as
    ``{"BTC/USDT:USDT": "BTCUSDT"}``). The SLASH style is CCXT's unified spelling, contracts included; the
    UNDERSCORE and CONCAT styles spell spot pairs only, so a contract needs its override there.
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
        parts = parse_symbol(canonical)
        if parts.quote is None or self.style is SymbolStyle.SLASH:
            return canonical
        if parts.is_contract:
            raise ValueError(
                f"instrument {canonical!r} is a contract: the {self.style.value} style spells spot pairs only; "
                "give the venue's name for it in the mapper's overrides"
            )
        base, quote = parts.base, parts.quote
        if self.style is SymbolStyle.UNDERSCORE:
            return f"{base}_{quote}"
        return f"{base}{quote}"

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
