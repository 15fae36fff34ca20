"""Reading a Binance request's parameters as Binance does (``rest-api.md``, "General Information on
Endpoints"): from the query string, and for POST, PUT and DELETE also from an
``application/x-www-form-urlencoded`` body; a parameter in both is taken from the query string. Every
parameter sent must be one the endpoint reads (``-1104``), may be sent once (``-1101``), and must be of its
type: decimals and longs are digits, enums one of their values (Binance's ``-1100``, ``-1102`` and the
enum codes). The raw texts are kept for the signature check, which signs what was sent, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from aiohttp import web

from broker_integration.sim.binance.errors import (
    BinanceError,
    illegal_characters,
    mandatory,
    unknown_parameter,
)

__all__ = ["Params", "read_params"]

#: Binance's legal range for a DECIMAL parameter, as its -1100 message states it.
DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$", re.ASCII)
_LONG = re.compile(r"^[0-9]{1,19}$", re.ASCII)
_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$", re.ASCII)
CLIENT_ID_RANGE = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
#: Characters of a request's raw query or body the simulator reads at most (a longer one is malformed).
_MAX_RAW = 16_384


class Params:
    """The parameters of one request, read once each; :meth:`finish` refuses any the endpoint did not read."""

    def __init__(self, values: dict[str, str], raw_query: str, raw_body: str) -> None:
        self._values = values
        self._read: set[str] = set()
        self.raw_query = raw_query
        self.raw_body = raw_body

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def text(self, name: str, *, required: bool = False) -> str | None:
        """The parameter as sent, or ``None``; an empty value counts as not sent (``-1102`` if required)."""
        self._read.add(name)
        value = self._values.get(name)
        if value is None or value == "":
            if required:
                raise mandatory(name)
            return None
        return value

    def required(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _DECIMAL.match(value):
            raise illegal_characters(name, DECIMAL_RANGE)
        try:
            return Decimal(value)
        except InvalidOperation:
            raise illegal_characters(name, DECIMAL_RANGE) from None

    def long(self, name: str, *, required: bool = False) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _LONG.match(value) or int(value) >= 2**63:
            raise illegal_characters(name, "^[0-9]{1,20}$")
        return int(value)

    def client_id(self, name: str) -> str | None:
        """A client order id: Binance's legal characters, 1 to 36 of them."""
        value = self.text(name)
        if value is not None and not _CLIENT_ID.match(value):
            raise illegal_characters(name, CLIENT_ID_RANGE)
        return value

    def choice(
        self, name: str, allowed: Iterable[str], error: BinanceError, *, required: bool = False
    ) -> str | None:
        """An enum parameter: one of ``allowed`` (case as Binance spells it), else ``error``."""
        value = self.text(name, required=required)
        if value is not None and value not in allowed:
            raise error
        return value

    def one_of(self, name: str, allowed: Iterable[str], error: BinanceError) -> str:
        """A mandatory enum parameter (``-1102`` when missing)."""
        value = self.choice(name, allowed, error, required=True)
        assert value is not None
        return value

    def accept(self, *names: str) -> None:
        """Parameters the endpoint takes that the simulator does not act on (documented, so never -1104)."""
        self._read.update(names)

    def accept_all(self) -> None:
        """Every parameter sent counts as read."""
        self._read.update(self._values)

    def finish(self) -> None:
        """Refuse the request if it sent a parameter the endpoint does not read (``-1104``)."""
        unread = set(self._values) - self._read
        if unread:
            raise unknown_parameter(len(self._values) - len(unread), len(self._values))


def _pairs(raw: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError:
        raise BinanceError(400, -1101, "Too many parameters sent for this endpoint.") from None


async def read_params(request: web.Request) -> Params:
    """The request's parameters: query string first, then a form body (POST, PUT, DELETE)."""
    raw_query = request.rel_url.raw_query_string
    raw_body = ""
    if request.method in ("POST", "PUT", "DELETE") and request.can_read_body:
        body = await request.read()
        raw_body = body.decode("utf-8", errors="replace")
    if len(raw_query) > _MAX_RAW or len(raw_body) > _MAX_RAW:
        raise BinanceError(400, -1101, "Too many parameters sent for this endpoint.")
    values: dict[str, str] = {}
    for source in (_pairs(raw_query), _pairs(raw_body)):
        seen: set[str] = set()
        for name, value in source:
            if name in seen:
                raise BinanceError(400, -1101, "Duplicate values for a parameter detected.")
            seen.add(name)
            values.setdefault(name, value)  # the query string's value wins
    return Params(values, raw_query, raw_body)
