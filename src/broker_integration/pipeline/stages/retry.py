"""Repeat a read-only call on a retryable error, within the retry policy and the adapter's retry budget.

Only operations whose row says ``retried`` pass through it (orders are never retried blindly).
"""

from __future__ import annotations

from typing import Any

from broker_integration.errors import BrokerError
from broker_integration.log import get_logger
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.resilience import Resilience

__all__ = ["RetryStage"]

_log = get_logger("broker_integration.resilience")


class RetryStage:
    """Full-jitter backoff between attempts; a broker's Retry-After is honoured."""

    def __init__(self, resilience: Resilience) -> None:
        self.resilience = resilience

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        r = self.resilience
        r.budget.record_call()
        attempt = 0
        while True:
            try:
                return await proceed()
            except BrokerError as exc:
                if not exc.retryable or attempt >= r.retry.max_retries or not r.budget.try_withdraw():
                    raise
                delay = r.retry.delay(attempt, r.rng, exc.error.retry_after)
                attempt += 1
                ctx.detail["retries"] = attempt
                _log.debug(
                    "%s %s retry %d in %.3f s after %s",
                    ctx.adapter.name,
                    ctx.operation.value,
                    attempt,
                    delay,
                    exc.error.error_code.value,
                )
                await r.sleep(delay)
