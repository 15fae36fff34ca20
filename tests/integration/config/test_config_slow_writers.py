"""Writers that take their time: a half-written configuration is never applied (issue #15, section 4).

Real files, real watches (inotify on Linux, watchfiles' poller for the fallback), real pauses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
from config_watch_helpers import FAST, Events, save_atomically

from broker_integration.config import (
    ConfigChangedEvent,
    ConfigFailedEvent,
    ConfigManager,
    ConfigReloadHeldEvent,
    ConfigSource,
    ReloadSettings,
)
from broker_integration.events import EventBus

HEAD = 'broker_name: oanda\ncredentials: {api_key: "key", account_id: "101-001-1"}\n'
TAIL = "settings:\n  timeout_seconds: {timeout}\n  retry_attempts: 7\n"
SECOND_HALF = ("oanda.settings.retry_attempts", "oanda.settings.timeout_seconds")

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def whole(timeout: int) -> str:
    return HEAD + TAIL.format(timeout=timeout)


@pytest.fixture
def manager(bus: EventBus) -> ConfigManager:
    return ConfigManager(persist=False, event_bus=bus)


@pytest.fixture
def file(tmp_path: Path) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "oanda.yaml"
    path.write_text(whole(60))  # both second-half keys differ from their defaults
    return path


def retry_attempts(manager: ConfigManager) -> int:
    config = manager.get_configuration("oanda")
    assert config is not None
    return config.settings.retry_attempts


async def write_pausing_mid_file(path: Path, pause_s: float, timeout: int) -> None:
    """Truncate, write up to a line boundary, pause with the file open, write the rest, close."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEAD)
        handle.flush()
        await asyncio.sleep(pause_s)
        handle.write(TAIL.format(timeout=timeout))


@linux_only
@pytest.mark.parametrize("pause_s", [0.3, 0.8, 1.5, 2.0])
async def test_a_writer_pausing_mid_file_never_gets_its_half_applied(
    file: Path, manager: ConfigManager, bus: EventBus, pause_s: float
) -> None:
    async with manager.watch(file.parent, FAST):
        changed = Events(bus, ConfigChangedEvent)
        applied: list[int] = []
        bus.subscribe(ConfigChangedEvent, lambda _e: applied.append(retry_attempts(manager)))
        await write_pausing_mid_file(file, pause_s, timeout=45)
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)  # one step from old to new
    assert applied == [7]


@pytest.mark.parametrize("pause_s", [0.3, 2.0])
async def test_the_polling_fallback_does_not_apply_the_half_either(
    file: Path, manager: ConfigManager, bus: EventBus, pause_s: float
) -> None:
    """No close events here: a longer settle, then the key-drop hold, stand in for them (default settings)."""
    async with manager.watch(file.parent, ReloadSettings(force_polling=True, store_poll_s=None)):
        changed = Events(bus, ConfigChangedEvent)
        applied: list[int] = []
        bus.subscribe(ConfigChangedEvent, lambda _e: applied.append(retry_attempts(manager)))
        await write_pausing_mid_file(file, pause_s, timeout=45)
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)
    assert applied == [7]


async def test_the_polling_fallback_sees_saves_made_in_quick_succession(
    file: Path, manager: ConfigManager, bus: EventBus
) -> None:
    """watchfiles' poller compares whole-second modification times, so it misses a same-size save made in
    the second it last looked; the feed also compares contents."""
    async with manager.watch(file.parent, dataclasses.replace(FAST, force_polling=True)):
        changed = Events(bus, ConfigChangedEvent)
        seen: list[float] = []
        for timeout in (31, 32, 33):
            save_atomically(file, whole(timeout))  # as soon as the previous one was applied
            await changed.next()
            config = manager.get_configuration("oanda")
            assert config is not None
            seen.append(config.settings.timeout_seconds)
    assert seen == [31, 32, 33]


@linux_only
async def test_a_file_still_being_written_holds_back_another_files_change(
    file: Path, manager: ConfigManager, bus: EventBus
) -> None:
    other = file.parent / "paper.json"
    other.write_text('{"broker_name": "paper", "options": {"seed": 1}}')
    async with manager.watch(file.parent, FAST):
        changed = Events(bus, ConfigChangedEvent)
        applied: list[int] = []
        bus.subscribe(ConfigChangedEvent, lambda _e: applied.append(retry_attempts(manager)))
        with file.open("w", encoding="utf-8") as handle:
            handle.write(HEAD)
            handle.flush()
            save_atomically(other, '{"broker_name": "paper", "options": {"seed": 2}}')  # complete at once
            await asyncio.sleep(0.5)
            handle.write(TAIL.format(timeout=45))
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds", "paper.options.seed")
    assert applied == [7]


async def test_a_writer_that_closes_half_way_and_appends_is_held_back(
    file: Path, manager: ConfigManager, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    async with manager.watch(file.parent, dataclasses.replace(FAST, hold_ms=1500)):
        changed, held = Events(bus, ConfigChangedEvent), Events(bus, ConfigReloadHeldEvent)
        applied: list[int] = []
        bus.subscribe(ConfigChangedEvent, lambda _e: applied.append(retry_attempts(manager)))
        with file.open("w", encoding="utf-8") as handle:
            handle.write(HEAD)  # and closed: for a moment the file really says this
        hold = await held.next()
        with file.open("a", encoding="utf-8") as handle:
            handle.write(TAIL.format(timeout=45))
        event = await changed.next()
    assert hold.dropped == SECOND_HALF
    assert (hold.active_version, hold.recheck_after_s, hold.root) == (1, 1.5, str(file.parent))
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)
    assert applied == [7]
    assert "held back: it drops oanda.settings.retry_attempts, oanda.settings.timeout_seconds" in caplog.text


async def test_an_intended_removal_is_applied_once_the_files_stay_so(
    file: Path, manager: ConfigManager, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broker_integration.config")
    async with manager.watch(file.parent, FAST) as watcher:
        changed, held = Events(bus, ConfigChangedEvent), Events(bus, ConfigReloadHeldEvent)
        save_atomically(file, HEAD)  # the settings block removed on purpose
        hold = await held.next()
        assert manager.version == 1  # nothing applied while held
        event = await changed.next()
    assert hold.dropped == SECOND_HALF
    assert (event.version, event.source) == (2, ConfigSource.RELOAD)
    assert event.changed_paths == SECOND_HALF
    assert retry_attempts(manager) == 3  # the default, as the file now says
    assert watcher.held == 1
    assert "the files did not change since" in caplog.text


async def test_a_held_reload_is_dropped_when_the_files_change_again(
    file: Path, manager: ConfigManager, bus: EventBus
) -> None:
    async with manager.watch(file.parent, dataclasses.replace(FAST, hold_ms=1500)):
        changed, held = Events(bus, ConfigChangedEvent), Events(bus, ConfigReloadHeldEvent)
        save_atomically(file, HEAD)
        await held.next()
        save_atomically(file, whole(50))  # changed mind: the keys are back, with a new value
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)
    assert retry_attempts(manager) == 7
    assert len(held.seen) == 1


async def test_a_hold_of_zero_applies_a_removal_at_once(
    file: Path, manager: ConfigManager, bus: EventBus
) -> None:
    async with manager.watch(file.parent, dataclasses.replace(FAST, hold_ms=0)):
        changed = Events(bus, ConfigChangedEvent)
        held = Events(bus, ConfigReloadHeldEvent)
        save_atomically(file, HEAD)
        event = await changed.next()
    assert event.changed_paths == SECOND_HALF
    assert held.seen == []


@linux_only
async def test_a_folder_replaced_while_watched_is_followed_again(
    file: Path, manager: ConfigManager, bus: EventBus
) -> None:
    folder = file.parent
    async with manager.watch(folder, FAST):
        changed, failed = Events(bus, ConfigChangedEvent), Events(bus, ConfigFailedEvent)
        staged = folder.with_name("conf.new")
        staged.mkdir()
        (staged / "oanda.yaml").write_text(whole(55))
        shutil.rmtree(folder)
        os.rename(staged, folder)  # a deploy that swaps the whole folder
        event = await changed.next()
    assert event.changed_paths == ("oanda.settings.timeout_seconds",)
    assert retry_attempts(manager) == 7
    assert all(f.active_version == 1 for f in failed.seen)  # whatever failed meanwhile changed nothing
