"""The rate limit, breaker and deadline stages run as one coroutine where a call passes through all three in a
row (every call of an adapter without an order journal): what the three do, in the same order, with one
coroutine and one ``proceed`` instead of three of each.

Each stage keeps its own steps (:meth:`RateLimitStage.reserve`, :meth:`BreakerStage.admit`,
:meth:`BreakerStage.record`, :meth:`DeadlineStage.timed_out` ...); this module only runs them in the order
the nesting would: a call cut off by its deadline reaches the breaker as a timeout, and every error the
breaker and the deadline raise reaches the rate limit, which acts only on a broker's 429.
"""

from __future__ import annotations

import asyncio
from typing import Any

from broker_integration.errors import BrokerError, classify_exception
from broker_integration.pipeline.context import CallContext, CallInterceptor, Proceed
from broker_integration.pipeline.stages.breaker import BreakerStage
from broker_integration.pipeline.stages.deadline import DeadlineStage
from broker_integration.pipeline.stages.rate_limit import RateLimitStage, failure_of

__all__ = ["RateBreakerDeadline", "combined"]


class RateBreakerDeadline:
    """``rate`` → ``breaker`` → ``deadline`` → the rest, as one stage. Only for a rate limit without shared
    limits (whose slots and cool-downs are awaited)."""

    __slots__ = ("breaker", "deadline", "rate")

    def __init__(self, rate: RateLimitStage, breaker: BreakerStage, deadline: DeadlineStage) -> None:
        self.rate = rate
        self.breaker = breaker
        self.deadline = deadline

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        rate, breaker_stage, deadline_stage = self.rate, self.breaker, self.deadline
        waited = rate.reserve(ctx)
        if waited:
            ctx.detail["rate_limited_wait_s"] = waited
            await rate.resilience.sleep(waited)
        breaker = breaker_stage.admit(ctx)
        r = deadline_stage.resilience
        deadline = r.deadlines.limit(r.timeout_seconds)
        try:
            result = await proceed()
        except asyncio.CancelledError as exc:
            if deadline.end(cancelled=True):
                timeout = deadline_stage.timed_out(ctx)
                breaker_stage.record(timeout.error)
                raise timeout from exc
            breaker.release()
            raise
        except TimeoutError as exc:  # the adapter's own time limit
            deadline.end(cancelled=False)
            timeout = deadline_stage.timed_out(ctx)
            breaker_stage.record(timeout.error)
            raise timeout from exc
        except BrokerError as exc:
            deadline.end(cancelled=False)
            breaker_stage.record(exc.error)
            rate.cool_down(exc.error)
            raise
        except Exception as exc:
            deadline.end(cancelled=False)
            breaker_stage.record(classify_exception(exc))
            raise
        except BaseException:
            deadline.end(cancelled=False)
            breaker.release()
            raise
        deadline.end(cancelled=False)
        failure = failure_of(result)
        breaker_stage.record(failure)
        if failure is not None:
            rate.cool_down(failure)
        return result


def combined(chain: tuple[CallInterceptor, ...]) -> tuple[CallInterceptor, ...]:
    """``chain`` with a run of the rate limit (without shared limits), breaker and deadline stages, in that
    order and next to each other, as one :class:`RateBreakerDeadline`; otherwise ``chain`` itself."""
    for i in range(len(chain) - 2):
        rate, breaker, deadline = chain[i : i + 3]
        if (
            type(rate) is RateLimitStage
            and rate.shared is None
            and type(breaker) is BreakerStage
            and type(deadline) is DeadlineStage
        ):
            return (*chain[:i], RateBreakerDeadline(rate, breaker, deadline), *chain[i + 3 :])
    return chain
