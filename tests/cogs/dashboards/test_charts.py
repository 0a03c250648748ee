"""History charts: Pillow only on first use, a PNG when it is there, "unavailable" when not."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from cogs.dashboards import charts, sources
from cogs.dashboards.layout import parse_layout
from cogs.dashboards.render import Chart, ViewState, render
from tests.cogs.dashboards.fakes import FakeMetrics

CHART_LAYOUT = {
    "title": "t",
    "widgets": [
        {
            "id": "cpu",
            "title": "CPU",
            "source": {"kind": "metric", "metric": "cpu.percent"},
            "format": "chart",
        }
    ],
}


def test_loading_and_rendering_dashboards_does_not_import_pillow() -> None:
    code = (
        "import sys, asyncio, datetime\n"
        "import cogs.dashboards, cogs.dashboards.cog\n"
        "import cogs.dashboards.service, cogs.dashboards.web\n"
        "from cogs.dashboards.presets import PRESETS, preset\n"
        "from cogs.dashboards.render import render, Snapshot\n"
        "for name in PRESETS: render(preset(name), Snapshot())\n"
        "print('PIL' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


async def test_without_pillow_a_chart_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "charts_available", lambda: False)
    layout = parse_layout(CHART_LAYOUT)
    snapshot = await sources.collect(layout, ViewState(), FakeMetrics(), None, datetime.now(UTC))
    rendered = render(layout, snapshot)
    assert rendered.charts == ()
    assert rendered.payload["embeds"][1]["description"] == (
        "unavailable (charts need Pillow, which is not installed)"
    )


async def test_with_pillow_a_chart_is_a_png_attachment(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("PIL")
    monkeypatch.setattr(sources, "charts_available", lambda: True)
    layout = parse_layout(CHART_LAYOUT)
    snapshot = await sources.collect(layout, ViewState(), FakeMetrics(), None, datetime.now(UTC))
    rendered = render(layout, snapshot)
    assert rendered.payload["embeds"][1]["image"] == {"url": "attachment://chart-cpu.png"}
    png = charts.draw(rendered.charts[0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert charts.draw(Chart("c.png", "one point", (4.0,))).startswith(b"\x89PNG")


def test_availability_is_looked_up_without_importing() -> None:
    import importlib.util

    assert charts.charts_available() == (importlib.util.find_spec("PIL") is not None)
