"""Encrypted values: round trip, MultiFernet key rotation, key sources and the errors of each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from config_helpers import CANARY, write

from broker_integration.config import ConfigError, KeyRing, load_path
from broker_integration.config.secrets import DecryptionError, is_encrypted


def test_encrypt_decrypt_round_trip() -> None:
    keys = KeyRing([KeyRing.generate_key()])
    token = keys.encrypt(CANARY)
    assert is_encrypted(token)
    assert CANARY not in token
    assert keys.decrypt(token) == CANARY


def test_rotation_reencrypts_under_the_new_key_and_keeps_the_text_around() -> None:
    old, new = KeyRing.generate_key(), KeyRing.generate_key()
    token = KeyRing([old]).encrypt(CANARY)
    text = f"# api key for the practice account\nbroker_name: oanda\ncredentials:\n  api_key: {token}  # rotated yearly\n"
    both = KeyRing([new, old])
    assert both.decrypt(token) == CANARY  # MultiFernet decrypts with any key
    rotated, count = both.rotate_text(text)
    assert count == 1
    assert token not in rotated
    assert "# api key for the practice account" in rotated
    assert "# rotated yearly" in rotated
    only_new = KeyRing([new])
    new_token = rotated.split("api_key: ")[1].split()[0]
    assert only_new.decrypt(new_token) == CANARY
    with pytest.raises(DecryptionError):
        KeyRing([old]).decrypt(new_token)


def test_rotate_text_names_the_line_of_a_value_no_key_opens() -> None:
    stranger = KeyRing([KeyRing.generate_key()]).encrypt("x")
    with pytest.raises(ConfigError) as info:
        KeyRing([KeyRing.generate_key()]).rotate_text(f"a: 1\nb: {stranger}\n", file="c.yaml")
    assert (info.value.file, info.value.path) == ("c.yaml", "line 2")


@pytest.mark.parametrize("value", [CANARY, f"ENC[fernet:{CANARY}] ", "ENC[aes:abc=]"])
def test_a_value_that_is_not_one_enc_token_is_refused_by_decrypt_and_rotate_without_echoing_it(
    value: str,
) -> None:
    keys = KeyRing([KeyRing.generate_key()])
    for operation in (keys.decrypt, keys.rotate):
        with pytest.raises(DecryptionError, match=r"^not an ENC\[fernet:\.\.\.\] value$"):
            operation(value)


def test_a_bad_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not a Fernet key") as info:
        KeyRing(["short-" + CANARY])
    assert CANARY not in str(info.value)


def test_keys_from_environment_variable_first_key_encrypts() -> None:
    first, second = KeyRing.generate_key(), KeyRing.generate_key()
    ring = KeyRing.from_env({"BROKER_INTEGRATION_CONFIG_KEYS": f"{first}, {second}"})
    assert ring is not None
    assert ring.key_count == 2
    assert KeyRing([first]).decrypt(ring.encrypt("v")) == "v"
    assert KeyRing.from_env({}) is None


def test_key_file_must_be_private(tmp_path: Path) -> None:
    key_file = write(tmp_path / "keys", f"# current\n{KeyRing.generate_key()}\n")
    os.chmod(key_file, 0o644)
    with pytest.raises(ConfigError, match="readable by group or others"):
        KeyRing.from_env({"BROKER_INTEGRATION_CONFIG_KEY_FILE": str(key_file)})
    os.chmod(key_file, 0o600)
    assert KeyRing.from_env({"BROKER_INTEGRATION_CONFIG_KEY_FILE": str(key_file)}) is not None
    with pytest.raises(ConfigError, match="cannot read key file"):
        KeyRing.from_file(tmp_path / "absent")


def test_loader_decrypts_enc_values_with_keys_from_the_environment(tmp_path: Path) -> None:
    key = KeyRing.generate_key()
    token = KeyRing([key]).encrypt(CANARY)
    file = write(tmp_path / "oanda.yaml", f"broker_name: oanda\ncredentials: {{api_key: '{token}'}}\n")
    loaded = load_path(file, env={"BROKER_INTEGRATION_CONFIG_KEYS": key}, environment="production")
    assert loaded.configs["oanda"].credentials.api_key is not None
    assert loaded.configs["oanda"].credentials.api_key.get_secret_value() == CANARY
    assert loaded.secret_sources == {"oanda.credentials.api_key": token}


def test_enc_value_through_a_variable(tmp_path: Path) -> None:
    key = KeyRing.generate_key()
    env = {"BROKER_INTEGRATION_CONFIG_KEYS": key, "OANDA_TOKEN_ENC": KeyRing([key]).encrypt(CANARY)}
    file = write(
        tmp_path / "oanda.yaml", "broker_name: oanda\ncredentials: {api_key: '${OANDA_TOKEN_ENC}'}\n"
    )
    secret = load_path(file, env=env).configs["oanda"].credentials.api_key
    assert secret is not None
    assert secret.get_secret_value() == CANARY


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "no key is configured"),
        (
            {"BROKER_INTEGRATION_CONFIG_KEYS": "Xxh0RUaP1bz1uYbXyd8Cv7tYBt8FqfqgGNUUk0ltrLQ="},
            "will not decrypt",
        ),
    ],
)
def test_encrypted_value_without_the_right_key(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    token = KeyRing([KeyRing.generate_key()]).encrypt(CANARY)
    file = write(tmp_path / "oanda.yaml", f"broker_name: oanda\ncredentials:\n  api_key: '{token}'\n")
    with pytest.raises(ConfigError) as info:
        load_path(file, env=env)
    assert (info.value.file, info.value.path) == (str(file), "credentials.api_key")
    assert problem in info.value.problem


def test_malformed_enc_value_is_an_error(tmp_path: Path) -> None:
    file = write(tmp_path / "oanda.yaml", "broker_name: oanda\ncredentials: {api_key: 'ENC[aes:abc]'}\n")
    with pytest.raises(ConfigError, match="malformed encrypted value"):
        load_path(file, env={})
