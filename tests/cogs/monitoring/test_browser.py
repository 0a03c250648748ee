"""A real headless Chromium opens the monitoring page and the history chart draws."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium, requires_chromium
from tests.web.conftest import ADMIN_ID, GUILD_ID, PUBLIC_URL
from web.app import create_app
from web.context import WebContext
from web.server import start_web
from web.vendor import NODE_MODULES

SHOWN = '#history-chart[data-shown="{}"]'  # the metric the chart shows
SCREENSHOT = Path("/tmp/foundrycord-monitoring.png")
pytestmark = [
    *requires_chromium,
    pytest.mark.skipif(
        not (NODE_MODULES / "chart.js/dist/chart.umd.js").is_file(),
        reason="Chart.js is not installed: npm ci --prefix web",
    ),
]


async def test_history_chart_draws_the_samples(monitoring_ctx: WebContext) -> None:
    server = await start_web(create_app(monitoring_ctx), "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
            link = (await monitoring_ctx.signin.issue(ADMIN_ID)).replace(PUBLIC_URL, server.url)
            await page.goto(link)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{server.url}/guilds")
            await page.goto(f"{server.url}/guilds/{GUILD_ID}/monitoring")
            status = page.get_by_test_id("chart-status")
            # selector waits, not wait_for_function: the page's CSP forbids eval
            await page.wait_for_selector('#history-chart[data-points="2"]', state="attached")
            assert await status.inner_text() == "2 points, raw samples."
            drawn = await page.evaluate(
                """() => {
                    const chart = Chart.getChart('history-chart');
                    const meta = chart.getDatasetMeta(0);
                    return {points: meta.data.length, ys: chart.data.datasets[0].data.map(p => p.y),
                            width: chart.width};
                }"""
            )
            assert drawn["points"] == 2 and drawn["ys"] == [12.5, 55.0] and drawn["width"] > 100
            # switching the metric reloads the chart from the server
            await page.select_option("#metric-picker", "mem.percent")
            await page.get_by_text("Memory used (mem.percent) · host 1").wait_for()
            ys = await page.evaluate(
                "() => Chart.getChart('history-chart').data.datasets[0].data.map(p => p.y)"
            )
            assert ys == [40.0, 41.0]
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert errors == []
    finally:
        await server.stop()


async def _signed_in_page(browser, monitoring_ctx: WebContext, server):  # type: ignore[no-untyped-def]
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
    link = (await monitoring_ctx.signin.issue(ADMIN_ID)).replace(PUBLIC_URL, server.url)
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server.url}/guilds")
    return page, errors


async def test_the_metric_in_the_url_is_charted_and_kept(monitoring_ctx: WebContext) -> None:
    """Choosing mem.percent (Show, a reload, a shared link) charts mem.percent, and the
    picker keeps it, instead of falling back to cpu.percent."""
    server = await start_web(create_app(monitoring_ctx), "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page, errors = await _signed_in_page(browser, monitoring_ctx, server)
            await page.goto(f"{server.url}/guilds/{GUILD_ID}/monitoring")
            await page.wait_for_selector(
                '#history-chart[data-shown="cpu.percent"]', state="attached"
            )
            await page.select_option("#metric-picker", "mem.percent")
            await page.get_by_role("button", name="Show").click()
            await page.wait_for_url("**metric=mem.percent**")
            await page.wait_for_selector(
                '#history-chart[data-shown="mem.percent"]', state="attached"
            )
            assert await page.input_value("#metric-picker") == "mem.percent"
            ys = await page.evaluate(
                "() => Chart.getChart('history-chart').data.datasets[0].data.map(p => p.y)"
            )
            assert ys == [40.0, 41.0]
            await page.reload()
            await page.wait_for_selector(
                '#history-chart[data-shown="mem.percent"]', state="attached"
            )
            assert await page.input_value("#metric-picker") == "mem.percent"
            assert errors == []
    finally:
        await server.stop()


async def test_an_empty_range_says_so_instead_of_drawing_1970(monitoring_ctx: WebContext) -> None:
    server = await start_web(create_app(monitoring_ctx), "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page, errors = await _signed_in_page(browser, monitoring_ctx, server)
            url = f"{server.url}/guilds/{GUILD_ID}/monitoring?metric=speedtest.download_mbps"
            await page.goto(url)
            await page.wait_for_selector('#history-chart[data-points="0"]', state="attached")
            assert await page.get_by_test_id("chart-status").inner_text() == (
                "No data for this range yet."
            )
            assert await page.get_by_test_id("chart-empty").is_visible()
            axis = await page.evaluate(
                """() => {
                    const x = Chart.getChart('history-chart').scales.x;
                    return {min: x.min, max: x.max, labels: x.ticks.map(t => t.label)};
                }"""
            )
            assert axis["min"] > 1.7e9 and axis["max"] - axis["min"] == 3600
            assert not any("1970" in str(label) for label in axis["labels"])
            # a range with data hides the message again
            await page.select_option("#metric-picker", "cpu.percent")
            await page.wait_for_selector('#history-chart[data-points="2"]', state="attached")
            assert not await page.get_by_test_id("chart-empty").is_visible()
            assert errors == []
    finally:
        await server.stop()


async def test_every_metric_in_the_picker_can_be_charted(monitoring_ctx: WebContext) -> None:
    server = await start_web(create_app(monitoring_ctx), "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page, errors = await _signed_in_page(browser, monitoring_ctx, server)
            await page.goto(f"{server.url}/guilds/{GUILD_ID}/monitoring")
            await page.wait_for_selector("#history-chart[data-shown]", state="attached")
            values = await page.eval_on_selector_all(
                "#metric-picker option", "options => options.map(o => o.value)"
            )
            assert {"cpu.percent", "mem.percent", "speedtest.download_mbps"} <= set(values)
            for value in values:
                await page.select_option("#metric-picker", value)
                await page.wait_for_selector(
                    f'#history-chart[data-shown="{value}"]', state="attached"
                )
            assert errors == []
    finally:
        await server.stop()
