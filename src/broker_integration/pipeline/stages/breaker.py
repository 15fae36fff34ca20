"""The circuit breaker as a stage: refuse calls unsent while it is open; count transport failures, not a
broker's business refusals."""

from __future__ import annotations

from typing import Any

from broker_integration.errors import (
    BrokerError,
    ServiceUnavailableError,
    StandardErrorCode,
    StandardizedError,
    classify_exception,
)
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.resilience import Resilience
from broker_integration.pipeline.stages.rate_limit import failure_of

__all__ = ["BREAKER_FAILURE_CODES", "BreakerStage"]

#: Failures that count against a broker's health: it did not answer properly. A refused order does not.
BREAKER_FAILURE_CODES = frozenset(
    {
        StandardErrorCode.CONNECTION_ERROR,
        StandardErrorCode.SERVICE_UNAVAILABLE,
        StandardErrorCode.TIMEOUT,
        StandardErrorCode.OUTCOME_UNKNOWN,
    }
)


class BreakerStage:
    """Only operations whose row says ``inside_breaker`` pass through it."""

    def __init__(self, resilience: Resilience) -> None:
        self.resilience = resilience

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        breaker = self.resilience.breaker
        if not breaker.try_acquire():
            raise ServiceUnavailableError(
                f"{ctx.adapter.name}: circuit breaker is open after repeated failures; "
                f"next probe in {breaker.seconds_until_probe:.1f} s",
                retryable=False,
                sent=False,
                context={"breaker": breaker.state.value},
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
            breaker.release()
            raise
        self._record(failure_of(result))
        return result

    def _record(self, error: StandardizedError | None) -> None:
        breaker = self.resilience.breaker
        if error is not None and error.error_code in BREAKER_FAILURE_CODES:
            breaker.record_failure()
        else:
            breaker.record_success()
