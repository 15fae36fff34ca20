"""Pre-trade checks from a capability profile: a pipeline stage that refuses, before sending, an order the
broker is known not to take.

The pipeline itself refuses order types and times in force outside an adapter's *declaration*; this stage
adds what discovery *learned*: a declared feature that failed its test, an instrument the broker does not
list, a size below the minimum or off the increment, a price off the tick. It refuses only on evidence:
a capability that is FAILED or UNSUPPORTED, an instrument the profile knows, or an unknown instrument when
the profile holds the broker's complete listing. It never blocks a cancel, and it lets discovery's own test
orders through (see :func:`discovery_calls`), so a re-discovery can see a feature come back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from broker_integration.errors import (
    StandardErrorCode,
    StandardizedError,
    error_class_for,
    make_error,
)
from broker_integration.models import OrderModification, UnifiedOrder
from broker_integration.pipeline.context import CallContext, Proceed
from broker_integration.pipeline.operations import ORDER_TYPE_CAPABILITY, BrokerCapability, Operation

if TYPE_CHECKING:
    from broker_integration.capabilities.profile import CapabilityFinding, CapabilityProfile

__all__ = ["INTERCEPTOR_NAME", "PreTradeGuard", "discovery_calls"]

#: The name the stage is installed under (``adapter.interceptor_names`` shows it).
INTERCEPTOR_NAME = "capability_profile"

_IN_DISCOVERY: ContextVar[bool] = ContextVar("broker_integration_capability_discovery", default=False)


@contextmanager
def discovery_calls() -> Iterator[None]:
    """Mark the calls made in this context (and tasks started from it) as discovery's own test calls."""
    token = _IN_DISCOVERY.set(True)
    try:
        yield
    finally:
        _IN_DISCOVERY.reset(token)


class PreTradeGuard:
    """The pipeline stage. ``profile`` may be replaced at any time (a re-discovery updates it)."""

    def __init__(self, profile: CapabilityProfile) -> None:
        self.profile = profile

    async def __call__(self, ctx: CallContext, proceed: Proceed) -> Any:
        if not _IN_DISCOVERY.get():
            refusal = self.check_call(ctx.operation, ctx.args, ctx.kwargs, ctx.order)
            if refusal is not None:
                ctx.detail["refused_by"] = INTERCEPTOR_NAME
                raise error_class_for(refusal.error_code)(refusal)
        return await proceed()

    def check_call(
        self, operation: Operation, args: tuple[Any, ...], kwargs: dict[str, Any], order: UnifiedOrder | None
    ) -> StandardizedError | None:
        """Why the profile refuses this call, or ``None``."""
        if operation is Operation.PLACE_ORDER and order is not None:
            return self.check_order(order)
        if operation is Operation.MODIFY_ORDER:
            modification = args[1] if len(args) > 1 else kwargs.get("modification")
            if isinstance(modification, OrderModification):
                return self.check_modification(modification)
        return None

    def check_order(self, order: UnifiedOrder) -> StandardizedError | None:
        """The first reason the profile gives to refuse ``order``, or ``None``."""
        return (
            self._capability(ORDER_TYPE_CAPABILITY[order.order_type], f"{order.order_type.value} orders")
            or self._time_in_force(order)
            or (
                self._capability(BrokerCapability.TAKE_PROFIT_STOP_LOSS, "take-profit/stop-loss on fill")
                if order.take_profit is not None or order.stop_loss is not None
                else None
            )
            or self._instrument(order)
        )

    def check_modification(self, modification: OrderModification) -> StandardizedError | None:
        refusal = self._capability(BrokerCapability.MODIFY_ORDERS, "modifying orders")
        tif = modification.time_in_force
        if refusal is None and tif is not None:
            refusal = self._refused(self.profile.time_in_force.get(tif), f"time in force {tif.value}")
        return refusal

    # ------------------------------------------------------------------ checks

    def _refused(self, finding: CapabilityFinding | None, what: str) -> StandardizedError | None:
        if finding is None or not finding.status.refused:
            return None
        return self._error(
            StandardErrorCode.UNSUPPORTED_OPERATION,
            f"{self.profile.broker_name} cannot take {what}: {finding.status.value} ({finding.evidence})",
        )

    def _capability(self, capability: BrokerCapability, what: str) -> StandardizedError | None:
        return self._refused(self.profile.capabilities.get(capability), what)

    def _time_in_force(self, order: UnifiedOrder) -> StandardizedError | None:
        tif = order.time_in_force
        return (
            None
            if tif is None
            else self._refused(self.profile.time_in_force.get(tif), f"time in force {tif.value}")
        )

    def _instrument(self, order: UnifiedOrder) -> StandardizedError | None:
        profile = self.profile
        symbol = order.instrument
        instrument = profile.instrument(symbol)
        if instrument is None:
            if profile.instruments_complete:
                return self._error(
                    StandardErrorCode.INVALID_INSTRUMENT,
                    f"{profile.broker_name} does not list {symbol} "
                    f"(its listing of {len(profile.supported_instruments)} instruments, {profile.discovered_at:%Y-%m-%d %H:%M} UTC)",
                    context={"instrument": symbol},
                )
            return None
        refusal = instrument.order_refusal(order)
        return None if refusal is None else self._invalid(order, refusal)

    def _invalid(self, order: UnifiedOrder, message: str) -> StandardizedError:
        return self._error(
            StandardErrorCode.INVALID_ORDER,
            f"{self.profile.broker_name}: {message}",
            context={"instrument": order.instrument, "client_order_id": order.order_id},
        )

    def _error(
        self, code: StandardErrorCode, message: str, context: dict[str, Any] | None = None
    ) -> StandardizedError:
        return make_error(
            code,
            message,
            broker_name=self.profile.broker_name,
            sent=False,
            context={"source": "capability profile", **(context or {})},
        )
