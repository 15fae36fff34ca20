"""Shared by the demo tests (imported by name: pytest puts this folder on the path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broker_integration.demo import DemoResult

#: The shared run's size and seed (see ``conftest.demo_run``).
ORDERS = 300
SEED = 7
VENUES = frozenset({"oanda", "paper-ecn", "paper-flaky", "paper-retail"})
#: The crypto part's venues, control first, and how many orders it routes (a third, at least 150).
CRYPTO_VENUES = ("alpaca", "binance", "paper-crypto")
CRYPTO_ORDERS = 150


@dataclass(frozen=True)
class FinishedRun:
    """A finished run, the store it wrote and its report."""

    result: DemoResult
    store_url: str
    report: Path
