"""The key-drop guard: which keys a configuration sets, and which a reload would drop."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_helpers import write

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.config import ConfigChangedEvent, ConfigManager, ConfigReloadHeldEvent, ReloadSettings
from broker_integration.config.policy import ReloadHeld, dropped_paths, set_paths
from broker_integration.events import EventBus


def config(**fields: object) -> BrokerConfiguration:
    return BrokerConfiguration.model_validate({"broker_name": "x", **fields})


def test_set_paths_are_the_keys_given_not_the_defaults() -> None:
    given = config(
        settings={"timeout_seconds": 5},
        credentials={"api_key": "k"},
        options={"venue": {"seed": 1, "fees": {}}, "flag": True},
        limits={},
    )
    assert set_paths(given) == {
        "broker_name",
        "settings.timeout_seconds",
        "credentials.api_key",
        "options.venue.seed",
        "options.venue.fees",
        "options.flag",
        "limits",
    }


def test_dropped_paths_names_lost_keys_and_lost_brokers() -> None:
    old = {
        "x": config(settings={"timeout_seconds": 5, "retry_attempts": 2}, options={"a": {"b": 1}}),
        "y": config(),
    }
    new = {"x": config(settings={"timeout_seconds": 9}, options={"a": {"c": 1}}), "z": config()}
    assert dropped_paths(old, new) == ("x.options.a.b", "x.settings.retry_attempts", "y")
    assert dropped_paths(new, new) == ()
    assert dropped_paths({}, new) == ()  # adding is never held


async def test_the_manager_holds_a_dropping_reload_only_when_asked(tmp_path: Path) -> None:
    bus = EventBus()
    held: list[ConfigReloadHeldEvent] = []
    changed: list[ConfigChangedEvent] = []
    bus.subscribe(ConfigReloadHeldEvent, held.append)
    bus.subscribe(ConfigChangedEvent, changed.append)
    manager = ConfigManager(persist=False, event_bus=bus)
    file = write(tmp_path / "x.yaml", "broker_name: x\nsettings: {timeout_seconds: 5, retry_attempts: 2}\n")
    await manager.aload(file)
    write(file, "broker_name: x\nsettings: {timeout_seconds: 6}\n")
    sources = {file: file.read_bytes()}

    with pytest.raises(ReloadHeld) as info:
        await manager.reload_sources(file, sources, hold_drops_s=1.5)
    assert info.value.dropped == ("x.settings.retry_attempts",)
    assert manager.version == 1
    assert [(e.dropped, e.active_version, e.recheck_after_s, e.root) for e in held] == [
        (("x.settings.retry_attempts",), 1, 1.5, str(file))
    ]

    snapshot = await manager.reload_sources(file, sources)  # unguarded, as after the hold: applied
    assert snapshot.version == 2
    assert changed[-1].changed_paths == ("x.settings.retry_attempts", "x.settings.timeout_seconds")


async def test_code_set_brokers_are_not_the_files_to_drop(tmp_path: Path) -> None:
    manager = ConfigManager(persist=False, event_bus=EventBus())
    file = write(tmp_path / "x.yaml", "broker_name: x\n")
    await manager.aload(file)
    await manager.aset_configuration("from_code", {"settings": {"retry_attempts": 1}})
    write(file, "broker_name: x\nenabled: false\n")
    snapshot = await manager.reload_sources(file, {file: file.read_bytes()}, hold_drops_s=1.0)
    assert snapshot.names() == ["from_code", "x"]


def test_reload_settings_refuse_a_negative_hold() -> None:
    with pytest.raises(ValueError, match="hold_ms >= 0"):
        ReloadSettings(hold_ms=-1)
