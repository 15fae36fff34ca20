"""The README's examples and its main command, run exactly as a user would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from broker_integration.demo import read_figures

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\s*```python\n(?P<code>.*?)```", re.S)


def readme_examples() -> dict[str, str]:
    return {m["name"]: m["code"] for m in EXAMPLE.finditer((ROOT / "README.md").read_text())}


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "BROKER_INTEGRATION_STORE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ex.sqlite3'}"}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)


def test_readme_has_the_examples() -> None:
    assert {"basic-integration", "new-broker", "error-mapping", "error-table", "multi-account"} <= set(
        readme_examples()
    )


def test_basic_integration_example(tmp_path: Path) -> None:
    done = run_python(readme_examples()["basic-integration"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^balance \d+(\.\d+)? USD$", done.stdout, re.M), done.stdout
    assert re.search(r"^BTC/USD bid [\d.]+ ask [\d.]+$", done.stdout, re.M), done.stdout
    assert re.search(r"^filled: 0\.01 at [\d.]+$", done.stdout, re.M), done.stdout
    assert re.search(r"^BTC/USD 0\.01 -?[\d.]+$", done.stdout, re.M), done.stdout


def test_new_broker_example(tmp_path: Path) -> None:
    done = run_python(readme_examples()["new-broker"], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"authenticate: \d+\.\d{3} ms", lines[0])
    assert re.fullmatch(r"place_order: \d+\.\d{3} ms", lines[1])
    assert re.fullmatch(r"filled bi-[0-9a-f]{32} \d+\.\d{3} ms", lines[2])
    assert lines[3] == "['account_summary', 'market_orders']"


def test_error_mapping_example(tmp_path: Path) -> None:
    done = run_python(readme_examples()["error-mapping"], tmp_path)
    assert done.returncode == 0, done.stderr
    code, _, action = done.stdout.strip().partition(" - ")
    assert code == "INSUFFICIENT_FUNDS"
    assert "margin" in action


def test_error_table_example(tmp_path: Path) -> None:
    done = run_python(readme_examples()["error-table"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "INSUFFICIENT_FUNDS"


def test_multi_account_example(tmp_path: Path) -> None:
    done = run_python(readme_examples()["multi-account"], tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    main = re.search(r"^oanda-main: account (\S+) balance 100000\.0+ USD$", out, re.M)
    hedge = re.search(r"^oanda-hedge: account (\S+) balance 100000\.0+ USD$", out, re.M)
    assert main, out
    assert hedge, out
    assert main[1] != hedge[1]
    orders = {m[1]: int(m[2]) for m in re.finditer(r"^(oanda-\w+): (\d+) orders$", out, re.M)}
    units = {m[1]: int(m[2]) for m in re.finditer(r"^(oanda-\w+): (\d+) EUR/USD units$", out, re.M)}
    assert sum(orders.values()) == 20
    assert min(orders.values()) > 0  # both accounts traded
    assert units == {name: 1000 * n for name, n in orders.items()}  # each account holds its own orders


@pytest.mark.parametrize("command", [["-m", "broker_integration", "demo"]])
def test_main_command_runs_on_embedded_defaults(command: list[str], tmp_path: Path) -> None:
    """The README's main command with no options: simulator and paper venues, discovery, an A/B test of
    3000 orders, the comparison, and the report in ./reports (here the temporary working folder)."""
    env = {**os.environ, "BROKER_INTEGRATION_STORE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for heading in (
        "Venues",
        "Capability profiles",
        "Live figures",
        "A/B test: demo: 4 venues",
        "Broker comparison",
    ):
        assert heading in out, heading
    report = tmp_path / "reports" / "demo-report.html"
    assert f"Report: {report}" in out
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert figures["orders_requested"] == figures["ab"]["total_orders"] == 3000
    assert figures["seed"] == 42
    assert set(figures["venues"]) == {"oanda", "paper-ecn", "paper-flaky", "paper-retail"}
    # the crypto part: BTC/USD across Alpaca, Binance through CCXT and a paper venue, a third of the orders
    assert "A/B test: demo crypto: 3 venues" in out
    assert figures["crypto"]["ab"]["total_orders"] == 1000
    assert set(figures["crypto"]["venues"]) == {"alpaca", "binance", "paper-crypto"}
    crypto_winner = re.search(r"^Crypto A/B test winner: (\S+) ", out, re.M)
    assert crypto_winner is not None, out
    assert crypto_winner[1] == (figures["crypto"]["ab"]["winner"] or "none")
    ab_winner = re.search(r"^A/B test winner: (\S+) \((\w+)\)$", out, re.M)
    cmp_winner = re.search(r"^Broker comparison winner: (\S+) ", out, re.M)
    assert ab_winner is not None, out
    assert cmp_winner is not None, out
    assert ab_winner[1] == (figures["ab"]["winner"] or "none")
    assert ab_winner[2] == figures["ab"]["status"]
    assert cmp_winner[1] == (figures["comparison"]["winner"] or "none")
