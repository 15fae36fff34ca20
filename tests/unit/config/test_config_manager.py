"""``ConfigManager``: the seed's API, one change path, events, fixed fields, rollback and concurrency."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from config_helpers import CANARY, write

from broker_integration import BrokerConfiguration, BrokerCredentials, BrokerEndpoints
from broker_integration.config import (
    ChangeKind,
    ConfigChangedEvent,
    ConfigError,
    ConfigFailedEvent,
    ConfigManager,
    ConfigSource,
    get_global_config_manager,
)
from broker_integration.events import EventBus


def _oanda(key: str = CANARY, account: str = "101-001-1", timeout: float = 30) -> BrokerConfiguration:
    return BrokerConfiguration.from_dict(
        {
            "broker_name": "oanda",
            "display_name": "OANDA",
            "credentials": {"api_key": key, "account_id": account, "environment": "practice"},
            "endpoints": {"base_url": "https://api-fxpractice.oanda.com"},
            "settings": {"timeout_seconds": timeout},
        }
    )


def _events(bus: EventBus) -> tuple[list[ConfigChangedEvent], list[ConfigFailedEvent]]:
    changed: list[ConfigChangedEvent] = []
    failed: list[ConfigFailedEvent] = []
    bus.subscribe(ConfigChangedEvent, changed.append)
    bus.subscribe(ConfigFailedEvent, failed.append)
    return changed, failed


@pytest.mark.usefixtures("fresh_global_manager")
def test_seed_quick_start_with_the_global_manager() -> None:
    config_manager = get_global_config_manager()
    config = BrokerConfiguration(
        broker_name="oanda",
        display_name="OANDA",
        credentials=BrokerCredentials(api_key="...", account_id="...", environment="practice"),
        endpoints=BrokerEndpoints(
            base_url="https://api-fxpractice.oanda.com", stream_url="https://stream-fxpractice.oanda.com"
        ),
    )
    config_manager.set_configuration("oanda", config)
    assert config_manager.get_configuration("oanda") == config
    assert get_global_config_manager() is config_manager
    assert config_manager.list_configurations() == ["oanda"]
    assert [v.version for v in asyncio.run(config_manager.history())] == [1]


def test_set_get_list_remove(memory_manager: ConfigManager, bus: EventBus) -> None:
    changed, _ = _events(bus)
    memory_manager.set_configuration("oanda", _oanda())
    memory_manager.set_configuration("paper", {"options": {"seed": 1}})
    assert memory_manager.list_configurations() == ["oanda", "paper"]
    assert memory_manager.get_configuration("paper") == BrokerConfiguration(
        broker_name="paper", options={"seed": 1}
    )
    assert memory_manager.remove_configuration("paper") is True
    assert memory_manager.remove_configuration("paper") is False
    assert memory_manager.get_configuration("paper") is None
    assert [(e.version, e.previous_version, e.changed_paths) for e in changed] == [
        (1, None, ("oanda",)),
        (2, 1, ("paper",)),
        (3, 2, ("paper",)),
    ]
    assert changed[2].changes[0].kind is ChangeKind.REMOVED


def test_setting_the_same_configuration_again_is_no_new_version(
    memory_manager: ConfigManager, bus: EventBus
) -> None:
    changed, _ = _events(bus)
    memory_manager.set_configuration("oanda", _oanda())
    memory_manager.set_configuration("oanda", _oanda())
    assert memory_manager.version == 1
    assert len(changed) == 1


def test_name_must_match_broker_name(memory_manager: ConfigManager) -> None:
    with pytest.raises(ConfigError, match="differs from the name"):
        memory_manager.set_configuration("other", _oanda())


def test_invalid_mapping_is_a_config_error_naming_the_path(
    memory_manager: ConfigManager, bus: EventBus
) -> None:
    _, failed = _events(bus)
    with pytest.raises(ConfigError) as info:
        memory_manager.set_configuration(
            "oanda", {"credentials": {"api_key": CANARY}, "settings": {"timeout_seconds": 0}}
        )
    assert info.value.path == "oanda.settings.timeout_seconds"
    assert CANARY not in str(info.value)
    assert len(failed) == 1
    assert failed[0].active_version is None


def test_change_event_reports_secret_changes_masked(memory_manager: ConfigManager, bus: EventBus) -> None:
    changed, _ = _events(bus)
    memory_manager.set_configuration("oanda", _oanda(key="first-key-value"))
    memory_manager.set_configuration("oanda", _oanda(key=CANARY, timeout=10))
    last = changed[-1]
    assert last.changed_paths == ("oanda.credentials.api_key", "oanda.settings.timeout_seconds")
    assert last.changes[0].old == last.changes[0].new == "**********"
    assert CANARY not in repr(last)
    assert last.brokers == frozenset({"oanda"})


def test_fields_fixed_at_run_time_are_refused(memory_manager: ConfigManager, bus: EventBus) -> None:
    _, failed = _events(bus)
    memory_manager.set_configuration("oanda", _oanda())
    with pytest.raises(ConfigError, match="cannot change while running") as info:
        memory_manager.set_configuration("oanda", _oanda(account="101-001-2"))
    assert info.value.path == "oanda.credentials.account_id"
    assert "'101-001-1' -> '101-001-2'" in info.value.problem
    assert memory_manager.get_configuration("oanda") == _oanda()
    assert failed[-1].error is info.value
    memory_manager.set_configuration("oanda", _oanda(account="101-001-2"), force=True)
    assert memory_manager.get_configuration("oanda") == _oanda(account="101-001-2")


def test_removing_and_adding_back_may_change_fixed_fields(memory_manager: ConfigManager) -> None:
    memory_manager.set_configuration("oanda", _oanda())
    memory_manager.remove_configuration("oanda")
    memory_manager.set_configuration("oanda", _oanda(account="101-001-2"))
    assert memory_manager.get_configuration("oanda") == _oanda(account="101-001-2")


async def test_rollback_reapplies_an_old_version_as_a_new_one(
    memory_manager: ConfigManager, bus: EventBus
) -> None:
    changed, _ = _events(bus)
    await memory_manager.aset_configuration("oanda", _oanda(key="key-one", timeout=10))
    await memory_manager.aset_configuration("oanda", _oanda(key="key-two", timeout=20))
    snapshot = await memory_manager.rollback(1)
    assert snapshot.version == 3
    assert snapshot.get("oanda") == _oanda(key="key-one", timeout=10)  # plaintext secret held in memory
    assert changed[-1].source is ConfigSource.ROLLBACK
    assert changed[-1].rollback_of == 1
    history = await memory_manager.history()
    assert [(v.version, v.source, v.rollback_of) for v in history] == [
        (3, ConfigSource.ROLLBACK, 1),
        (2, ConfigSource.CODE, None),
        (1, ConfigSource.CODE, None),
    ]
    assert history[0].content_hash == history[2].content_hash
    assert [c.path for c in await memory_manager.diff(1, 2)] == [
        "oanda.credentials.api_key",
        "oanda.settings.timeout_seconds",
    ]


async def test_rollback_to_a_missing_version_fails_and_keeps_the_configuration(
    memory_manager: ConfigManager, bus: EventBus
) -> None:
    _, failed = _events(bus)
    await memory_manager.aset_configuration("oanda", _oanda())
    with pytest.raises(ConfigError, match="no configuration version 9"):
        await memory_manager.rollback(9)
    assert memory_manager.version == 1
    assert failed[-1].source is ConfigSource.ROLLBACK


async def test_rollback_refuses_fixed_field_changes_unless_forced(memory_manager: ConfigManager) -> None:
    await memory_manager.aset_configuration("oanda", _oanda())
    await memory_manager.aset_configuration("oanda", _oanda(account="101-001-2"), force=True)
    with pytest.raises(ConfigError, match="cannot change while running"):
        await memory_manager.rollback(1)
    assert (await memory_manager.rollback(1, force=True)).get("oanda") == _oanda()


def test_load_replaces_brokers_of_that_root_only(tmp_path: Path, memory_manager: ConfigManager) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    write(folder / "a.yaml", "broker_name: a\n")
    write(folder / "b.yaml", "broker_name: b\n")
    memory_manager.set_configuration("c", {})
    memory_manager.load(folder)
    assert memory_manager.list_configurations() == ["a", "b", "c"]
    (folder / "b.yaml").unlink()
    memory_manager.load(folder)
    assert memory_manager.list_configurations() == ["a", "c"]
    assert memory_manager.current.origins["a"] == str(folder / "a.yaml")
    assert memory_manager.current.origins["c"] == "code"


def test_failed_load_keeps_everything(tmp_path: Path, memory_manager: ConfigManager, bus: EventBus) -> None:
    _, failed = _events(bus)
    file = write(tmp_path / "a.yaml", "broker_name: a\nsettings: {retry_attempts: 1}\n")
    memory_manager.load(file)
    before = memory_manager.current
    write(file, "broker_name: a\nsettings: {retry_attempts: 1\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        memory_manager.load(file)
    assert memory_manager.current is before
    assert failed[-1].source is ConfigSource.FILE
    assert failed[-1].active_version == 1


def test_sync_api_works_inside_a_running_loop(memory_manager: ConfigManager) -> None:
    async def main() -> int | None:
        memory_manager.set_configuration("oanda", _oanda())  # the seed's sync call from async code
        return memory_manager.version

    assert asyncio.run(main()) == 1


def test_concurrent_writers_get_strictly_increasing_versions(
    memory_manager: ConfigManager, bus: EventBus
) -> None:
    changed, _ = _events(bus)

    def writer(index: int) -> None:
        for step in range(10):
            memory_manager.set_configuration(f"b{index}", {"options": {"step": step}})

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = sorted(e.version for e in changed)
    assert versions == list(range(1, 41))
    assert {memory_manager.get_configuration(f"b{i}").options["step"] for i in range(4)} == {9}  # type: ignore[union-attr]
    history = asyncio.run(memory_manager.history())
    assert [v.version for v in history] == list(range(40, 0, -1))
