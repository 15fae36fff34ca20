"""The configuration models: the seed's shape, round trips, strictness, cross-field checks, masking."""

from __future__ import annotations

import json

import pytest
from config_helpers import CANARY
from pydantic import SecretStr, ValidationError

from broker_integration import BrokerConfiguration, BrokerCredentials, BrokerEndpoints
from broker_integration.broker_config import BrokerLimits, Environment

SEED_JSON = {
    "broker_name": "oanda",
    "display_name": "OANDA",
    "enabled": True,
    "credentials": {
        "api_key": CANARY,
        "secret_key": None,
        "account_id": "101-001-1",
        "environment": "practice",
    },
    "endpoints": {
        "base_url": "https://api-fxpractice.oanda.com",
        "stream_url": "https://stream-fxpractice.oanda.com",
    },
    "limits": {"requests_per_second": 100, "max_orders_per_second": 10},
    "settings": {"timeout_seconds": 30, "retry_attempts": 3, "enable_streaming": True},
}


def test_seed_quick_start_construction() -> None:
    config = BrokerConfiguration(
        broker_name="oanda",
        display_name="OANDA",
        credentials=BrokerCredentials(api_key=CANARY, account_id="101-001-1", environment="practice"),
        endpoints=BrokerEndpoints(
            base_url="https://api-fxpractice.oanda.com", stream_url="https://stream-fxpractice.oanda.com"
        ),
    )
    assert isinstance(config.credentials.api_key, SecretStr)
    assert config.credentials.api_key.get_secret_value() == CANARY
    assert config.credentials.environment is Environment.PRACTICE


def test_seed_json_round_trip() -> None:
    config = BrokerConfiguration.from_dict(SEED_JSON)
    revealed = config.to_dict(reveal_secrets=True)
    assert BrokerConfiguration.from_dict(revealed) == config
    assert {k: v for k, v in revealed.items() if k != "options"} == {
        **SEED_JSON,
        "limits": {"requests_per_second": 100.0, "max_orders_per_second": 10.0},
        "settings": {"timeout_seconds": 30.0, "retry_attempts": 3, "enable_streaming": True},
    }


def test_to_dict_carries_secrets_that_print_masked() -> None:
    config = BrokerConfiguration.from_dict({**SEED_JSON, "options": {"webhook_token": CANARY, "seed": 3}})
    data = config.to_dict()
    assert CANARY not in str(data)
    assert CANARY not in repr(data)
    api_key = data["credentials"]["api_key"]
    assert isinstance(api_key, SecretStr)
    assert api_key.get_secret_value() == SEED_JSON["credentials"]["api_key"]  # type: ignore[index]
    assert isinstance(data["options"]["webhook_token"], SecretStr)
    assert data["options"]["seed"] == 3
    # What the seed does with it: the same configuration, secrets included, comes back.
    back = BrokerConfiguration.from_dict(data)
    assert back == config
    assert back.options["webhook_token"] == CANARY


def test_masked_to_dict_is_for_printing_and_is_refused_as_a_configuration() -> None:
    config = BrokerConfiguration.from_dict({**SEED_JSON, "options": {"webhook_token": CANARY, "seed": 3}})
    masked = config.to_dict(masked=True)
    assert CANARY not in str(masked)
    assert masked["credentials"]["api_key"] == "**********"
    assert masked["options"]["webhook_token"] == "***"
    json.dumps(masked)  # printable and exportable as it is
    with pytest.raises(ValidationError, match=r"credentials\.api_key[\s\S]*holds the mask"):
        BrokerConfiguration.from_dict(masked)
    unmasked_options = {**masked, "credentials": config.to_dict()["credentials"]}
    with pytest.raises(ValidationError, match=r"options\.webhook_token holds the mask"):
        BrokerConfiguration.from_dict(unmasked_options)
    assert CANARY in str(config.to_dict(reveal_secrets=True))
    with pytest.raises(ValueError, match="exclude each other"):
        config.to_dict(masked=True, reveal_secrets=True)


def test_configuration_models_read_like_the_seeds_dicts() -> None:
    config = BrokerConfiguration.from_dict(SEED_JSON)
    assert config["broker_name"] == "oanda"
    assert config["endpoints"]["base_url"] == SEED_JSON["endpoints"]["base_url"]  # type: ignore[index]
    assert config["credentials"]["api_key"].get_secret_value() == SEED_JSON["credentials"]["api_key"]  # type: ignore[index]
    assert config.get("options") == {}
    assert config.get("colour", "none") == "none"
    with pytest.raises(KeyError, match="colour"):
        config["colour"]


def test_repr_and_str_never_show_secrets() -> None:
    config = BrokerConfiguration.from_dict({**SEED_JSON, "options": {"password": CANARY}})
    for text in (repr(config), str(config), repr(config.credentials), f"{config}"):
        assert CANARY not in text


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"colour": "blue"}, ("colour",)),
        ({"credentials": {**SEED_JSON["credentials"], "api_secret": "x"}}, ("credentials", "api_secret")),  # type: ignore[dict-item]
        ({"settings": {"timeout": 3}}, ("settings", "timeout")),
    ],
)
def test_unknown_keys_are_rejected(patch: dict[str, object], where: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        BrokerConfiguration.from_dict({**SEED_JSON, **patch})
    assert any(e["loc"] == where and e["type"] == "extra_forbidden" for e in info.value.errors())


def test_validation_errors_do_not_echo_input() -> None:
    with pytest.raises(ValidationError) as info:
        BrokerConfiguration.from_dict({**SEED_JSON, "settings": {"timeout_seconds": "soon"}, "bogus": 1})
    assert CANARY not in str(info.value)


def test_live_environment_on_practice_host_is_an_error() -> None:
    with pytest.raises(ValidationError, match="practice/paper host"):
        BrokerConfiguration.from_dict({**SEED_JSON, "credentials": {"api_key": "k", "environment": "live"}})


def test_practice_credentials_on_live_host_is_an_error() -> None:
    with pytest.raises(ValidationError, match="live \\(real money\\) host"):
        BrokerConfiguration.from_dict(
            {**SEED_JSON, "endpoints": {"base_url": "https://api-fxtrade.oanda.com"}}
        )


def test_live_on_live_host_is_fine() -> None:
    config = BrokerConfiguration.from_dict(
        {
            **SEED_JSON,
            "credentials": {"api_key": "k", "environment": "live"},
            "endpoints": {"base_url": "https://api-fxtrade.oanda.com"},
        }
    )
    assert config.credentials.environment.is_live


def test_order_rate_cannot_exceed_request_rate_when_both_are_given() -> None:
    with pytest.raises(ValidationError, match="exceeds requests_per_second"):
        BrokerLimits(requests_per_second=5, max_orders_per_second=6)
    assert BrokerLimits(requests_per_second=5).max_orders_per_second == 10  # default alone is not a conflict


def test_json_schema_marks_secrets_and_fields_fixed_at_run_time() -> None:
    schema = BrokerConfiguration.json_schema()
    creds = schema["$defs"]["BrokerCredentials"]["properties"]
    assert creds["account_id"]["reload"] is False
    assert creds["environment"]["reload"] is False
    assert "reload" not in creds["api_key"]
    assert schema["additionalProperties"] is False
    assert BrokerConfiguration.restart_required_paths() == (
        ("credentials", "account_id"),
        ("credentials", "environment"),
    )
    assert BrokerConfiguration.secret_paths() == (("credentials", "api_key"), ("credentials", "secret_key"))


def test_models_are_frozen() -> None:
    config = BrokerConfiguration.from_dict(SEED_JSON)
    with pytest.raises(ValidationError):
        config.enabled = False  # type: ignore[misc]
