"""Send the demo's orders through a running A/B test, a bounded number at a time.

A fixed pool of workers takes the next intent, reads the reference quote, and routes the order with
``execute_order_with_test``; at most ``concurrency`` orders are in flight, so thousands finish in seconds
without flooding the venues or the store. Each outcome is kept as a :class:`RoutedOrder`, in the order the
intents were drawn, for the report's routing timeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from broker_integration.ab_testing import ABOrderResult, BrokerABTestingFramework
from broker_integration.demo.market import OrderIntent, ReferenceFeed

__all__ = ["RoutedOrder", "ShareWindow", "routing_shares", "run_order_flow"]


@dataclass(frozen=True, slots=True)
class RoutedOrder:
    """Where one order went and how it ended. ``index`` is its place in the flow (0 first)."""

    index: int
    arm: str
    executed_arm: str
    success: bool
    status: str
    latency_ms: float | None
    error_code: str | None

    @classmethod
    def of(cls, index: int, result: ABOrderResult) -> RoutedOrder:
        return cls(
            index=index,
            arm=result.arm,
            executed_arm=result.executed_arm,
            success=result.success,
            status=result.status.value,
            latency_ms=result.latency_ms,
            error_code=result.error.error_code.value if result.error is not None else None,
        )


@dataclass(frozen=True, slots=True)
class ShareWindow:
    """Orders ``first`` to ``last`` (flow positions, inclusive) and the share the router gave each arm."""

    first: int
    last: int
    shares: dict[str, float]

    @property
    def middle(self) -> float:
        return (self.first + self.last + 1) / 2


def routing_shares(routed: Sequence[RoutedOrder], arms: Sequence[str], slices: int = 30) -> list[ShareWindow]:
    """The flow cut into about ``slices`` consecutive slices, with each arm's share of each slice."""
    size = max(1, -(-len(routed) // slices))
    windows = []
    for start in range(0, len(routed), size):
        chunk = routed[start : start + size]
        shares = {arm: sum(1 for r in chunk if r.arm == arm) / len(chunk) for arm in arms}
        windows.append(ShareWindow(chunk[0].index, chunk[-1].index, shares))
    return windows


async def run_order_flow(
    ab: BrokerABTestingFramework,
    test_id: str,
    intents: Iterable[OrderIntent],
    feed: ReferenceFeed,
    *,
    concurrency: int,
    on_order: Callable[[RoutedOrder], None] = lambda routed: None,
) -> list[RoutedOrder]:
    """Route every intent through ``test_id``; returns the outcomes by flow position.

    An error that stops routing (the test not running, say) cancels the other workers and is raised
    (the first one, if several workers met one).
    """
    numbered = enumerate(intents)
    done: dict[int, RoutedOrder] = {}

    async def worker() -> None:
        for index, intent in numbered:  # shared iterator: each intent goes to exactly one worker
            arrival = feed.quote(intent.instrument)
            result = await ab.execute_order_with_test(intent.order(arrival), test_id, arrival_quote=arrival)
            routed = RoutedOrder.of(index, result)
            done[index] = routed
            on_order(routed)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [done[i] for i in sorted(done)]
