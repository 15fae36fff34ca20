"""The report's crypto part: one pair routed across three protocols, in a section of its own.

The crypto part is a run of its own (``DemoResult.crypto``): its venues, their latency, the A/B test
against its control, the routing, the broker comparison and the recommendations, built by the same
functions as the FX part's sections so both read alike. Its recommendation lists are named
``crypto-ab-recommendations`` and ``crypto-comparison-recommendations``, and every figure they quote is in
one of this section's tables. Notes on venues the run left out (a CCXT venue without ccxt) come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from broker_integration.demo.formatting import fmt_pct
from broker_integration.demo.report_charts import PALETTE
from broker_integration.demo.report_html import section, table, td
from broker_integration.demo.report_sections import (
    comparison_parts,
    experiment_parts,
    latency_parts,
    recommendation_lists,
    routing_parts,
)
from broker_integration.demo.result import DemoResult

__all__ = ["CRYPTO_PREFIX", "crypto_section", "venues_table"]

#: What the crypto part's recommendation lists' names start with.
CRYPTO_PREFIX = "crypto-"


def venues_table(result: DemoResult) -> str:
    """The venues of a part: name, display name, adapter (its protocol), execution profile, endpoint."""
    rows = [
        [
            td(v.name, cls="venue"),
            td(v.display_name),
            td(v.adapter_type),
            td(v.description),
            td(v.endpoint or "in-process"),
        ]
        for v in result.venues
    ]
    return table(("venue", "name", "adapter", "execution profile", "endpoint"), rows, name="venues")


def _notes(result: DemoResult) -> str:
    return "".join(f"<p class='note' data-note>{escape(note)}</p>" for note in result.notes)


def crypto_section(result: DemoResult, colors: Mapping[str, str]) -> str:
    """The crypto part's section; when the part was skipped, the notes saying why (or nothing)."""
    crypto = result.crypto
    if crypto is None:
        return section("crypto", "Crypto: one pair across protocols", _notes(result)) if result.notes else ""
    own = {arm: PALETTE[(i + len(colors)) % len(PALETTE)] for i, arm in enumerate(crypto.arms)}
    res, cmp = crypto.test_results, crypto.comparison
    protocols = sorted({v.adapter_type for v in crypto.venues})
    share = ", ".join(f"{a.arm} {fmt_pct(a.observed_share, 1)}" for a in res.arms)
    intro = (
        f"<p>{crypto.options.orders:,} market orders on {escape(crypto.options.instruments[0])} across "
        f"{len(crypto.arms)} venues speaking {len(protocols)} protocols ({escape(', '.join(protocols))}), "
        f"with <strong>{escape(res.routing_strategy.value)}</strong> routing; {escape(crypto.arms[0])} is "
        f"the control. Orders routed: {escape(share)}. Every venue quotes the same seeded market, so they "
        "differ in how they execute, measured exactly as in the FX part.</p>"
    )
    winner = res.winner or "no winner"
    verdicts = (
        f"<p class='verdict'>A/B test: <strong data-verdict='crypto-ab'>{escape(winner)}</strong> "
        f"({escape(res.status.value)}, {res.total_orders:,} orders). Broker comparison (observational): "
        f"<strong data-verdict='crypto-comparison'>{escape(cmp.winner or 'no winner')}</strong>: "
        f"{escape(cmp.verdict)}</p>"
    )
    return section(
        "crypto",
        f"Crypto: {crypto.options.instruments[0]} across {len(protocols)} protocols",
        _notes(result),
        intro,
        verdicts,
        venues_table(crypto),
        "<h3>Latency</h3>",
        *latency_parts(crypto, own),
        "<h3>A/B test against the control</h3>",
        *experiment_parts(crypto),
        "<h3>Routing</h3>",
        *routing_parts(crypto, own),
        "<h3>Broker comparison</h3>",
        *comparison_parts(crypto),
        *recommendation_lists(crypto, CRYPTO_PREFIX),
    )
