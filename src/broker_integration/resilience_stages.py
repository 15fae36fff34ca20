"""The resilience primitives as call-pipeline stages, configured from a broker's limits and settings.

Order of the stages (outermost first): retry (read-only calls only) → rate limit → circuit breaker →
order journal (when a store is attached) → timeout → the adapter's code. So every retry attempt takes a
rate-limit slot and asks the breaker, and a timed-out order is seen by the journal as an unknown outcome.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from broker_integration.broker_adapter import CallContext, InterceptorPriority, Operation, Proceed
from broker_integration.call_deadlines import CallDeadlines
from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.log import get_logger
from broker_integration.models import OrderResult
from broker_integration.resilience import (
    BreakerState,
    CircuitBreaker,
    RateLimiter,
    RetryBudget,
    RetryPolicy,
    Sleep,
)
from broker_integration.unified_errors import (
    BrokerError,
    BrokerTimeoutError,
    ServiceUnavailableError,
    StandardErrorCode,
    StandardizedError,
    classify_exception,
)

if TYPE_CHECKING:
    from broker_integration.broker_adapter import BrokerAdapter
    from broker_integration.broker_config import BrokerConfiguration

__all__ = ["BREAKER_FAILURE_CODES", "Resilience", "install_resilience"]

_log = get_logger("broker_integration.resilience")

#: Failures that count against a broker's health: it did not answer properly. A refused order does not.
BREAKER_FAILURE_CODES = frozenset(
    {
        StandardErrorCode.CONNECTION_ERROR,
        StandardErrorCode.SERVICE_UNAVAILABLE,
        StandardErrorCode.TIMEOUT,
        StandardErrorCode.OUTCOME_UNKNOWN,
    }
)

#: A stream reconnects by itself; a health check must report what it sees, not what a retry achieved.
_NOT_RETRIED = frozenset({Operation.STREAM_PRICES, Operation.HEALTH_CHECK})
#: The calls the retry stage sees: read-only ones, safe to repeat.
_RETRIED = frozenset(op for op in Operation if op.is_read_only and op not in _NOT_RETRIED)
#: Calls that neither wait for nor count against the breaker: logging in and out, and the health probe
#: (it must be able to see a broker recover while the breaker is open).
_OUTSIDE_BREAKER = frozenset({Operation.AUTHENTICATE, Operation.DISCONNECT, Operation.HEALTH_CHECK})


def _failure_of(value: Any) -> StandardizedError | None:
    """The error inside a failed OrderResult (order actions return failures instead of raising)."""
    if isinstance(value, OrderResult) and not value.success:
        return value.error
    return None


@dataclass
class Resilience:
    """One broker's limiter, breaker and retry state; health checks and routing read it."""

    requests: RateLimiter | None
    orders: RateLimiter | None
    breaker: CircuitBreaker
    retry: RetryPolicy
    budget: RetryBudget
    timeout_seconds: float
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    deadlines: CallDeadlines = field(default_factory=CallDeadlines)

    @property
    def breaker_open(self) -> bool:
        return self.breaker.state is BreakerState.OPEN

    # ------------------------------------------------------------------ stages

    async def retry_stage(self, ctx: CallContext, proceed: Proceed) -> Any:
        """Repeat read-only calls on retryable errors, within the policy and the shared budget."""
        if not ctx.operation.is_read_only or ctx.operation in _NOT_RETRIED:
            return await proceed()
        self.budget.record_call()
        attempt = 0
        while True:
            try:
                return await proceed()
            except BrokerError as exc:
                if not exc.retryable or attempt >= self.retry.max_retries or not self.budget.try_withdraw():
                    raise
                delay = self.retry.delay(attempt, self.rng, exc.error.retry_after)
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
                await self.sleep(delay)

    async def rate_limit_stage(self, ctx: CallContext, proceed: Proceed) -> Any:
        """Wait for a request slot (and an order slot for order actions); honour a broker's Retry-After."""
        waited = 0.0
        if self.requests is not None:
            waited += self.requests.reserve()
        if self.orders is not None and ctx.operation.is_order_action:
            waited = max(waited, self.orders.reserve())  # both slots are held from now; wait for the later
        if waited:
            ctx.detail["rate_limited_wait_s"] = waited
            await self.sleep(waited)
        try:
            result = await proceed()
        except BrokerError as exc:
            self._note_throttle(exc.error)
            raise
        failure = _failure_of(result)
        if failure is not None:
            self._note_throttle(failure)
        return result

    def _note_throttle(self, error: StandardizedError) -> None:
        if error.error_code is StandardErrorCode.RATE_LIMITED and self.requests is not None:
            self.requests.cool_down(error.retry_after if error.retry_after is not None else 1.0)

    async def breaker_stage(self, ctx: CallContext, proceed: Proceed) -> Any:
        """Refuse calls while the breaker is open; count transport failures, not business refusals."""
        if ctx.operation in _OUTSIDE_BREAKER:
            return await proceed()
        if not self.breaker.try_acquire():
            raise ServiceUnavailableError(
                f"{ctx.adapter.name}: circuit breaker is open after repeated failures; "
                f"next probe in {self.breaker.seconds_until_probe:.1f} s",
                retryable=False,
                context={"breaker": self.breaker.state.value, "sent": False},
            )
        try:
            result = await proceed()
        except BrokerError as exc:
            self._record(exc.error)
            raise
        except Exception as exc:
            self._record(classify_exception(exc))
            raise
        except BaseException:
            self.breaker.release()
            raise
        self._record(_failure_of(result))
        return result

    def _record(self, error: StandardizedError | None) -> None:
        if error is not None and error.error_code in BREAKER_FAILURE_CODES:
            self.breaker.record_failure()
        else:
            self.breaker.record_success()

    async def timeout_stage(self, ctx: CallContext, proceed: Proceed) -> Any:
        """Bound the broker's answer time; a timed-out state change is an unknown outcome, not a failure."""
        deadline = self.deadlines.limit(self.timeout_seconds)
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
            f"{ctx.adapter.name} did not answer {ctx.operation.value} within {self.timeout_seconds:g} s",
            context={"operation": ctx.operation.value, "sent": True},
        )


def install_resilience(
    adapter: BrokerAdapter,
    config: BrokerConfiguration | None = None,
    *,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
    breaker: CircuitBreaker | None = None,
    seed: int | None = None,
) -> Resilience:
    """Attach the resilience stages to ``adapter`` from ``config`` (its limits and settings).

    Without a configuration no rate limit applies (the limits belong to a configured broker); the
    breaker, the timeout and read retries always do.
    """
    clock = clock or adapter.clock or SYSTEM_CLOCK
    config = config if config is not None else adapter.config
    requests: RateLimiter | None = None
    orders: RateLimiter | None = None
    if config is not None:
        settings = config.settings
        published = adapter.declaration.default_limits
        limits = config.limits if "limits" in config.model_fields_set or published is None else published
        requests = RateLimiter(limits.requests_per_second, clock=clock, sleep=sleep)
        orders = RateLimiter(limits.max_orders_per_second, clock=clock, sleep=sleep)
        retry = RetryPolicy(max_retries=settings.retry_attempts)
        timeout = settings.timeout_seconds
    else:
        retry = RetryPolicy()
        timeout = 30.0
    resilience = Resilience(
        requests=requests,
        orders=orders,
        breaker=breaker or CircuitBreaker(clock=clock),
        retry=retry,
        budget=RetryBudget(clock=clock),
        timeout_seconds=timeout,
        sleep=sleep,
        rng=random.Random(seed),
    )
    for name in ("retry", "rate_limit", "circuit_breaker", "timeout"):
        adapter.remove_interceptor(name)
    adapter.add_interceptor(
        resilience.retry_stage, priority=InterceptorPriority.RETRY, name="retry", operations=_RETRIED
    )
    adapter.add_interceptor(
        resilience.rate_limit_stage, priority=InterceptorPriority.RATE_LIMIT, name="rate_limit"
    )
    adapter.add_interceptor(
        resilience.breaker_stage,
        priority=InterceptorPriority.CIRCUIT_BREAKER,
        name="circuit_breaker",
        operations=frozenset(Operation) - _OUTSIDE_BREAKER,
    )
    adapter.add_interceptor(resilience.timeout_stage, priority=InterceptorPriority.TIMEOUT, name="timeout")
    adapter.resilience = resilience
    return resilience
