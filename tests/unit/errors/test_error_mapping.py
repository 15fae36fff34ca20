"""map_broker_error: the seed's example, lookup order, retryability, Retry-After, masking, unmapped codes."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker_integration.clock import ManualClock
from broker_integration.errors import (
    DEFAULT_SUGGESTED_ACTIONS,
    TRANSIENT_CODES,
    ErrorMappingTable,
    MatchSource,
    StandardErrorCode,
    StandardizedError,
    get_error_table,
    is_retryable_code,
    make_error,
    map_broker_error,
    map_http_error,
    parse_retry_after,
    register_error_table,
    registered_error_tables,
    resolve_error_mapping,
    unmapped_error_counts,
    unregister_error_table,
)
from broker_integration.log import register_secret

C = StandardErrorCode


def test_seed_example() -> None:
    error = map_broker_error("oanda", "INSUFFICIENT_MARGIN", "Insufficient margin for order")
    assert isinstance(error, StandardizedError)
    assert error.error_code is C.INSUFFICIENT_FUNDS
    assert error.broker_name == "oanda"
    assert error.broker_error_code == "INSUFFICIENT_MARGIN"
    assert error.message == "Insufficient margin for order"
    assert error.retryable is False
    # actionable and OANDA-specific, not the generic default
    assert "units" in error.suggested_action
    assert "margin" in error.suggested_action
    assert error.suggested_action != DEFAULT_SUGGESTED_ACTIONS[C.INSUFFICIENT_FUNDS]


def test_seed_example_from_the_top_level_package() -> None:
    import broker_integration

    if not hasattr(broker_integration, "map_broker_error"):
        pytest.skip("broker_integration does not export map_broker_error yet (the lead's __init__.py)")
    error = broker_integration.map_broker_error(
        "oanda", "INSUFFICIENT_MARGIN", "Insufficient margin for order"
    )
    assert error.error_code is C.INSUFFICIENT_FUNDS
    assert error.suggested_action


def test_keyword_arguments_are_accepted() -> None:
    clock = ManualClock()
    error = map_broker_error(
        "oanda",
        None,
        "slow down",
        http_status=429,
        context={"operation": "place_order"},
        retry_after=2.5,
        clock=clock,
    )
    assert error.error_code is C.RATE_LIMITED
    assert error.http_status == 429
    assert error.retry_after == 2.5
    assert error.retryable is True
    assert error.timestamp == clock.now()
    assert error.context == {"operation": "place_order"}


# -- lookup order ------------------------------------------------------------------------------


def test_exact_code_beats_pattern_and_status() -> None:
    # The message would match the "insufficient margin" pattern and 400 is INVALID_ORDER: the code wins.
    match = resolve_error_mapping("oanda", "MARKET_HALTED", "Insufficient margin", 400)
    assert (match.code, match.source, match.key) == (C.MARKET_CLOSED, MatchSource.EXACT, "MARKET_HALTED")


def test_pattern_beats_status() -> None:
    match = resolve_error_mapping("oanda", None, "Invalid value specified for 'order.instrument'", 400)
    assert (match.code, match.source) == (C.INVALID_INSTRUMENT, MatchSource.PATTERN)


def test_unknown_code_falls_through_to_message_then_status() -> None:
    assert (
        resolve_error_mapping("oanda", "NEW_REASON", "Insufficient margin", 400).code is C.INSUFFICIENT_FUNDS
    )
    match = resolve_error_mapping("oanda", "NEW_REASON", "something else", 400)
    assert (match.code, match.source, match.table) == (C.INVALID_ORDER, MatchSource.HTTP_STATUS, "oanda")


def test_broker_without_a_status_row_falls_back_to_the_generic_table() -> None:
    match = resolve_error_mapping("oanda", None, "", 503)
    assert (match.code, match.table) == (C.SERVICE_UNAVAILABLE, "http")
    # … and keeps the broker's own advice for that code
    assert "OANDA" in match.suggested_action


def test_any_unlisted_5xx_is_service_unavailable() -> None:
    match = resolve_error_mapping("oanda", None, "", 599)
    assert (match.code, match.source, match.key) == (
        C.SERVICE_UNAVAILABLE,
        MatchSource.HTTP_STATUS_CLASS,
        "5xx",
    )


def test_codes_are_matched_case_insensitively_and_trimmed() -> None:
    assert map_broker_error("oanda", " insufficient_margin ").error_code is C.INSUFFICIENT_FUNDS
    assert map_broker_error("OANDA", "INSUFFICIENT_MARGIN").error_code is C.INSUFFICIENT_FUNDS


def test_integer_codes_are_strings() -> None:
    error = map_broker_error("alpaca", 40110000, "request is not authorized")
    assert error.broker_error_code == "40110000"
    assert error.error_code is C.AUTHENTICATION_FAILED


def test_unregistered_broker_uses_the_generic_table() -> None:
    assert map_broker_error("somebroker", None, "", http_status=401).error_code is C.AUTHENTICATION_FAILED
    assert (
        map_broker_error("somebroker", "RATE_LIMITED").error_code is C.RATE_LIMITED
    )  # a standard code as-is
    assert map_broker_error("somebroker", None, "Too Many Requests").error_code is C.RATE_LIMITED


# -- unknown errors ----------------------------------------------------------------------------


def test_unknown_code_is_unknown_logged_once_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="broker_integration.errors"):
        for _ in range(3):
            error = map_broker_error("oanda", "SOMETHING_NEW", "a reason nobody has seen")
    assert error.error_code is C.UNKNOWN
    assert error.retryable is False
    assert unmapped_error_counts() == {("oanda", "SOMETHING_NEW"): 3}
    lines = [r for r in caplog.records if "SOMETHING_NEW" in r.getMessage()]
    assert len(lines) == 1
    assert "oanda error table" in lines[0].getMessage()


def test_unknown_without_code_is_counted_by_status() -> None:
    map_broker_error("oanda", None, "teapot", http_status=418 - 1)  # 417: no row anywhere
    assert unmapped_error_counts() == {("oanda", "HTTP 417"): 1}
    map_broker_error("x", None, "")
    assert unmapped_error_counts()[("x", "-")] == 1


def test_mapped_errors_are_not_counted() -> None:
    map_broker_error("oanda", "INSUFFICIENT_MARGIN")
    map_broker_error("alpaca", None, "", http_status=500)
    assert unmapped_error_counts() == {}


# -- retryability and retry-after --------------------------------------------------------------


@pytest.mark.parametrize("code", list(StandardErrorCode))
def test_retryable_follows_the_code(code: StandardErrorCode) -> None:
    error = map_broker_error("somebroker", code.value)
    assert error.error_code is code or code is C.UNKNOWN
    assert error.retryable is (code in TRANSIENT_CODES and code is not C.OUTCOME_UNKNOWN)
    assert error.retryable is is_retryable_code(error.error_code)
    assert make_error(code, "x").retryable is is_retryable_code(code)


def test_outcome_unknown_is_never_retryable() -> None:
    assert C.OUTCOME_UNKNOWN in TRANSIENT_CODES
    assert not is_retryable_code(C.OUTCOME_UNKNOWN)
    assert map_broker_error("x", "OUTCOME_UNKNOWN").retryable is False


@pytest.mark.parametrize(
    ("status", "mapped"), [(504, C.TIMEOUT), (503, C.SERVICE_UNAVAILABLE), (502, C.SERVICE_UNAVAILABLE)]
)
def test_order_that_may_have_executed_becomes_outcome_unknown(status: int, mapped: StandardErrorCode) -> None:
    plain = map_broker_error("oanda", None, "", http_status=status)
    assert plain.error_code is mapped
    assert plain.retryable
    sent = map_broker_error("oanda", None, "", http_status=status, may_have_executed=True)
    assert sent.error_code is C.OUTCOME_UNKNOWN
    assert sent.retryable is False
    assert sent.context["mapped_code"] == mapped.value
    assert "resend" in sent.suggested_action.lower() or "look" in sent.suggested_action.lower()


def test_may_have_executed_leaves_refusals_and_rate_limits_alone() -> None:
    assert (
        map_broker_error("oanda", "INSUFFICIENT_MARGIN", may_have_executed=True).error_code
        is C.INSUFFICIENT_FUNDS
    )
    limited = map_broker_error("oanda", None, "", http_status=429, may_have_executed=True)
    assert limited.error_code is C.RATE_LIMITED
    assert limited.retryable


def test_429_without_header_gets_the_table_default_wait() -> None:
    assert map_broker_error("oanda", None, "", http_status=429).retry_after == 1.0
    assert map_broker_error("alpaca", None, "", http_status=429).retry_after == 3.0
    assert map_broker_error("nobody", None, "", http_status=429).retry_after == 1.0


def test_retry_after_header_in_seconds() -> None:
    error = map_broker_error("oanda", None, "", http_status=429, headers={"Retry-After": "7"})
    assert error.retry_after == 7.0


def test_retry_after_header_as_http_date() -> None:
    clock = ManualClock(datetime(2024, 1, 2, 14, 30, tzinfo=UTC))
    when = format_datetime(clock.now() + timedelta(seconds=30), usegmt=True)
    error = map_broker_error("oanda", None, "", http_status=429, headers={"retry-after": when}, clock=clock)
    assert error.retry_after == 30.0


def test_alpaca_ratelimit_reset_is_a_unix_time() -> None:
    clock = ManualClock(datetime(2024, 1, 2, 14, 30, tzinfo=UTC))
    reset = int(clock.now().timestamp()) + 20
    error = map_http_error(
        "alpaca",
        429,
        b'{"message":"rate limit exceeded"}',
        headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        clock=clock,
    )
    assert error.error_code is C.RATE_LIMITED
    assert error.retry_after == 20.0


def test_explicit_retry_after_wins_over_headers() -> None:
    error = map_broker_error(
        "oanda", None, "", http_status=429, headers={"Retry-After": "7"}, retry_after=1.5
    )
    assert error.retry_after == 1.5


def test_503_retry_after_is_kept_but_not_invented() -> None:
    assert (
        map_broker_error("oanda", None, "", http_status=503, headers={"Retry-After": "120"}).retry_after
        == 120.0
    )
    assert map_broker_error("oanda", None, "", http_status=503).retry_after is None
    assert map_broker_error("oanda", "INSUFFICIENT_MARGIN", headers={"Retry-After": "5"}).retry_after is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "1e12"}, 86_400.0),
        ({"RateLimit-Reset": "12"}, 12.0),
    ],
)
def test_parse_retry_after_is_defensive(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=datetime(2024, 1, 2, tzinfo=UTC)) == expected


# -- secrets -----------------------------------------------------------------------------------


def test_message_and_context_are_masked() -> None:
    register_secret("s3cr3t-token-value")
    error = map_broker_error(
        "oanda",
        None,
        "bad header Authorization: Bearer abcdef123456 and s3cr3t-token-value",
        http_status=401,
        context={"token": "abc", "headers": [{"Authorization": "Bearer xyz"}], "note": "Bearer qwerty123"},
    )
    dumped = error.model_dump_json()
    for secret in ("abcdef123456", "s3cr3t-token-value", "xyz", "qwerty123"):
        assert secret not in dumped
    assert error.context["token"] == "***"


def test_long_messages_are_clipped_and_empty_ones_described() -> None:
    page = "<html>" + "maintenance " * 500 + "</html>"
    assert len(map_broker_error("oanda", None, page, http_status=503).message) <= 1000
    assert map_broker_error("oanda", "INSUFFICIENT_MARGIN").message == "INSUFFICIENT_MARGIN"
    assert map_broker_error("oanda", None, "", http_status=401).message == "HTTP 401"


# -- map_http_error: real bodies ---------------------------------------------------------------


def test_oanda_400_reject_body() -> None:
    body = (
        '{"orderRejectTransaction":{"type":"MARKET_IF_TOUCHED_ORDER_REJECT","rejectReason":"PRICE_PRECISION_EXCEEDED"},'
        '"relatedTransactionIDs":["6"],"lastTransactionID":"6","errorCode":"PRICE_PRECISION_EXCEEDED",'
        '"errorMessage":"The price specified contains more precision than is allowed for the instrument"}'
    )
    error = map_http_error("oanda", 400, body)
    assert (error.error_code, error.broker_error_code, error.http_status) == (
        C.INVALID_ORDER,
        "PRICE_PRECISION_EXCEEDED",
        400,
    )
    assert error.message.startswith("The price specified")
    assert error.context["body"]["lastTransactionID"] == "6"


def test_oanda_201_immediate_cancel_is_mapped_by_its_reason() -> None:
    body = {
        "orderCreateTransaction": {"type": "MARKET_ORDER", "id": "7"},
        "orderCancelTransaction": {"type": "ORDER_CANCEL", "orderID": "7", "reason": "MARKET_HALTED"},
    }
    error = map_http_error("oanda", 201, body)
    assert (error.error_code, error.broker_error_code) == (C.MARKET_CLOSED, "MARKET_HALTED")


def test_oanda_404_cancel_reject_and_get_unknown_order() -> None:
    cancel = (
        '{"orderCancelRejectTransaction":{"type":"ORDER_CANCEL_REJECT","orderID":"9","rejectReason":"ORDER_DOESNT_EXIST"},'
        '"errorCode":"ORDER_DOESNT_EXIST","errorMessage":"The Order specified does not exist"}'
    )
    assert map_http_error("oanda", 404, cancel).error_code is C.ORDER_NOT_FOUND
    get = b'{"lastTransactionID":"1168","errorMessage":"The order ID specified does not exist","errorCode":"NO_SUCH_ORDER"}'
    error = map_http_error("oanda", 404, get)
    assert (error.error_code, error.broker_error_code) == (C.ORDER_NOT_FOUND, "NO_SUCH_ORDER")


def test_oanda_close_position_reject_code_is_found_in_the_long_side() -> None:
    body = {"longOrderRejectTransaction": {"rejectReason": "CLOSEOUT_POSITION_DOESNT_EXIST"}}
    assert map_http_error("oanda", 400, body).error_code is C.POSITION_NOT_FOUND


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, '{"errorMessage":"Insufficient authorization to perform request."}', C.AUTHENTICATION_FAILED),
        (403, '{"errorMessage":"The provided request was forbidden."}', C.PERMISSION_DENIED),
        (400, '{"errorMessage":"Invalid value specified for \'instrument\'"}', C.INVALID_INSTRUMENT),
        (400, '{"errorMessage":"The request was missing required data"}', C.INVALID_ORDER),
        (405, "", C.UNSUPPORTED_OPERATION),
        (429, "Too Many Requests", C.RATE_LIMITED),
        (503, "<html><body><h1>Down for maintenance</h1></body></html>", C.SERVICE_UNAVAILABLE),
        (500, b"\xff\xfe not utf-8", C.SERVICE_UNAVAILABLE),
        (400, "{not json", C.INVALID_ORDER),
    ],
)
def test_oanda_http_errors(status: int, body: str | bytes, expected: StandardErrorCode) -> None:
    assert map_http_error("oanda", status, body).error_code is expected


def test_alpaca_body_keeps_the_extra_fields() -> None:
    body = (
        '{"available":"0","code":40310000,"existing_qty":"1000","held_for_orders":"1000",'
        '"message":"insufficient qty available for order (requested: 1000, available: 0)","symbol":"SQQQ"}'
    )
    error = map_http_error("alpaca", 403, body)
    assert (error.error_code, error.broker_error_code) == (C.INSUFFICIENT_FUNDS, "40310000")
    assert error.context["body"]["held_for_orders"] == "1000"
    assert "held_for_orders" in error.suggested_action


# -- the registry ------------------------------------------------------------------------------


def test_builtin_tables_are_registered() -> None:
    assert {"http", "oanda", "alpaca"} <= set(registered_error_tables())
    assert get_error_table("OANDA") is get_error_table("oanda") is not None


def test_registering_a_user_table() -> None:
    table = ErrorMappingTable(
        exact={"E1": C.MARKET_CLOSED, "E2": (C.INVALID_ORDER, "Fix field X.")},
        patterns=[("no money", C.INSUFFICIENT_FUNDS)],
        http_status={409: C.DUPLICATE_ORDER},
        suggested_actions={C.MARKET_CLOSED: "Wait for the opening bell."},
    )
    register_error_table("MyBroker", table)
    register_error_table("mybroker", table)  # the same table again: a no-op
    assert map_broker_error("mybroker", "E1").suggested_action == "Wait for the opening bell."
    assert map_broker_error("mybroker", "E2").suggested_action == "Fix field X."
    assert map_broker_error("mybroker", None, "We have No Money").error_code is C.INSUFFICIENT_FUNDS
    assert map_broker_error("mybroker", None, "", http_status=409).error_code is C.DUPLICATE_ORDER
    assert map_broker_error("mybroker", None, "", http_status=401).error_code is C.AUTHENTICATION_FAILED
    with pytest.raises(ValueError, match="replace=True"):
        register_error_table("mybroker", ErrorMappingTable(exact={"E1": C.UNKNOWN}))
    register_error_table("mybroker", ErrorMappingTable(exact={"E1": C.TIMEOUT}), replace=True)
    assert map_broker_error("mybroker", "E1").error_code is C.TIMEOUT
    assert unregister_error_table("mybroker") is not None
    assert get_error_table("mybroker") is None


def test_a_table_registered_at_run_time_maps_codes_and_reads_bodies() -> None:
    table = ErrorMappingTable(
        exact={"ERR_FUNDS": C.INSUFFICIENT_FUNDS},
        code_fields=("error.kind",),
        message_fields=("error.text",),
    )
    assert map_broker_error("acme", "ERR_FUNDS").error_code is C.UNKNOWN  # no table knows it yet
    register_error_table("Acme", table)
    match = resolve_error_mapping("acme", "ERR_FUNDS")
    assert (match.code, match.source, match.table) == (C.INSUFFICIENT_FUNDS, MatchSource.EXACT, "acme")
    error = map_http_error("acme", 400, '{"error": {"kind": "ERR_FUNDS", "text": "no cash"}}')
    assert (error.error_code, error.broker_error_code, error.message) == (
        C.INSUFFICIENT_FUNDS,
        "ERR_FUNDS",
        "no cash",
    )
    assert registered_error_tables()["acme"] is table


def test_a_table_registered_at_run_time_replaces_a_built_in_one_only_when_asked() -> None:
    mine = ErrorMappingTable(exact={"INSUFFICIENT_MARGIN": (C.INSUFFICIENT_FUNDS, "Call the desk.")})
    with pytest.raises(ValueError, match="replace=True"):
        register_error_table("oanda", mine)
    register_error_table("OANDA", mine, replace=True)
    assert get_error_table("oanda") is mine
    assert map_broker_error("oanda", "INSUFFICIENT_MARGIN").suggested_action == "Call the desk."
    assert map_broker_error("oanda", None, "", http_status=503).error_code is C.SERVICE_UNAVAILABLE  # generic
    assert unregister_error_table("oanda") is mine
    assert get_error_table("oanda") is None  # a removed built-in does not come back on the next lookup


def test_registering_the_builtin_table_again_is_a_no_op() -> None:
    from broker_integration.adapters.oanda.errors import OANDA_ERROR_TABLE

    register_error_table("oanda", OANDA_ERROR_TABLE)
    assert get_error_table("oanda") is OANDA_ERROR_TABLE


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"exact": {"X": "INVALID_ORDER"}}, TypeError),
        ({"exact": {"X": (C.INVALID_ORDER, "")}}, TypeError),
        ({"exact": {"": C.INVALID_ORDER}}, ValueError),
        ({"patterns": [("(unclosed", C.INVALID_ORDER)]}, ValueError),
        ({"patterns": [("ok",)]}, TypeError),
        ({"http_status": {99: C.INVALID_ORDER}}, ValueError),
        ({"http_status_class": {6: C.INVALID_ORDER}}, ValueError),
        ({"suggested_actions": {C.INVALID_ORDER: ""}}, TypeError),
        ({"default_retry_after": math.inf}, ValueError),
        ({"by_message": {"X": [("[", C.INVALID_ORDER)]}}, ValueError),
    ],
)
def test_bad_tables_fail_at_construction(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        ErrorMappingTable(**kwargs)  # type: ignore[arg-type]


def test_tables_are_frozen() -> None:
    table = get_error_table("oanda")
    assert table is not None
    with pytest.raises(TypeError):
        table.exact["NEW"] = C.UNKNOWN  # type: ignore[index]


# -- never raises ------------------------------------------------------------------------------

_brokers = st.one_of(
    st.sampled_from(["oanda", "alpaca", "http", "", "OANDA ", "paper"]), st.text(max_size=20)
)
_codes = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=60),
    st.sampled_from(["INSUFFICIENT_MARGIN", "40310000", "MARKET_HALTED", "RATE_LIMITED", "OUTCOME_UNKNOWN"]),
)
_headers = st.dictionaries(
    st.sampled_from(["Retry-After", "retry-after", "X-RateLimit-Reset", "RateLimit-Reset", "x"]),
    st.one_of(st.text(max_size=40), st.integers().map(str), st.floats().map(str)),
    max_size=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    broker=_brokers,
    code=_codes,
    message=st.text(max_size=300),
    status=st.one_of(st.none(), st.integers(min_value=-10, max_value=1000)),
    retry_after=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    headers=st.one_of(st.none(), _headers),
    context=st.one_of(st.none(), st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3)),
    sent=st.booleans(),
)
def test_map_broker_error_never_raises(
    broker: str,
    code: str | int | None,
    message: str,
    status: int | None,
    retry_after: float | None,
    headers: dict[str, str] | None,
    context: dict[str, str] | None,
    sent: bool,
) -> None:
    error = map_broker_error(
        broker,
        code,
        message,
        http_status=status,
        retry_after=retry_after,
        headers=headers,
        context=context,
        may_have_executed=sent,
    )
    assert isinstance(error, StandardizedError)
    assert error.error_code in StandardErrorCode
    assert error.retryable is is_retryable_code(error.error_code)
    assert error.suggested_action
    assert error.message
    assert error.http_status is None or 100 <= error.http_status <= 599
    assert error.retry_after is None or 0 <= error.retry_after <= 86_400
    if error.error_code is C.RATE_LIMITED:
        assert error.retry_after is not None
    if sent:
        assert error.error_code not in (C.TIMEOUT, C.CONNECTION_ERROR, C.SERVICE_UNAVAILABLE)
    # round-trips as JSON (what the store and the exporter do with it)
    assert StandardizedError.model_validate_json(error.model_dump_json()).error_code is error.error_code


@settings(max_examples=150, deadline=None)
@given(
    body=st.one_of(
        st.none(),
        st.binary(max_size=200),
        st.text(max_size=200),
        st.dictionaries(
            st.sampled_from(["errorCode", "errorMessage", "code", "message", "orderRejectTransaction", "x"]),
            st.one_of(
                st.text(max_size=30),
                st.integers(),
                st.none(),
                st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
            ),
        ),
    ),
    status=st.one_of(st.none(), st.integers(min_value=0, max_value=700)),
    broker=st.sampled_from(["oanda", "alpaca", "nobody"]),
)
def test_map_http_error_never_raises(body: object, status: int | None, broker: str) -> None:
    error = map_http_error(broker, status, body)  # type: ignore[arg-type]
    assert isinstance(error, StandardizedError)
