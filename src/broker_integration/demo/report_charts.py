"""Inline SVG charts for the demo report, drawn in Python: no JavaScript library, nothing fetched.

Four kinds: a latency CDF on a log axis with p50/p95/p99 marked, dot-and-whisker intervals, the routing
share over the order flow as stacked areas, and stacked bars of errors by code. Each returns one
``<svg>`` element carrying ``data-chart`` (its kind) and a ``<title>`` for screen readers; each point of
interest has its own ``<title>``, which browsers show as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from broker_integration.demo.formatting import fmt

__all__ = [
    "PALETTE",
    "CdfSeries",
    "IntervalRow",
    "cdf_chart",
    "error_chart",
    "interval_chart",
    "linear_ticks",
    "log_ticks",
    "share_chart",
    "text_width",
]

#: Colours by position: venues keep their colour in every chart of a report.
PALETTE = ("#1f6fb4", "#d1495b", "#2a9d4b", "#8a5cc2", "#e08a1e", "#5d6d7e", "#c2549d", "#1fa5b4")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class _Frame:
    """A plotting area inside an SVG of ``width`` x ``height`` with the given margins."""

    width: int
    height: int
    left: int = 56
    right: int = 16
    top: int = 30
    bottom: int = 36

    @property
    def inner_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, fraction: float) -> float:
        return self.left + fraction * self.inner_width

    def y(self, fraction: float) -> float:
        return self.top + (1 - fraction) * self.inner_height

    def open(self, kind: str, title: str) -> str:
        """The ``<svg>`` start tag, its title for assistive technology, and the title shown on top."""
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{kind}" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}" '
            f'aria-label="{escape(title)}" {_FONT}><title>{escape(title)}</title>'
            f'<text x="4" y="14" font-size="12" font-weight="bold">{escape(title)}</text>'
        )

    def axes(self) -> str:
        bottom, left = self.y(0), self.x(0)
        return (
            f'<line x1="{left}" y1="{bottom}" x2="{self.x(1)}" y2="{bottom}" stroke="#444"/>'
            f'<line x1="{left}" y1="{self.y(1)}" x2="{left}" y2="{bottom}" stroke="#444"/>'
        )


#: Widths of 11 px system-ui glyphs, rounded up so an estimate is never shorter than the drawn text (DejaVu
#: Sans, the widest common fallback: capitals and digits up to 7.6 px, lower case up to 7.0 px).
_CAPITAL_PX, _LOWER_PX, _NARROW_PX = 8.0, 7.0, 4.0
_LEGEND_SWATCH, _LEGEND_GAP, _LEGEND_LINE = 14.0, 18.0, 16.0


def text_width(text: str) -> float:
    """An upper bound of ``text``'s drawn width in pixels at the charts' 11 px font."""
    return sum(
        _NARROW_PX if ch in " .,:;'|!il" else _CAPITAL_PX if ch.isupper() or ch.isdigit() else _LOWER_PX
        for ch in text
    )


@dataclass(frozen=True)
class _Legend:
    """Legend entries laid out in rows that fit ``width``: each entry's ``(x offset, row)``."""

    entries: Sequence[tuple[str, str]]
    places: Sequence[tuple[float, int]]

    @classmethod
    def fit(cls, entries: Sequence[tuple[str, str]], width: float) -> _Legend:
        places, x, row = [], 0.0, 0
        for label, _ in entries:
            span = _LEGEND_SWATCH + text_width(label)
            if x > 0 and x + span > width:
                x, row = 0.0, row + 1
            places.append((x, row))
            x += span + _LEGEND_GAP
        return cls(entries, places)

    @property
    def extra_height(self) -> float:
        """Height beyond the first row (the charts' bottom margin holds one row)."""
        rows = max((row for _, row in self.places), default=0)
        return rows * _LEGEND_LINE

    def draw(self, left: float, y: float) -> str:
        """The entries from ``left``, the first row's baseline at ``y``; each is one ``<g data-legend>``."""
        parts = []
        for (label, color), (dx, row) in zip(self.entries, self.places, strict=True):
            x, base = left + dx, y + row * _LEGEND_LINE
            parts.append(
                f'<g data-legend="{escape(label)}"><rect x="{x:.1f}" y="{base - 9:.1f}" width="10" height="10" '
                f'fill="{color}"/><text x="{x + _LEGEND_SWATCH:.1f}" y="{base:.1f}">{escape(label)}</text></g>'
            )
        return "".join(parts)


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks covering ``[low, high]`` (both positive)."""
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for step in (1, 2, 5):
            value = step * 10.0**exponent
            if low <= value * (1 + 1e-9) and value <= high * (1 + 1e-9):
                ticks.append(value)
    return ticks


def _log_ceiling(value: float) -> float:
    """The smallest 1-2-5 number at or above ``value`` (positive)."""
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * 10.0**exponent >= value * (1 - 1e-9):
            return step * 10.0**exponent
    raise AssertionError("unreachable: 10 x 10^floor(log10 v) >= v")


def linear_ticks(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """Round bounds around ``[low, high]`` and about ``count`` evenly spaced 1-2-5 ticks between them."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    n = round((stop - start) / step)
    return start, stop, [start + i * step for i in range(n + 1)]


@dataclass(frozen=True)
class CdfSeries:
    """One venue's latency CDF: ``points`` are (ms, share at or below), ascending; ``marks`` its quantiles."""

    name: str
    color: str
    points: Sequence[tuple[float, float]]
    marks: Mapping[str, float] = field(default_factory=dict)


def cdf_chart(series: Sequence[CdfSeries], *, title: str, width: int = 760, height: int = 340) -> str:
    """Latency CDFs on a log time axis, a dashed guide at each quantile and a dot where a venue meets it."""
    legend = _Legend.fit([(s.name, s.color) for s in series], width - 56 - 40)
    frame = _Frame(
        width, height + round(legend.extra_height), bottom=52 + round(legend.extra_height), right=40
    )
    values = [ms for s in series for ms, _ in s.points if ms > 0]
    if not values:
        return frame.open("latency-cdf", title) + '<text x="20" y="44">no latencies</text></svg>'
    low = 10 ** math.floor(math.log10(min(values)))
    high = _log_ceiling(max(values))
    span = math.log10(high) - math.log10(low) or 1.0

    def fx(ms: float) -> float:
        return frame.x((math.log10(max(ms, low)) - math.log10(low)) / span)

    parts = [frame.open("latency-cdf", title), frame.axes()]
    for tick in log_ticks(low, high):
        x = fx(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.y(0)}" x2="{x:.1f}" y2="{frame.y(1)}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{frame.y(0) + 14}" text-anchor="middle">{tick:,g}</text>'
        )
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{frame.x(0) - 6}" y="{frame.y(share) + 4:.1f}" text-anchor="end">{share:.0%}</text>'
        )
    for name, q in _QUANTILES:
        y = frame.y(q)
        parts.append(
            f'<line x1="{frame.x(0)}" y1="{y:.1f}" x2="{frame.x(1)}" y2="{y:.1f}" stroke="#999" '
            f'stroke-dasharray="4 3"/><text x="{frame.x(1) + 4}" y="{y + 4:.1f}">{name}</text>'
        )
    for s in series:
        if not s.points:
            continue
        path = [(fx(s.points[0][0]), frame.y(0))]
        previous = 0.0
        for ms, share in s.points:  # a step: flat until the next bucket, then up
            x = fx(ms)
            path += [(x, frame.y(previous)), (x, frame.y(share))]
            previous = share
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in path)
        parts.append(
            f'<polyline fill="none" stroke="{s.color}" stroke-width="2" points="{coords}" '
            f'data-series="{escape(s.name)}"><title>{escape(s.name)}</title></polyline>'
        )
        for name, q in _QUANTILES:
            if name in s.marks:
                value = s.marks[name]
                parts.append(
                    f'<circle cx="{fx(value):.1f}" cy="{frame.y(q):.1f}" r="4" fill="{s.color}" '
                    f'stroke="#fff" data-series="{escape(s.name)}" data-quantile="{name}" '
                    f'data-value="{value}"><title>{escape(s.name)} {name}: {fmt(value)} ms</title></circle>'
                )
    parts.append(
        f'<text x="{frame.x(0.5)}" y="{frame.y(0) + 30}" text-anchor="middle">'
        "place_order latency, ms (log scale)</text>"
    )
    parts.append(legend.draw(frame.x(0), frame.y(0) + 46))
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class IntervalRow:
    """One estimate with its interval (``low``/``high`` may be infinite when not yet bounded)."""

    label: str
    color: str
    estimate: float
    low: float
    high: float


def interval_chart(
    rows: Sequence[IntervalRow], *, title: str, unit: str, percent: bool = False, width: int = 520
) -> str:
    """Dot-and-whisker: each row's estimate as a dot, its interval as a line."""
    row_height = 26
    frame = _Frame(width, 44 + row_height * max(len(rows), 1) + 40, left=110, right=36)
    finite = [v for r in rows for v in (r.estimate, r.low, r.high) if math.isfinite(v)]
    if not finite:
        return frame.open("interval", title) + '<text x="20" y="44">no data</text></svg>'
    low, high, ticks = linear_ticks(min(finite), max(finite))
    if percent:
        ticks = [t for t in ticks if 0.0 <= t <= 1.0]
        low, high = max(low, 0.0), min(high, 1.0)

    def fx(value: float) -> float:
        return frame.x((min(max(value, low), high) - low) / (high - low))

    def show(value: float) -> str:
        return f"{value:.2%}" if percent else f"{fmt(value)} {unit}".strip()

    parts = [frame.open("interval", title), frame.axes()]
    for tick in ticks:
        x = fx(tick)
        label = f"{tick:.0%}" if percent and high - low > 0.05 else f"{tick:.1%}" if percent else f"{tick:,g}"
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.top}" x2="{x:.1f}" y2="{frame.y(0)}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{frame.y(0) + 14}" text-anchor="middle">{label}</text>'
        )
    for i, r in enumerate(rows):
        y = frame.top + 14 + i * row_height
        parts.append(f'<text x="{frame.left - 8}" y="{y + 4}" text-anchor="end">{escape(r.label)}</text>')
        if math.isfinite(r.low) and math.isfinite(r.high):
            parts.append(
                f'<line x1="{fx(r.low):.1f}" y1="{y}" x2="{fx(r.high):.1f}" y2="{y}" stroke="{r.color}" '
                'stroke-width="2"/>'
            )
        if math.isfinite(r.estimate):
            parts.append(
                f'<circle cx="{fx(r.estimate):.1f}" cy="{y}" r="5" fill="{r.color}" '
                f'data-series="{escape(r.label)}" data-value="{r.estimate}"><title>{escape(r.label)}: '
                f"{show(r.estimate)} [{show(r.low)}, {show(r.high)}]</title></circle>"
            )
    unit_label = "%" if percent else unit
    parts.append(
        f'<text x="{frame.x(0.5)}" y="{frame.y(0) + 30}" text-anchor="middle">{escape(unit_label)}</text></svg>'
    )
    return "".join(parts)


def share_chart(
    positions: Sequence[float],
    shares: Mapping[str, Sequence[float]],
    colors: Mapping[str, str],
    *,
    total: int,
    title: str,
    width: int = 760,
) -> str:
    """Stacked areas: at each position of the order flow (0 to ``total``), the share each venue got."""
    legend = _Legend.fit([(arm, colors[arm]) for arm in shares], width - 56 - 16)
    frame = _Frame(width, 300 + round(legend.extra_height), bottom=52 + round(legend.extra_height))
    if not positions or total <= 0:
        return frame.open("routing-share", title) + '<text x="20" y="44">no orders</text></svg>'
    xs = [frame.x(p / total) for p in positions]
    parts = [frame.open("routing-share", title), frame.axes()]
    base = [0.0] * len(positions)
    for arm, values in shares.items():
        top = [b + v for b, v in zip(base, values, strict=True)]
        upper = [f"{x:.1f},{frame.y(t):.1f}" for x, t in zip(xs, top, strict=True)]
        lower = [f"{x:.1f},{frame.y(b):.1f}" for x, b in zip(xs, base, strict=True)]
        parts.append(
            f'<polygon points="{" ".join(upper + lower[::-1])}" fill="{colors[arm]}" fill-opacity="0.85" '
            f'data-series="{escape(arm)}"><title>{escape(arm)}</title></polygon>'
        )
        base = top
    for share in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{frame.x(0) - 6}" y="{frame.y(share) + 4:.1f}" text-anchor="end">{share:.0%}</text>'
        )
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{frame.x(fraction):.1f}" y="{frame.y(0) + 14}" text-anchor="middle">'
            f"{round(fraction * total):,}</text>"
        )
    parts.append(
        f'<text x="{frame.x(0.5)}" y="{frame.y(0) + 30}" text-anchor="middle">orders sent so far</text>'
    )
    parts.append(legend.draw(frame.x(0), frame.y(0) + 46))
    parts.append("</svg>")
    return "".join(parts)


def error_chart(errors: Mapping[str, Mapping[str, int]], *, title: str, width: int = 760) -> str:
    """Horizontal stacked bars on a count axis: each venue's failed calls split by standard error code, its
    total at the bar's end, and a legend of the codes that wraps onto as many rows as it needs."""
    codes = sorted({code for by_code in errors.values() for code in by_code})
    colors = {code: PALETTE[(i + 3) % len(PALETTE)] for i, code in enumerate(codes)}
    row_height = 26
    left, right = 110, 56  # the right margin holds the longest bar's total
    legend = _Legend.fit([(code, colors[code]) for code in codes], width - left - right)
    bottom = 52 + round(legend.extra_height)
    frame = _Frame(
        width, 30 + row_height * max(len(errors), 1) + 8 + bottom, left=left, right=right, bottom=bottom
    )
    most = max((sum(by_code.values()) for by_code in errors.values()), default=0)
    _, axis_max, ticks = linear_ticks(0.0, float(max(most, 1)), count=5)
    ticks = [t for t in ticks if t == int(t)]  # counts: whole ticks only

    def fx(count: float) -> float:
        return frame.x(count / axis_max)

    parts = [frame.open("errors", title), frame.axes()]
    for tick in ticks:
        x = fx(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.top}" x2="{x:.1f}" y2="{frame.y(0)}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{frame.y(0) + 14}" text-anchor="middle" data-tick="{tick:g}">{tick:,.0f}</text>'
        )
    for i, (venue, by_code) in enumerate(errors.items()):
        y = frame.top + 6 + i * row_height
        parts.append(f'<text x="{frame.left - 8}" y="{y + 12}" text-anchor="end">{escape(venue)}</text>')
        x = frame.x(0)
        for code in codes:
            count = by_code.get(code, 0)
            if not count:
                continue
            w = fx(count) - frame.x(0)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="16" fill="{colors[code]}" '
                f'data-series="{escape(venue)}" data-code="{escape(code)}" data-value="{count}">'
                f"<title>{escape(venue)}: {count} x {escape(code)}</title></rect>"
            )
            x += w
        total = sum(by_code.values())
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 12}" data-total="{total}">{total:,}</text>')
    if not codes:
        parts.append(f'<text x="{frame.x(0) + 8}" y="{frame.top + 20}">no failed calls</text>')
    parts.append(f'<text x="{frame.x(0.5)}" y="{frame.y(0) + 30}" text-anchor="middle">failed calls</text>')
    parts.append(legend.draw(frame.x(0), frame.y(0) + 46))
    parts.append("</svg>")
    return "".join(parts)
