"""The order journal as a stage, just outside the deadline: the intent is written before the order is sent,
and a timed-out or lost answer is settled from the broker's record (:mod:`broker_integration.journal`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker_integration.pipeline.context import CallContext, Proceed

if TYPE_CHECKING:
    from broker_integration.journal import OrderJournal

__all__ = ["JournalStage"]


class JournalStage:
    """Only operations whose row says ``journaled`` (``place_order``) pass through it."""

    def __init__(self, journal: OrderJournal) -> None:
        self.journal = journal

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        return await self.journal.place(ctx, proceed)
