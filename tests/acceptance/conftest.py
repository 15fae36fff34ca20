"""Fixtures of the acceptance tests that open the demo's report in a browser: one real demo run shared by
the report tests, and headless Chromium (``report_support.py`` does the work)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from report_support import launch, run_demo_report


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The real command's report and store, from one run shared by every test that asks."""
    return run_demo_report(tmp_path_factory.mktemp("demo-report"))


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[str]:
    """Headless Chromium with DevTools on a free port; yields the DevTools HTTP base address."""
    async with launch(tmp_path / "chromium-profile") as base:
        yield base
