"""Hot reload with real files, a real watchfiles watcher on a temporary folder and a real SQLite store."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from config_watch_helpers import CANARY, FAST, Events, save_atomically
from typer.testing import CliRunner

from broker_integration import (
    BrokerAdapter,
    BrokerConfiguration,
    BrokerCredentials,
    OrderResult,
    OrderStatus,
    UnifiedOrder,
)
from broker_integration.config import (
    ConfigChangedEvent,
    ConfigFailedEvent,
    ConfigManager,
    ConfigSource,
    CredentialRotationEvent,
    ReloadSettings,
)
from broker_integration.config.cli import config_app
from broker_integration.events import EventBus
from broker_integration.store import sqlite_url

BROKER = """\
broker_name: oanda
credentials: {{api_key: "${{{key_var}}}", account_id: "{account}"}}
endpoints: {{base_url: "https://api-fxpractice.oanda.com"}}
settings: {{timeout_seconds: {timeout}}}
"""


def broker(timeout: float = 30, account: str = "101-001-1", key_var: str = "OANDA_API_KEY") -> str:
    return BROKER.format(timeout=timeout, account=account, key_var=key_var)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "store" / "config.sqlite3")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "conf"
    path.mkdir()
    return path


@pytest.fixture
def manager(bus: EventBus, store_url: str) -> ConfigManager:
    env = {"OANDA_API_KEY": CANARY, "OANDA_API_KEY_2": "second-key"}
    return ConfigManager(store_url=store_url, env=env, event_bus=bus)


async def test_rename_style_saves_reload_a_watched_file(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    file = folder / "oanda.yaml"
    file.write_text(broker(timeout=30))
    async with manager.watch(file, FAST):
        changed = Events(bus, ConfigChangedEvent)
        assert manager.version == 1
        for step, timeout in enumerate((40, 50, 60), start=2):
            save_atomically(file, broker(timeout=timeout))
            event = await changed.next()
            assert (event.version, event.source) == (step, ConfigSource.RELOAD)
            assert event.changed_paths == ("oanda.settings.timeout_seconds",)
            config = manager.get_configuration("oanda")
            assert config is not None
            assert config.settings.timeout_seconds == timeout
        (folder / "unrelated.yaml").write_text("not: watched")  # another file in the folder is ignored
    assert [v.source for v in await manager.history()] == [ConfigSource.RELOAD] * 3 + [ConfigSource.FILE]


async def test_broken_file_keeps_the_last_good_configuration(
    folder: Path, manager: ConfigManager, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    file = folder / "oanda.yaml"
    file.write_text(broker(timeout=30))
    async with manager.watch(folder, FAST):
        changed, failed = Events(bus, ConfigChangedEvent), Events(bus, ConfigFailedEvent)
        good = manager.current
        save_atomically(file, broker(timeout=30).replace("settings: {", "settings: {{"))
        failure = await failed.next()
        assert failure.source is ConfigSource.RELOAD
        assert failure.active_version == 1
        assert failure.error.file == str(file)
        assert "malformed YAML" in failure.error.problem
        assert manager.current is good
        assert "configuration reload failed; version 1 stays active" in caplog.text

        save_atomically(file, broker(timeout=30).replace("timeout_seconds: 30", "timeout_seconds: nope"))
        failure = await failed.next()
        assert failure.error.path == "settings.timeout_seconds"

        save_atomically(file, broker(timeout=45))
        event = await changed.next()
        assert event.version == 2
        applied = manager.current.get("oanda")
        assert applied is not None
        assert applied.settings.timeout_seconds == 45
    assert CANARY not in caplog.text


async def test_a_file_being_written_is_waited_for_not_applied(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    file = folder / "oanda.yaml"
    file.write_text(broker(timeout=30))
    async with manager.watch(folder, FAST):
        changed, failed = Events(bus, ConfigChangedEvent), Events(bus, ConfigFailedEvent)
        with file.open("w") as handle:  # an in-place save: first the file is truncated...
            handle.flush()
            await asyncio.sleep(0.3)  # ...and the rest arrives later than a few settle periods
            handle.write(broker(timeout=75))
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)
    assert failed.seen == []  # the empty file was never taken for a configuration


async def test_fixed_fields_are_refused_on_reload(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    file = folder / "oanda.yaml"
    file.write_text(broker(account="101-001-1"))
    async with manager.watch(folder, FAST):
        failed = Events(bus, ConfigFailedEvent)
        save_atomically(file, broker(account="101-001-9", timeout=5))
        failure = await failed.next()
    assert failure.error.path == "oanda.credentials.account_id"
    assert "cannot change while running" in failure.error.problem
    assert "restart" in failure.error.problem
    config = manager.get_configuration("oanda")
    assert config is not None
    assert config.credentials.account_id == "101-001-1"
    assert config.settings.timeout_seconds == 30


async def test_folder_watch_sees_added_and_deleted_files(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    (folder / "oanda.yaml").write_text(broker())
    async with manager.watch(folder, FAST):
        changed = Events(bus, ConfigChangedEvent)
        save_atomically(folder / "paper.json", '{"broker_name": "paper", "options": {"seed": 4}}')
        assert (await changed.next()).changed_paths == ("paper",)
        (folder / "paper.json").unlink()
        removed = await changed.next()
    assert removed.changed_paths == ("paper",)
    assert manager.list_configurations() == ["oanda"]


async def test_kubernetes_configmap_symlink_swap_is_seen(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    def publish(revision: int, timeout: int) -> None:
        """What the kubelet does: a new timestamped folder, then ..data re-pointed at it atomically."""
        data = folder / f"..2026_{revision}"
        data.mkdir()
        (data / "oanda.yaml").write_text(broker(timeout=timeout))
        (folder / "..data_tmp").symlink_to(data.name)
        os.replace(folder / "..data_tmp", folder / "..data")

    publish(1, 30)
    (folder / "oanda.yaml").symlink_to("..data/oanda.yaml")
    async with manager.watch(folder / "oanda.yaml", FAST):
        changed = Events(bus, ConfigChangedEvent)
        publish(2, 35)
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)
    assert manager.roots == (folder / "oanda.yaml",)


async def test_readers_never_see_a_half_applied_configuration(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    def two_brokers(generation: int) -> str:
        return (
            "brokers:\n"
            f"  a: {{options: {{generation: {generation}}}, settings: {{retry_attempts: {generation % 20}}}}}\n"
            f"  b: {{options: {{generation: {generation}}}}}\n"
        )

    file = folder / "pair.yaml"
    file.write_text(two_brokers(0))
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def read_once() -> int:
        snapshot = manager.current
        a, b = snapshot.get("a"), snapshot.get("b")
        assert a is not None
        assert b is not None
        if not (
            a.options["generation"]
            == b.options["generation"]
            == a.settings.retry_attempts + 20 * (a.options["generation"] // 20)
        ):
            problems.append(f"mixed snapshot: a={a.options} b={b.options}")
        return int(a.options["generation"])

    def thread_reader() -> None:
        last = 0
        while not stop.is_set():
            generation = read_once()
            if generation < last:
                problems.append(f"went back from {last} to {generation}")
            last = generation
            time.sleep(0.0002)  # yield the GIL now and then; the readers still outnumber the reloads by far

    async def loop_reader() -> None:
        while not stop.is_set():
            seen.append(read_once())
            await asyncio.sleep(0)

    async with manager.watch(folder, FAST):
        changed = Events(bus, ConfigChangedEvent)
        reader = threading.Thread(target=thread_reader)
        reader.start()
        task = asyncio.create_task(loop_reader())
        for generation in range(1, 16):
            save_atomically(file, two_brokers(generation))
            assert (await changed.next()).version == generation + 1
        stop.set()
        await task
        reader.join()
    assert problems == []
    assert seen == sorted(seen)
    assert seen[-1] == 15


class TokenAdapter(BrokerAdapter):
    broker_name = "oanda"

    def __init__(self, config: BrokerConfiguration, bus: EventBus) -> None:
        super().__init__(config, event_bus=bus)
        self.tokens: list[str | None] = []

    async def authenticate(self, credentials: BrokerCredentials | None = None) -> bool:
        self.tokens.append(
            credentials.api_key.get_secret_value() if credentials and credentials.api_key else None
        )
        return True

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        return OrderResult(
            success=True,
            status=OrderStatus.FILLED,
            filled_quantity=order.quantity,
            average_fill_price=Decimal(1),
        )


async def test_changed_key_in_the_file_reaches_the_running_adapter(
    folder: Path, manager: ConfigManager, bus: EventBus
) -> None:
    file = folder / "oanda.yaml"
    file.write_text(broker())
    async with manager.watch(folder, FAST):
        rotations = Events(bus, CredentialRotationEvent)
        config = manager.get_configuration("oanda")
        assert config is not None
        adapter = TokenAdapter(config, bus)
        await adapter.authenticate(config.credentials)
        manager.bind_adapter("oanda", adapter)
        save_atomically(file, broker(key_var="OANDA_API_KEY_2"))
        rotation = await rotations.next()
        assert rotation.success
        assert rotation.version == 2
        assert adapter.tokens == [CANARY, "second-key"]
        assert (
            await adapter.place_order(UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1)))
        ).success
    await manager.aclose()


async def test_command_line_rollback_is_applied_by_the_running_watcher(
    folder: Path, manager: ConfigManager, bus: EventBus, store_url: str
) -> None:
    file = folder / "oanda.yaml"
    file.write_text(broker(timeout=30))
    settings = ReloadSettings(step_ms=10, debounce_ms=400, settle_ms=20, store_poll_s=0.02)
    async with manager.watch(folder, settings):
        changed = Events(bus, ConfigChangedEvent)
        save_atomically(file, broker(timeout=90))
        assert (await changed.next()).version == 2
        result = await asyncio.to_thread(
            CliRunner().invoke, config_app, ["rollback", "1", "--store", store_url]
        )
        assert result.exit_code == 0, result.output
        adopted = await changed.next()
    assert (adopted.version, adopted.source, adopted.rollback_of) == (3, ConfigSource.ROLLBACK, 1)
    config = manager.get_configuration("oanda")
    assert config is not None
    assert config.settings.timeout_seconds == 30
    assert config.credentials.api_key is not None
    assert config.credentials.api_key.get_secret_value() == CANARY
    assert [v.version for v in await manager.history()] == [3, 2, 1]  # adopted, not recorded twice


async def test_watcher_on_a_root_that_will_not_load_raises_on_start(
    folder: Path, manager: ConfigManager
) -> None:
    (folder / "oanda.yaml").write_text("broker_name: [")
    with pytest.raises(Exception, match="malformed YAML"):
        await manager.watch(folder, FAST).start()
