"""The wire simulators' token bucket, as Alpaca's per-key limit uses it (per minute, Retry-After by the rate)."""

from __future__ import annotations

from broker_integration.sim.alpaca.state import KeyBucket


def test_key_bucket_admits_a_minutes_worth_then_says_how_long_to_wait() -> None:
    now = [0.0]
    bucket = KeyBucket(60, clock=lambda: now[0])
    assert all(bucket.admit() == 0 for _ in range(60)), "a full bucket lets a minute's worth through at once"
    assert bucket.admit() == 1, "empty at one token a second: Retry-After 1"
    now[0] += 0.75
    assert bucket.admit() == 1, "three quarters of a token is not a token: the wait rounds up to a second"
    now[0] += 0.25
    assert bucket.admit() == 0, "a whole token is back"


def test_retry_after_follows_the_refill_rate_and_the_bucket_never_overfills() -> None:
    now = [0.0]
    bucket = KeyBucket(6, clock=lambda: now[0])  # one token every 10 s
    assert [bucket.admit() for _ in range(7)] == [0] * 6 + [10]
    now[0] += 3_600.0
    assert [bucket.admit() for _ in range(7)] == [0] * 6 + [10], "an hour idle refills to 6 tokens, not 360"
