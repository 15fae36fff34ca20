"""One small demo run shared by the demo tests: 300 orders, seed 7, kept in a store the tests can reopen."""

from __future__ import annotations

import asyncio

import pytest
from demo_support import ORDERS, SEED, FinishedRun

from broker_integration.demo import DemoOptions, run_demo, write_report
from broker_integration.store import sqlite_url


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    folder = tmp_path_factory.mktemp("demo")
    store_url = sqlite_url(folder / "demo.sqlite3")
    options = DemoOptions(orders=ORDERS, seed=SEED, store_url=store_url, report_path=folder / "report.html")
    result = asyncio.run(run_demo(options))
    return FinishedRun(result, store_url, write_report(result, options.report_path))
