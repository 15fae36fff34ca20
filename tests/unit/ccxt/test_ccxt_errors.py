"""CCXT's exception classes mapped to the standard codes: every class ccxt defines has a row, a class ccxt
adds later maps through its parent, and what the pipeline needs to know about sending is kept."""

from __future__ import annotations

import aiohttp
import ccxt
import pytest
from ccxt.base.errors import error_hierarchy

from broker_integration.adapters.ccxt.client import translate
from broker_integration.adapters.ccxt.errors import CCXT_ERROR_TABLE
from broker_integration.errors import StandardErrorCode as C
from broker_integration.errors import get_error_table


def _names(tree: dict[str, dict]) -> set[str]:
    names: set[str] = set()
    for name, children in tree.items():
        names |= {name} | _names(children)
    return names


def test_every_ccxt_exception_class_has_a_row() -> None:
    assert _names(error_hierarchy) <= set(CCXT_ERROR_TABLE.exact)
    assert get_error_table("ccxt") is CCXT_ERROR_TABLE  # found by module path, as every broker's table


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (ccxt.InsufficientFunds("binance Account has insufficient balance"), C.INSUFFICIENT_FUNDS),
        (ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), C.ORDER_NOT_FOUND),
        (ccxt.BadSymbol("binance does not have market symbol DOGE/XYZ"), C.INVALID_INSTRUMENT),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), C.DUPLICATE_ORDER),
        (ccxt.InvalidOrder("binance Filter failure: LOT_SIZE"), C.INVALID_ORDER),
        (ccxt.RateLimitExceeded("binance 429"), C.RATE_LIMITED),
        (ccxt.DDoSProtection("binance 418 IP banned"), C.RATE_LIMITED),
        (ccxt.InvalidNonce('binance {"code":-1021}'), C.AUTHENTICATION_FAILED),
        (ccxt.AuthenticationError("binance -2015"), C.AUTHENTICATION_FAILED),
        (ccxt.NotSupported("binance fetchFoo() is not supported yet"), C.UNSUPPORTED_OPERATION),
        (ccxt.OnMaintenance("binance maintenance"), C.SERVICE_UNAVAILABLE),
        (ccxt.RequestTimeout("binance GET timed out"), C.TIMEOUT),
        (ccxt.ExchangeError('binance {"code":-1008,"msg":"busy"}'), C.UNKNOWN),
    ],
)
def test_ccxt_classes_map_to_standard_codes(exception: Exception, code: C) -> None:
    error = translate(exception, adapter_name="venue", may_have_executed=False).error
    assert error.error_code is code
    assert error.broker_name == "venue"
    assert error.context["ccxt_exception"] == type(exception).__name__


def test_a_class_ccxt_adds_later_maps_through_its_parent() -> None:
    class FancyNewRejection(ccxt.InvalidOrder):
        pass

    FancyNewRejection.__module__ = "ccxt.base.errors"
    assert (
        translate(FancyNewRejection("x"), adapter_name="v", may_have_executed=False).error.error_code
        is C.INVALID_ORDER
    )


def test_an_order_that_may_have_executed_is_unknown_not_retried() -> None:
    for exception in (ccxt.RequestTimeout("t"), ccxt.NetworkError("reset"), ccxt.ExchangeNotAvailable("502")):
        error = translate(exception, adapter_name="v", may_have_executed=True).error
        assert error.error_code is C.OUTCOME_UNKNOWN
        assert not error.retryable
        assert error.sent is None


def test_what_the_venue_turned_away_is_known_unsent() -> None:
    limited = translate(ccxt.RateLimitExceeded("429"), adapter_name="v", may_have_executed=True).error
    assert (limited.error_code, limited.sent) == (C.RATE_LIMITED, False)
    try:
        try:
            raise aiohttp.ClientConnectorError(
                connection_key=None, os_error=ConnectionRefusedError(111, "refused")
            )
        except aiohttp.ClientConnectorError as cause:
            raise ccxt.ExchangeNotAvailable("binance GET http://127.0.0.1:9") from cause
    except ccxt.ExchangeNotAvailable as refused:
        error = translate(refused, adapter_name="v", may_have_executed=True).error
    assert (error.error_code, error.sent) == (C.SERVICE_UNAVAILABLE, False)


def test_the_exchanges_own_code_is_kept_and_a_non_ccxt_failure_is_unknown() -> None:
    error = translate(
        ccxt.InvalidOrder('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'),
        adapter_name="v",
        may_have_executed=False,
    ).error
    assert error.context["exchange_code"] == "-1013"
    bug = translate(TypeError("unsupported operand"), adapter_name="v", may_have_executed=False).error
    assert bug.error_code is C.UNKNOWN
    assert bug.context["exception"] == "TypeError"
