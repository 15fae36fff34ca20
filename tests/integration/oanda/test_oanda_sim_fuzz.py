"""No input makes the OANDA simulator answer 500 or crash: every endpoint's body, path and query fuzzed with
hypothesis over real loopback sockets.

The simulator runs on its own event loop in a thread; each example is one HTTP/1.1 request on a fresh
connection, written byte for byte (so bodies can be non-JSON, non-UTF-8 or deeply nested). Every answer
must be one the v20 spec lists (200/201, or 400/401/403/404/405/416 with OANDA's JSON error body:
``errorMessage``, and for a refused order action the reject transaction and ``errorCode``), and the server
must still answer afterwards.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oanda_fixtures import ALWAYS_OPEN

from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings

_EXAMPLES = 150
_ALLOWED = frozenset({200, 201, 400, 401, 403, 404, 405, 416})
_REJECT_KEYS = ("orderRejectTransaction", "orderCancelRejectTransaction", "longOrderRejectTransaction")


@dataclass(frozen=True)
class Served:
    port: int
    token: str
    account: str


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """A simulator on its own loop in a thread, for the synchronous hypothesis tests."""
    loop = asyncio.new_event_loop()
    sim = OandaSimulator(profile=ALWAYS_OPEN, settings=SimulatorSettings(max_requests_per_second=None))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(sim.start(), loop).result(10)
    try:
        yield Served(sim.port, sim.token, sim.account_id)
    finally:
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def send(served: Served, method: str, target: str, body: bytes | None = None) -> Answer:
    """One request on a fresh connection; a stream's answer is read up to its headers only."""
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as conn:
        conn.sendall(head.encode("ascii") + (body or b""))
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            assert chunk, f"the server closed the connection without an answer to {method} {target}"
            received += chunk
        headers, _, rest = received.partition(b"\r\n\r\n")
        status = int(headers.split(b" ", 2)[1])
        if b"/stream" in target.encode() and status == 200:
            return Answer(status, b"")
        while chunk := conn.recv(65536):
            rest += chunk
    if b"transfer-encoding: chunked" in headers.lower():
        rest = _unchunk(rest)
    return Answer(status, rest)


def _unchunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        length = int(size, 16)
        if not length:
            break
        out, rest = out + rest[:length], rest[length + 2 :]
    return out


def check(answer: Answer, what: str) -> dict[str, Any]:
    """The answer is one OANDA gives: a listed status, JSON, and an error body for an error."""
    assert answer.status in _ALLOWED, f"{what} answered {answer.status}: {answer.body[:300]!r}"
    if answer.status == 200 and not answer.body:
        return {}
    body = orjson.loads(answer.body)
    assert isinstance(body, dict), what
    if answer.status >= 400:
        assert isinstance(body.get("errorMessage"), str), f"{what}: no errorMessage in {body}"
        if any(key in body for key in _REJECT_KEYS):
            assert body["errorCode"], f"{what}: a reject names its reason"
    return body


# ------------------------------------------------------------------------------------------ strategies

_NUMBER_TEXTS = st.sampled_from(
    ["1e30", "-1e30", "1E-30", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "0", "-0", "0.0", "1", "-1",
     "100", "1.5", "0.00001", "1" * 40, "9" * 5000, "1.123456789012345678901234567890", "", " ", "1,5",
     "0x10", "\uff11\uff10\uff10", "\u00b2", "1e", ".", "+5", "--5"]
)  # fmt: skip
_NUMBERS = (
    _NUMBER_TEXTS
    | st.from_regex(r"-?[0-9]{1,70}(\.[0-9]{1,40})?", fullmatch=True)
    | st.text(alphabet="0123456789", min_size=25, max_size=70)  # more digits than a 28-digit context holds
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
)
_SCALARS = st.none() | st.booleans() | _NUMBERS | st.text(max_size=40)
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_INSTRUMENTS = st.sampled_from(["EUR_USD", "USD_JPY", "EUR/USD", "eur_usd", "XXX_YYY", ""]) | st.text(
    max_size=12
)
_ORDER_FIELDS: dict[str, Any] = {
    "type": st.sampled_from(["MARKET", "LIMIT", "STOP", "MARKET_IF_TOUCHED", "TAKE_PROFIT", "market"])
    | _SCALARS,
    "instrument": _INSTRUMENTS | _SCALARS,
    "units": _NUMBERS | _JSON,
    "price": _NUMBERS | _JSON,
    "priceBound": _NUMBERS,
    "timeInForce": st.sampled_from(["FOK", "IOC", "GTC", "GTD", "GFD", "DAY"]) | _SCALARS,
    "gtdTime": st.sampled_from(["2099-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "999999999999", "x"])
    | _SCALARS,
    "positionFill": st.sampled_from(["DEFAULT", "REDUCE_ONLY", "bogus"]) | _SCALARS,
    "triggerCondition": st.sampled_from(["DEFAULT", "MID", "bogus"]) | _SCALARS,
    "clientExtensions": _JSON,
    "tradeClientExtensions": _JSON,
    "takeProfitOnFill": _JSON,
    "stopLossOnFill": _JSON,
    "trailingStopLossOnFill": _JSON,
}
_WELL_FORMED = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["MARKET", "LIMIT", "STOP", "MARKET_IF_TOUCHED"]),
        "instrument": st.sampled_from(["EUR_USD", "USD_JPY"]),
        "units": st.sampled_from(["10", "-10"]),
        "price": st.sampled_from(["1.10000", "150.000"]),
    }
)
#: Mostly a well-formed order with one or two fields changed or dropped (so the venue itself judges it),
#: sometimes anything at all.
_ORDERS = st.tuples(
    _WELL_FORMED,
    st.lists(st.sampled_from(sorted(_ORDER_FIELDS)), max_size=2, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: _ORDER_FIELDS[key] for key in keys})
    ),
    st.sets(st.sampled_from(["type", "instrument", "units", "price"]), max_size=1),
    st.dictionaries(st.text(max_size=10), _JSON, max_size=1),
).map(
    lambda parts: {k: v for k, v in {**parts[3], **parts[0], **parts[1]}.items() if k not in parts[2]}
) | st.fixed_dictionaries({}, optional=_ORDER_FIELDS)
_BODIES = (
    _ORDERS.map(lambda order: json.dumps({"order": order}, allow_nan=True).encode())
    | _JSON.map(lambda value: json.dumps(value, allow_nan=True).encode())
    | st.binary(max_size=200)
    | st.integers(min_value=1, max_value=3000).map(lambda depth: b"[" * depth + b"]" * depth)
    | st.integers(min_value=1, max_value=3000).map(lambda depth: b'{"order":' * depth + b"1" + b"}" * depth)
    | st.sampled_from([b"", b"null", b'"\xff\xfe"', b"\xff\xfe\x00", b'{"order": NaN}', b'{"units": 1e999}'])
)
_SEGMENTS = (
    st.sampled_from(["1", "2", "0", "@c", "@", "EUR_USD", "999999999999999999999999", "%FF", "%00", "%2F", "..", "-1"])
    | st.text(max_size=20).map(lambda text: quote(text, safe=""))
    | st.binary(max_size=8).map(lambda raw: quote(raw, safe=""))
)  # fmt: skip
_ROUTES = [
    ("POST", "orders"),
    ("PUT", "orders/{}"),
    ("PUT", "orders/{}/cancel"),
    ("PUT", "trades/{}/close"),
    ("PUT", "positions/{}/close"),
]
_GETS = [
    ("orders", ["state", "instrument", "count", "beforeID", "ids"]),
    ("trades", ["state", "instrument", "count", "beforeID", "ids"]),
    ("transactions", ["from", "to", "pageSize", "type"]),
    ("transactions/idrange", ["from", "to", "type"]),
    ("transactions/sinceid", ["id", "type"]),
    ("transactions/{}", []),
    ("trades/{}", []),
    ("orders/{}", []),
    ("positions/{}", []),
    ("pricing", ["instruments", "since", "includeUnitsAvailable", "includeHomeConversions"]),
    ("instruments", ["instruments"]),
    ("instruments/{}/candles", ["price", "granularity", "count", "from", "to", "smooth", "includeFirst"]),
    ("pricing/stream", ["instruments", "snapshot"]),
    ("transactions/stream", []),
]
_QUERY_VALUES = (
    st.sampled_from(["EUR_USD", "ALL", "PENDING", "OPEN", "1", "0", "-1", "1001", "M5", "MBA", "true", "2024-01-01T00:00:00Z",
                     "9999-12-31T23:59:59-23:59", "999999999999.5", "ORDER_FILL,ORDER", "9" * 4400, "\u0661\u0662"])
    | st.text(max_size=20)
)  # fmt: skip


def _target(served: Served, template: str, segment: str, query: dict[str, str] | None = None) -> str:
    path = f"/v3/accounts/{served.account}/{template.format(segment)}"
    return f"{path}?{urlencode(query, encoding='utf-8', errors='surrogatepass')}" if query else path


_FUZZ = settings(
    max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# ------------------------------------------------------------------------------------------ the tests


@_FUZZ
@given(route=st.sampled_from(_ROUTES), segment=_SEGMENTS, body=_BODIES)
def test_order_and_close_bodies_never_give_500(
    served: Served, route: tuple[str, str], segment: str, body: bytes
) -> None:
    method, template = route
    target = _target(served, template, segment)
    check(send(served, method, target, body), f"{method} {target} with {body[:80]!r}")


@_FUZZ
@given(
    order=_WELL_FORMED,
    field=st.sampled_from(["units", "price", "priceBound", "stopLossOnFill", "takeProfitOnFill"]),
    value=_NUMBERS,
    route=st.sampled_from([("POST", "orders"), ("PUT", "orders/{}"), ("PUT", "trades/{}/close")]),
)
def test_numbers_in_orders_never_give_500(
    served: Served, order: dict[str, Any], field: str, value: Any, route: tuple[str, str]
) -> None:
    """A well-formed order with one number made absurd, so that the venue itself has to judge it."""
    nested = {"price": value} if field.endswith("OnFill") else value
    body = {"order": {**order, field: nested}} if route[1] != "trades/{}/close" else {"units": value}
    target = _target(served, route[1], "2")
    check(send(served, route[0], target, json.dumps(body, allow_nan=True).encode()), f"{target} {body}")


@_FUZZ
@given(
    route=st.sampled_from(_GETS),
    segment=_SEGMENTS,
    values=st.lists(_QUERY_VALUES, min_size=0, max_size=5).filter(lambda v: sum(map(len, v)) < 6000),
    junk=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
)
def test_queries_and_paths_never_give_500(
    served: Served, route: tuple[str, list[str]], segment: str, values: list[str], junk: dict[str, str]
) -> None:
    template, keys = route
    query = {**junk, **dict(zip(keys, values, strict=False))}
    target = _target(served, template, segment, query)
    check(send(served, "GET", target), f"GET {target}")


@_FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    template=st.sampled_from([t for _, t in _ROUTES] + [t for t, _ in _GETS] + ["", "summary", "nothing/{}"]),
    segment=_SEGMENTS,
)
def test_wrong_methods_and_paths_get_oanda_bodies(
    served: Served, method: str, template: str, segment: str
) -> None:
    target = _target(served, template, segment)
    check(
        send(served, method, target, b"{}" if method in ("POST", "PUT", "PATCH") else None),
        f"{method} {target}",
    )


def test_the_server_still_serves_after_the_fuzzing(served: Served) -> None:
    body = check(send(served, "GET", f"/v3/accounts/{served.account}/summary"), "summary")
    assert body["account"]["id"] == served.account
