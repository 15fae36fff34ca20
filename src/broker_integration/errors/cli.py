"""``broker-integration errors``: look up error mappings, list the tables, analyse an exported run.

``errors_app`` is a Typer sub-application; the main CLI mounts it with
``app.add_typer(errors_app, name="errors")``. Each command works in a fresh process: ``map`` and
``tables`` read the registered tables, ``analyze`` reads a JSON-lines file written by
:meth:`ErrorAnalyzer.export_jsonl <broker_integration.errors.ErrorAnalyzer.export_jsonl>`.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from broker_integration.cli.lazy import command_group
from broker_integration.cli.output import command_console, fail
from broker_integration.errors import (
    ErrorMappingTable,
    StandardErrorCode,
    map_broker_error,
    registered_error_tables,
    resolve_error_mapping,
)

__all__ = ["errors_app", "parse_duration"]

errors_app = command_group(
    "errors",
    "Broker error codes: show how a broker's error maps, list the mapping tables, analyse a run.",
)

_console = command_console()
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h30m"``, ``"2d"`` or a bare number of minutes, as a timedelta."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(minutes=float(text))
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise typer.BadParameter(f"{text!r} is not a duration such as 90s, 15m, 1h30m or 2d")
    seconds = sum(float(n) * _UNITS[unit.lower()] for n, unit in parts)
    if seconds <= 0:
        raise typer.BadParameter("a duration must be positive")
    return timedelta(seconds=seconds)


def _table(broker: str) -> tuple[str, ErrorMappingTable]:
    """The registered table of ``broker`` with its name; exit 2 naming the tables when it has none."""
    name = broker.strip().lower()
    tables = registered_error_tables()
    if name not in tables:
        fail(
            f"no error table for {broker!r}; the tables are: {', '.join(tables)} "
            "(a broker without one maps by HTTP status: use 'http')",
            code=2,
        )
    return name, tables[name]


@errors_app.command("map")
def map_command(
    broker: Annotated[str, typer.Argument(help="Broker name, e.g. oanda, alpaca, http.")],
    code: Annotated[str, typer.Argument(help="The broker's error code; '-' for none.")],
    message: Annotated[str, typer.Argument(help="The broker's error message.")] = "",
    http_status: Annotated[int | None, typer.Option("--http-status", "-s", help="HTTP status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the standardized error as JSON.")] = False,
) -> None:
    """Show the standard error a broker's code, message and HTTP status map to, and which row decided."""
    broker = _table(broker)[0]
    broker_code = None if code.strip() in ("", "-") else code
    match = resolve_error_mapping(broker, broker_code, message, http_status)
    error = map_broker_error(broker, broker_code, message, http_status=http_status)
    if as_json:
        payload = error.model_dump(mode="json", exclude={"timestamp"})
        payload["matched"] = {"source": match.source.value, "table": match.table, "key": match.key}
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("standard code", error.error_code.value)
    table.add_row("retryable", "yes" if error.retryable else "no")
    if error.retry_after is not None:
        table.add_row("retry after", f"{error.retry_after:g} s")
    table.add_row("suggested action", error.suggested_action)
    where = f"{match.table}: {match.source.value} {match.key}" if match.table else "no table row (UNKNOWN)"
    table.add_row("matched", where)
    _console.print(table)


@errors_app.command("tables")
def tables_command(
    broker: Annotated[str | None, typer.Argument(help="Only this broker's table.")] = None,
    code: Annotated[
        str | None, typer.Option("--code", "-c", help="Only rows mapping to this standard code.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """List every row of the registered error mapping tables, in lookup order."""
    tables = registered_error_tables() if broker is None else dict([_table(broker)])
    wanted: StandardErrorCode | None = None
    if code is not None:
        try:
            wanted = StandardErrorCode(code.strip().upper())
        except ValueError:
            fail(
                f"unknown standard code {code!r}; one of: {', '.join(c.value for c in StandardErrorCode)}",
                code=2,
            )
    rows = [
        (name, row)
        for name, table in tables.items()
        for row in table.rows()
        if wanted is None or row.code is wanted
    ]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "broker": name,
                        "kind": row.kind.value,
                        "key": row.key,
                        "pattern": row.pattern,
                        "code": row.code.value,
                        "suggested_action": row.suggested_action,
                    }
                    for name, row in rows
                ],
                indent=2,
            )
        )
        return
    out = Table(title=f"Error mapping rows ({len(rows)})")
    out.add_column("broker", no_wrap=True)
    out.add_column("kind", no_wrap=True)
    out.add_column("key", overflow="fold")
    out.add_column("standard code", no_wrap=True)
    out.add_column("suggested action", overflow="fold")
    for name, row in rows:
        key = f"{row.key} ~ /{row.pattern}/" if row.pattern else row.key
        out.add_row(name, row.kind.value, key, row.code.value, row.suggested_action)
    _console.print(out)


@errors_app.command("analyze")
def analyze_command(
    file: Annotated[
        Path,
        typer.Argument(help="JSON lines written by ErrorAnalyzer.export_jsonl.", exists=True, dir_okay=False),
    ],
    window: Annotated[
        str, typer.Option(help="Window to analyse, ending at the newest record: 15m, 1h, 'all'.")
    ] = "all",
    spike_window: Annotated[str, typer.Option(help="Recent window for spike detection.")] = "5m",
    baseline: Annotated[str, typer.Option(help="Baseline before the spike window.")] = "1h",
    spike_factor: Annotated[
        float, typer.Option(help="Spike when the recent rate is this many times the baseline.")
    ] = 3.0,
    min_errors: Annotated[
        int, typer.Option(help="Fewest errors in the spike window to call it a spike.")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Analyse an exported run: rates by broker and operation, codes, spikes, repeats, top actions."""
    from broker_integration.errors import ErrorAnalyzer, SpikeRule

    try:
        rule = SpikeRule(parse_duration(spike_window), parse_duration(baseline), spike_factor, min_errors)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    span = None if window.strip().lower() == "all" else parse_duration(window)
    try:
        analyzer, loaded = ErrorAnalyzer.from_jsonl(file, spike_rule=rule, retention=timedelta(days=7))
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"cannot read {file}: {exc}", err=True)
        raise typer.Exit(1) from exc
    if analyzer.latest_time is None:
        typer.echo(f"{file}: no call or error records ({loaded.skipped} lines skipped)", err=True)
        raise typer.Exit(1)
    report = analyzer.report(span, now=analyzer.latest_time)
    if as_json:
        payload = report.to_dict()
        payload["source"] = {
            "file": str(file),
            "lines": loaded.lines,
            "loaded": loaded.loaded,
            "skipped": loaded.skipped,
            "errors_dropped_by_exporter": loaded.errors_dropped_by_exporter,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{file}: {loaded.loaded} records read, {loaded.skipped} lines skipped")
    if loaded.errors_dropped_by_exporter:
        typer.echo(
            f"(the exporter could not keep {loaded.errors_dropped_by_exporter} errors: counts are low)"
        )
    typer.echo(report.render_text())
