"""Error analysis: which brokers fail, how often, with which codes, and what to do about it.

:class:`ErrorAnalyzer` subscribes to an :class:`~broker_integration.events.EventBus` and counts every
:class:`~broker_integration.events.CallEvent`: each call per broker and operation, and each failed call's
:class:`~broker_integration.errors.StandardizedError`. Counts live in one-minute buckets (the bucket
size is configurable) kept for a bounded retention, so memory stays bounded however long it runs.

:meth:`ErrorAnalyzer.report` turns a window of buckets into an :class:`ErrorReport`: error rates by broker
and operation, counts by code, spikes against a trailing baseline (:class:`SpikeRule` says exactly how),
repeated identical errors and the most frequent suggested actions. :meth:`ErrorAnalyzer.export_jsonl`
writes what it holds as JSON lines (secrets masked) and :meth:`ErrorAnalyzer.from_jsonl` reads it back,
so a fresh process (``broker-integration errors analyze FILE``) can analyse a run that has ended.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pydantic import ValidationError

from broker_integration.clock import SYSTEM_CLOCK, Clock
from broker_integration.errors._codes import StandardErrorCode
from broker_integration.errors._model import StandardizedError
from broker_integration.events import CallEvent, EventBus, Subscription, get_event_bus
from broker_integration.log import get_logger, redact

__all__ = [
    "EXPORT_FORMAT",
    "ActionCount",
    "BrokerErrorStats",
    "CodeCount",
    "ErrorAnalyzer",
    "ErrorReport",
    "ErrorSpike",
    "JsonlLoadResult",
    "OperationErrorStats",
    "RepeatedError",
    "SpikeRule",
    "TimelineBucket",
    "UnmappedCount",
]

_log = get_logger("broker_integration.errors")

#: The ``format`` written in the first (meta) line of an export.
EXPORT_FORMAT = "broker_integration.errors/1"


# -- the report's value types ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """When a broker's errors count as a spike.

    The *recent* window is the last ``window`` (whole buckets, the current partial bucket included); the
    *baseline* is the ``baseline`` just before it. A rate is errors per call when both windows saw calls,
    else errors per minute (data holding errors only). A broker, or one of its codes, spikes when

    * the recent window has at least ``min_errors`` errors, and
    * the recent rate is at least ``factor`` times the baseline rate (any rate above a zero baseline
      counts, provided the baseline window saw calls or errors; no baseline data, no spike).
    """

    window: timedelta = timedelta(minutes=5)
    baseline: timedelta = timedelta(hours=1)
    factor: float = 3.0
    min_errors: int = 5

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.baseline <= timedelta(0):
            raise ValueError("spike window and baseline must be positive")
        if not self.factor >= 1.0 or self.min_errors < 1:
            raise ValueError("spike factor must be >= 1 and min_errors >= 1")


@dataclass(frozen=True, slots=True)
class CodeCount:
    """How many errors had one standard code."""

    code: StandardErrorCode
    count: int


@dataclass(frozen=True, slots=True)
class BrokerErrorStats:
    """One broker's calls and errors in the window; ``error_rate`` is ``None`` without calls."""

    broker_name: str
    calls: int
    errors: int
    cancelled: int
    error_rate: float | None
    codes: tuple[CodeCount, ...]


@dataclass(frozen=True, slots=True)
class OperationErrorStats:
    """One (broker, operation)'s calls and errors in the window."""

    broker_name: str
    operation: str
    calls: int
    errors: int
    error_rate: float | None


@dataclass(frozen=True, slots=True)
class TimelineBucket:
    """Calls and errors in one bucket starting at ``start``."""

    start: datetime
    calls: int
    errors: int


@dataclass(frozen=True, slots=True)
class ErrorSpike:
    """A broker (``code is None``) or one of its codes erring faster than its baseline; see :class:`SpikeRule`.

    ``ratio`` is ``None`` when the baseline rate was zero (errors that are new).
    """

    broker_name: str
    code: StandardErrorCode | None
    recent_errors: int
    recent_rate: float
    baseline_errors: int
    baseline_rate: float
    ratio: float | None
    unit: str


@dataclass(frozen=True, slots=True)
class RepeatedError:
    """The same broker, code and message seen ``count`` times in the window."""

    broker_name: str
    code: StandardErrorCode
    message: str
    count: int
    first_seen: datetime
    last_seen: datetime
    suggested_action: str


@dataclass(frozen=True, slots=True)
class ActionCount:
    """A suggested action, how many errors carried it and their codes."""

    suggested_action: str
    count: int
    codes: tuple[StandardErrorCode, ...]


@dataclass(frozen=True, slots=True)
class UnmappedCount:
    """Errors a broker sent that no table maps (standard code UNKNOWN), by the broker's own code."""

    broker_name: str
    broker_error_code: str
    count: int


@dataclass(frozen=True, slots=True)
class JsonlLoadResult:
    """What :meth:`ErrorAnalyzer.load_jsonl` read: lines, records used, lines skipped, errors the export dropped."""

    lines: int
    loaded: int
    skipped: int
    errors_dropped_by_exporter: int


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ErrorReport:
    """The analysis of one window, as data (:meth:`to_dict`) or text (:meth:`render_text`)."""

    generated_at: datetime
    window_start: datetime
    window_end: datetime
    calls: int
    errors: int
    cancelled: int
    error_rate: float | None
    brokers: tuple[BrokerErrorStats, ...]
    operations: tuple[OperationErrorStats, ...]
    codes: tuple[CodeCount, ...]
    timeline: tuple[TimelineBucket, ...]
    spikes: tuple[ErrorSpike, ...]
    repeats: tuple[RepeatedError, ...]
    top_actions: tuple[ActionCount, ...]
    unmapped: tuple[UnmappedCount, ...]
    spike_rule: SpikeRule = field(default_factory=SpikeRule)
    repeat_threshold: int = 3
    dropped_events: int = 0

    def broker(self, name: str) -> BrokerErrorStats | None:
        """The stats of broker ``name``, if it appears in the window."""
        return next((b for b in self.brokers if b.broker_name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times ISO 8601 UTC, codes as strings)."""

        def convert(value: Any) -> Any:
            if isinstance(value, datetime):
                return _iso(value)
            if isinstance(value, timedelta):
                return value.total_seconds()
            if isinstance(value, StandardErrorCode):
                return value.value
            if isinstance(value, tuple | list):
                return [convert(v) for v in value]
            if hasattr(value, "__dataclass_fields__"):
                return {name: convert(getattr(value, name)) for name in value.__dataclass_fields__}
            return value

        result = convert(self)
        assert isinstance(result, dict)
        return result

    def render_text(self) -> str:
        """The report as plain text for a terminal or a log."""
        minutes = (self.window_end - self.window_start).total_seconds() / 60
        lines = [
            f"Errors from {_iso(self.window_start)} to {_iso(self.window_end)} ({minutes:.0f} min): "
            f"{self.calls} calls, {self.errors} errors ({_pct(self.error_rate)})"
            + (f", {self.cancelled} cancelled" if self.cancelled else "")
        ]
        if self.dropped_events:
            lines.append(f"  ({self.dropped_events} events older than the retention were not counted)")
        if self.brokers:
            lines.append("")
            lines.append("By broker (error rate = errors / calls):")
            for b in self.brokers:
                codes = ", ".join(f"{c.code.value} {c.count}" for c in b.codes) or "-"
                lines.append(
                    f"  {b.broker_name:<12} {b.calls:>7} calls {b.errors:>6} errors {_pct(b.error_rate):>7}   {codes}"
                )
        if any(o.errors for o in self.operations):
            lines.append("")
            lines.append("By operation:")
            for o in self.operations:
                if o.errors:
                    lines.append(
                        f"  {o.broker_name:<12} {o.operation:<22} {o.calls:>7} calls {o.errors:>6} errors "
                        f"{_pct(o.error_rate):>7}"
                    )
        rule = self.spike_rule
        lines.append("")
        lines.append(
            f"Spikes (last {rule.window.total_seconds() / 60:.0f} min vs the {rule.baseline.total_seconds() / 60:.0f} "
            f"min before; >= {rule.min_errors} errors and >= {rule.factor:g}x the baseline rate):"
        )
        if not self.spikes:
            lines.append("  none")
        for s in self.spikes:
            what = f"{s.broker_name} {s.code.value if s.code else 'all codes'}"
            ratio = "new (baseline 0)" if s.ratio is None else f"{s.ratio:.1f}x"
            lines.append(
                f"  {what}: {s.recent_errors} errors, {s.recent_rate:.3f} {s.unit} vs "
                f"{s.baseline_rate:.3f} ({s.baseline_errors} errors) before: {ratio}"
            )
        if self.repeats:
            lines.append("")
            lines.append(
                f"Repeated errors (>= {self.repeat_threshold} times, same broker, code and message):"
            )
            for r in self.repeats:
                lines.append(
                    f"  {r.count:>5}x {r.broker_name} {r.code.value} {r.message[:100]!r} "
                    f"({_iso(r.first_seen)} .. {_iso(r.last_seen)})"
                )
        if self.top_actions:
            lines.append("")
            lines.append("Top suggested actions:")
            for a in self.top_actions:
                codes = ",".join(c.value for c in a.codes)
                lines.append(f"  {a.count:>5}x [{codes}] {a.suggested_action}")
        if self.unmapped:
            lines.append("")
            lines.append("Unmapped broker codes (extend the broker's error table):")
            for u in self.unmapped:
                lines.append(f"  {u.count:>5}x {u.broker_name} {u.broker_error_code}")
        if self.timeline:
            busy = [t for t in self.timeline if t.calls or t.errors][-15:]
            if busy:
                lines.append("")
                lines.append("Timeline (busiest last 15 buckets with activity):")
                for t in busy:
                    lines.append(f"  {_iso(t.start)} {t.calls:>7} calls {t.errors:>6} errors")
        return "\n".join(lines)


# -- the analyzer --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Repeat:
    count: int
    first: datetime
    last: datetime
    action: str


@dataclass(slots=True)
class _Bucket:
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    cancelled: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: Counter[tuple[str, str, StandardErrorCode]] = field(default_factory=Counter)
    actions: Counter[tuple[str, StandardErrorCode]] = field(default_factory=Counter)
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    messages: dict[tuple[str, StandardErrorCode, str], _Repeat] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _KeptError:
    bucket: int
    time: datetime
    broker_name: str
    adapter_id: str
    operation: str
    error: StandardizedError


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class ErrorAnalyzer:
    """Aggregates broker call outcomes from an event bus into per-minute buckets, and reports on them.

    ``bucket_seconds`` sets the bucket size, ``retention`` how far back buckets are kept (measured from
    the newest event seen, so loading old exports works). Per bucket at most ``max_messages_per_bucket``
    distinct messages are tracked for repeats, and at most ``max_kept_errors`` errors are kept whole for
    export. Thread-safe: handlers may run on any thread.
    """

    def __init__(
        self,
        bus: EventBus | None = None,
        *,
        clock: Clock | None = None,
        bucket_seconds: int = 60,
        retention: timedelta = timedelta(hours=24),
        spike_rule: SpikeRule | None = None,
        repeat_threshold: int = 3,
        top_n: int = 5,
        max_messages_per_bucket: int = 100,
        max_kept_errors: int = 10_000,
    ) -> None:
        if bucket_seconds < 1 or retention.total_seconds() < bucket_seconds:
            raise ValueError("bucket_seconds must be >= 1 and retention at least one bucket")
        if repeat_threshold < 2 or top_n < 1:
            raise ValueError("repeat_threshold must be >= 2 and top_n >= 1")
        self._bus = bus
        self._clock = clock or SYSTEM_CLOCK
        self.bucket_seconds = bucket_seconds
        self.retention = retention
        self.spike_rule = spike_rule or SpikeRule()
        self.repeat_threshold = repeat_threshold
        self.top_n = top_n
        self._max_buckets = math.ceil(retention.total_seconds() / bucket_seconds)
        self._max_messages = max_messages_per_bucket
        self._buckets: dict[int, _Bucket] = {}
        self._newest: int | None = None
        self._latest_time: datetime | None = None
        self._kept: deque[_KeptError] = deque(maxlen=max_kept_errors)
        self._errors_not_kept = 0
        self._dropped = 0
        self._subscription: Subscription | None = None
        self._lock = threading.Lock()

    # -- wiring ----------------------------------------------------------------------------------

    def attach(self) -> Self:
        """Start counting the bus's call events (the process-wide bus if none was given); idempotent."""
        if self._subscription is None:
            bus = self._bus or get_event_bus()
            self._bus = bus
            self._subscription = bus.subscribe(CallEvent, self.record)
        return self

    def detach(self) -> None:
        """Stop counting; what was counted stays."""
        if self._subscription is not None and self._bus is not None:
            self._bus.unsubscribe(self._subscription)
        self._subscription = None

    @property
    def attached(self) -> bool:
        return self._subscription is not None

    def __enter__(self) -> Self:
        return self.attach()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.detach()

    # -- recording -------------------------------------------------------------------------------

    def record(self, event: CallEvent) -> None:
        """Count one call event (the bus handler)."""
        self.record_call(
            time=event.time,
            broker_name=event.broker_name,
            operation=event.operation,
            success=event.success,
            error=event.error,
            adapter_id=event.adapter_id,
        )

    def record_call(
        self,
        *,
        time: datetime,
        broker_name: str,
        operation: str,
        success: bool,
        error: StandardizedError | None = None,
        adapter_id: str = "",
        count: int = 1,
    ) -> None:
        """Count ``count`` calls; a failed one with an ``error`` counts that error, one without is cancelled."""
        failed = not success
        self._add(
            time,
            broker_name,
            operation,
            calls=count,
            cancelled=count if failed and error is None else 0,
            error=error if failed else None,
            adapter_id=adapter_id,
        )

    def record_error(
        self,
        error: StandardizedError,
        *,
        time: datetime | None = None,
        broker_name: str | None = None,
        operation: str = "",
        adapter_id: str = "",
    ) -> None:
        """Count an error whose call is counted elsewhere (or not at all): rates then stay ``None``."""
        self._add(
            time or error.timestamp,
            broker_name if broker_name is not None else error.broker_name,
            operation,
            calls=0,
            cancelled=0,
            error=error,
            adapter_id=adapter_id,
        )

    def _index(self, when: datetime) -> int:
        return math.floor(_aware(when).timestamp() / self.bucket_seconds)

    def _add(
        self,
        when: datetime,
        broker: str,
        operation: str,
        *,
        calls: int,
        cancelled: int,
        error: StandardizedError | None,
        adapter_id: str,
    ) -> None:
        when = _aware(when)
        index = self._index(when)
        with self._lock:
            if self._newest is None or index > self._newest:
                self._newest = index
                floor = index - self._max_buckets
                for old in [k for k in self._buckets if k <= floor]:
                    del self._buckets[old]
            if index <= self._newest - self._max_buckets:
                self._dropped += 1
                return
            if self._latest_time is None or when > self._latest_time:
                self._latest_time = when
            bucket = self._buckets.get(index)
            if bucket is None:
                bucket = self._buckets[index] = _Bucket()
            if calls:
                bucket.calls[(broker, operation)] += calls
            if cancelled:
                bucket.cancelled[(broker, operation)] += cancelled
            if error is None:
                return
            code = error.error_code
            bucket.errors[(broker, operation, code)] += 1
            bucket.actions[(error.suggested_action, code)] += 1
            if code is StandardErrorCode.UNKNOWN:
                bucket.unmapped[(broker, error.broker_error_code or "-")] += 1
            key = (broker, code, error.message)
            repeat = bucket.messages.get(key)
            if repeat is not None:
                repeat.count += 1
                repeat.first, repeat.last = min(repeat.first, when), max(repeat.last, when)
            elif len(bucket.messages) < self._max_messages:
                bucket.messages[key] = _Repeat(1, when, when, error.suggested_action)
            if len(self._kept) == self._kept.maxlen:
                self._errors_not_kept += 1
            self._kept.append(_KeptError(index, when, broker, adapter_id, operation, error))

    # -- state -----------------------------------------------------------------------------------

    @property
    def latest_time(self) -> datetime | None:
        """The time of the newest event counted."""
        return self._latest_time

    @property
    def dropped_events(self) -> int:
        """Events not counted because they were older than the retention."""
        return self._dropped

    def clear(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self._buckets.clear()
            self._kept.clear()
            self._newest = self._latest_time = None
            self._dropped = self._errors_not_kept = 0

    # -- analysis --------------------------------------------------------------------------------

    def report(
        self, window: timedelta | None = timedelta(hours=1), *, now: datetime | None = None
    ) -> ErrorReport:
        """Analyse the last ``window`` before ``now`` (the clock's time by default); ``None``: all retained.

        Windows are whole buckets, the bucket holding ``now`` included.
        """
        now = _aware(now) if now is not None else self._clock.now()
        end = self._index(now)
        with self._lock:
            buckets = dict(self._buckets)
            dropped = self._dropped
            if window is None:
                start = min(buckets, default=end)
            else:
                start = end - max(1, math.ceil(window.total_seconds() / self.bucket_seconds)) + 1
            chosen = [(i, buckets[i]) for i in sorted(buckets) if start <= i <= end]
            spikes = self._spikes(buckets, end)
            return self._build(now, start, end, chosen, spikes, dropped)

    def _build(
        self,
        now: datetime,
        start: int,
        end: int,
        chosen: list[tuple[int, _Bucket]],
        spikes: tuple[ErrorSpike, ...],
        dropped: int,
    ) -> ErrorReport:
        calls: Counter[tuple[str, str]] = Counter()
        cancelled: Counter[tuple[str, str]] = Counter()
        errors: Counter[tuple[str, str, StandardErrorCode]] = Counter()
        actions: Counter[tuple[str, StandardErrorCode]] = Counter()
        unmapped: Counter[tuple[str, str]] = Counter()
        repeats: dict[tuple[str, StandardErrorCode, str], _Repeat] = {}
        timeline: list[TimelineBucket] = []
        for index, bucket in chosen:
            calls.update(bucket.calls)
            cancelled.update(bucket.cancelled)
            errors.update(bucket.errors)
            actions.update(bucket.actions)
            unmapped.update(bucket.unmapped)
            for key, rep in bucket.messages.items():
                seen = repeats.get(key)
                if seen is None:
                    repeats[key] = _Repeat(rep.count, rep.first, rep.last, rep.action)
                else:
                    seen.count += rep.count
                    seen.first, seen.last = min(seen.first, rep.first), max(seen.last, rep.last)
            timeline.append(
                TimelineBucket(self._start_of(index), sum(bucket.calls.values()), sum(bucket.errors.values()))
            )

        brokers = sorted({b for b, _ in calls} | {b for b, _, _ in errors})
        broker_stats = []
        for name in brokers:
            n_calls = sum(n for (b, _), n in calls.items() if b == name)
            by_code: Counter[StandardErrorCode] = Counter()
            for (b, _, code), n in errors.items():
                if b == name:
                    by_code[code] += n
            n_errors = sum(by_code.values())
            broker_stats.append(
                BrokerErrorStats(
                    name,
                    n_calls,
                    n_errors,
                    sum(n for (b, _), n in cancelled.items() if b == name),
                    n_errors / n_calls if n_calls else None,
                    tuple(
                        CodeCount(c, n) for c, n in sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))
                    ),
                )
            )
        broker_stats.sort(key=lambda s: (-s.errors, s.broker_name))

        operations = []
        for broker, op in sorted({(b, o) for b, o in calls} | {(b, o) for b, o, _ in errors}):
            n_calls = calls[(broker, op)]
            n_errors = sum(n for (b, o, _), n in errors.items() if (b, o) == (broker, op))
            operations.append(
                OperationErrorStats(broker, op, n_calls, n_errors, n_errors / n_calls if n_calls else None)
            )
        operations.sort(key=lambda s: (-s.errors, s.broker_name, s.operation))

        by_code_all: Counter[StandardErrorCode] = Counter()
        for (_, _, code), n in errors.items():
            by_code_all[code] += n
        action_totals: dict[str, tuple[int, set[StandardErrorCode]]] = {}
        for (action, code), n in actions.items():
            total, codes = action_totals.get(action, (0, set()))
            action_totals[action] = (total + n, codes | {code})
        top = sorted(action_totals.items(), key=lambda kv: (-kv[1][0], kv[0]))[: self.top_n]

        repeated = [
            RepeatedError(b, c, m, r.count, r.first, r.last, r.action)
            for (b, c, m), r in repeats.items()
            if r.count >= self.repeat_threshold
        ]
        repeated.sort(key=lambda r: (-r.count, r.broker_name, r.code, r.message))

        total_calls = sum(calls.values())
        total_errors = sum(errors.values())
        return ErrorReport(
            generated_at=now,
            window_start=self._start_of(start),
            window_end=self._start_of(end + 1),
            calls=total_calls,
            errors=total_errors,
            cancelled=sum(cancelled.values()),
            error_rate=total_errors / total_calls if total_calls else None,
            brokers=tuple(broker_stats),
            operations=tuple(operations),
            codes=tuple(
                CodeCount(c, n) for c, n in sorted(by_code_all.items(), key=lambda kv: (-kv[1], kv[0]))
            ),
            timeline=tuple(timeline),
            spikes=spikes,
            repeats=tuple(repeated),
            top_actions=tuple(ActionCount(a, n, tuple(sorted(codes))) for a, (n, codes) in top),
            unmapped=tuple(
                UnmappedCount(b, c, n)
                for (b, c), n in sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))
            ),
            spike_rule=self.spike_rule,
            repeat_threshold=self.repeat_threshold,
            dropped_events=dropped,
        )

    def _start_of(self, index: int) -> datetime:
        return datetime.fromtimestamp(index * self.bucket_seconds, UTC)

    def _spikes(self, buckets: Mapping[int, _Bucket], end: int) -> tuple[ErrorSpike, ...]:
        rule = self.spike_rule
        recent_n = max(1, math.ceil(rule.window.total_seconds() / self.bucket_seconds))
        base_n = max(1, math.ceil(rule.baseline.total_seconds() / self.bucket_seconds))
        recent_start, base_start = end - recent_n + 1, end - recent_n - base_n + 1

        def tally(lo: int, hi: int) -> tuple[Counter[str], Counter[tuple[str, StandardErrorCode]]]:
            calls: Counter[str] = Counter()
            errs: Counter[tuple[str, StandardErrorCode]] = Counter()
            for i in range(lo, hi + 1):
                b = buckets.get(i)
                if b is None:
                    continue
                for (broker, _), n in b.calls.items():
                    calls[broker] += n
                for (broker, _, code), n in b.errors.items():
                    errs[(broker, code)] += n
            return calls, errs

        r_calls, r_errs = tally(recent_start, end)
        b_calls, b_errs = tally(base_start, recent_start - 1)
        recent_minutes = recent_n * self.bucket_seconds / 60
        base_minutes = base_n * self.bucket_seconds / 60
        found: list[ErrorSpike] = []
        brokers = sorted({b for b, _ in r_errs})
        for broker in brokers:
            base_total = sum(n for (b, _), n in b_errs.items() if b == broker)
            if not b_calls[broker] and not base_total:
                continue  # no baseline, no spike
            per_call = r_calls[broker] > 0 and b_calls[broker] > 0
            codes = sorted({c for b, c in r_errs if b == broker})
            subjects: list[tuple[StandardErrorCode | None, int, int]] = [
                (None, sum(r_errs[(broker, c)] for c in codes), base_total)
            ]
            subjects += [(c, r_errs[(broker, c)], b_errs[(broker, c)]) for c in codes]
            for code, recent, base in subjects:
                if recent < rule.min_errors:
                    continue
                if per_call:
                    r_rate, b_rate, unit = recent / r_calls[broker], base / b_calls[broker], "per call"
                else:
                    r_rate, b_rate, unit = recent / recent_minutes, base / base_minutes, "per minute"
                if b_rate == 0 or r_rate >= rule.factor * b_rate:
                    ratio = None if b_rate == 0 else r_rate / b_rate
                    found.append(ErrorSpike(broker, code, recent, r_rate, base, b_rate, ratio, unit))
        found.sort(key=lambda s: (s.ratio is not None, -(s.ratio or 0.0), -s.recent_errors, s.broker_name))
        return tuple(found)

    # -- export and import -----------------------------------------------------------------------

    def export_jsonl(self, path: str | Path) -> int:
        """Write what is retained as JSON lines; returns the number of lines. Secrets are masked.

        Lines: one ``meta`` line (format, bucket size, errors the error log could not keep), one ``calls``
        line per bucket, broker and operation (calls, cancelled), and one ``error`` line per kept error
        (its time, broker, operation and the standardized error). Blocking I/O: from async code, run it
        in a thread.
        """
        with self._lock:
            buckets = {i: self._buckets[i] for i in sorted(self._buckets)}
            kept = [k for k in self._kept if k.bucket in buckets]
            dropped = self._errors_not_kept
        records: list[dict[str, Any]] = [
            {
                "kind": "meta",
                "format": EXPORT_FORMAT,
                "exported_at": _iso(self._clock.now()),
                "bucket_seconds": self.bucket_seconds,
                "errors_dropped": dropped,
            }
        ]
        for index, bucket in buckets.items():
            for (broker, op), n in sorted(bucket.calls.items()):
                records.append(
                    {
                        "kind": "calls",
                        "time": _iso(self._start_of(index)),
                        "broker_name": broker,
                        "operation": op,
                        "count": n,
                        "cancelled": bucket.cancelled.get((broker, op), 0),
                    }
                )
        for k in kept:
            records.append(
                {
                    "kind": "error",
                    "time": _iso(k.time),
                    "broker_name": k.broker_name,
                    "adapter_id": k.adapter_id,
                    "operation": k.operation,
                    "error": k.error.model_dump(mode="json"),
                }
            )
        target = Path(path)
        with target.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(redact(json.dumps(record, ensure_ascii=False, default=str)) + "\n")
        return len(records)

    def load_jsonl(self, path: str | Path) -> JsonlLoadResult:
        """Count the records of a JSON-lines file: this class's exports, or plain call/error records.

        Understood lines: ``kind`` ``calls``/``error``/``meta`` as exported; ``kind`` ``call`` (or any
        object with ``success``): one call with ``time``, ``broker_name``, ``operation``, ``success`` and
        an optional ``error``; any object with ``error_code``: a bare standardized error. Other lines are
        skipped and counted.
        """
        lines = loaded = skipped = dropped = 0
        with Path(path).open(encoding="utf-8") as source:
            for raw in source:
                if not raw.strip():
                    continue
                lines += 1
                try:
                    record = json.loads(raw)
                    if not isinstance(record, dict):
                        raise TypeError("not an object")
                    kind = record.get("kind")
                    if kind == "meta":
                        dropped += int(record.get("errors_dropped") or 0)
                        continue
                    self._load_record(record, kind)
                    loaded += 1
                except (ValueError, TypeError, KeyError, ValidationError) as exc:
                    skipped += 1
                    _log.debug("skipping line %d of %s: %s", lines, path, exc)
        return JsonlLoadResult(lines, loaded, skipped, dropped)

    def _load_record(self, record: Mapping[str, Any], kind: Any) -> None:
        def when() -> datetime:
            return _aware(datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00")))

        def error_of(value: Any) -> StandardizedError | None:
            return None if value is None else StandardizedError.model_validate(value)

        if kind == "calls":
            count = int(record["count"])
            cancelled = int(record.get("cancelled") or 0)
            if count < 0 or not 0 <= cancelled <= count:
                raise ValueError("bad counts")
            self._add(
                when(),
                str(record["broker_name"]),
                str(record.get("operation", "")),
                calls=count,
                cancelled=cancelled,
                error=None,
                adapter_id="",
            )
        elif kind == "error":
            error = error_of(record["error"])
            if error is None:
                raise ValueError("error line without an error")
            self.record_error(
                error,
                time=when(),
                broker_name=str(record.get("broker_name", error.broker_name)),
                operation=str(record.get("operation", "")),
                adapter_id=str(record.get("adapter_id", "")),
            )
        elif kind == "call" or (kind is None and "success" in record):
            error = error_of(record.get("error"))
            success = record["success"]
            if not isinstance(success, bool):
                raise TypeError("success must be true or false")
            self.record_call(
                time=when(),
                broker_name=str(record.get("broker_name") or (error.broker_name if error else "")),
                operation=str(record.get("operation", "")),
                success=success,
                error=error,
                adapter_id=str(record.get("adapter_id", "")),
            )
        elif kind is None and "error_code" in record:
            self.record_error(StandardizedError.model_validate(record))
        else:
            raise ValueError(f"unknown record kind {kind!r}")

    @classmethod
    def from_jsonl(cls, path: str | Path, **kwargs: Any) -> tuple[ErrorAnalyzer, JsonlLoadResult]:
        """A new analyzer (``kwargs`` as for the constructor) holding the records of ``path``."""
        analyzer = cls(**kwargs)
        return analyzer, analyzer.load_jsonl(path)

    @classmethod
    def from_events(cls, events: Iterable[CallEvent], **kwargs: Any) -> ErrorAnalyzer:
        """A new analyzer that has counted ``events``."""
        analyzer = cls(**kwargs)
        for event in events:
            analyzer.record(event)
        return analyzer
