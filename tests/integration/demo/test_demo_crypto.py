"""The demo's crypto part: one pair routed across three real protocols (Alpaca's REST and websockets on its
simulator, Binance spot through the CCXT adapter and ccxt's own client on its simulator, the paper broker)
in one A/B test, with the broker comparison across them; and the demo without ccxt installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from demo_support import CRYPTO_ORDERS, CRYPTO_VENUES, FinishedRun

from broker_integration.demo import read_figures
from broker_integration.demo.options import MIN_CRYPTO_ORDERS
from broker_integration.demo.venues import CCXT_MISSING
from broker_integration.store import sqlite_url


def test_one_pair_is_routed_across_three_protocols(demo_run: FinishedRun) -> None:
    crypto = demo_run.result.crypto
    assert crypto is not None
    assert demo_run.result.notes == ()
    assert crypto.options.instruments == ("BTC/USD",)
    assert crypto.arms == CRYPTO_VENUES  # Alpaca first: the control
    assert crypto.test_results.arms[0].is_control
    assert {v.name: v.adapter_type for v in crypto.venues} == {
        "alpaca": "alpaca",
        "binance": "ccxt",
        "paper-crypto": "paper",
    }
    assert crypto.test_results.total_orders == CRYPTO_ORDERS
    assert [r.index for r in crypto.routed] == list(range(CRYPTO_ORDERS))
    for arm in crypto.test_results.arms:  # every protocol traded, and filled orders
        assert arm.orders > 0
        assert crypto.comparison.metrics[arm.arm].fill.filled > 0, arm.arm
    # the FX part kept its own venues
    assert not set(CRYPTO_VENUES) & set(demo_run.result.arms)


def test_the_three_venues_trade_one_market(demo_run: FinishedRun) -> None:
    """Every venue quotes the run's seeded market for the pair, whatever its protocol: fills are measured
    against one reference mid, so each venue's slippage is its half spread, a few basis points, not the
    gap between two unrelated prices."""
    crypto = demo_run.result.crypto
    assert crypto is not None
    for arm, metrics in crypto.comparison.metrics.items():
        slippage = metrics.cost.avg_slippage_bps
        assert slippage is not None, arm
        assert abs(slippage) < 25, (arm, slippage)


def test_the_crypto_verdicts_and_comparison_are_in_the_report(demo_run: FinishedRun) -> None:
    crypto = demo_run.result.crypto
    assert crypto is not None
    html = demo_run.report.read_text(encoding="utf-8")
    section = html[html.index('<section id="crypto">') :]
    winner = crypto.test_results.winner or "no winner"
    assert f"<strong data-verdict='crypto-ab'>{winner}</strong>" in section
    assert f"<strong data-verdict='crypto-comparison'>{crypto.comparison.winner or 'no winner'}" in section
    for table in ("venues", "latency", "comparisons", "routing", "scores", "compared", "tests"):
        assert f'data-table="{table}"' in section, table
    figures = read_figures(html)["crypto"]
    assert figures["ab"]["total_orders"] == CRYPTO_ORDERS
    assert set(figures["comparison"]["metrics"]) == set(CRYPTO_VENUES)
    assert figures["comparison"]["winner"] == crypto.comparison.winner


def test_the_demo_runs_without_ccxt_and_says_so_in_one_line(tmp_path: Path) -> None:
    """ccxt blocked in a fresh interpreter: the CCXT venue is left out, the crypto part runs on the other
    two, and the one line saying so names the extra to install."""
    report = tmp_path / "r.html"
    script = "import sys; sys.modules['ccxt'] = None; from broker_integration.cli import app; app()"
    args = ["demo", "--orders", "100", "--quiet", "--report", str(report)]
    args += ["--store", sqlite_url(tmp_path / "s.sqlite3")]
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    notes = [line for line in done.stdout.splitlines() if "ccxt" in line]
    assert notes == [f"note: {CCXT_MISSING}: the crypto part runs without binance"]
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert figures["crypto"]["ab"]["total_orders"] == MIN_CRYPTO_ORDERS
    assert set(figures["crypto"]["comparison"]["metrics"]) == {"alpaca", "paper-crypto"}
    assert "ccxt" not in figures["crypto"]["venues"].get("binance", {}).get("adapter", "")
