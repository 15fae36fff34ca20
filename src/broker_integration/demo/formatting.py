"""How the demo writes numbers, on the terminal and in the report: significant digits, percentages,
p-values and intervals."""

from __future__ import annotations

import math

from broker_integration.stats import Interval

__all__ = ["fmt", "fmt_interval", "fmt_ms", "fmt_p", "fmt_pct"]


def fmt(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits (grouped thousands); ``-`` when missing."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{fmt(value)} ms"


def fmt_pct(value: float | None, decimals: int = 2) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{decimals}%}"


def fmt_p(p: float | None) -> str:
    """A p-value: three significant digits, in scientific notation below 0.001."""
    if p is None or not math.isfinite(p):
        return "-"
    return f"{p:.3g}" if p >= 0.001 else f"{p:.1e}"


def fmt_interval(interval: Interval | None, *, percent: bool = False, unit: str = "") -> str:
    """``estimate [low, high]``; the bounds are left out while the interval is unbounded."""
    if interval is None or not math.isfinite(interval.estimate):
        return "-"

    def one(value: float) -> str:
        return fmt_pct(value) if percent else f"{fmt(value)}{' ' + unit if unit else ''}"

    text = one(interval.estimate)
    if math.isfinite(interval.low) and math.isfinite(interval.high):
        text += f" [{one(interval.low)}, {one(interval.high)}]"
    return text
