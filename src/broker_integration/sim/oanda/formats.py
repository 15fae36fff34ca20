"""v20 value formats, as the simulator writes and reads them (reference §1.2).

Decimals are JSON strings at a fixed precision (prices at the instrument's display precision, money at
four places, units at the instrument's units precision, signed); times are RFC 3339 UTC with nine
fractional digits, or UNIX seconds as a string when the client sent ``Accept-Datetime-Format: UNIX``;
ids are numeric strings; instruments are spelled ``EUR_USD``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum

from broker_integration.sim.instruments import InstrumentSpec
from broker_integration.symbols import SymbolMapper, SymbolStyle

__all__ = [
    "MONEY_PLACES",
    "InstrumentNames",
    "TimeFormat",
    "decimal_text",
    "money",
    "numeric",
    "parse_decimal",
    "parse_time",
    "price",
    "units",
    "units_places",
]

MONEY_PLACES = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$", re.ASCII
)
_UNIX = re.compile(r"^(\d{1,12})(?:\.(\d{1,9}))?$", re.ASCII)
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(13)}
_NUMERIC = re.compile(r"[0-9]{1,18}")
_MAX_DECIMAL_TEXT = 64  # characters: a longer number in a request is refused, not computed with


class TimeFormat(StrEnum):
    """The two ``Accept-Datetime-Format`` values (spec enum ``AcceptDatetimeFormat``)."""

    RFC3339 = "RFC3339"
    UNIX = "UNIX"

    @classmethod
    def from_header(cls, value: str | None) -> TimeFormat:
        """The format a request asked for; RFC 3339 when absent or unrecognised (the v20 default)."""
        return cls.UNIX if value is not None and value.strip().upper() == "UNIX" else cls.RFC3339

    def render(self, when: datetime) -> str:
        """``when`` as v20 writes it: nine fractional digits, in UTC."""
        utc = when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)
        if self is TimeFormat.UNIX:
            seconds = (utc - _EPOCH) // timedelta(seconds=1)
            return f"{seconds}.{utc.microsecond:06d}000"
        return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}000Z"


def numeric(text: str) -> int | None:
    """A non-negative integer written in ASCII digits (an id, a count), or ``None``; at most 18 digits, so
    what a client sends never becomes an unbounded number."""
    return int(text) if _NUMERIC.fullmatch(text) else None


def parse_time(text: str) -> datetime:
    """An RFC 3339 or UNIX time from a request (query parameter or ``gtdTime``); ``ValueError`` if neither
    (or if it is outside what a ``datetime`` can hold)."""
    try:
        return _parse_time(text)
    except OverflowError:
        raise ValueError(f"time out of range: {text!r}") from None


def _parse_time(text: str) -> datetime:
    match = _RFC3339.match(text)
    if match is not None:
        day, clock, fraction, zone = match.groups()
        micros = (fraction or "").ljust(6, "0")[:6]
        offset = "+00:00" if zone == "Z" else zone
        return datetime.fromisoformat(f"{day}T{clock}.{micros}{offset}").astimezone(UTC)
    match = _UNIX.match(text)
    if match is not None:
        whole, fraction = match.groups()
        micros = int((fraction or "").ljust(6, "0")[:6])
        return _EPOCH + timedelta(seconds=int(whole), microseconds=micros)
    raise ValueError(f"not an RFC 3339 or UNIX time: {text!r}")


def parse_decimal(value: object) -> Decimal:
    """A v20 decimal from a request: a string (canonical) or a JSON number (accepted, as OANDA did)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a decimal number: {value!r}")
    text = value.strip() if isinstance(value, str) else repr(value)
    if len(text) > _MAX_DECIMAL_TEXT or not _DECIMAL.match(text):
        raise ValueError(f"not a decimal number: {value!r}")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid literals
        raise ValueError(f"not a decimal number: {value!r}") from exc


def decimal_text(value: Decimal, places: int) -> str:
    """``value`` rounded to ``places`` decimals, as a plain string without exponent or negative zero
    (exactly, however many digits it has above the point)."""
    quantum = _QUANTA[places] if places in _QUANTA else Decimal(1).scaleb(-places)
    with localcontext() as exact:
        exact.prec = max(exact.prec, value.adjusted() + places + 2)
        rounded = value.quantize(quantum)
    if not rounded:
        rounded = abs(rounded)
    return format(rounded, "f")


def price(value: Decimal, spec: InstrumentSpec) -> str:
    """A price at the instrument's display precision: ``"1.08512"``, ``"148.503"``."""
    return decimal_text(value, spec.instrument.display_precision)


def money(value: Decimal) -> str:
    """An amount of account currency at four places: ``"48695.6580"``."""
    return decimal_text(value, MONEY_PLACES)


def units_places(spec: InstrumentSpec) -> int:
    """The instrument's ``tradeUnitsPrecision``: decimals allowed in units (0 for currencies)."""
    exponent = spec.instrument.quantity_increment.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def units(value: Decimal, spec: InstrumentSpec) -> str:
    """Signed units: ``"100"`` to buy, ``"-100"`` to sell."""
    return decimal_text(value, units_places(spec))


class InstrumentNames:
    """The venue's instruments by their v20 names (``EUR_USD``), strictly: other spellings are unknown.

    OANDA answers 400 for ``EUR/USD`` or ``eur_usd``; so does the simulator, even though the engine
    itself accepts any spelling.
    """

    _mapper = SymbolMapper(SymbolStyle.UNDERSCORE)

    def __init__(self, specs: Iterable[InstrumentSpec]) -> None:
        self._by_name: dict[str, InstrumentSpec] = {}
        self._names: dict[str, str] = {}
        for spec in specs:
            name = self._mapper.to_broker(spec.symbol)
            self._by_name[name] = spec
            self._names[spec.symbol] = name

    def spec(self, name: str) -> InstrumentSpec | None:
        """The instrument named ``name`` exactly, or ``None``."""
        return self._by_name.get(name)

    def name(self, symbol: str) -> str:
        """The v20 name of an engine symbol (``EUR/USD`` → ``EUR_USD``)."""
        known = self._names.get(symbol)
        return known if known is not None else self._mapper.to_broker(symbol)

    @property
    def by_name(self) -> Mapping[str, InstrumentSpec]:
        return self._by_name
