"""ErrorAnalyzer: counting from the bus, windows, rates, spikes, repeats, top actions, export and import."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broker_integration.clock import ManualClock
from broker_integration.errors import (
    EXPORT_FORMAT,
    ErrorAnalyzer,
    SpikeRule,
    StandardErrorCode,
    StandardizedError,
    map_broker_error,
)
from broker_integration.events import CallEvent, EventBus
from broker_integration.log import register_secret

C = StandardErrorCode
START = datetime(2024, 1, 2, 14, 0, tzinfo=UTC)


def call(
    clock: ManualClock,
    broker: str = "oanda",
    operation: str = "place_order",
    error: StandardizedError | None = None,
    *,
    success: bool | None = None,
) -> CallEvent:
    return CallEvent(
        time=clock.now(),
        broker_name=broker,
        adapter_id=f"{broker}-1",
        operation=operation,
        duration_ns=1_000_000,
        success=error is None if success is None else success,
        error=error,
    )


def margin() -> StandardizedError:
    return map_broker_error("oanda", "INSUFFICIENT_MARGIN", "Insufficient margin for order")


def limited(broker: str = "oanda") -> StandardizedError:
    return map_broker_error(broker, None, "slow down", http_status=429)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_attach_counts_bus_events_and_detach_stops(clock: ManualClock, bus: EventBus) -> None:
    analyzer = ErrorAnalyzer(bus, clock=clock)
    bus.publish(call(clock))  # before attaching: not counted
    analyzer.attach()
    analyzer.attach()  # idempotent
    assert bus.subscriber_count == 1
    bus.publish(call(clock))
    bus.publish(call(clock, error=margin()))
    analyzer.detach()
    bus.publish(call(clock, error=margin()))
    report = analyzer.report(timedelta(minutes=5))
    assert (report.calls, report.errors) == (2, 1)
    assert report.error_rate == pytest.approx(0.5)
    assert bus.subscriber_count == 0


def test_context_manager(clock: ManualClock, bus: EventBus) -> None:
    with ErrorAnalyzer(bus, clock=clock) as analyzer:
        assert analyzer.attached
        bus.publish(call(clock, error=margin()))
    assert not analyzer.attached
    assert analyzer.report().errors == 1


def test_rates_by_broker_operation_and_code(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    for _ in range(8):
        analyzer.record(call(clock))
    analyzer.record(call(clock, error=margin()))
    analyzer.record(call(clock, error=margin()))
    for _ in range(4):
        analyzer.record(call(clock, "alpaca", "get_account"))
    analyzer.record(call(clock, "alpaca", "get_account", limited("alpaca")))
    analyzer.record(call(clock, "alpaca", "stream_prices", success=False))  # cancelled: no error
    report = analyzer.report(timedelta(minutes=1))
    oanda, alpaca = report.broker("oanda"), report.broker("alpaca")
    assert oanda is not None
    assert alpaca is not None
    assert (oanda.calls, oanda.errors) == (10, 2)
    assert oanda.error_rate == pytest.approx(0.2)
    assert [(c.code, c.count) for c in oanda.codes] == [(C.INSUFFICIENT_FUNDS, 2)]
    assert (alpaca.calls, alpaca.errors, alpaca.cancelled) == (6, 1, 1)
    assert [b.broker_name for b in report.brokers] == ["oanda", "alpaca"]  # most errors first
    ops = {(o.broker_name, o.operation): o for o in report.operations}
    assert ops[("alpaca", "get_account")].error_rate == pytest.approx(0.2)
    assert ops[("alpaca", "stream_prices")].errors == 0
    assert {c.code: c.count for c in report.codes} == {C.INSUFFICIENT_FUNDS: 2, C.RATE_LIMITED: 1}
    assert (report.calls, report.errors, report.cancelled) == (16, 3, 1)


def test_window_selects_whole_minute_buckets(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    analyzer.record(call(clock, error=margin()))  # 14:00
    clock.advance(10 * 60)
    analyzer.record(call(clock, error=margin()))  # 14:10
    clock.advance(30)  # now 14:10:30
    recent = analyzer.report(timedelta(minutes=5))
    assert recent.errors == 1
    assert recent.window_start == datetime(2024, 1, 2, 14, 6, tzinfo=UTC)
    assert recent.window_end == datetime(2024, 1, 2, 14, 11, tzinfo=UTC)
    assert analyzer.report(timedelta(minutes=11)).errors == 2
    assert analyzer.report(None).errors == 2
    assert [t.errors for t in analyzer.report(timedelta(minutes=11)).timeline] == [1, 1]


def test_memory_is_bounded_by_retention(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock, retention=timedelta(minutes=10), max_kept_errors=5)
    for _ in range(30):
        analyzer.record(call(clock, error=margin()))
        clock.advance(60)
    assert len(analyzer._buckets) <= 10
    assert len(analyzer._kept) == 5
    report = analyzer.report(None)
    assert report.errors <= 10
    # an event older than the retention is dropped and counted, not resurrected
    analyzer.record_call(time=START, broker_name="oanda", operation="x", success=True)
    assert analyzer.dropped_events == 1


def test_messages_per_bucket_are_capped(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock, max_messages_per_bucket=3)
    for i in range(10):
        analyzer.record(call(clock, error=map_broker_error("oanda", "INSUFFICIENT_MARGIN", f"order {i}")))
    assert len(analyzer._buckets[next(iter(analyzer._buckets))].messages) == 3
    assert analyzer.report().errors == 10


# -- spikes ------------------------------------------------------------------------------------


def _steady(analyzer: ErrorAnalyzer, clock: ManualClock, minutes: int, calls: int, errors: int) -> None:
    """Per minute: ``calls`` calls of which ``errors`` fail with a rate limit."""
    for _ in range(minutes):
        for i in range(calls):
            analyzer.record(call(clock, error=limited() if i < errors else None))
        clock.advance(60)


def test_spike_against_a_baseline(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    _steady(analyzer, clock, minutes=30, calls=10, errors=0)  # baseline: 600 calls and 1 error
    analyzer.record(call(clock, error=margin()))
    _steady(analyzer, clock, minutes=30, calls=10, errors=0)
    _steady(analyzer, clock, minutes=5, calls=10, errors=3)  # recent: 50 calls, 15 errors
    report = analyzer.report(timedelta(minutes=5), now=clock.now() - timedelta(seconds=1))
    spikes = {(s.broker_name, s.code): s for s in report.spikes}
    assert ("oanda", C.RATE_LIMITED) in spikes
    rate_limit = spikes[("oanda", C.RATE_LIMITED)]
    assert rate_limit.ratio is None  # never seen in the baseline
    assert rate_limit.unit == "per call"
    assert rate_limit.recent_errors == 15
    overall = spikes[("oanda", None)]
    assert (overall.recent_errors, overall.baseline_errors) == (15, 1)
    assert overall.ratio == pytest.approx((15 / 50) / (1 / 601))
    assert C.INSUFFICIENT_FUNDS not in {s.code for s in report.spikes}
    assert report.spikes[0].ratio is None  # new errors first


def test_no_spike_when_the_rate_is_steady(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    _steady(analyzer, clock, minutes=65, calls=10, errors=2)
    report = analyzer.report(timedelta(minutes=5), now=clock.now() - timedelta(seconds=1))
    assert report.spikes == ()


def test_no_spike_below_the_minimum_count(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock, spike_rule=SpikeRule(min_errors=5))
    _steady(analyzer, clock, minutes=60, calls=10, errors=0)
    _steady(analyzer, clock, minutes=5, calls=1, errors=0)
    for _ in range(4):
        analyzer.record(call(clock, error=limited()))
    assert analyzer.report().spikes == ()
    analyzer.record(call(clock, error=limited()))
    assert {s.code for s in analyzer.report().spikes} == {None, C.RATE_LIMITED}


def test_no_spike_without_a_baseline(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    for _ in range(20):
        analyzer.record(call(clock, error=limited()))
    assert analyzer.report().spikes == ()


def test_spike_factor_threshold(clock: ManualClock) -> None:
    # baseline 10% errors; recent 25%: a spike at factor 2, not at factor 3
    for factor, expected in ((2.0, True), (3.0, False)):
        c = ManualClock(START)
        analyzer = ErrorAnalyzer(clock=c, spike_rule=SpikeRule(factor=factor))
        _steady(analyzer, c, minutes=60, calls=10, errors=1)
        _steady(analyzer, c, minutes=5, calls=4, errors=1)
        spikes = analyzer.report(now=c.now() - timedelta(seconds=1)).spikes
        assert bool(spikes) is expected, factor


def test_spike_per_minute_for_errors_only_data(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    for _ in range(60):
        analyzer.record_error(limited(), time=clock.now())
        clock.advance(60)
    for _ in range(10):
        analyzer.record_error(limited(), time=clock.now())
    spikes = analyzer.report().spikes
    assert spikes
    assert spikes[0].unit == "per minute"
    assert analyzer.report().broker("oanda").error_rate is None  # type: ignore[union-attr]


def test_spike_rule_is_validated() -> None:
    with pytest.raises(ValueError):
        SpikeRule(factor=0.5)
    with pytest.raises(ValueError):
        SpikeRule(window=timedelta(0))


# -- repeats and actions -----------------------------------------------------------------------


def test_repeated_identical_errors_within_the_window(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock, repeat_threshold=3)
    for _ in range(3):
        analyzer.record(call(clock, error=margin()))
        clock.advance(20)
    analyzer.record(call(clock, error=map_broker_error("oanda", "INSUFFICIENT_MARGIN", "other text")))
    analyzer.record(
        call(clock, "alpaca", error=map_broker_error("alpaca", "40310000", "insufficient buying power"))
    )
    report = analyzer.report(timedelta(minutes=5))
    assert len(report.repeats) == 1
    repeat = report.repeats[0]
    assert (repeat.broker_name, repeat.code, repeat.message, repeat.count) == (
        "oanda",
        C.INSUFFICIENT_FUNDS,
        "Insufficient margin for order",
        3,
    )
    assert repeat.first_seen == START
    assert repeat.last_seen == START + timedelta(seconds=40)
    # outside the window the repeats are gone
    clock.advance(3600)
    assert analyzer.report(timedelta(minutes=5)).repeats == ()


def test_top_suggested_actions(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock, top_n=2)
    for _ in range(3):
        analyzer.record(call(clock, error=margin()))
    for _ in range(2):
        analyzer.record(call(clock, error=limited()))
    analyzer.record(call(clock, error=map_broker_error("oanda", "MARKET_HALTED")))
    top = analyzer.report().top_actions
    assert [(a.count, a.codes) for a in top] == [(3, (C.INSUFFICIENT_FUNDS,)), (2, (C.RATE_LIMITED,))]
    assert top[0].suggested_action == margin().suggested_action


def test_unmapped_codes_are_listed(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    for _ in range(2):
        analyzer.record(call(clock, error=map_broker_error("oanda", "BRAND_NEW_REASON", "?")))
    report = analyzer.report()
    assert [(u.broker_name, u.broker_error_code, u.count) for u in report.unmapped] == [
        ("oanda", "BRAND_NEW_REASON", 2)
    ]


def test_render_text_and_dict(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    _steady(analyzer, clock, minutes=60, calls=5, errors=0)
    _steady(analyzer, clock, minutes=4, calls=5, errors=2)
    for _ in range(3):
        analyzer.record(call(clock, error=margin()))
    report = analyzer.report(timedelta(minutes=5))
    text = report.render_text()
    for part in ("By broker", "oanda", "RATE_LIMITED", "Spikes", "Repeated errors", "Top suggested actions"):
        assert part in text
    data = report.to_dict()
    json.dumps(data)  # JSON-ready
    assert data["codes"][0]["code"] in {"RATE_LIMITED", "INSUFFICIENT_FUNDS"}
    assert data["spike_rule"]["window"] == 300.0


def test_empty_report(clock: ManualClock) -> None:
    report = ErrorAnalyzer(clock=clock).report()
    assert (report.calls, report.errors, report.error_rate) == (0, 0, None)
    assert "0 calls" in report.render_text()


# -- export and import -------------------------------------------------------------------------


def test_export_then_import_gives_the_same_report(clock: ManualClock, tmp_path: Path) -> None:
    analyzer = ErrorAnalyzer(clock=clock)
    _steady(analyzer, clock, minutes=30, calls=6, errors=1)
    for _ in range(4):
        analyzer.record(call(clock, error=margin()))
    analyzer.record(call(clock, "alpaca", "stream_prices", success=False))
    path = tmp_path / "errors.jsonl"
    lines = analyzer.export_jsonl(path)
    assert lines == len(path.read_text().splitlines())
    assert json.loads(path.read_text().splitlines()[0])["format"] == EXPORT_FORMAT

    loaded, result = ErrorAnalyzer.from_jsonl(path, clock=clock)
    assert result.skipped == 0
    assert result.loaded == lines - 1
    assert loaded.latest_time == analyzer.latest_time
    a = analyzer.report(timedelta(minutes=10))
    b = loaded.report(timedelta(minutes=10))
    assert (a.calls, a.errors, a.cancelled) == (b.calls, b.errors, b.cancelled)
    assert a.brokers == b.brokers
    assert a.operations == b.operations
    assert a.repeats == b.repeats
    assert a.top_actions == b.top_actions
    assert a.spikes == b.spikes


def test_export_masks_secrets(clock: ManualClock, tmp_path: Path) -> None:
    register_secret("live-token-0123456789")
    analyzer = ErrorAnalyzer(clock=clock)
    error = map_broker_error(
        "oanda",
        None,
        "rejected token live-token-0123456789",
        http_status=401,
        context={"api_key": "AKXYZ123", "headers": {"Authorization": "Bearer live-token-0123456789"}},
    )
    analyzer.record(call(clock, error=error))
    path = tmp_path / "errors.jsonl"
    analyzer.export_jsonl(path)
    text = path.read_text()
    assert "live-token-0123456789" not in text
    assert "AKXYZ123" not in text


def test_import_reads_plain_call_and_error_records_and_skips_junk(tmp_path: Path) -> None:
    at = ManualClock(datetime(2024, 1, 2, 14, 0, 20, tzinfo=UTC))
    error = map_broker_error("oanda", "INSUFFICIENT_MARGIN", "no margin", clock=at).model_dump(mode="json")
    lines = [
        json.dumps(
            {
                "time": "2024-01-02T14:00:00Z",
                "broker_name": "oanda",
                "operation": "place_order",
                "success": True,
            }
        ),
        json.dumps(
            {
                "kind": "call",
                "time": "2024-01-02T14:00:10+00:00",
                "broker_name": "oanda",
                "operation": "place_order",
                "success": False,
                "error": error,
            }
        ),
        json.dumps(error),  # a bare StandardizedError
        "not json",
        json.dumps([1, 2]),
        json.dumps({"kind": "calls", "time": "2024-01-02T14:00:00Z", "broker_name": "x", "count": -1}),
        json.dumps(
            {
                "kind": "error",
                "time": "2024-01-02T14:00:00Z",
                "broker_name": "x",
                "error": {"error_code": "NOPE", "message": "m"},
            }
        ),
        "",
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines))
    analyzer, result = ErrorAnalyzer.from_jsonl(path)
    assert (result.lines, result.loaded, result.skipped) == (7, 3, 4)
    report = analyzer.report(None, now=analyzer.latest_time)
    oanda = report.broker("oanda")
    assert oanda is not None
    assert (oanda.calls, oanda.errors) == (2, 2)


def test_from_events(clock: ManualClock) -> None:
    analyzer = ErrorAnalyzer.from_events([call(clock), call(clock, error=margin())], clock=clock)
    assert analyzer.report().errors == 1


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        ErrorAnalyzer(bucket_seconds=0)
    with pytest.raises(ValueError):
        ErrorAnalyzer(repeat_threshold=1)
