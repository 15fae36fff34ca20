"""``build_pipeline``: the one place an adapter's stages are assembled, from the operation table.

``BrokerAdapter.__init__`` calls it with the adapter's configuration, the factory calls it again with its
order journal, and a user who builds an adapter by hand calls it to add one
(``build_pipeline(adapter, journal=OrderJournal(store))``). Which operations pass through which stage comes
from each operation's row in :data:`~broker_integration.pipeline.operations.OPERATIONS`:

    credentials gate → capability profile → retry (``retried``) → rate limit → breaker (``inside_breaker``)
    → journal (``journaled``) → deadline → the adapter's code

so every retry attempt takes a rate-limit slot and asks the breaker, and a timed-out order is seen by the
journal as an unknown outcome.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.pipeline.context import InterceptorPriority
from broker_integration.pipeline.operations import OPERATIONS, ORDER_ACTIONS, Operation, OpSpec
from broker_integration.pipeline.resilience import (
    CircuitBreaker,
    RateLimiter,
    Resilience,
    RetryBudget,
    RetryPolicy,
    Sleep,
)
from broker_integration.pipeline.stages.breaker import BreakerStage
from broker_integration.pipeline.stages.credentials import CredentialGate
from broker_integration.pipeline.stages.deadline import DeadlineStage
from broker_integration.pipeline.stages.journal import JournalStage
from broker_integration.pipeline.stages.profile import INTERCEPTOR_NAME as PROFILE_STAGE
from broker_integration.pipeline.stages.profile import PreTradeGuard
from broker_integration.pipeline.stages.rate_limit import RateLimitStage
from broker_integration.pipeline.stages.retry import RetryStage

if TYPE_CHECKING:
    from collections.abc import Callable

    from broker_integration.broker_config import BrokerConfiguration, BrokerLimits
    from broker_integration.capabilities.profile import CapabilityProfile
    from broker_integration.journal import OrderJournal
    from broker_integration.pipeline.adapter import BrokerAdapter
    from broker_integration.store import Store

__all__ = ["STAGE_NAMES", "attach", "build_pipeline"]

#: The names the stages are installed under (``adapter.interceptor_names`` shows them).
STAGE_NAMES = ("credentials", PROFILE_STAGE, "retry", "rate_limit", "circuit_breaker", "journal", "timeout")
_DEFAULT_TIMEOUT = 30.0


def _operations(where: Callable[[OpSpec], bool]) -> frozenset[Operation]:
    return frozenset(op for op, spec in OPERATIONS.items() if where(spec))


_RETRIED = _operations(lambda spec: spec.retried)
_INSIDE_BREAKER = _operations(lambda spec: spec.inside_breaker)
_JOURNALED = _operations(lambda spec: spec.journaled)


def build_pipeline(
    adapter: BrokerAdapter,
    config: BrokerConfiguration | None = None,
    *,
    journal: OrderJournal | None = None,
    profile: CapabilityProfile | None = None,
    gate: CredentialGate | None = None,
    breaker: CircuitBreaker | None = None,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
    seed: int | None = None,
    store: Store | None = None,
) -> Resilience:
    """Build ``adapter``'s resilience stages afresh from ``config`` (default: the adapter's) and attach the
    journal, capability profile and credential gate given; parts not given that the adapter has are kept.

    Without a configuration no rate limit applies (limits belong to a configured broker); the breaker, the
    deadline and read retries always do. A configuration that does not set ``limits`` gets the adapter's
    published ones (``default_limits``). With ``store`` and a configuration whose limits are ``shared``, the
    limits are also held in the store for every process trading the account. Returns the adapter's new
    :class:`Resilience`.
    """
    clock = clock or adapter.clock or SYSTEM_CLOCK
    config = config if config is not None else adapter.config
    requests = orders = None
    retry, timeout = RetryPolicy(), _DEFAULT_TIMEOUT
    if config is not None:
        limits = _limits(adapter, config)
        requests = RateLimiter(limits.requests_per_second, clock=clock, sleep=sleep)
        orders = RateLimiter(limits.max_orders_per_second, clock=clock, sleep=sleep)
        retry = RetryPolicy(max_retries=config.settings.retry_attempts)
        timeout = config.settings.timeout_seconds
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
        RetryStage(resilience), priority=InterceptorPriority.RETRY, name="retry", operations=_RETRIED
    )
    adapter.add_interceptor(
        RateLimitStage(resilience), priority=InterceptorPriority.RATE_LIMIT, name="rate_limit"
    )
    adapter.add_interceptor(
        BreakerStage(resilience),
        priority=InterceptorPriority.CIRCUIT_BREAKER,
        name="circuit_breaker",
        operations=_INSIDE_BREAKER,
    )
    adapter.add_interceptor(DeadlineStage(resilience), priority=InterceptorPriority.TIMEOUT, name="timeout")
    adapter.resilience = resilience
    attach(adapter, journal=journal, profile=profile, gate=gate, store=store)
    return resilience


def _limits(adapter: BrokerAdapter, config: BrokerConfiguration) -> BrokerLimits:
    """The configuration's limits if it sets them, else the adapter's published ones."""
    published = adapter.declaration.default_limits
    return config.limits if "limits" in config.model_fields_set or published is None else published


def attach(
    adapter: BrokerAdapter,
    *,
    journal: OrderJournal | None = None,
    profile: CapabilityProfile | None = None,
    gate: CredentialGate | None = None,
    store: Store | None = None,
) -> PreTradeGuard | None:
    """Add (or replace) the journal, the capability profile's pre-trade checks or the credential gate in
    ``adapter``'s pipeline, leaving its other stages as they are; with ``store``, hold the broker account's
    limits there when its configuration shares them (``limits.shared``). Returns the profile's stage when
    one was given (a re-discovery may replace ``guard.profile``)."""
    if gate is not None:
        adapter.remove_interceptor("credentials")
        adapter.add_interceptor(gate, priority=InterceptorPriority.CREDENTIALS, name="credentials")
    guard = None
    if profile is not None:
        if profile.broker_name != adapter.name:
            raise ValueError(f"the profile is for {profile.broker_name!r}, not for {adapter.name!r}")
        guard = PreTradeGuard(profile)
        adapter.remove_interceptor(PROFILE_STAGE)
        adapter.add_interceptor(
            guard, priority=InterceptorPriority.PRE_TRADE, name=PROFILE_STAGE, operations=ORDER_ACTIONS
        )
    if journal is not None:
        adapter.remove_interceptor("journal")
        adapter.add_interceptor(
            JournalStage(journal), priority=InterceptorPriority.JOURNAL, name="journal", operations=_JOURNALED
        )
        adapter.journal = journal
    if store is not None:
        _share_limits(adapter, store)
    return guard


def _share_limits(adapter: BrokerAdapter, store: Store) -> None:
    """Replace the rate-limit stage with one that also takes its slots from ``store``, if the adapter's
    configuration shares its limits."""
    config = adapter.config
    if config is None or not config.limits.shared or adapter.resilience is None:
        return
    from broker_integration.pipeline.shared_limits import (
        SharedLimits,
    )  # SQLAlchemy only when limits are shared

    limits = _limits(adapter, config)
    shared = SharedLimits.for_account(
        store,
        adapter.name,
        config.credentials.account_id,
        requests_per_second=limits.requests_per_second,
        orders_per_second=limits.max_orders_per_second,
    )
    adapter.remove_interceptor("rate_limit")
    adapter.add_interceptor(
        RateLimitStage(adapter.resilience, shared), priority=InterceptorPriority.RATE_LIMIT, name="rate_limit"
    )
