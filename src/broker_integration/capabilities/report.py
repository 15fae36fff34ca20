"""A capability profile as rich tables for a terminal: findings, instruments, limits, latencies, errors."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from broker_integration.capabilities.profile import CapabilityProfile, CapabilityStatus, FindingMap

__all__ = ["render_profile"]

_STYLE = {
    CapabilityStatus.VERIFIED: "green",
    CapabilityStatus.DECLARED: "cyan",
    CapabilityStatus.UNKNOWN: "yellow",
    CapabilityStatus.FAILED: "bold red",
    CapabilityStatus.UNSUPPORTED: "dim",
}
#: Instruments listed in full up to this many; the JSON export always has all of them.
MAX_INSTRUMENT_ROWS = 30


def _findings(title: str, findings: FindingMap[Any], first: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first, no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("evidence")
    table.add_column("ms", justify="right", no_wrap=True)
    for key, finding in findings.items():
        latency = "" if finding.latency_ms is None else f"{finding.latency_ms:.2f}"
        table.add_row(
            str(key),
            Text(finding.status.value, style=_STYLE[finding.status]),
            Text(finding.evidence),
            latency,
        )
    return table


def _granularities(profile: CapabilityProfile) -> Text:
    text = Text("granularities: ")
    grouped: dict[CapabilityStatus, list[str]] = {}
    for granularity, finding in profile.granularities.items():
        grouped.setdefault(finding.status, []).append(granularity.value)
    parts = [(f"{status.value} {' '.join(names)}", _STYLE[status]) for status, names in grouped.items()]
    for index, (part, style) in enumerate(parts):
        text.append(part, style=style)
        if index < len(parts) - 1:
            text.append("; ")
    if not parts:
        text.append("none")
    return text


def _instruments(profile: CapabilityProfile) -> Table:
    listing = "complete listing" if profile.instruments_complete else "not the broker's full listing"
    table = Table(
        title=f"Instruments ({len(profile.supported_instruments)}, {listing})", title_justify="left"
    )
    for column in ("symbol", "type", "tick", "min size", "step", "max size"):
        table.add_column(column, no_wrap=True)
    for symbol, info in list(profile.supported_instruments.items())[:MAX_INSTRUMENT_ROWS]:
        table.add_row(
            symbol,
            info.type.value,
            str(info.tick_size),
            str(info.min_quantity),
            str(info.quantity_increment),
            "" if info.max_quantity is None else str(info.max_quantity),
        )
    hidden = len(profile.supported_instruments) - MAX_INSTRUMENT_ROWS
    if hidden > 0:
        table.caption = f"... and {hidden} more (--json lists all)"
    return table


def _latencies(latencies: Mapping[str, float]) -> Table:
    """One row per operation; repeated probes of one operation (candles per granularity) are summarised."""
    grouped: dict[str, list[float]] = {}
    for probe, ms in latencies.items():
        grouped.setdefault(probe.split("[", 1)[0], []).append(ms)
    table = Table(
        title="Probe latencies (ms)",
        title_justify="left",
        caption="measured with the adapter's monotonic clock around each call",
        caption_justify="left",
    )
    for column in ("call", "n", "min", "median", "max"):
        table.add_column(column, justify="left" if column == "call" else "right", no_wrap=True)
    for call, values in grouped.items():
        table.add_row(
            call,
            str(len(values)),
            f"{min(values):.2f}",
            f"{statistics.median(values):.2f}",
            f"{max(values):.2f}",
        )
    return table


def _limits(profile: CapabilityProfile) -> Text:
    limits = profile.limits

    def rate(value: float | None) -> str:
        return "none" if value is None else f"{value:g}/s"

    text = (
        f"limits: requests {rate(limits.requests_per_second)}, orders {rate(limits.max_orders_per_second)} "
        f"(source: {limits.rate_source or 'n/a'})"
    )
    if limits.published_requests_per_second is not None:
        text += (
            f"; published by the adapter: requests {rate(limits.published_requests_per_second)}, "
            f"orders {rate(limits.published_max_orders_per_second)}"
        )
    if limits.timeout_seconds is not None:
        text += f"; call timeout {limits.timeout_seconds:g} s"
    return Text(text)


def _errors(profile: CapabilityProfile) -> Table:
    table = Table(title=f"Errors met ({len(profile.errors)})", title_justify="left")
    table.add_column("probe", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("message")
    for error in profile.errors:
        table.add_row(error.probe, Text(error.error_code.value, style="red"), Text(error.message))
    return table


def render_profile(profile: CapabilityProfile, console: Console) -> None:
    """Print ``profile`` as a readable report."""
    header = Text(
        f"{profile.broker_name} ({profile.adapter_class}): {profile.test_type.value} discovery at "
        f"{profile.discovered_at.isoformat(timespec='seconds')}, {profile.duration_ms:.1f} ms",
        style="bold",
    )
    if profile.environment:
        header.append(f", environment {profile.environment}")
    parts: list[RenderableType] = [
        header,
        _findings("Capabilities", profile.capabilities, "capability"),
        _findings("Time in force", profile.time_in_force, "tif"),
        _granularities(profile),
        _limits(profile),
    ]
    if profile.supported_instruments:
        parts.append(_instruments(profile))
    if profile.latencies:
        parts.append(_latencies(profile.latencies))
    if profile.errors:
        parts.append(_errors(profile))
    console.print(Group(*parts))
