"""Wait for a request slot (and an order slot for order actions); a broker's 429 pauses every call."""

from __future__ import annotations

from typing import Any

from broker_integration.errors import BrokerError, StandardErrorCode, StandardizedError
from broker_integration.models import OrderResult
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.resilience import Resilience

__all__ = ["RateLimitStage", "failure_of"]


def failure_of(value: Any) -> StandardizedError | None:
    """The error inside a failed OrderResult (order actions return failures instead of raising)."""
    if isinstance(value, OrderResult) and not value.success:
        return value.error
    return None


class RateLimitStage:
    """Both slots are reserved at once; the call waits for the later one. Every retry takes a slot."""

    def __init__(self, resilience: Resilience) -> None:
        self.resilience = resilience

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        r = self.resilience
        waited = 0.0
        if r.requests is not None:
            waited += r.requests.reserve()
        if r.orders is not None and ctx.operation.is_order_action:
            waited = max(waited, r.orders.reserve())
        if waited:
            ctx.detail["rate_limited_wait_s"] = waited
            await r.sleep(waited)
        try:
            result = await proceed()
        except BrokerError as exc:
            self._note_throttle(exc.error)
            raise
        failure = failure_of(result)
        if failure is not None:
            self._note_throttle(failure)
        return result

    def _note_throttle(self, error: StandardizedError) -> None:
        requests = self.resilience.requests
        if error.error_code is StandardErrorCode.RATE_LIMITED and requests is not None:
            requests.cool_down(error.retry_after if error.retry_after is not None else 1.0)
