"""Table tests for the Alpaca and generic HTTP tables, and a check that every row of every table is reachable."""

from __future__ import annotations

import pytest

from broker_integration.adapters.alpaca.errors import ALPACA_ERROR_TABLE
from broker_integration.errors import (
    BUILTIN_ERROR_TABLES,
    HTTP_ERROR_TABLE,
    ErrorMappingTable,
    MappingRow,
    MatchSource,
    StandardErrorCode,
    get_error_table,
    map_broker_error,
    map_http_error,
    resolve_error_mapping,
)

C = StandardErrorCode

# (code, message, HTTP status) -> expected standard code, with the recorded bodies the Alpaca table cites
ALPACA_CASES: list[tuple[str | None, str, int | None, StandardErrorCode]] = [
    # 40310000 is overloaded: split by message
    ("40310000", "insufficient buying power", 403, C.INSUFFICIENT_FUNDS),
    (
        "40310000",
        "insufficient qty available for order (requested: 1000, available: 0)",
        403,
        C.INSUFFICIENT_FUNDS,
    ),
    ("40310000", "account is not allowed to short", 403, C.PERMISSION_DENIED),
    ("40310000", "day trading margin call protection", 403, C.PERMISSION_DENIED),
    ("40310000", "trade denied due to pattern day trading protection", 403, C.PERMISSION_DENIED),
    ("40310000", "some new refusal", 403, C.PERMISSION_DENIED),  # never INSUFFICIENT_FUNDS blindly
    ("40310100", "", 403, C.PERMISSION_DENIED),
    ("40010000", "request body format is invalid", 400, C.INVALID_ORDER),
    ("40010001", "qty or notional is required", 422, C.INVALID_ORDER),
    ("40010001", "only one of qty or notional is accepted", 422, C.INVALID_ORDER),
    ("40010001", "qty must be integer", 422, C.INVALID_ORDER),
    ("40010001", "client_order_id must be unique", 422, C.DUPLICATE_ORDER),
    ("40010001", "us_equity orders not allowed for account", 422, C.PERMISSION_DENIED),
    ("40010001", 'asset "FOO" is not tradable', 422, C.INVALID_INSTRUMENT),
    ("40110000", "request is not authorized", 401, C.AUTHENTICATION_FAILED),
    ("40410000", "order not found", 404, C.ORDER_NOT_FOUND),
    ("40410000", "position does not exist", 404, C.POSITION_NOT_FOUND),
    ("40410000", 'asset "FOO" not found', 404, C.INVALID_INSTRUMENT),
    ("42210000", 'order is already in "filled" state', 422, C.ORDER_NOT_FOUND),
    (
        "42210000",
        "invalid limit_price 1.001. sub-penny increment does not fulfill minimum pricing criteria",
        422,
        C.INVALID_ORDER,
    ),
    ("42910000", "rate limit exceeded", 429, C.RATE_LIMITED),
    # without a code (plain-text bodies), messages then statuses decide
    (None, "insufficient buying power", 403, C.INSUFFICIENT_FUNDS),
    (None, "insufficient qty available for order", 403, C.INSUFFICIENT_FUNDS),
    (None, "account is not allowed to short", 403, C.PERMISSION_DENIED),
    (None, "day trading margin call protection", 403, C.PERMISSION_DENIED),
    (None, "client_order_id must be unique", 422, C.DUPLICATE_ORDER),
    (None, "request body format is invalid", 400, C.INVALID_ORDER),
    (None, "position does not exist", 404, C.POSITION_NOT_FOUND),
    (None, "order not found", 404, C.ORDER_NOT_FOUND),
    (None, 'order is already in "canceled" state', 422, C.ORDER_NOT_FOUND),
    (None, "Too Many Requests", 429, C.RATE_LIMITED),
    (None, "", 403, C.PERMISSION_DENIED),
    (None, "", 404, C.ORDER_NOT_FOUND),
    (None, "", 422, C.INVALID_ORDER),
    (None, "", 429, C.RATE_LIMITED),
    (None, "", 500, C.SERVICE_UNAVAILABLE),
]


@pytest.mark.parametrize(("code", "message", "status", "expected"), ALPACA_CASES)
def test_alpaca_rows(code: str | None, message: str, status: int | None, expected: StandardErrorCode) -> None:
    assert map_broker_error("alpaca", code, message, http_status=status).error_code is expected


def test_alpaca_40310000_advice_differs_by_message() -> None:
    power = map_broker_error("alpaca", "40310000", "insufficient buying power")
    qty = map_broker_error("alpaca", "40310000", "insufficient qty available for order")
    assert "buying power" in power.suggested_action.lower()
    assert "held_for_orders" in qty.suggested_action
    assert power.suggested_action != qty.suggested_action


def test_alpaca_real_body_from_alpaca_py_225() -> None:
    body = b'{"buying_power":"176531.28","code":40310000,"cost_basis":"48640000","message":"insufficient buying power"}'
    error = map_http_error("alpaca", 403, body)
    assert (error.error_code, error.broker_error_code, error.http_status) == (
        C.INSUFFICIENT_FUNDS,
        "40310000",
        403,
    )
    assert error.context["body"]["buying_power"] == "176531.28"


def test_every_alpaca_message_row_has_a_case() -> None:
    hit = {resolve_error_mapping("alpaca", c, m, s).key for c, m, s, _ in ALPACA_CASES}
    rows = {_row_key(r) for r in ALPACA_ERROR_TABLE.rows() if r.kind is not MatchSource.EXACT}
    assert rows <= hit, f"rows without a test case: {sorted(rows - hit)}"


# -- the generic HTTP table ----------------------------------------------------------------------

HTTP_CASES: list[tuple[int, StandardErrorCode]] = [
    (400, C.INVALID_ORDER),
    (401, C.AUTHENTICATION_FAILED),
    (403, C.PERMISSION_DENIED),
    (404, C.ORDER_NOT_FOUND),
    (405, C.UNSUPPORTED_OPERATION),
    (407, C.AUTHENTICATION_FAILED),
    (408, C.TIMEOUT),
    (409, C.INVALID_ORDER),
    (410, C.ORDER_NOT_FOUND),
    (413, C.INVALID_ORDER),
    (416, C.INVALID_ORDER),
    (418, C.RATE_LIMITED),
    (422, C.INVALID_ORDER),
    (429, C.RATE_LIMITED),
    (451, C.PERMISSION_DENIED),
    (500, C.SERVICE_UNAVAILABLE),
    (501, C.UNSUPPORTED_OPERATION),
    (502, C.SERVICE_UNAVAILABLE),
    (503, C.SERVICE_UNAVAILABLE),
    (504, C.TIMEOUT),
    (507, C.SERVICE_UNAVAILABLE),  # any 5xx
    (511, C.AUTHENTICATION_FAILED),
]


@pytest.mark.parametrize(("status", "expected"), HTTP_CASES)
def test_http_rows(status: int, expected: StandardErrorCode) -> None:
    error = map_broker_error("a-broker-without-a-table", None, "", http_status=status)
    assert error.error_code is expected
    assert error.retryable is (expected in (C.RATE_LIMITED, C.SERVICE_UNAVAILABLE, C.TIMEOUT))


@pytest.mark.parametrize("status", [402, 406, 411, 300, 302, 200])
def test_unlisted_non_5xx_statuses_stay_unknown(status: int) -> None:
    assert map_broker_error("a-broker-without-a-table", None, "", http_status=status).error_code is C.UNKNOWN


HTTP_MESSAGE_CASES = [
    ("Rate limit exceeded", C.RATE_LIMITED),
    ("rate-limited, slow down", C.RATE_LIMITED),
    ("Insufficient balance for this order", C.INSUFFICIENT_FUNDS),
    ("The market is closed", C.MARKET_CLOSED),
    ("Invalid symbol", C.INVALID_INSTRUMENT),
    ("upstream request timed out", C.TIMEOUT),
    ("Service Unavailable", C.SERVICE_UNAVAILABLE),
]


@pytest.mark.parametrize(("message", "expected"), HTTP_MESSAGE_CASES)
def test_http_message_rows(message: str, expected: StandardErrorCode) -> None:
    assert map_broker_error("a-broker-without-a-table", None, message).error_code is expected


def test_every_generic_pattern_row_has_a_case() -> None:
    hit = {resolve_error_mapping("http", None, m).key for m, _ in HTTP_MESSAGE_CASES}
    rows = {r.key for r in HTTP_ERROR_TABLE.rows() if r.kind is MatchSource.PATTERN}
    assert rows <= hit


@pytest.mark.parametrize("code", [c for c in StandardErrorCode if c is not C.UNKNOWN])
def test_standard_codes_map_to_themselves(code: StandardErrorCode) -> None:
    assert map_broker_error("paper", code.value, "x").error_code is code


def test_generic_table_does_not_misread_4xx_as_outages() -> None:
    # CCXT's default maps 400/403/404 to ExchangeNotAvailable (issue #550); ours must not be transient.
    for status in (400, 403, 404):
        assert not map_broker_error("nobody", None, "", http_status=status).retryable


# -- every row of every shipped table is reachable -----------------------------------------------


def _row_key(row: MappingRow) -> str:
    return f"{row.key} ~ {row.pattern}" if row.kind is MatchSource.BY_MESSAGE else row.key


def _builtin_table(name: str) -> ErrorMappingTable:
    table = get_error_table(name)
    assert table is not None, name
    return table


def _all_rows() -> list[tuple[str, MappingRow]]:
    return [(name, row) for name in BUILTIN_ERROR_TABLES for row in _builtin_table(name).rows()]


@pytest.mark.parametrize(
    ("broker", "row"),
    [
        (n, r)
        for n, r in _all_rows()
        if r.kind in (MatchSource.EXACT, MatchSource.HTTP_STATUS, MatchSource.HTTP_STATUS_CLASS)
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.kind.value}:{v.key}",
)
def test_every_exact_and_status_row_is_reachable(broker: str, row: MappingRow) -> None:
    if row.kind is MatchSource.EXACT:
        match = resolve_error_mapping(broker, row.key, "")
    elif row.kind is MatchSource.HTTP_STATUS:
        match = resolve_error_mapping(broker, None, "", int(row.key))
    else:
        table = _builtin_table(broker)
        first = int(row.key[0]) * 100
        status = next(s for s in range(first, first + 100) if s not in table.http_status)
        match = resolve_error_mapping(broker, None, "", status)
    assert (match.code, match.source, match.table) == (row.code, row.kind, broker)
    assert match.suggested_action == row.suggested_action
    assert row.suggested_action.strip()
