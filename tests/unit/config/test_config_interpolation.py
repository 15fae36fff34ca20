"""``${VAR}`` interpolation: the documented forms, strictness on unset variables, and escapes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_integration.config.interpolation import InterpolationError, interpolate, is_pure_reference

ENV = {"HOST": "example.com", "EMPTY": "", "TOKEN": "t0k3n"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${HOST}", "example.com"),
        ("https://${HOST}/v3", "https://example.com/v3"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${HOST:-fallback}", "example.com"),
        ("${MISSING:-}", ""),
        ("${HOST:?needed}", "example.com"),
        ("price $5", "price $5"),
        ("$$HOME and $${HOST}", "$HOME and ${HOST}"),
        ("${EMPTY}", ""),
        ("${HOST}${TOKEN}", "example.comt0k3n"),
    ],
)
def test_forms(text: str, expected: str) -> None:
    assert interpolate(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${MISSING}", "MISSING is not set"),
        ("${MISSING:?set MISSING to the token}", "MISSING: set MISSING to the token"),
        ("${EMPTY:?required}", "EMPTY: required"),
        ("${HOST", "unterminated"),
        ("${1BAD}", "invalid reference"),
        ("${HOST:+alt}", "unsupported form"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError, match=message.replace("(", r"\(").replace("+", r"\+")):
        interpolate(text, ENV)


def test_error_never_contains_a_value() -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate("${TOKEN:+x}", ENV)
    assert "t0k3n" not in str(info.value)


def test_pure_references() -> None:
    assert is_pure_reference("${TOKEN}")
    assert is_pure_reference("${TOKEN:?give me a token}")
    assert not is_pure_reference("${TOKEN:-literal-default}")
    assert not is_pure_reference("Bearer ${TOKEN}")
    assert not is_pure_reference("plain")


@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    assert interpolate(text.replace("$", "$$"), {}) == text


@given(
    st.text().filter(lambda t: "$" not in t),
    st.dictionaries(st.from_regex(r"[A-Z_]{1,5}", fullmatch=True), st.text()),
)
def test_text_without_dollar_is_unchanged(text: str, env: dict[str, str]) -> None:
    assert interpolate(text, env) == text


@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), st.text().filter(lambda v: "}" not in v)
)
def test_reference_resolves_to_the_variable(name: str, value: str) -> None:
    assert interpolate(f"<${{{name}}}>", {name: value}) == f"<{value}>"
