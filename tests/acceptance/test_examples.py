"""Every script in examples/ runs as written and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name: str, tmp_path: Path) -> str:
    env = {**os.environ, "BROKER_INTEGRATION_STORE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ex.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_example_is_covered() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    covered = {name for name, *_ in CASES}
    assert scripts == covered, f"examples without a test: {scripts - covered}"


CASES = [
    (
        "basic_integration.py",
        [
            r"^health: healthy",
            r"^market order: filled, 0\.05 at \d+\.\d+$",
            r"^limit order: accepted as \d+$",
            r"^cancel: cancelled$",
            r"^closed: filled at \d+\.\d+$",
        ],
    ),
    (
        "adding_a_new_broker.py",
        [
            r"^market order: filled at 1\.1002$",
            r"^limit order refused before sending: UNSUPPORTED_OPERATION$",
            r"^get_positions: UNSUPPORTED_OPERATION$",
            r"^  event: place_order ok=True",
            r"^health: healthy$",
        ],
    ),
    (
        "ab_testing.py",
        [
            r"^after  400 orders: significant$",
            r"^winner: fast ",
            r"^sample ratio mismatch: False$",
            r"^- Keep fast",
        ],
    ),
    (
        "performance_monitoring.py",
        [
            r"^winner: steady ",
            r"^  costly: .*commission 5\.00 bps$",
            r"^- Cost \(mean all-in cost per filled order\): steady is best",
        ],
    ),
    (
        "capability_discovery.py",
        [
            r"^static \(no calls\): \{'declared': 22, 'unsupported': 2\}$",  # take-profit/stop-loss, notional orders
            r"^limit_orders +verified +a buy limit GTC",
            r"^take_profit_stop_loss +unsupported",
            r"^instruments: 10$",
            r"^test orders left open: 0$",
            r"^order below the minimum size: INVALID_ORDER$",
            r"^order of 1000 EUR/USD: filled$",
        ],
    ),
    (
        "multi_broker_execution.py",
        [
            r"^  cheap_broker: \d+ orders, allocation now 0\.[6-9]",
            r"^winner: cheap_broker$",
            r"^- Prefer cheap_broker",
        ],
    ),
]


@pytest.mark.parametrize(("name", "patterns"), CASES, ids=[c[0] for c in CASES])
def test_example(name: str, patterns: list[str], tmp_path: Path) -> None:
    output = run(name, tmp_path)
    for pattern in patterns:
        assert re.search(pattern, output, re.M), f"{name}: no line matches {pattern!r} in:\n{output}"
