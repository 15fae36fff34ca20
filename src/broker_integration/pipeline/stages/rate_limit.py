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
from broker_integration.pipeline.operations import ORDER_ACTIONS
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
        waited = self.reserve(ctx)
        if self.shared is not None:
            shared_wait = await self.shared.reserve(order_action=ctx.operation in ORDER_ACTIONS)
            if shared_wait is not None:
                waited = max(waited, shared_wait)
        if waited:
            ctx.detail["rate_limited_wait_s"] = waited
            await self.resilience.sleep(waited)
        try:
            result = await proceed()
        except BrokerError as exc:
            await self._note_throttle(exc.error)
            raise
        failure = failure_of(result)
        if failure is not None:
            await self._note_throttle(failure)
        return result

    def reserve(self, ctx: CallContext) -> float:
        """Take this process's request slot (and order slot for an order action); the seconds to wait."""
        r = self.resilience
        waited = 0.0
        if r.requests is not None:
            waited = r.requests.reserve()
        if r.orders is not None and ctx.operation in ORDER_ACTIONS:
            waited = max(waited, r.orders.reserve())
        return waited

    def cool_down(self, error: StandardizedError) -> bool:
        """Pause this process's requests after a broker's 429; true when ``error`` is one (the shared limits
        are then to be cooled down too)."""
        if error.error_code is not StandardErrorCode.RATE_LIMITED:
            return False
        requests = self.resilience.requests
        if requests is not None:
            requests.cool_down(_pause(error))
        return True

    async def _note_throttle(self, error: StandardizedError) -> None:
        if self.cool_down(error) and self.shared is not None:
            await self.shared.cool_down(_pause(error))


def _pause(error: StandardizedError) -> float:
    """How long a 429 holds every call back: the broker's Retry-After, else a second."""
    return error.retry_after if error.retry_after is not None else 1.0
