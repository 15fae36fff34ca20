"""Secrets' fingerprints are keyed per store: nothing printed or stored confirms a guessed secret.

A guess is confirmed by anything computable from the guess alone: its plain SHA-256 (the old fingerprint was
the first 8 hex digits of the SHA-256 of the secret as JSON), or a content hash over a document holding that.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from config_helpers import CANARY, write
from typer.testing import CliRunner

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.clock import utc_now
from broker_integration.config import ConfigManager, ConfigSource
from broker_integration.config.cli import config_app
from broker_integration.config.snapshot import MASK, build_document, content_hash, diff_documents
from broker_integration.config.versions import NewVersion, StoreVersionLog
from broker_integration.events import EventBus
from broker_integration.store import Store, sqlite_url

runner = CliRunner()
GUESS = "guessable-plaintext-key-2024"

BROKER = """\
broker_name: oanda
credentials: {{api_key: "${{OANDA_API_KEY}}", account_id: "101-001-1"}}
settings: {{timeout_seconds: {timeout}}}
"""


@pytest.fixture(autouse=True)
def _cli_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")  # the history table shows whole cells


def plain_hashes(secret: str) -> list[str]:
    """What a guesser can compute: SHA-256 of the bare secret and of the secret as JSON, full and as 8 digits."""
    digests = [hashlib.sha256(form.encode()).hexdigest() for form in (secret, json.dumps(secret))]
    return digests + [digest[:8] for digest in digests]


def unkeyed(secret: str) -> str:
    """The fingerprint earlier releases stored."""
    return hashlib.sha256(json.dumps(secret).encode()).hexdigest()[:8]


def store_rows(url: str) -> str:
    """Every row of every table of the SQLite store, as text."""
    path = url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


def cli(*args: str) -> str:
    result = runner.invoke(config_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_no_output_or_store_row_confirms_a_guessed_secret(
    tmp_path: Path, store_url: str, env: dict[str, str]
) -> None:
    manager = ConfigManager(store_url=store_url, env=env, event_bus=EventBus())
    file = write(tmp_path / "oanda.yaml", BROKER.format(timeout=10))
    await manager.aload(file)
    await manager.aset_configuration("x", {"credentials": {"api_key": GUESS}})
    write(file, BROKER.format(timeout=20))
    await manager.reload()
    versions = await manager.history()
    assert [v.version for v in versions] == [3, 2, 1]

    outputs = [
        cli("history", "--store", store_url),
        cli("diff", "1", "--store", store_url),
        *(
            cli("show", "--version", str(v.version), "--store", store_url, "-f", fmt)
            for v in versions
            for fmt in ("yaml", "json")
        ),
        cli("show", str(file), "-f", "json"),
        repr(versions),
        repr(manager.current),
    ]
    seen = "\n".join([*outputs, store_rows(store_url)])
    assert "x.credentials.api_key" in seen  # the secrets are listed...
    for secret in (GUESS, CANARY):
        assert secret not in seen
        for digest in plain_hashes(secret):
            assert digest not in seen  # ...but nothing a guesser can compute from a guess
    # Nor can a content hash be recomputed around the guess: with the old fingerprint in place of the stored
    # one, the document hashes to something no version carries.
    latest = versions[0]
    forged = {
        **latest.document,
        "secrets": {**latest.document["secrets"], "x.credentials.api_key": unkeyed(GUESS)},
    }
    assert content_hash(forged) not in {v.content_hash for v in versions}


async def test_the_key_is_per_store_and_shared_by_its_users(tmp_path: Path, env: dict[str, str]) -> None:
    async def recorded(url: str) -> dict[str, str]:
        manager = ConfigManager(store_url=url, env=env, event_bus=EventBus())
        await manager.aset_configuration("x", {"credentials": {"api_key": GUESS}})
        return dict(manager.current.document["secrets"])

    one, other = sqlite_url(tmp_path / "one.sqlite3"), sqlite_url(tmp_path / "other.sqlite3")
    first, again, elsewhere = await recorded(one), await recorded(one), await recorded(other)
    assert first == again  # another process on the same store fingerprints alike
    assert first["x.credentials.api_key"] != elsewhere["x.credentials.api_key"]
    async with Store(one) as store:
        stored = await store.get_state("config", "fingerprint_key")
    assert len(bytes.fromhex(stored)) == 32
    assert bytes.fromhex(stored) == await StoreVersionLog(one).fingerprint_key()


async def test_the_first_key_stored_wins_when_processes_start_together(store_url: str) -> None:
    async with Store(store_url):
        pass  # the schema exists, as it does once any process has used the store
    keys = await asyncio.gather(*(StoreVersionLog(store_url).fingerprint_key() for _ in range(6)))
    assert len(set(keys)) == 1


def _unkeyed_version(configs: dict[str, BrokerConfiguration], secrets: dict[str, str]) -> NewVersion:
    """A version as an earlier release recorded it: unkeyed fingerprints, hash over them."""
    document = build_document(
        configs, {"oanda.credentials.api_key": "${OANDA_API_KEY}"}, "development", fingerprint_key=b"unused"
    )
    document["secrets"] = {path: unkeyed(value) for path, value in secrets.items()}
    return NewVersion(
        source=ConfigSource.CODE,
        detail="recorded by an earlier release",
        environment="development",
        content_hash=content_hash(document),
        document=document,
        origins={name: "code" for name in configs},
        created_at=utc_now(),
    )


async def test_versions_with_unkeyed_fingerprints_still_load_and_roll_back(
    store_url: str, env: dict[str, str]
) -> None:
    configs = {
        "oanda": BrokerConfiguration.model_validate(
            {"broker_name": "oanda", "credentials": {"api_key": CANARY, "account_id": "101-001-1"}}
        ),
        "x": BrokerConfiguration.model_validate({"broker_name": "x", "credentials": {"api_key": GUESS}}),
    }
    old = await StoreVersionLog(store_url).record(
        _unkeyed_version(configs, {"oanda.credentials.api_key": CANARY, "x.credentials.api_key": GUESS})
    )
    assert old.version == 1
    manager = ConfigManager(store_url=store_url, env=env, event_bus=EventBus())
    await manager.aset_configuration("x", {"credentials": {"api_key": GUESS}})  # this process holds it
    await manager.aset_configuration("x", {"credentials": {"api_key": "another-key"}})

    snapshot = await manager.rollback(1)
    assert snapshot.version == 4
    x, oanda = snapshot.get("x"), snapshot.get("oanda")
    assert x is not None
    assert x.credentials.api_key is not None
    assert x.credentials.api_key.get_secret_value() == GUESS  # found by its unkeyed fingerprint
    assert oanda is not None
    assert oanda.credentials.api_key is not None
    assert oanda.credentials.api_key.get_secret_value() == CANARY  # ${VAR} resolved again
    assert all(p.startswith("hmac:") for p in snapshot.document["secrets"].values())
    assert await manager.diff(1, 4) == ()  # same sources; the two kinds of fingerprint are not compared

    history = cli("history", "--store", store_url)
    shown = cli("show", "--version", "1", "--store", store_url)
    assert snapshot.content_hash[:12] in history
    assert old.content_hash[:8] not in history  # a hash over an unkeyed fingerprint can test a guess
    assert unkeyed(GUESS) not in shown
    assert f"x.credentials.api_key: '{MASK}'" in shown


def test_a_changed_secret_still_shows_in_the_diff() -> None:
    def document(key: str) -> dict[str, object]:
        config = BrokerConfiguration.model_validate({"broker_name": "x", "credentials": {"api_key": key}})
        return build_document({"x": config}, {}, "development", fingerprint_key=b"k" * 32)

    assert [c.path for c in diff_documents(document("a"), document("b"))] == ["x.credentials.api_key"]
    assert diff_documents(document("a"), document("a")) == ()
