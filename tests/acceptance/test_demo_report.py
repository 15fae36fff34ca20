"""The demo's HTML report, as a reader gets it: the real command writes it, headless Chromium renders it.

Chromium is driven over the DevTools protocol (a websocket, through aiohttp): the page is opened with the
Runtime and Log domains on, so every console message and uncaught exception is seen; then the rendered
DOM is asked for its charts. The report's figures are also checked against the metrics collector's,
read back from the run's store by a fresh collector.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from broker_integration.demo import read_figures
from broker_integration.performance_metrics import ComparisonPeriod, PerformanceMetricsCollector
from broker_integration.store import Store, sqlite_url

CHROMIUM = Path("/usr/bin/chromium")
ORDERS = 600
_LISTENING = re.compile(r"DevTools listening on (ws://[\w.:]+)/")
_GUARD = 60.0  # seconds: only a guard against a hung browser, never a measurement

#: What the page reports about itself once loaded: each chart's kind, drawn size and mark count.
_INSPECT = """JSON.stringify({
  charts: [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {kind: svg.dataset.chart, width: box.width, height: box.height,
            marks: svg.querySelectorAll('polyline, polygon, circle, rect').length};
  }),
  orders: JSON.parse(document.getElementById('demo-figures').textContent).orders_requested,
  sections: [...document.querySelectorAll('section')].map(s => s.id),
})"""


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run the real command (smaller than the default) into a temporary report and store."""
    folder = tmp_path_factory.mktemp("demo-report")
    report, store_url = folder / "report.html", sqlite_url(folder / "demo.sqlite3")
    command = [sys.executable, "-m", "broker_integration", "demo", "--orders", str(ORDERS)]
    command += ["--report", str(report), "--store", store_url, "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Report: {report}" in done.stdout
    return report, store_url


class _DevTools:
    """Commands and events on one page's DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._id = 0

    async def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = await self.ws.receive_json(loads=orjson.loads, timeout=_GUARD)
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


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; missing is a failure, not a skip: CI installs it and this test must run."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make chromium` (CI installs it with scripts/ensure-chromium.sh)"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[str]:
    """Headless Chromium with DevTools on a free port; yields the DevTools HTTP base address."""
    process = await asyncio.create_subprocess_exec(
        str(chromium),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(_GUARD):
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


async def _render(base: str, report: Path) -> tuple[dict[str, Any], list[str]]:
    """Open ``report`` in the browser's page; return what the page says of itself, and any problem."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/json/list") as listing:
            pages = [t for t in await listing.json() if t["type"] == "page"]
        async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = _DevTools(ws)
            for domain in ("Runtime", "Log", "Page"):
                await tools.call(f"{domain}.enable")
            await tools.call("Page.navigate", url=report.as_uri())
            await tools.wait_for("Page.loadEventFired")
            evaluated = await tools.call("Runtime.evaluate", expression=_INSPECT, returnByValue=True)
            page: dict[str, Any] = orjson.loads(evaluated["result"]["value"])
            return page, tools.problems()


async def test_report_renders_its_charts_without_console_errors(
    demo_report: tuple[Path, str], browser: str
) -> None:
    page, problems = await _render(browser, demo_report[0])
    assert problems == []
    kinds = [chart["kind"] for chart in page["charts"]]
    assert sorted(kinds) == sorted(["latency-cdf", "routing-share", "errors", *["interval"] * 5])
    for chart in page["charts"]:
        assert chart["width"] > 100, chart
        assert chart["height"] > 50, chart
        assert chart["marks"] > 0, chart
    assert page["orders"] == ORDERS
    for section in ("latency", "rates", "cost", "routing", "errors", "capabilities", "recommendations"):
        assert section in page["sections"]


async def test_report_figures_are_the_collectors(demo_report: tuple[Path, str]) -> None:
    report, store_url = demo_report
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert figures["ab"]["total_orders"] == ORDERS
    async with Store(store_url) as store:
        collector = PerformanceMetricsCollector(store=store)
        for venue, metrics in figures["comparison"]["metrics"].items():
            place = (await collector.metrics(venue, ComparisonPeriod.ALL)).operations["place_order"]
            embedded = metrics["operations"]["place_order"]
            assert embedded["calls"] == place.calls
            assert embedded["latency"]["p50_ms"] == place.latency.p50_ms
            assert embedded["latency"]["p99_ms"] == place.latency.p99_ms
