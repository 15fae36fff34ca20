"""The demo on a terminal: set-up and discovery tables, live progress while orders flow, the outcome.

:class:`ConsoleObserver` follows a run. While orders flow it shows a progress bar and a table of live
figures per venue, tallied from each order's result as it arrives (a few additions per order on the
event loop; the table is drawn by rich's refresh thread four times a second). The final figures are
not these tallies but the experiment's and the collector's, printed by :func:`print_outcome`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker_integration.ab_testing import METRICS, Metric, TestResults
from broker_integration.ab_testing.models import MetricKind
from broker_integration.ab_testing.recommendations import format_p
from broker_integration.capabilities.profile import CapabilityStatus
from broker_integration.demo.discovery import DiscoveryRun
from broker_integration.demo.flow import RoutedOrder
from broker_integration.demo.formatting import fmt, fmt_p, fmt_pct
from broker_integration.demo.observer import RunObserver
from broker_integration.demo.result import DemoResult
from broker_integration.demo.venues import DemoVenues
from broker_integration.demo.verdicts import deference
from broker_integration.metrics.alerts import AlertEvent, AlertState
from broker_integration.metrics.cli import print_comparison
from broker_integration.stats import Interval

__all__ = ["ConsoleObserver", "print_outcome"]


@dataclass
class _Tally:
    """Running figures of one venue, for the live table only."""

    routed: int = 0
    executed: int = 0
    succeeded: int = 0
    latency_sum: float = 0.0

    def add(self, routed: RoutedOrder, executed_here: bool, routed_here: bool) -> None:
        self.routed += routed_here
        if not executed_here:
            return
        self.executed += 1
        if routed.success:
            self.succeeded += 1
            self.latency_sum += routed.latency_ms or 0.0


class _LiveFigures:
    """A table drawn from the tallies whenever rich refreshes the screen."""

    def __init__(self, arms: Sequence[str]) -> None:
        self.tallies = {arm: _Tally() for arm in arms}

    def add(self, routed: RoutedOrder) -> None:
        for arm, tally in self.tallies.items():
            tally.add(routed, routed.executed_arm == arm, routed.arm == arm)

    def __rich__(self) -> RenderableType:
        total = sum(t.routed for t in self.tallies.values()) or 1
        table = Table(title="Live figures (running tallies)", title_justify="left")
        for column in ("venue", "routed", "share", "success", "mean latency"):
            table.add_column(
                column, justify="left" if column == "venue" else "right", no_wrap=column == "venue"
            )
        for arm, t in self.tallies.items():
            mean = f"{t.latency_sum / t.succeeded:.1f} ms" if t.succeeded else "-"
            success = f"{t.succeeded / t.executed:.1%}" if t.executed else "-"
            table.add_row(arm, f"{t.routed:,}", f"{t.routed / total:.1%}", success, mean)
        return table


def _profile_cell(run: DiscoveryRun) -> str:
    counts = run.profile.capabilities.counts()
    refused = counts.get(CapabilityStatus.FAILED, 0) + counts.get(CapabilityStatus.UNSUPPORTED, 0)
    return (
        f"{counts.get(CapabilityStatus.VERIFIED, 0)}v {counts.get(CapabilityStatus.DECLARED, 0)}d "
        f"{refused}x {counts.get(CapabilityStatus.UNKNOWN, 0)}? ({run.profile.duration_ms:.0f} ms)"
    )


class ConsoleObserver(RunObserver):
    """Prints a run's steps, tables and live progress to ``console``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._figures: _LiveFigures | None = None

    def phase(self, title: str) -> None:
        self.console.print(f"[bold cyan]>[/] {escape(title)}")

    def note(self, text: str) -> None:
        self.console.print(f"  [yellow]note:[/] {escape(text)}", highlight=False)

    def venues_ready(self, venues: DemoVenues) -> None:
        files = ", ".join(venues.loaded.files)
        self.console.print(
            f"  configuration {files} ({venues.environment}); the simulators' keys and addresses "
            f"(${{OANDA_*}}, ${{ALPACA_*}}, ${{BINANCE_*}}) and ${{DEMO_SEED}} set by the demo; simulators: "
            f"OANDA at {venues.simulator.base_url}, Alpaca at {venues.alpaca_simulator.base_url}, "
            f"Binance at {venues.binance_simulator.base_url}",
            highlight=False,
        )
        table = Table(title="Venues")
        for column in ("venue", "adapter", "execution profile"):
            table.add_column(column)
        for name, info in venues.info.items():
            table.add_row(name, info.adapter_type, info.description)
        self.console.print(table)

    def discovery_done(self, runs: Sequence[DiscoveryRun]) -> None:
        by_venue: dict[str, dict[str, DiscoveryRun]] = {}
        for run in runs:
            by_venue.setdefault(run.broker, {})[run.test_type.value] = run
        depths = list(dict.fromkeys(run.test_type.value for run in runs))
        table = Table(title="Capability profiles (v verified, d declared, x refused, ? unknown)")
        for column in ("venue", *depths, "errors"):
            table.add_column(
                column, justify="left" if column == "venue" else "right", no_wrap=column == "venue"
            )
        for venue, found in by_venue.items():
            cells = [_profile_cell(found[d]) if d in found else "-" for d in depths]
            errors = sum(len(run.profile.errors) for run in found.values())
            table.add_row(venue, *cells, str(errors))
        self.console.print(table)
        for venue, found in by_venue.items():
            deepest = found[depths[-1]].profile
            refused = deepest.capabilities.with_status(CapabilityStatus.FAILED, CapabilityStatus.UNSUPPORTED)
            if refused:
                names = ", ".join(str(c) for c in refused)
                self.console.print(f"  {venue} cannot: {names}", highlight=False, markup=False)

    def orders_started(self, total: int, arms: Sequence[str]) -> None:
        self._progress = Progress(
            TextColumn("[bold]orders"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
        )
        self._task = self._progress.add_task("orders", total=total, rate="")
        self._figures = _LiveFigures(arms)
        self._live = Live(Group(self._progress, self._figures), console=self.console, refresh_per_second=4)
        self._live.start()

    def order_done(self, routed: RoutedOrder) -> None:
        if self._progress is None or self._task is None or self._figures is None:
            return
        self._figures.add(routed)
        self._progress.advance(self._task)
        task = self._progress.tasks[0]
        if task.speed:
            self._progress.update(self._task, rate=f"{task.speed:.0f} orders/s")

    def orders_finished(self) -> None:
        if self._live is not None:
            self._live.stop()
            if not self.console.is_terminal:
                self.console.line()  # the last frame of a non-interactive Live ends without a newline
        self._live = None

    def alert(self, event: AlertEvent) -> None:
        color = "yellow" if event.state is AlertState.FIRING else "green"
        self.console.print(
            f"  [{color}]alert {event.state.value}[/] "
            + escape(f"[{event.severity.value}] {event.rule} at {event.broker_name}: {event.message}"),
            highlight=False,
        )


def _compact(metric: Metric, interval: Interval | None) -> str:
    """``estimate (low-high)`` in the metric's unit (named in the column header), percent for rates."""
    if interval is None:
        return "-"
    scale = 100.0 if METRICS[metric].kind is MetricKind.PROPORTION else 1.0
    text = fmt(interval.estimate * scale)
    if math.isfinite(interval.low) and math.isfinite(interval.high):
        text += f" ({fmt(interval.low * scale)} to {fmt(interval.high * scale)})"
    return text


def _experiment(console: Console, res: TestResults) -> None:
    level = f"{1 - res.significance_level:.0%}"
    arms = Table(title=f"A/B test: {res.test_name} ({res.total_orders:,} orders, {level} intervals)")
    for column in (
        "venue",
        "orders",
        "share",
        "success %",
        "mean latency ms",
        "p99 ms",
        "cost bps",
        "P(best)",
    ):
        arms.add_column(column, justify="left" if column == "venue" else "right", no_wrap=column == "venue")
    for a in res.arms:
        p99 = a.latency_quantiles.get("p99")
        latency = a.corrected.get(Metric.LATENCY_MS) or a.metrics.get(Metric.LATENCY_MS)
        arms.add_row(
            a.arm + (" (control)" if a.is_control else ""),
            f"{a.orders:,}",
            fmt_pct(a.observed_share, 1),
            _compact(Metric.SUCCESS_RATE, a.metrics.get(Metric.SUCCESS_RATE)),
            _compact(Metric.LATENCY_MS, latency),
            fmt(p99.estimate) if p99 is not None else "-",
            _compact(Metric.TOTAL_COST_BPS, a.metrics.get(Metric.TOTAL_COST_BPS)),
            fmt(a.p_best),
        )
    console.print(arms)
    compared = Table(title=f"Against the control ({res.arms[0].arm}): {res.method}")
    for column in ("venue", "metric", "difference", "p (Holm)", "verdict"):
        compared.add_column(column)
    for c in res.comparisons:
        verdict = "not readable yet" if not c.readable else "no difference"
        if c.significant:
            verdict = "better" if c.better else "worse"
        unit = METRICS[c.metric].unit or "points"
        difference = f"{_compact(c.metric, c.test.interval)} {unit}"
        p = fmt_p(c.adjusted_p_value) if c.readable else "-"
        compared.add_row(c.arm, c.metric.value, difference, p, verdict)
    console.print(compared)
    if res.winner is not None and res.winner_p_value is not None:
        console.print(
            f"[bold green]A/B winner:[/] {res.winner} (Holm-adjusted p {format_p(res.winner_p_value)}, "
            f"{res.status.value})"
        )
    else:
        console.print(f"[bold yellow]A/B test: no winner[/] ({res.status.value})")
    for note in res.recommendations:
        console.print(f"- {note}", highlight=False, markup=False)


def _part(console: Console, result: DemoResult) -> None:
    _experiment(console, result.test_results)
    print_comparison(result.comparison, console)
    console.print(f"- {deference(result.test_results, result.comparison)}", highlight=False, markup=False)


def print_outcome(console: Console, result: DemoResult) -> None:
    """The experiment's results and the collector's comparison of each part, and where the time went."""
    _part(console, result)
    if result.crypto is not None:
        crypto = result.crypto
        console.rule(
            f"Crypto: {crypto.options.instruments[0]} across {', '.join(crypto.arms)} "
            f"({len({v.adapter_type for v in crypto.venues})} protocols)"
        )
        _part(console, crypto)
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases.items())
    console.print(f"Done in {result.wall_seconds:.1f} s ({phases}); store: {result.store}", highlight=False)
