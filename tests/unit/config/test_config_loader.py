"""Loading files and folders: layering, environments, interpolation, and an error for each kind of bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from config_helpers import CANARY, write
from hypothesis import given
from hypothesis import strategies as st

from broker_integration.config import ConfigError, DeploymentEnvironment, deep_merge, load_path
from broker_integration.config.loader import resolve_environment

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "config"

LAYERED = """\
default:
  brokers:
    oanda:
      credentials: {api_key: "${OANDA_API_KEY}", account_id: "${OANDA_ACCOUNT_ID}"}
      endpoints: {base_url: "https://api-fxpractice.oanda.com"}
      settings: {timeout_seconds: 30, retry_attempts: 3}
      options: {instruments: [EUR/USD, GBP/USD], tags: {team: fx, desk: a}}
development:
  brokers:
    oanda:
      settings: {timeout_seconds: 60}
      options: {instruments: [USD/JPY], tags: {desk: b}}
production:
  brokers:
    oanda:
      credentials: {api_key: "${LIVE_KEY}", environment: live}
      endpoints: {base_url: "https://api-fxtrade.oanda.com"}
"""


def test_environment_section_deep_merges_over_default(tmp_path: Path, env: dict[str, str]) -> None:
    loaded = load_path(write(tmp_path / "brokers.yaml", LAYERED), environment="development", env=env)
    oanda = loaded.configs["oanda"]
    assert oanda.settings.timeout_seconds == 60  # scalar from the section
    assert oanda.settings.retry_attempts == 3  # sibling kept from default
    assert oanda.options["instruments"] == ["USD/JPY"]  # lists replace
    assert oanda.options["tags"] == {"team": "fx", "desk": "b"}  # mappings merge
    assert oanda.credentials.api_key is not None
    assert oanda.credentials.api_key.get_secret_value() == CANARY


def test_references_in_sections_that_do_not_apply_need_no_variable(
    tmp_path: Path, env: dict[str, str]
) -> None:
    loaded = load_path(write(tmp_path / "brokers.yaml", LAYERED), environment="staging", env=env)
    assert loaded.configs["oanda"].settings.timeout_seconds == 30  # no staging section: default only


def test_environment_from_variable(tmp_path: Path, env: dict[str, str]) -> None:
    path = write(tmp_path / "brokers.yaml", LAYERED)
    loaded = load_path(path, env={**env, "BROKER_INTEGRATION_ENV": "production", "LIVE_KEY": "live-key"})
    assert loaded.configs["oanda"].credentials.environment.is_live
    assert resolve_environment(None, {}) is DeploymentEnvironment.DEVELOPMENT
    assert (
        resolve_environment("Staging", {"BROKER_INTEGRATION_ENV": "production"})
        is DeploymentEnvironment.STAGING
    )


def test_unknown_environment_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown environment 'prod'"):
        resolve_environment(None, {"BROKER_INTEGRATION_ENV": "prod"})


def test_secret_sources_are_recorded(tmp_path: Path, env: dict[str, str]) -> None:
    loaded = load_path(write(tmp_path / "brokers.yaml", LAYERED), environment="development", env=env)
    assert loaded.secret_sources == {"oanda.credentials.api_key": "${OANDA_API_KEY}"}
    assert loaded.origins == {"oanda": str(tmp_path / "brokers.yaml")}


@pytest.mark.parametrize("environment", ["development", "staging"])
def test_example_file_loads(environment: str, env: dict[str, str]) -> None:
    loaded = load_path(EXAMPLES, environment=environment, env=env)
    assert sorted(loaded.configs) == ["oanda", "paper"]
    assert loaded.configs["oanda"].credentials.account_id == "101-001-1"
    expected_rps = {"development": 50, "staging": 20}[environment]
    assert loaded.configs["oanda"].limits.requests_per_second == expected_rps
    assert loaded.plaintext_secrets == ()


def test_example_file_in_production_needs_the_live_variables(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_path(EXAMPLES, environment="production", env=env)
    paths = {issue.path for issue in info.value.issues}
    assert paths == {
        "production.brokers.oanda.credentials.api_key",
        "production.brokers.oanda.credentials.account_id",
    }
    assert "set OANDA_LIVE_API_KEY to the live API token" in str(info.value)
    live_env = {**env, "OANDA_LIVE_API_KEY": "live", "OANDA_LIVE_ACCOUNT_ID": "001-9"}
    loaded = load_path(EXAMPLES, environment="production", env=live_env)
    assert loaded.configs["oanda"].credentials.environment.is_live
    assert loaded.configs["paper"].enabled is False


def test_seed_json_examples_load(env: dict[str, str]) -> None:
    loaded = load_path(EXAMPLES / "json", env=env)
    assert loaded.configs["oanda"].endpoints.base_url == "https://api-fxpractice.oanda.com"
    assert loaded.configs["paper"].settings.timeout_seconds == 5
    assert load_path(EXAMPLES / "json", env=env, environment="production").configs["paper"].enabled is False


def test_folder_takes_each_config_file_and_local_overlay(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "oanda.json", '{"broker_name": "oanda", "settings": {"timeout_seconds": 10}}')
    write(tmp_path / "paper.yml", "broker_name: paper\noptions: {seed: 1}\n")
    write(tmp_path / "local.yaml", "brokers:\n  oanda:\n    settings: {retry_attempts: 9}\n")
    write(tmp_path / "notes.txt", "not config")
    write(tmp_path / ".oanda.json.swp", "garbage")
    loaded = load_path(tmp_path, env=env)
    assert sorted(loaded.configs) == ["oanda", "paper"]
    assert loaded.configs["oanda"].settings.timeout_seconds == 10
    assert loaded.configs["oanda"].settings.retry_attempts == 9
    assert loaded.origins["oanda"] == str(tmp_path / "oanda.json")


def test_broker_defined_in_two_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.json", '{"broker_name": "oanda"}')
    write(tmp_path / "b.yaml", "brokers: {oanda: {}}\n")
    with pytest.raises(ConfigError, match="already defined in") as info:
        load_path(tmp_path, env={})
    assert info.value.file == str(tmp_path / "b.yaml")


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"holds no \.json, \.yaml or \.yml"):
        load_path(tmp_path, env={})


BAD_INPUTS = [
    ("broken.json", '{"broker_name": "oanda",', "", "malformed JSON"),
    ("broken.yaml", "broker_name: oanda\n  settings: [\n", "", "malformed YAML"),
    (
        "types.yaml",
        "broker_name: oanda\nsettings: {timeout_seconds: soon}\n",
        "settings.timeout_seconds",
        "valid number",
    ),
    ("unknown.json", '{"broker_name": "oanda", "setings": {}}', "setings", "Extra inputs are not permitted"),
    (
        "missing.yaml",
        "brokers:\n  oanda:\n    credentials: {api_key: '${NOT_SET}'}\n",
        "brokers.oanda.credentials.api_key",
        "NOT_SET is not set",
    ),
    (
        "undecryptable.yaml",
        "broker_name: oanda\ncredentials: {api_key: 'ENC[fernet:gAAAAABnotavalidtoken]'}\n",
        "credentials.api_key",
        "will not decrypt",
    ),
    ("empty.yaml", "", "", "file is empty"),
    ("blank.json", "  \n\n", "", "file is empty"),
    ("half.json", '{"broker_name": "oanda", "credentials": {"api_k', "", "malformed JSON"),
    ("list.yaml", "- oanda\n", "", "top level must be a mapping"),
    ("dup.yaml", "broker_name: a\nbroker_name: b\n", "", "duplicate key 'broker_name'"),
    ("nokey.yaml", "settings: {timeout_seconds: 1}\n", "", "expected 'broker_name'"),
    ("section.yaml", "default: {broker_name: a}\nprod: {}\n", "prod", "unknown section 'prod'"),
    ("date.yaml", "broker_name: a\noptions: {since: 2024-01-01}\n", "options.since", "quote it"),
    (
        "name.yaml",
        "brokers:\n  Bad Name: {}\n",
        "brokers.Bad Name.broker_name",
        "must start with a lowercase",
    ),
]


@pytest.mark.parametrize(("name", "text", "path", "problem"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_names_file_path_and_problem(
    tmp_path: Path, name: str, text: str, path: str, problem: str
) -> None:
    file = write(tmp_path / name, text)
    keys_env = {"BROKER_INTEGRATION_CONFIG_KEYS": "Xxh0RUaP1bz1uYbXyd8Cv7tYBt8FqfqgGNUUk0ltrLQ="}
    with pytest.raises(ConfigError) as info:
        load_path(file, env=keys_env)
    error = info.value
    assert error.file == str(file)
    assert error.path == path
    assert problem in error.problem
    assert str(file) in str(error)
    assert problem in str(error)


def test_wrong_type_in_a_section_is_reported_where_it_was_written(
    tmp_path: Path, env: dict[str, str]
) -> None:
    text = LAYERED.replace("settings: {timeout_seconds: 60}", "settings: {timeout_seconds: -1}")
    with pytest.raises(ConfigError) as info:
        load_path(write(tmp_path / "brokers.yaml", text), environment="development", env=env)
    assert info.value.path == "development.brokers.oanda.settings.timeout_seconds"
    assert "greater than 0" in info.value.problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path / "a.json", "{")
    write(tmp_path / "b.yaml", "broker_name: b\nsettings: {retry_attempts: -1, bogus: 1}\n")
    with pytest.raises(ConfigError) as info:
        load_path(tmp_path, env={})
    assert [(i.file, i.path) for i in info.value.issues] == [
        (str(tmp_path / "a.json"), ""),
        (str(tmp_path / "b.yaml"), "settings.retry_attempts"),
        (str(tmp_path / "b.yaml"), "settings.bogus"),
    ]


def test_plaintext_secret_is_a_warning_in_development_and_an_error_in_production(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = write(tmp_path / "oanda.yaml", f"broker_name: oanda\ncredentials: {{api_key: {CANARY}}}\n")
    loaded = load_path(file, env={})
    assert loaded.plaintext_secrets == (f"{file}: credentials.api_key",)
    with pytest.raises(ConfigError, match="plaintext secret in a production configuration") as info:
        load_path(file, env={}, environment="production")
    assert CANARY not in str(info.value)
    assert CANARY not in caplog.text


def test_live_practice_mismatch_names_the_broker(tmp_path: Path) -> None:
    text = "broker_name: oanda\ncredentials: {environment: live}\nendpoints: {base_url: 'https://api-fxpractice.oanda.com'}\n"
    with pytest.raises(ConfigError, match="practice/paper host") as info:
        load_path(write(tmp_path / "oanda.yaml", text), env={})
    assert info.value.file == str(tmp_path / "oanda.yaml")


def test_loading_logs_nothing_secret(
    tmp_path: Path, env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    load_path(write(tmp_path / "brokers.yaml", LAYERED), env=env)
    assert CANARY not in caplog.text


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
json_tree = st.recursive(
    json_leaf, lambda inner: st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=12
)
mappings = st.dictionaries(st.text(max_size=3), json_tree, max_size=4)


@given(mappings, mappings)
def test_deep_merge_properties(base: dict[str, object], override: dict[str, object]) -> None:
    merged = deep_merge(base, override)
    assert merged.keys() == base.keys() | override.keys()
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            assert merged[key] == deep_merge(base[key], value)  # type: ignore[arg-type]
        else:
            assert merged[key] == value  # scalars, lists and null replace
    for key in base.keys() - override.keys():
        assert merged[key] == base[key]
    assert deep_merge(merged, override) == merged  # applying the overlay again changes nothing
