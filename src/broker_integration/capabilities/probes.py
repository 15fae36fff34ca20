"""Dynamic discovery: read-only probes, each timed, that confirm or overturn the static findings.

In order: authenticate, health check, accounts, the instrument listing, a price (which also picks the
instrument the later probes use: the first with a tradeable quote), open orders and positions, candles per
granularity, and one streamed tick. Nothing here changes anything at the broker. A capability the static
analysis already settled (not implemented, excluded by the declaration) is not probed: calling it could
only fail the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeGuard, TypeVar

from broker_integration.capabilities.profile import CapabilityStatus
from broker_integration.capabilities.state import DiscoveryState, ProbeOutcome, is_conclusive
from broker_integration.errors import (
    BrokerConnectionError,
    StandardErrorCode,
    StandardizedError,
)
from broker_integration.models import (
    Account,
    AccountSummary,
    Candle,
    HealthState,
    HealthStatus,
    Instrument,
    Order,
    Position,
    PriceTick,
)
from broker_integration.pipeline import BrokerAdapter, BrokerCapability, Operation

__all__ = ["run_dynamic_probes"]

C = BrokerCapability
T = TypeVar("T")


async def run_dynamic_probes(state: DiscoveryState) -> None:
    """Probe the broker behind ``state.adapter`` and record what each probe showed."""
    if not await _authenticate(state):
        for capability, finding in state.capabilities.items():
            if finding.status.available:
                state.annotate(state.capabilities, capability, "not probed: authentication failed")
        return
    await _health(state)
    await _accounts(state)
    await _instruments(state)
    await _price(state)
    await _orders_and_positions(state)
    await _candles(state)
    await _stream(state)


def _list_of(value: object, item: type[T]) -> TypeGuard[list[T]]:
    return isinstance(value, list) and all(isinstance(v, item) for v in value)


async def _probe_listing(
    state: DiscoveryState,
    capability: BrokerCapability,
    operation: str,
    call: Callable[[], Awaitable[object]],
    item: type[T],
    noun: str,
) -> list[T] | None:
    """Verify ``capability`` by one listing call: refuted by an error or a wrong answer (``None``), else
    verified with the number of ``noun`` listed, which are returned."""
    table = state.capabilities
    outcome = await state.probe(operation, call)
    if outcome.error is not None:
        state.refute(table, capability, outcome.error, f"listing {noun} failed", outcome.latency_ms)
        return None
    listed = outcome.value
    if not _list_of(listed, item):
        wrong = state.wrong_type(operation, listed, f"a list of {item.__name__}")
        state.refute(table, capability, wrong, "the probe")
        return None
    state.verify(table, capability, f"listed {len(listed)} {noun[:-1]}(s)", outcome.latency_ms)
    return listed


def _answer(
    state: DiscoveryState,
    capability: BrokerCapability,
    operation: str,
    outcome: ProbeOutcome[Any],
    kind: type[T],
    failed: str,
) -> T | None:
    """The probe's answer when it is a ``kind``; else ``None``, ``capability`` refuted by the failed call's
    error (``failed`` says what failed) or, for an answer of another type, by the adapter's bug."""
    value = outcome.value
    if outcome.error is not None:
        state.refute(state.capabilities, capability, outcome.error, failed, outcome.latency_ms)
    elif not isinstance(value, kind):
        wrong = state.wrong_type(operation, value, kind.__name__)
        state.refute(state.capabilities, capability, wrong, "the probe")
    else:
        return value
    return None


async def _authenticate(state: DiscoveryState) -> bool:
    adapter = state.adapter
    if Operation.AUTHENTICATE not in type(adapter).implemented_operations():
        return True  # nothing to log in to (a public-data adapter, say); the other probes will tell
    outcome = await state.probe("authenticate", partial(adapter.authenticate, adapter.credentials))
    if outcome.error is not None:
        return False
    if outcome.value is not True:
        state.note_problem(
            "authenticate", StandardErrorCode.AUTHENTICATION_FAILED, "the broker refused the credentials"
        )
        return False
    return True


async def _health(state: DiscoveryState) -> None:
    if not state.open_to_test(state.capabilities, C.HEALTH_CHECK):
        return
    outcome = await state.probe("health_check", state.adapter.health_check)
    table = state.capabilities
    status = _answer(state, C.HEALTH_CHECK, "health_check", outcome, HealthStatus, "the health check failed")
    if status is None:
        return
    if status.state is HealthState.DOWN:
        state.inconclusive(
            table, C.HEALTH_CHECK, f"the health check reported the broker down: {status.message}"
        )
    else:
        state.verify(table, C.HEALTH_CHECK, f"reported {status.state.value}", outcome.latency_ms)


async def _accounts(state: DiscoveryState) -> None:
    adapter, table = state.adapter, state.capabilities
    if state.open_to_test(table, C.MULTIPLE_ACCOUNTS):
        await _probe_listing(
            state, C.MULTIPLE_ACCOUNTS, "get_accounts", adapter.get_accounts, Account, "accounts"
        )
    if state.open_to_test(table, C.ACCOUNT_SUMMARY):
        outcome = await state.probe("get_account_summary", adapter.get_account_summary)
        summary = _answer(
            state,
            C.ACCOUNT_SUMMARY,
            "get_account_summary",
            outcome,
            AccountSummary,
            "the account summary failed",
        )
        if summary is not None:
            state.verify(
                table,
                C.ACCOUNT_SUMMARY,
                f"account {summary.account_id} answered in {summary.currency}",
                outcome.latency_ms,
            )


async def _instruments(state: DiscoveryState) -> None:
    table = state.capabilities
    if not state.open_to_test(table, C.INSTRUMENTS):
        return
    listed = await _probe_listing(
        state, C.INSTRUMENTS, "get_instruments", state.adapter.get_instruments, Instrument, "instruments"
    )
    if listed is None:
        return
    state.instruments = {instrument.symbol: instrument for instrument in listed}
    state.instruments_complete = True
    if state.open_to_test(table, C.FRACTIONAL_QUANTITY):
        fractional = [i for i in listed if i.quantity_increment < 1 or i.min_quantity < 1]
        if fractional:
            first = fractional[0]
            state.verify(
                table,
                C.FRACTIONAL_QUANTITY,
                f"the listing sizes {first.symbol} in steps of {first.quantity_increment} "
                f"({len(fractional)} instrument(s) trade in fractions)",
            )
        else:
            state.annotate(table, C.FRACTIONAL_QUANTITY, "no listed instrument trades in fractions")


def _candidates(state: DiscoveryState) -> list[str]:
    options = state.options
    if options.probe_instruments:
        return list(options.probe_instruments)
    listed = list(state.instruments)[: options.quote_candidates]
    return listed or list(options.fallback_instruments)


async def _price(state: DiscoveryState) -> None:
    """Quote candidates until one is tradeable; that instrument is the one the later probes use."""
    candidates = _candidates(state)
    state.probe_instrument = candidates[0] if candidates else None
    table = state.capabilities
    if not state.open_to_test(table, C.CURRENT_PRICES):
        return
    first: ProbeOutcome[PriceTick] | None = None
    last_error: StandardizedError | None = None
    for symbol in candidates:
        outcome = await state.probe(
            f"get_current_price[{symbol}]", partial(state.adapter.get_current_price, symbol)
        )
        if outcome.error is not None:
            last_error = outcome.error
            if outcome.error.error_code is StandardErrorCode.INVALID_INSTRUMENT:
                continue  # the broker does not know this one: try the next
            break  # the broker has a problem (or the call does not work): more calls will not help
        tick = outcome.value
        if not isinstance(tick, PriceTick):
            last_error = state.wrong_type("get_current_price", tick, "PriceTick")
            continue
        if first is None:
            first = outcome
            state.probe_instrument, state.quote = symbol, tick
        if tick.tradeable:
            state.probe_instrument, state.quote = symbol, tick
            break
    if first is not None and state.quote is not None:
        quote = state.quote
        where = "" if quote.tradeable else " (market closed)"
        state.verify(
            table,
            C.CURRENT_PRICES,
            f"{quote.instrument} bid {quote.bid} ask {quote.ask}{where}",
            first.latency_ms,
        )
    elif last_error is not None:
        if last_error.error_code is StandardErrorCode.INVALID_INSTRUMENT:  # our guess of an instrument
            state.inconclusive(
                table, C.CURRENT_PRICES, f"none of {', '.join(candidates)} is known to the broker"
            )
        else:
            state.refute(table, C.CURRENT_PRICES, last_error, "no quote")


async def _orders_and_positions(state: DiscoveryState) -> None:
    adapter, table = state.adapter, state.capabilities
    if state.open_to_test(table, C.ORDER_LISTING):
        await _probe_listing(state, C.ORDER_LISTING, "get_orders", adapter.get_orders, Order, "open orders")
    if state.open_to_test(table, C.POSITIONS):
        await _probe_listing(
            state, C.POSITIONS, "get_positions", adapter.get_positions, Position, "open positions"
        )


async def _candles(state: DiscoveryState) -> None:
    """Ask for a few candles at each granularity; historical data works if any granularity does."""
    table, symbol = state.capabilities, state.probe_instrument
    if not state.open_to_test(table, C.HISTORICAL_DATA) or symbol is None:
        return
    adapter, count = state.adapter, state.options.candle_count
    errors: list[StandardizedError] = []
    fastest: float | None = None
    for granularity in state.options.granularities:
        outcome = await state.probe(
            f"get_historical_data[{granularity.value}]",
            partial(adapter.get_historical_data, symbol, granularity, count=count),
        )
        if outcome.error is not None:
            errors.append(outcome.error)
            state.refute(
                state.granularities, granularity, outcome.error, "candles failed", outcome.latency_ms
            )
            continue
        candles = outcome.value
        if not _list_of(candles, Candle):
            error = state.wrong_type("get_historical_data", candles, "a list of Candle")
            errors.append(error)
            state.refute(state.granularities, granularity, error, "the probe")
        elif not candles:
            state.inconclusive(
                state.granularities, granularity, f"the broker answered with no {symbol} candles"
            )
        else:
            fastest = outcome.latency_ms if fastest is None else min(fastest, outcome.latency_ms)
            state.verify(
                state.granularities, granularity, f"{len(candles)} {symbol} candle(s)", outcome.latency_ms
            )
    _judge_history(state, errors, fastest)


def _judge_history(state: DiscoveryState, errors: Sequence[StandardizedError], fastest: float | None) -> None:
    table = state.capabilities
    working = [g for g, f in state.granularities.items() if f.status is CapabilityStatus.VERIFIED]
    if working:
        names = ", ".join(g.value for g in working)
        state.verify(table, C.HISTORICAL_DATA, f"candles at {len(working)} granularities ({names})", fastest)
    elif errors and all(is_conclusive(e) for e in errors):
        state.refute(table, C.HISTORICAL_DATA, errors[0], "candles failed at every granularity")
    elif errors:
        state.inconclusive(table, C.HISTORICAL_DATA, f"candle requests failed: {errors[0].error_code.value}")


async def _first_tick(adapter: BrokerAdapter, symbol: str) -> PriceTick:
    """Open a price stream, take its first tick and close the stream."""
    stream: AsyncIterator[PriceTick] = adapter.stream_prices([symbol])
    try:
        async for tick in stream:
            return tick
        raise BrokerConnectionError("the price stream ended before its first tick", broker_name=adapter.name)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def _stream(state: DiscoveryState) -> None:
    table, symbol = state.capabilities, state.probe_instrument
    if not state.open_to_test(table, C.STREAMING_PRICES) or symbol is None:
        return
    outcome = await state.probe(
        "stream_prices[first tick]",
        partial(_first_tick, state.adapter, symbol),
        timeout=state.options.stream_timeout,
    )
    tick = _answer(state, C.STREAMING_PRICES, "stream_prices", outcome, PriceTick, "no streamed tick")
    if tick is not None:
        state.verify(table, C.STREAMING_PRICES, f"first {symbol} tick streamed", outcome.latency_ms)
