"""The errors core: standard codes, the exception per code, secret masking and classification."""

from __future__ import annotations

import errno
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from broker_integration.errors import (
    DEFAULT_SUGGESTED_ACTIONS,
    MASK,
    TRANSIENT_CODES,
    AuthenticationError,
    BrokerError,
    BrokerTimeoutError,
    InsufficientFundsError,
    OutcomeUnknownError,
    PermanentBrokerError,
    StandardErrorCode,
    StandardizedError,
    TransientBrokerError,
    UnknownBrokerError,
    classify_exception,
    error_class_for,
    make_error,
    mask_secrets,
    raise_error,
)

ALL_CODES = list(StandardErrorCode)
RETRYABLE_BY_DEFAULT = {
    StandardErrorCode.RATE_LIMITED,
    StandardErrorCode.CONNECTION_ERROR,
    StandardErrorCode.SERVICE_UNAVAILABLE,
    StandardErrorCode.TIMEOUT,
}


# ------------------------------------------------------------------ make_error


@pytest.mark.parametrize("code", ALL_CODES)
def test_make_error_fills_in_the_default_action_and_retryability(code: StandardErrorCode) -> None:
    error = make_error(code, "it broke")
    assert error.error_code is code
    assert error.message == "it broke"
    assert error.suggested_action == DEFAULT_SUGGESTED_ACTIONS[code]
    assert error.suggested_action
    assert error.retryable is (code in RETRYABLE_BY_DEFAULT)
    assert error.broker_name == ""
    assert error.context == {}
    assert error.timestamp.tzinfo is not None


def test_an_unknown_outcome_is_transient_but_never_retried_blindly() -> None:
    error = make_error(StandardErrorCode.OUTCOME_UNKNOWN, "sent, no answer")
    assert error.is_transient
    assert not error.retryable


def test_transient_codes() -> None:
    assert frozenset(RETRYABLE_BY_DEFAULT | {StandardErrorCode.OUTCOME_UNKNOWN}) == TRANSIENT_CODES


def test_make_error_keeps_what_it_is_given() -> None:
    error = make_error(
        StandardErrorCode.RATE_LIMITED,
        "slow down",
        broker_name="oanda",
        broker_error_code="429",
        http_status=429,
        suggested_action="wait",
        retryable=False,
        retry_after=1.5,
        context={"path": "/v3/orders"},
    )
    assert (error.broker_name, error.broker_error_code, error.http_status) == ("oanda", "429", 429)
    assert (error.suggested_action, error.retryable, error.retry_after) == ("wait", False, 1.5)
    assert error.context == {"path": "/v3/orders"}
    assert str(error) == "oanda: RATE_LIMITED [429]: slow down"
    assert str(make_error(StandardErrorCode.UNKNOWN, "odd")) == "UNKNOWN: odd"


def test_standardized_errors_are_frozen_and_checked() -> None:
    error = make_error(StandardErrorCode.TIMEOUT, "late")
    with pytest.raises(ValidationError):
        error.message = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        make_error(StandardErrorCode.TIMEOUT, "late", retry_after=-1)
    with pytest.raises(ValidationError):
        StandardizedError(error_code=StandardErrorCode.TIMEOUT, message="x", colour="red")  # type: ignore[call-arg]


# ------------------------------------------------------------------ masking


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "access_token",
        "Secret",
        "password",
        "passwd",
        "api_key",
        "api-key",
        "APIKEY",
        "Authorization",
        "credentials",
        "signature",
    ],
)
def test_secret_looking_keys_are_masked(key: str) -> None:
    assert mask_secrets({key: "s3cr3t", "account": "101-1"}) == {key: MASK, "account": "101-1"}


def test_masking_reaches_nested_mappings_and_bearer_tokens_without_touching_the_input() -> None:
    context: dict[str, Any] = {
        "request": {"headers": {"Authorization": "Bearer abc.def"}, "url": "https://x/v3"},
        "note": "sent with Bearer abc.def-123 to the broker",
        "status": 401,
    }
    masked = mask_secrets(context)
    assert masked == {
        "request": {"headers": {"Authorization": MASK}, "url": "https://x/v3"},
        "note": f"sent with Bearer {MASK} to the broker",
        "status": 401,
    }
    assert context["request"]["headers"]["Authorization"] == "Bearer abc.def"


def test_the_error_masks_its_context_and_so_does_everything_that_prints_it() -> None:
    error = make_error(
        StandardErrorCode.AUTHENTICATION_FAILED,
        "refused",
        context={"api_key": "sk-live-123", "header": "bearer tok-999"},
    )
    assert error.context == {"api_key": MASK, "header": f"bearer {MASK}"}
    for text in (repr(error), error.model_dump_json(), str(AuthenticationError(error))):
        assert "sk-live-123" not in text
        assert "tok-999" not in text


def test_masking_reaches_into_lists_and_tuples() -> None:
    masked = mask_secrets(
        {"headers": [{"Authorization": "abc"}], "log": ("Bearer abc", 3), "items": [[{"secret": "abc"}]]}
    )
    assert masked == {
        "headers": [{"Authorization": MASK}],
        "log": (f"Bearer {MASK}", 3),
        "items": [[{"secret": MASK}]],
    }


# ------------------------------------------------------------------ classification


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (TimeoutError("read timed out"), StandardErrorCode.TIMEOUT),
        (ConnectionResetError("reset by peer"), StandardErrorCode.CONNECTION_ERROR),
        (ConnectionRefusedError(), StandardErrorCode.CONNECTION_ERROR),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), StandardErrorCode.CONNECTION_ERROR),
        (FileNotFoundError(errno.ENOENT, "no such file"), StandardErrorCode.UNKNOWN),
        (NotImplementedError("later"), StandardErrorCode.UNSUPPORTED_OPERATION),
        (ValueError("odd payload"), StandardErrorCode.UNKNOWN),
        (KeyError("price"), StandardErrorCode.UNKNOWN),
    ],
)
def test_classify_exception(exc: BaseException, code: StandardErrorCode) -> None:
    error = classify_exception(exc, broker_name="oanda", operation="place_order")
    assert error.error_code is code
    assert error.broker_name == "oanda"
    assert error.context == {"exception": type(exc).__name__, "operation": "place_order"}
    assert error.message == (str(exc) or type(exc).__name__)
    assert error.retryable is (code in RETRYABLE_BY_DEFAULT)


def test_http_client_errors_are_recognised_by_class_name() -> None:
    class ClientConnectionError(Exception):
        pass

    class ServerDisconnectedError(ClientConnectionError):
        pass

    class UnrelatedError(Exception):
        pass

    assert classify_exception(ServerDisconnectedError()).error_code is StandardErrorCode.CONNECTION_ERROR
    assert classify_exception(ClientConnectionError()).error_code is StandardErrorCode.CONNECTION_ERROR
    assert classify_exception(UnrelatedError()).error_code is StandardErrorCode.UNKNOWN
    assert "operation" not in classify_exception(UnrelatedError()).context


def test_a_broker_error_classifies_as_itself() -> None:
    exc = InsufficientFundsError("no margin", broker_name="paper")
    assert classify_exception(exc) is exc.error


# ------------------------------------------------------------------ exception classes


@pytest.mark.parametrize("code", ALL_CODES)
def test_one_exception_class_per_code(code: StandardErrorCode) -> None:
    cls = error_class_for(code)
    assert cls.code is code
    expected_base = TransientBrokerError if code in TRANSIENT_CODES else PermanentBrokerError
    assert issubclass(cls, expected_base)
    exc = cls("message", broker_name="b", http_status=503)
    assert exc.error_code is code
    assert exc.error.http_status == 503
    assert exc.retryable is (code in RETRYABLE_BY_DEFAULT)
    assert exc.suggested_action == DEFAULT_SUGGESTED_ACTIONS[code]
    assert str(exc) == str(exc.error)
    with pytest.raises(cls):
        raise_error(exc.error)


def test_classes_are_distinct() -> None:
    assert len({error_class_for(code) for code in ALL_CODES}) == len(ALL_CODES)


def test_a_broker_error_keeps_a_given_standardized_error() -> None:
    error = make_error(StandardErrorCode.TIMEOUT, "late", broker_name="x")
    exc = BrokerTimeoutError(error)
    assert exc.error is error
    assert BrokerError("plain").error_code is StandardErrorCode.UNKNOWN
    assert isinstance(UnknownBrokerError("x"), PermanentBrokerError)


@pytest.mark.parametrize("code", ALL_CODES)
def test_broker_errors_survive_pickling(code: StandardErrorCode) -> None:
    exc = error_class_for(code)(
        make_error(code, "boom", broker_name="b", context={"password": "p", "n": 1}, retry_after=2.0)
    )
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc)
    assert clone.error == exc.error
    assert clone.args == exc.args
    assert clone.error.context == {"password": MASK, "n": 1}


def test_pickling_keeps_the_original_timestamp() -> None:
    error = StandardizedError(
        error_code=StandardErrorCode.OUTCOME_UNKNOWN, message="?", timestamp=datetime(2024, 1, 1, tzinfo=UTC)
    )
    clone = pickle.loads(pickle.dumps(OutcomeUnknownError(error)))
    assert clone.error.timestamp == datetime(2024, 1, 1, tzinfo=UTC)
