"""Small HTML helpers for the demo report: escaped cells with data attributes, tables, sections.

Cells that show a measured figure carry it unrounded in ``data-value`` next to ``data-broker`` and
``data-metric``, so a reader's script (or a test) can check the visible numbers against their source.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["figure", "section", "table", "td"]


def td(
    text: object,
    *,
    numeric: bool = False,
    broker: str | None = None,
    metric: str | None = None,
    value: float | int | None = None,
    cls: str | None = None,
    title: str | None = None,
) -> str:
    """One ``<td>``: ``text`` escaped; ``broker``/``metric``/``value`` become data attributes."""
    attrs = []
    classes = [c for c in ("num" if numeric else None, cls) if c]
    if classes:
        attrs.append(f'class="{" ".join(classes)}"')
    if broker is not None:
        attrs.append(f'data-broker="{escape(broker)}"')
    if metric is not None:
        attrs.append(f'data-metric="{escape(metric)}"')
    if value is not None:
        attrs.append(f'data-value="{value!r}"')
    if title:
        attrs.append(f'title="{escape(title)}"')
    opening = "<td " + " ".join(attrs) + ">" if attrs else "<td>"
    return f"{opening}{escape(str(text))}</td>"


def figure(broker: str, metric: str, value: float | int | None, text: object) -> str:
    """A numeric cell showing ``text`` for ``metric`` of ``broker``, with ``value`` unrounded in ``data-value``."""
    return td(text, numeric=True, broker=broker, metric=metric, value=value)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, name: str = "") -> str:
    """A table of ``rows`` (lists of :func:`td` cells) under ``headers``; ``name`` sets ``data-table``.

    The table sits in a box that scrolls sideways when the table is wider than the page (a phone), so
    the page itself never overflows.
    """
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    marker = f' data-table="{escape(name)}"' if name else ""
    return (
        f'<div class="table-scroll"><table{marker}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def section(anchor: str, title: str, *parts: str) -> str:
    """A report section with its heading; ``parts`` are HTML already."""
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'
