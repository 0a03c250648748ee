"""Journey (c): on the Monitoring tab, chart a metric of each kind (a gauge, a rate, a
counter) by picking it in the metric picker; the chart follows the picker, and keeps
following it when the pick is shown as a page of its own (the picker's `metric=` URL)."""

from __future__ import annotations

import re
from typing import Any

from tests.browser import requires_chromium
from tests.journeys.harness import (
    RunningBot,
    chart_points,
    open_guild_tab,
    requires_chart_js,
    until,
)

pytestmark = [*requires_chromium, requires_chart_js()]

GAUGE = "mem.percent"
RATE = re.compile(r"^net\.(?!lo\.)[^.]+\.rx_bps$")  # an interface other than loopback
COUNTERS = (re.compile(r"^net\.(?!lo\.)[^.]+\.rx_total$"), re.compile(r"^uptime_s$"))


async def picker_options(page: Any) -> list[str]:
    return [
        value
        for value in await page.locator("#metric-picker option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        if value
    ]


async def drawn(page: Any) -> list[float]:
    return await page.evaluate(
        "() => Chart.getChart('history-chart').data.datasets[0].data.map(p => p.y)"
    )


async def chart_shows(page: Any, metric: str) -> None:
    """The chart was (re)loaded for `metric`: its series came from the server for that
    metric, it is drawn, and the picker and the title name it."""
    title = page.locator("#chart-title")
    picker = page.locator("#metric-picker")
    try:
        await until(lambda: _title_names(title, metric), f"the chart of {metric}", timeout=15)
    except AssertionError as error:
        raise AssertionError(
            f"{error}; the chart is titled {await title.inner_text()!r}, the picker shows "
            f"{await picker.input_value()!r}, the URL is {page.url}"
        ) from None
    assert await picker.input_value() == metric
    points = int(await page.get_attribute("#history-chart", "data-points") or 0)
    assert points >= 1, f"{metric}: {await page.get_by_test_id('chart-status').inner_text()}"
    series = await page.evaluate(
        """async (metric) => {
            const canvas = document.getElementById('history-chart');
            const host = document.getElementById('host-picker').value;
            const range = document.getElementById('range-picker').value;
            const query = new URLSearchParams({host: host, range: range, metric: metric});
            const response = await fetch(canvas.dataset.seriesUrl + '?' + query.toString());
            return (await response.json()).points.map(p => p[1]);
        }""",
        metric,
    )
    ys = await drawn(page)
    # Same metric: the drawn points are the metric's own (the newest may have arrived since).
    assert ys and ys[: len(series)] == series[: len(ys)], (metric, ys[-5:], series[-5:])


async def _title_names(title: Any, metric: str) -> bool:
    return metric in (await title.inner_text()).split(" · ")[0]


async def test_the_chart_follows_the_metric_picker_for_each_kind(
    page: Any, bot: RunningBot
) -> None:
    guild_id = await open_guild_tab(page, bot, "Monitoring")
    tab = f"{bot.url}/guilds/{guild_id}/monitoring"

    async def sampled() -> int | None:  # rates need two samples
        count = await chart_points(page, tab)
        return count if count >= 3 else None

    await until(sampled, "three samples of this machine on the Monitoring tab", timeout=40)

    options = await picker_options(page)
    rate = next((name for name in options if RATE.match(name)), None)
    counter = next((name for pattern in COUNTERS for name in options if pattern.match(name)), None)
    assert GAUGE in options, options
    assert rate is not None, f"no network rate to pick: {options}"
    assert counter is not None, f"no counter to pick: {options}"

    for metric in (GAUGE, rate, counter):
        # Picking it redraws the chart in place...
        await page.goto(tab)
        await page.wait_for_selector("#history-chart[data-points]", state="attached")
        await page.locator("#metric-picker").select_option(metric)
        await chart_shows(page, metric)
        # ...and "Show" makes it the page's own (a link to it keeps it).
        async with page.expect_navigation():
            await page.get_by_role("button", name="Show").click()
        assert f"metric={metric}" in page.url, page.url
        await page.wait_for_selector("#history-chart[data-points]", state="attached")
        await chart_shows(page, metric)
    assert page.problems == []
