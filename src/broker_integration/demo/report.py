"""The demo's HTML report: one self-contained file (styles and SVG charts inline, nothing to fetch).

The page opens with what was run and the two verdicts (the experiment's winner and the collector's),
then one section per subject (:mod:`.report_sections`, :mod:`.report_capabilities`), then the crypto part
(:mod:`.report_crypto`), and ends with every
figure as JSON in ``<script type="application/json" id="demo-figures">`` (:meth:`DemoResult.figures`).
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

import orjson

from broker_integration import __version__
from broker_integration.ab_testing.recommendations import format_p
from broker_integration.demo.formatting import fmt_pct
from broker_integration.demo.report_capabilities import capabilities_section
from broker_integration.demo.report_charts import PALETTE
from broker_integration.demo.report_crypto import crypto_section, venues_table
from broker_integration.demo.report_html import section
from broker_integration.demo.report_sections import SECTIONS, recommendations_section
from broker_integration.demo.result import DemoResult

__all__ = ["FIGURES_ID", "read_figures", "render_report", "write_report"]

#: The id of the script element holding the figures as JSON.
FIGURES_ID = "demo-figures"
_FIGURES = re.compile(rf"<script type='application/json' id='{FIGURES_ID}'>(.*?)</script>", re.S)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#222;line-height:1.45}
h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:40px}
table{border-collapse:collapse;margin:12px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:13px}.pair{display:flex;flex-wrap:wrap;gap:12px}
.cards{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid #ddd;border-radius:6px;padding:12px 16px;flex:1}
.card strong{font-size:20px}.verdict-better{color:#1a7f37}.verdict-worse{color:#b42318}
.status-verified{background:#d9f2df}.status-declared{background:#eef4fb}.status-unknown{background:#f4f4f4}
.status-failed{background:#fde2e1}.status-unsupported{background:#f6e7d8}
svg.chart{max-width:100%;height:auto;margin:8px 0}code{background:#f4f4f4;padding:0 3px}
body{overflow-wrap:break-word}.table-scroll{overflow-x:auto;max-width:100%}
"""


def _colors(result: DemoResult) -> dict[str, str]:
    return {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(result.arms)}


def _header(result: DemoResult) -> str:
    o, res, cmp = result.options, result.test_results, result.comparison
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases.items())
    ab_winner = (
        f"<strong data-verdict='ab'>{escape(res.winner)}</strong><br>"
        f"Holm-adjusted p {escape(format_p(res.winner_p_value))}, "
        if res.winner is not None and res.winner_p_value is not None
        else "<strong data-verdict='ab'>no winner</strong><br>"
    )
    cards = (
        "<div class='cards'>"
        f"<div class='card'>A/B test winner ({escape(res.primary_metric.value)}, guardrails kept)<br>"
        f"{ab_winner}{escape(res.status.value)}, {res.total_orders:,} orders</div>"
        f"<div class='card'>Broker comparison winner (observational)<br><strong data-verdict='comparison'>"
        f"{escape(cmp.winner or 'no winner')}</strong><br>{escape(cmp.verdict)}</div>"
        "</div>"
    )
    facts = (
        f"<p>{o.orders:,} market orders on {escape(', '.join(o.instruments))} across {len(result.arms)} venues "
        f"with <strong>{escape(res.routing_strategy.value)}</strong> routing, seed {o.seed}, at most "
        f"{o.concurrency} in flight. Configuration {escape(', '.join(result.config_files))} "
        f"({escape(result.environment)}). Started {escape(result.started_at.isoformat(timespec='seconds'))}; "
        f"took {result.wall_seconds:.1f} s ({escape(phases)}). broker_integration {escape(__version__)}.</p>"
    )
    return f"<header><h1>Broker integration demo</h1>{facts}{cards}</header>"


def _venues(result: DemoResult, colors: dict[str, str]) -> str:
    share = ", ".join(f"{a.arm} {fmt_pct(a.observed_share, 1)}" for a in result.test_results.arms)
    return section(
        "venues",
        "Venues",
        venues_table(result),
        f"<p class='note'>Orders routed: {escape(share)}. Control: {escape(result.arms[0])}.</p>",
    )


def _figures_json(result: DemoResult) -> str:
    text = orjson.dumps(
        result.figures(), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    ).decode()
    return text.replace("</", "<\\/")  # JSON reads <\/ as </; the HTML parser never sees an end tag


def render_report(result: DemoResult) -> str:
    """The report as one HTML document."""
    colors = _colors(result)
    body = [_header(result), _venues(result, colors)]
    body += [build(result, colors) for build in SECTIONS]
    body += [capabilities_section(result, colors), recommendations_section(result, colors)]
    body.append(crypto_section(result, colors))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>Broker integration demo, seed {result.options.seed}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}"
        f"<script type='application/json' id='{FIGURES_ID}'>{_figures_json(result)}</script>"
        "</body></html>"
    )


def read_figures(html: str) -> dict[str, Any]:
    """The figures a report embeds (what :meth:`DemoResult.figures` gave when it was written)."""
    match = _FIGURES.search(html)
    if match is None:
        raise ValueError(f"no <script id={FIGURES_ID!r}> with the figures in this document")
    figures = orjson.loads(match.group(1))  # <\/ is JSON's own escape of </
    if not isinstance(figures, dict):
        raise ValueError("the embedded figures are not a JSON object")
    return figures


def write_report(result: DemoResult, path: Path) -> Path:
    """Write the report to ``path`` (creating its folder); returns the absolute path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result), encoding="utf-8")
    return path.resolve()
