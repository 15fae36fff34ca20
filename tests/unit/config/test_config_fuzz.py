"""Arbitrary text and structures fed to the loader: only ``ConfigError`` ever escapes, and never a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from config_helpers import CANARY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker_integration.config import ConfigError
from broker_integration.config.loader import load_sources, restore_document
from broker_integration.config.parsing import DeploymentEnvironment

ENV = {
    "OANDA_API_KEY": CANARY,
    "BROKER_INTEGRATION_CONFIG_KEYS": "Xxh0RUaP1bz1uYbXyd8Cv7tYBt8FqfqgGNUUk0ltrLQ=",
}
KEYS = [
    "broker_name",
    "brokers",
    "default",
    "development",
    "production",
    "credentials",
    "api_key",
    "secret_key",
    "account_id",
    "environment",
    "endpoints",
    "base_url",
    "settings",
    "timeout_seconds",
    "limits",
    "requests_per_second",
    "max_orders_per_second",
    "options",
    "enabled",
    "oanda",
    "paper",
    "live",
    "x",
]
STRINGS = st.one_of(
    st.sampled_from(
        [
            CANARY,
            "${OANDA_API_KEY}",
            "${MISSING}",
            "${OANDA_API_KEY:?gone}",
            "ENC[fernet:gAAAA]",
            "ENC[x]",
            "live",
            "practice",
            "https://api-fxpractice.oanda.com",
            "https://api-fxtrade.oanda.com",
            "oanda",
            "Bad Name",
            "$$",
            "${",
            "",
        ]
    ),
    st.text(max_size=12),
)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), STRINGS)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=5),
    ),
    max_leaves=25,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(name: str, data: bytes) -> None:
    try:
        load_sources({Path(name): data}, environment=DeploymentEnvironment.DEVELOPMENT, env=ENV)
    except ConfigError as exc:
        error = exc
    else:
        return
    assert CANARY not in str(error)
    assert error.issues
    assert all(issue.problem for issue in error.issues)


@FUZZ
@given(st.sampled_from(["c.json", "c.yaml"]), st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes(name: str, data: bytes) -> None:
    _load(name, data)


@FUZZ
@given(TREES)
def test_arbitrary_structures_as_json_and_yaml(tree: object) -> None:
    _load("c.json", json.dumps(tree).encode())
    _load("c.yaml", yaml.safe_dump(tree).encode())


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), TREES, max_size=6))
def test_arbitrary_broker_documents(doc: dict[str, object]) -> None:
    _load("c.yaml", yaml.safe_dump({"broker_name": "oanda", **doc}).encode())
    _load("c.json", json.dumps({"brokers": {"oanda": doc}}).encode())
    _load("c.json", json.dumps({"default": {"brokers": {"oanda": doc}}, "development": doc}).encode())


@FUZZ
@given(
    st.dictionaries(st.sampled_from(KEYS), TREES, max_size=4),
    st.dictionaries(st.text(max_size=20), st.text(max_size=8), max_size=3),
)
def test_arbitrary_stored_documents_restore_or_fail_cleanly(
    brokers: dict[str, object], secrets: dict[str, str]
) -> None:
    document = {"brokers": brokers, "secrets": secrets}
    try:
        restore_document(document, env=ENV, keys=None, secret_for_fingerprint=lambda _: None)
    except ConfigError as exc:
        message = str(exc)
    else:
        return
    assert CANARY not in message


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = "\n".join(lines).encode()
    with pytest.raises(ConfigError, match="alias bomb"):
        load_sources({Path("bomb.yaml"): bomb}, environment=DeploymentEnvironment.DEVELOPMENT, env={})


@pytest.mark.parametrize(
    ("name", "text"), [("deep.json", "[" * 5000 + "]" * 5000), ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000)]
)
def test_deep_nesting_is_refused(name: str, text: str) -> None:
    with pytest.raises(ConfigError, match="deeper than"):
        load_sources({Path(name): text.encode()}, environment=DeploymentEnvironment.DEVELOPMENT, env={})
