"""Bound the broker's answer time; a timed-out state change is an unknown outcome, not a failure."""

from __future__ import annotations

import asyncio
from typing import Any

from broker_integration.errors import BrokerTimeoutError
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.resilience import Resilience

__all__ = ["DeadlineStage"]


class DeadlineStage:
    """One loop timer per adapter (:class:`~broker_integration.pipeline.deadlines.CallDeadlines`)."""

    def __init__(self, resilience: Resilience) -> None:
        self.resilience = resilience

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        r = self.resilience
        deadline = r.deadlines.limit(r.timeout_seconds)
        cancelled = False
        try:
            return await proceed()
        except asyncio.CancelledError as exc:
            cancelled = True
            if deadline.end(cancelled=True):
                raise self._timed_out(ctx) from exc
            raise
        except TimeoutError as exc:  # the adapter's own time limit (a socket read, say)
            raise self._timed_out(ctx) from exc
        finally:
            if not cancelled:
                deadline.end(cancelled=False)

    def _timed_out(self, ctx: CallContext) -> BrokerTimeoutError:
        return BrokerTimeoutError(
            f"{ctx.adapter.name} did not answer {ctx.operation.value} within {self.resilience.timeout_seconds:g} s",
            sent=True,
            context={"operation": ctx.operation.value},
        )
