"""The rate limit, breaker and deadline stages run as one coroutine (``stages.combined``) exactly as the three
nested: the same results, errors, breaker counts and limiter cool-downs, call by call, over a script of every
way a call ends. The nested run keeps the three apart by a pass-through stage between them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from broker_integration.broker_config import BrokerConfiguration, BrokerLimits, BrokerSettings
from broker_integration.clock import ManualClock
from broker_integration.errors import (
    BrokerError,
    InsufficientFundsError,
    RateLimitedError,
    ServiceUnavailableError,
    StandardErrorCode,
    make_error,
)
from broker_integration.models import OrderResult, OrderSide, OrderStatus, PriceTick, UnifiedOrder
from broker_integration.pipeline import BrokerAdapter, CallContext, Operation, Proceed
from broker_integration.pipeline.stages.combined import RateBreakerDeadline

START = ManualClock().now()

#: Every way a call can end, as the script's steps.
SCRIPT = [
    "ok", "503", "429", "refuse", "own_timeout", "bug", "hang", "failed_503", "failed_429", "ok",
    "503", "503", "503", "503", "503", "ok", "ok",
]  # fmt: skip


#: The steps that end in the protocol code raising.
RAISES: dict[str, Callable[[], Exception]] = {
    "503": lambda: ServiceUnavailableError("503 Service Unavailable", http_status=503),
    "429": lambda: RateLimitedError("429 Too Many Requests", retry_after=0.2, http_status=429),
    "refuse": lambda: InsufficientFundsError("insufficient margin"),
    "own_timeout": lambda: TimeoutError("read timed out"),
    "bug": lambda: RuntimeError("a bug in the protocol code"),
}


class Scripted(BrokerAdapter):
    """Answers each call as the next step of its script says."""

    broker_name = "scripted"

    def __init__(self, *args: Any, script: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script = list(script)

    async def authenticate(self, credentials: object = None) -> bool:
        return True

    async def _step(self) -> None:
        step = self.script.pop(0)
        if step in RAISES:
            raise RAISES[step]()
        if step == "hang":
            await asyncio.sleep(5)

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        failed = {
            "failed_503": StandardErrorCode.SERVICE_UNAVAILABLE,
            "failed_429": StandardErrorCode.RATE_LIMITED,
        }
        code = failed.get(self.script[0])
        if code is not None:
            self.script.pop(0)
            error = make_error(code, "refused in the answer", retry_after=0.5)
            return OrderResult(success=False, status=OrderStatus.REJECTED, error=error)
        await self._step()
        return OrderResult(success=True, broker_order_id="B1", status=OrderStatus.ACCEPTED)

    async def get_current_price(self, instrument: str) -> PriceTick:
        await self._step()
        return PriceTick(instrument=instrument, bid=Decimal("1.1"), ask=Decimal("1.2"), time=START)


class PassThrough:
    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        return await proceed()


def venue(*, apart: bool, clock: ManualClock) -> Scripted:
    config = BrokerConfiguration(
        broker_name="scripted",
        limits=BrokerLimits(requests_per_second=1000, max_orders_per_second=500),
        settings=BrokerSettings(timeout_seconds=0.05, retry_attempts=0),
    )
    adapter = Scripted(config, script=SCRIPT, clock=clock)
    assert adapter.resilience is not None

    async def sleep(seconds: float) -> None:  # a rate-limit wait passes on the manual clock
        clock.advance(seconds)

    adapter.resilience.sleep = sleep
    if apart:
        adapter.add_interceptor(PassThrough(), priority=250, name="between rate limit and breaker")
    return adapter


async def outcome(adapter: Scripted, clock: ManualClock, read: bool) -> tuple[Any, ...]:
    """What one call did: its answer or error, and the breaker's and the limiters' state after it."""
    answer: Any
    try:
        if read:
            answer = (await adapter.get_current_price("EUR/USD")).bid
        else:
            result = await adapter.place_order(
                UnifiedOrder(order_id="c1", instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1))
            )
            error = result.error
            answer = (result.status, result.delivery, error and (error.error_code, error.sent))
    except BrokerError as exc:
        answer = (type(exc).__name__, exc.error.error_code, exc.error.sent, exc.error.retryable)
    clock.advance(0.01)
    r = adapter.resilience
    assert r is not None
    assert r.requests is not None
    assert r.orders is not None
    breaker = r.breaker
    return (
        answer,
        breaker.state,
        breaker._consecutive,
        list(breaker._outcomes),
        r.requests._cooldown_until,
        r.requests._tat,
        r.orders._tat,
        len(r.deadlines),
    )


@pytest.mark.parametrize("read", [False, True], ids=["place_order", "get_current_price"])
async def test_combined_stages_end_every_call_as_the_nested_ones(read: bool) -> None:
    runs = []
    for apart in (False, True):
        clock = ManualClock()
        adapter = venue(apart=apart, clock=clock)
        chain = adapter._chain(Operation.PLACE_ORDER)
        assert any(isinstance(stage, RateBreakerDeadline) for stage in chain) is not apart
        runs.append([await outcome(adapter, clock, read) for _ in SCRIPT])
    assert runs[0] == runs[1]
    assert any(step[1].value == "open" for step in runs[0])  # the script opens the breaker


async def test_a_cancelled_call_stays_cancelled_and_frees_the_breaker_probe() -> None:
    for apart in (False, True):
        adapter = venue(apart=apart, clock=ManualClock())
        adapter.script = ["hang"]
        assert adapter.resilience is not None
        adapter.resilience.timeout_seconds = 5.0
        adapter.resilience.breaker._probe_in_flight = True
        call = asyncio.ensure_future(
            adapter.place_order(UnifiedOrder(instrument="EUR/USD", side=OrderSide.BUY, quantity=Decimal(1)))
        )
        await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert not adapter.resilience.breaker._probe_in_flight
        assert len(adapter.resilience.deadlines) == 0


def test_a_journal_or_shared_limits_between_them_keep_the_stages_apart() -> None:
    adapter = venue(apart=False, clock=ManualClock())
    assert [type(s).__name__ for s in adapter._chain(Operation.GET_CURRENT_PRICE)] == [
        "RetryStage",
        "RateBreakerDeadline",
    ]
    adapter.add_interceptor(PassThrough(), priority=350, name="journal-like")
    assert [type(s).__name__ for s in adapter._chain(Operation.PLACE_ORDER)] == [
        "RateLimitStage",
        "BreakerStage",
        "PassThrough",
        "DeadlineStage",
    ]
