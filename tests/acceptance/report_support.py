"""The demo's report as a reader sees it: one real demo run, and headless Chromium driven over the DevTools
protocol (a websocket, through aiohttp).

:func:`run_demo_report` runs the real command into a folder; :func:`launch` starts Debian's Chromium with
DevTools on a free loopback port; :class:`DevTools` sends commands to one page and keeps the events it
sees, so every console message and uncaught exception is caught (:meth:`DevTools.problems`). The tests'
fixtures (``demo_report``, ``browser``) are in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from broker_integration.store import sqlite_url

CHROMIUM = Path("/usr/bin/chromium")
#: Orders of the shared demo run: enough for every chart to have data (the flaky venue's errors included).
REPORT_ORDERS = 600
GUARD = 60.0  # seconds: only a guard against a hung browser, never a measurement
_LISTENING = re.compile(r"DevTools listening on (ws://[\w.:]+)/")


class DevTools:
    """Commands and events on one page's DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._id = 0

    async def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = await self.ws.receive_json(loads=orjson.loads, timeout=GUARD)
        return message

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        await self.ws.send_json({"id": self._id, "method": method, "params": params})
        while True:
            message = await self._receive()
            if message.get("id") == self._id:
                assert "error" not in message, f"{method}: {message['error']}"
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def wait_for(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(await self._receive())

    async def open(self, url: str) -> None:
        """Navigate to ``url`` and wait until it has loaded."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        await self.call("Page.navigate", url=url)
        await self.wait_for("Page.loadEventFired")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression that returns JSON text, parsed."""
        evaluated = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return orjson.loads(evaluated["result"]["value"])

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error log entries seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")
        return found


@asynccontextmanager
async def page(base: str) -> AsyncIterator[DevTools]:
    """The browser's page at DevTools address ``base``, with the Runtime, Log and Page domains on."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/json/list") as listing:
            pages = [t for t in await listing.json() if t["type"] == "page"]
        async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = DevTools(ws)
            for domain in ("Runtime", "Log", "Page"):
                await tools.call(f"{domain}.enable")
            yield tools


def require_chromium() -> Path:
    """Debian's Chromium; missing is a failure, not a skip: CI installs it and these tests must run."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make chromium` (CI installs it with scripts/ensure-chromium.sh)"
        )
    return CHROMIUM


@asynccontextmanager
async def launch(profile: Path) -> AsyncIterator[str]:
    """Headless Chromium with DevTools on a free port; yields the DevTools HTTP base address."""
    process = await asyncio.create_subprocess_exec(
        str(require_chromium()),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(GUARD):
            while (match := _LISTENING.search((await process.stderr.readline()).decode())) is None:
                pass
        yield match.group(1).replace("ws://", "http://")
    finally:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def run_demo_report(folder: Path) -> tuple[Path, str]:
    """Run the real command (smaller than the default) into ``folder``; the report's path and store URL."""
    report, store_url = folder / "report.html", sqlite_url(folder / "demo.sqlite3")
    command = [sys.executable, "-m", "broker_integration", "demo", "--orders", str(REPORT_ORDERS)]
    command += ["--report", str(report), "--store", store_url, "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Report: {report}" in done.stdout
    return report, store_url
