"""History charts as PNG. Pillow is imported on first use only, so a bot that shows no
chart never pays for it; without Pillow a chart widget says so instead."""

from __future__ import annotations

import importlib.util
import io
from functools import cache

from cogs.dashboards.render import Chart

WIDTH, HEIGHT, PAD = 640, 220, 28
BACKGROUND = (43, 45, 49)
GRID = (78, 80, 88)
LINE = (88, 101, 242)
TEXT = (219, 222, 225)


@cache
def charts_available() -> bool:
    """Whether Pillow is installed (looked up without importing it)."""
    return importlib.util.find_spec("PIL") is not None


def draw(chart: Chart) -> bytes:
    """The chart as PNG bytes: a line over the points, with min and max labels."""
    from PIL import Image, ImageDraw  # heavy: first use only

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    pen = ImageDraw.Draw(image)
    points = list(chart.points) or [0.0]
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    for i in range(5):
        y = PAD + inner_h * i / 4
        pen.line([(PAD, y), (WIDTH - PAD, y)], fill=GRID)
    step = inner_w / max(len(points) - 1, 1)
    xy = [(PAD + i * step, PAD + inner_h * (1 - (p - low) / span)) for i, p in enumerate(points)]
    if len(xy) == 1:
        xy.append((WIDTH - PAD, xy[0][1]))
    pen.line(xy, fill=LINE, width=3)
    pen.text((PAD, 6), f"max {high:g}{chart.unit}", fill=TEXT)
    pen.text((PAD, HEIGHT - PAD + 8), f"min {low:g}{chart.unit}", fill=TEXT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
