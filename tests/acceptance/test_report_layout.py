"""The demo's report fits a phone (480 px) and a desktop (1400 px): headless Chromium renders it at each
width, takes a full-page screenshot, and the test checks the screenshot and the rendered layout for
overflow — the page no wider than the window, no text outside its chart, no legend entry over another —
rather than anyone looking at the pictures. The screenshots are kept in the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from pathlib import Path
from typing import Any

import pytest
from report_support import DevTools, page

from broker_integration.demo.report_charts import error_chart

#: What the rendered page says about its own layout (CSS pixels of the layout viewport).
_LAYOUT = """JSON.stringify((() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ': '
    + (el.textContent || '').trim().slice(0, 50);
  const overflowing = [...document.body.querySelectorAll('*')]
    .filter(el => !el.closest('svg') || el.tagName.toLowerCase() === 'svg')
    .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5; })
    .filter(el => !scrolls(el)).map(name);
  const outside = [], overlapping = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
          || r.bottom > box.bottom + 0.5) outside.push(svg.dataset.chart + ': ' + text.textContent);
    }
    const entries = [...svg.querySelectorAll('g[data-legend]')]
      .map(g => [g.dataset.legend, g.getBoundingClientRect()]);
    entries.forEach(([a, ra], i) => entries.slice(i + 1).forEach(([b, rb]) => {
      if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom) {
        overlapping.push(svg.dataset.chart + ': ' + a + ' / ' + b);
      }
    }));
  }
  const errors = document.querySelector('svg[data-chart=errors]');
  return {
    width, scrollWidth: document.documentElement.scrollWidth, overflowing, outside, overlapping,
    ticks: errors ? [...errors.querySelectorAll('text[data-tick]')].map(t => Number(t.dataset.tick)) : [],
    totals: errors ? [...errors.querySelectorAll('text[data-total]')].map(t => Number(t.dataset.total)) : [],
  };
})())"""


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header (IHDR: the first chunk, right after the signature)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def screenshot(tools: DevTools, url: str, width: int, keep: Path) -> tuple[dict[str, Any], bytes]:
    """Open ``url`` in a window ``width`` CSS pixels wide; its layout report and a full-page screenshot."""
    await tools.call(
        "Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False
    )
    await tools.open(url)
    layout: dict[str, Any] = await tools.evaluate(_LAYOUT)
    metrics = await tools.call("Page.getLayoutMetrics")
    content = metrics["cssContentSize"]
    shot = await tools.call(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": content["width"], "height": content["height"], "scale": 1},
    )
    png = base64.b64decode(shot["data"])
    await asyncio.to_thread(keep.write_bytes, png)
    return layout, png


@pytest.mark.parametrize("width", [480, 1400])
async def test_the_report_fits_the_window(
    width: int, demo_report: tuple[Path, str], browser: str, tmp_path: Path
) -> None:
    async with page(browser) as tools:
        layout, png = await screenshot(
            tools, demo_report[0].as_uri(), width, tmp_path / f"report-{width}.png"
        )
        assert tools.problems() == []
    shot_width, shot_height = png_size(png)
    assert shot_width == width  # the whole page, captured beyond the window, is no wider than the window
    assert shot_height > 2000  # the probe works: that was the whole report
    assert layout["width"] == width
    assert layout["scrollWidth"] <= width
    assert layout["overflowing"] == []  # wide tables scroll in their own box, long words wrap
    assert layout["outside"] == []  # every label of every chart is inside its chart
    assert layout["overlapping"] == []  # no legend entry runs into the next
    ticks = layout["ticks"]
    assert ticks[0] == 0
    assert len(ticks) >= 3  # the errors chart has a count axis
    assert max(layout["totals"]) <= ticks[-1]  # that covers the longest bar


async def test_a_legend_of_many_long_codes_wraps_without_overlap(browser: str, tmp_path: Path) -> None:
    codes = [
        "OUTCOME_UNKNOWN",
        "SERVICE_UNAVAILABLE",
        "INSUFFICIENT_FUNDS",
        "RATE_LIMITED",
        "CONNECTION_ERROR",
        "MARKET_CLOSED",
        "ORDER_REJECTED",
        "AUTHENTICATION_FAILED",
        "TIMEOUT",
    ]
    svg = error_chart(
        {"flaky": {code: 10 + 37 * i for i, code in enumerate(codes)}, "calm": {"TIMEOUT": 3}},
        title="Failed calls per venue by standard error code",
    )
    chart = tmp_path / "chart.html"
    await asyncio.to_thread(
        chart.write_text, f"<!doctype html><html><body style='margin:0'>{svg}</body></html>", "utf-8"
    )
    async with page(browser) as tools:
        layout, _ = await screenshot(tools, chart.as_uri(), 800, tmp_path / "chart.png")
    assert layout["outside"] == []
    assert layout["overlapping"] == []
    assert layout["totals"] == [sum(10 + 37 * i for i in range(len(codes))), 3]
    assert layout["ticks"][-1] >= layout["totals"][0]
