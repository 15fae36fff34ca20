from __future__ import annotations

import io
import logging

import pytest

from broker_integration.log import configure_logging, get_logger, redact, register_secret


def test_bearer_tokens_and_key_values_are_masked() -> None:
    header = redact("Authorization: Bearer abc.def-123")
    assert "abc.def-123" not in header
    assert header.startswith("Authorization: ")
    assert redact("api_key=sk_live_12345 sent") == "api_key=*** sent"
    assert redact('{"token": "tok-999999"}') == '{"token": "***"}'
    assert redact("nothing secret here") == "nothing secret here"


def test_registered_secrets_are_masked_but_short_values_are_ignored() -> None:
    register_secret("hunter2-long")
    register_secret("abc")  # too short to be a secret worth masking: it would garble words
    assert redact("pw hunter2-long!") == "pw ***!"
    assert redact("abc def") == "abc def"


def test_library_loggers_redact_for_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("canary-secret-value")
    logger = get_logger("broker_integration.test")
    with caplog.at_level(logging.DEBUG, logger="broker_integration"):
        logger.warning("sending %s with Bearer %s", "canary-secret-value", "xyz.token.1234")
    assert "canary-secret-value" not in caplog.text
    assert "xyz.token.1234" not in caplog.text
    assert "sending *** with Bearer ***" in caplog.text


def test_configure_logging_writes_redacted_lines() -> None:
    stream = io.StringIO()
    handler = configure_logging(logging.INFO, stream)
    try:
        logging.getLogger("broker_integration.other").info("password=letmein123")
        assert stream.getvalue().rstrip().endswith("password=***")
    finally:
        logging.getLogger("broker_integration").removeHandler(handler)
