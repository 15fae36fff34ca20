"""Wait for a request slot (and an order slot for order actions); a broker's 429 pauses every call.

The slots come from this process's limiters and, when the configuration shares the broker account's limits
(``limits.shared``) and a store is attached, from the store too
(:mod:`broker_integration.pipeline.shared_limits`): the call waits for the latest of them, so every process
trading the account together stays within the limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker_integration.errors import BrokerError, StandardErrorCode, StandardizedError
from broker_integration.models import OrderResult
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.resilience import Resilience

if TYPE_CHECKING:
    from broker_integration.pipeline.shared_limits import SharedLimits

__all__ = ["RateLimitStage", "failure_of"]


def failure_of(value: Any) -> StandardizedError | None:
    """The error inside a failed OrderResult (order actions return failures instead of raising)."""
    if isinstance(value, OrderResult) and not value.success:
        return value.error
    return None


class RateLimitStage:
    """Both slots are reserved at once; the call waits for the later one. Every retry takes a slot."""

    def __init__(self, resilience: Resilience, shared: SharedLimits | None = None) -> None:
        self.resilience = resilience
        self.shared = shared

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        r = self.resilience
        waited = 0.0
        order_action = ctx.operation.is_order_action
        if r.requests is not None:
            waited += r.requests.reserve()
        if r.orders is not None and order_action:
            waited = max(waited, r.orders.reserve())
        if self.shared is not None:
            shared_wait = await self.shared.reserve(order_action=order_action)
            if shared_wait is not None:
                waited = max(waited, shared_wait)
        if waited:
            ctx.detail["rate_limited_wait_s"] = waited
            await r.sleep(waited)
        try:
            result = await proceed()
        except BrokerError as exc:
            await self._note_throttle(exc.error)
            raise
        failure = failure_of(result)
        if failure is not None:
            await self._note_throttle(failure)
        return result

    async def _note_throttle(self, error: StandardizedError) -> None:
        if error.error_code is not StandardErrorCode.RATE_LIMITED:
            return
        pause = error.retry_after if error.retry_after is not None else 1.0
        requests = self.resilience.requests
        if requests is not None:
            requests.cool_down(pause)
        if self.shared is not None:
            await self.shared.cool_down(pause)
