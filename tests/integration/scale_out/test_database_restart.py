"""The database restarting mid-run: a throw-away PostgreSQL server of this test's own is stopped and started
again while orders are being placed. Calls wait for the journal or fail with a clear SERVICE_UNAVAILABLE
(nothing sent); no intent is lost or doubled; the instance re-takes its locks, leadership included.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from broker_integration.errors import StandardErrorCode
from broker_integration.journal import OrderJournal
from broker_integration.models import Delivery, OrderResult, OrderStatus, UnifiedOrder
from broker_integration.pipeline import attach
from broker_integration.store import Store
from broker_integration.testing import MockBrokerAdapter
from broker_integration.testing.postgres import ClusterError, ThrowawayCluster, find_bin_dir

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[ThrowawayCluster]:
    """A server of this test's own (stopping the shared one would stop every other test's), in a folder the
    ``postgres`` user can reach."""
    if find_bin_dir() is None:
        pytest.skip(
            "PostgreSQL's server programs are not installed (scripts/ensure-postgresql.sh installs them)"
        )
    folder = Path(tempfile.mkdtemp(prefix="broker-integration-pg-restart-"))
    folder.chmod(0o755)
    cluster = ThrowawayCluster(folder / "cluster")
    try:
        cluster.create()
        cluster.start()
    except ClusterError as exc:
        cluster.remove()
        pytest.skip(f"cannot run a PostgreSQL server of the test's own here: {exc}")
    yield cluster
    cluster.remove()
    folder.rmdir()


def an_order() -> UnifiedOrder:
    return UnifiedOrder(instrument="EUR/USD", side="buy", quantity=Decimal(1000))


async def test_orders_survive_a_database_restart(server: ThrowawayCluster) -> None:
    venue = MockBrokerAdapter({"broker_name": "venue"})
    async with Store(server.url) as store:
        journal = OrderJournal(
            store, lookup_delays=(0.001,), settle_delays=(0.2, 0.5, 1.0, 2.0), cluster_interval=0.2
        )
        attach(venue, journal=journal)
        await venue.authenticate()
        journal.watch(venue)
        cluster = journal.cluster
        assert cluster is not None
        async with asyncio.timeout(10):
            while "venue" not in cluster.leading:  # noqa: ASYNC110 - leadership has no event of its own
                await asyncio.sleep(0.05)

        results: list[tuple[OrderResult, float]] = []
        stop = asyncio.Event()

        async def trade() -> None:
            while not stop.is_set():
                started = time.monotonic()
                results.append((await venue.place_order(an_order()), time.monotonic() - started))
                await asyncio.sleep(0.01)

        traders = [asyncio.create_task(trade()) for _ in range(4)]
        await asyncio.sleep(0.5)
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(1.5)  # down: orders wait for the journal
        await asyncio.to_thread(server.start)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*traders)

        async with asyncio.timeout(15):  # the locks are taken again, leadership included
            while "venue" not in cluster.leading or not await cluster.ensure_alive(fresh=True):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await journal.wait_settled()
            while await journal.in_flight("venue"):
                await journal.reconcile(venue)
                await asyncio.sleep(0.1)
        entries = {e.client_order_id: e for e in await journal.entries("venue")}
        await journal.aclose()

    executions = Counter(args[0].order_id for operation, args, _ in venue.calls if operation == "place_order")
    refused = [r for r, _ in results if not r.success]
    waited = [seconds for r, seconds in results if r.success and seconds > 1.0]
    assert refused or waited, "the outage was not felt"
    for result in refused:  # a refusal says so clearly, and nothing was sent
        assert result.error is not None
        assert result.error.error_code is StandardErrorCode.SERVICE_UNAVAILABLE, result.error
        assert "order journal" in result.error.message
        assert result.delivery is Delivery.NOT_SENT
        assert executions[result.client_order_id] == 0
    assert all(n == 1 for n in executions.values())  # none doubled
    assert set(executions) <= set(entries)  # none lost
    assert {cid for cid, e in entries.items() if e.status is OrderStatus.FILLED} == set(executions)
