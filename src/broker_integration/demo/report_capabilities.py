"""The capability profiles in the demo report: a summary per discovery and a capability matrix.

The summary lists every discovery (venue x depth) with its counts per status; the matrix shows, for the
deepest discovery of each venue, each capability's status with its evidence as a tooltip; then the time
in force and granularities found, and every error met while discovering.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from broker_integration.capabilities.profile import CapabilityProfile, CapabilityStatus, CapabilityTestType
from broker_integration.demo.discovery import DISCOVERY_DEPTHS
from broker_integration.demo.formatting import fmt
from broker_integration.demo.report_html import section, table, td
from broker_integration.demo.result import DemoResult

__all__ = ["capabilities_section"]


def _summary(result: DemoResult) -> str:
    statuses = list(CapabilityStatus)
    rows = []
    for run in result.discovery:
        p = run.profile
        counts = p.capabilities.counts()
        rows.append(
            [
                td(run.broker, cls="venue"),
                td(run.test_type.value),
                td(f"{fmt(p.duration_ms)} ms", numeric=True),
                *(
                    td(
                        str(counts.get(s, 0)),
                        numeric=True,
                        broker=run.broker,
                        metric=f"{run.test_type.value}.{s.value}",
                        value=counts.get(s, 0),
                    )
                    for s in statuses
                ),
                td(", ".join(k.value for k in p.order_types) or "-"),
                td(str(len(p.supported_instruments)), numeric=True),
                td(str(len(p.errors)), numeric=True),
            ]
        )
    headers = ("venue", "depth", "took", *(s.value for s in statuses), "order types", "instruments", "errors")
    return table(headers, rows, name="discovery")


def _deepest(result: DemoResult) -> dict[str, CapabilityProfile]:
    deepest: dict[str, CapabilityProfile] = {}
    for depth in DISCOVERY_DEPTHS:
        for name, run in result.profiles(depth).items():
            deepest[name] = run.profile
    return deepest


def _matrix(profiles: Mapping[str, CapabilityProfile]) -> str:
    names = list(profiles)
    keys = list(dict.fromkeys(key for p in profiles.values() for key in p.capabilities))
    rows = []
    for key in keys:
        cells = [td(str(key))]
        for name in names:
            finding = profiles[name].capabilities.get(key)
            if finding is None:
                cells.append(td("-"))
            else:
                cells.append(
                    td(finding.status.value, cls=f"status-{finding.status.value}", title=finding.evidence)
                )
        rows.append(cells)
    return table(("capability", *names), rows, name="capability-matrix")


def _latencies(profile: CapabilityProfile) -> str:
    """How many probes were timed, their median, and the slowest."""
    if not profile.latencies:
        return "-"
    ordered = sorted(profile.latencies.items(), key=lambda item: item[1])
    median = ordered[len(ordered) // 2][1]
    slowest, slowest_ms = ordered[-1]
    return f"{len(ordered)} probes, median {fmt(median)} ms, slowest {slowest} {fmt(slowest_ms)} ms"


def _details(profiles: Mapping[str, CapabilityProfile]) -> str:
    rows = []
    for name, p in profiles.items():
        rows.append(
            [
                td(name, cls="venue"),
                td(", ".join(t.value for t in p.supported_time_in_force) or "-"),
                td(", ".join(g.value for g in p.supported_granularities) or "-"),
                td(p.probe_instrument or "-"),
                td(_latencies(p)),
            ]
        )
    return table(
        ("venue", "time in force", "granularities", "probe instrument", "probe latencies"),
        rows,
        name="capability-details",
    )


def _errors(profiles: Mapping[str, CapabilityProfile]) -> str:
    items = [
        f"<li>{escape(name)}: {escape(str(error))}</li>" for name, p in profiles.items() for error in p.errors
    ]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>No errors during discovery.</p>"


def capabilities_section(result: DemoResult, colors: Mapping[str, str]) -> str:
    profiles = _deepest(result)
    depth = max(
        (p.test_type for p in profiles.values()), key=lambda t: t.depth, default=CapabilityTestType.STATIC
    )
    return section(
        "capabilities",
        "Capability profiles",
        "<p class='note'>Static: the adapter's declaration and configuration. Dynamic: plus read-only probes. "
        "Synthetic: plus test orders that cannot fill, cancelled at once. Discovery ran before the order "
        "flow; its calls are not in the figures above.</p>",
        _summary(result),
        f"<h3>Capabilities found by the {escape(depth.value)} discovery (hover for the evidence)</h3>",
        _matrix(profiles),
        _details(profiles),
        "<h3>Errors met while discovering</h3>",
        _errors(profiles),
    )
