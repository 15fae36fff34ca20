"""The OANDA simulator in a process of its own, misbehaving, for the multi-process tests.

Run as ``python venue_process.py OUT [--seed N]``: prints one JSON line with the connection details, serves
on loopback, deals random faults from SIGUSR2 until SIGUSR1, and on SIGTERM writes what it received to OUT (JSON):
how many times each client order id was submitted, the ids refused as copies, the filled ids, the times of
the order transactions (venue clock, Unix seconds) and the faults dealt to order placements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import Counter
from decimal import Decimal
from pathlib import Path

from broker_integration.sim.oanda import OandaSimulator, SimulatorSettings
from broker_integration.sim.profile import VenueProfile
from broker_integration.sim.records import OrderState, RejectReason, TransactionType

#: More than a fifth of placements meet a fault (29 % expected, so a short run stays above 20 %): 503s, 429s,
#: requests dropped unread, orders executed whose answer is lost, and answers later than the client's
#: patience (as tests/integration/oanda does in-process).
FAULTY = VenueProfile(
    name="oanda",
    enforce_trading_hours=False,
    seed=5,
    initial_balance=Decimal(100_000_000),
    error_rate=0.09,
    rate_limit_rate=0.03,
    timeout_rate=0.03,
    response_lost_rate=0.11,
    latency_spike_rate=0.03,
    latency_spike_ms=700.0,
    retry_after_s=0.0,
)
_SUBMISSIONS = (TransactionType.ORDER_CREATE, TransactionType.ORDER_REJECT)


def record_of(sim: OandaSimulator) -> dict[str, object]:
    """What the venue received, as the tests compare it with the journal."""
    engine, account = sim.engine, sim.account_id
    transactions = engine.transactions(account_id=account)
    submitted = [t for t in transactions if t.type in _SUBMISSIONS and t.client_order_id is not None]
    return {
        "submissions": Counter(t.client_order_id for t in submitted),
        "refused_as_copies": [
            t.client_order_id for t in transactions if t.reason is RejectReason.CLIENT_ORDER_ID_ALREADY_EXISTS
        ],
        "filled": sorted(
            o.client_order_id
            for o in engine.orders(account, include_closed=True)
            if o.state is OrderState.FILLED and o.client_order_id is not None
        ),
        "submission_times": sorted(t.time.timestamp() for t in submitted),
        "faults": {
            kind.value: n
            for (operation, kind), n in engine.faults.dealt.items()
            if operation == "place_order"
        },
        "placements": sim.counts.requests["place_order"],
    }


async def serve(out: Path, seed: int) -> None:
    profile = FAULTY.model_copy(update={"seed": seed})
    sim = OandaSimulator(
        profile=profile, settings=SimulatorSettings(max_requests_per_second=None, hang_seconds=0.2)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    def calm() -> None:
        sim.engine.faults.random_faults_enabled = False
        sim.engine.faults.clear()

    def misbehave() -> None:
        sim.engine.faults.random_faults_enabled = True

    calm()  # until the traders have connected
    loop.add_signal_handler(signal.SIGUSR1, calm)
    loop.add_signal_handler(signal.SIGUSR2, misbehave)
    async with sim:
        details = {
            "base_url": sim.base_url,
            "stream_url": sim.stream_url,
            "account_id": sim.account_id,
            "token": sim.token,
        }
        print(json.dumps(details), flush=True)
        await stop.wait()
        await asyncio.to_thread(out.write_text, json.dumps(record_of(sim)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(serve(args.out, args.seed))


if __name__ == "__main__":
    main()
