"""Journey (b): on the Dashboards tab, start the System overview preset; every widget shows
a value for what this machine has (read here with psutil, not from the bot), in the editor's
preview and in the dashboard's message on the Sandbox page alike; with a core kept busy, the
CPU widget shows more than 0 %."""

from __future__ import annotations

import os
import re
from typing import Any

import psutil

from tests.browser import requires_chromium
from tests.journeys.harness import (
    RunningBot,
    busy_cpu,
    chart_points,
    embed_fields,
    open_guild_tab,
    open_sandbox_channel,
    requires_chart_js,
    until,
)

pytestmark = [*requires_chromium, requires_chart_js()]

DASHBOARD_CHANNEL = "status"
UNAVAILABLE = ("unavailable", "no metric", "no data")


def machine_has() -> dict[str, bool]:
    """What this machine reports, by the word a System overview widget is titled with."""
    temperatures = getattr(psutil, "sensors_temperatures", dict)()
    counters = psutil.net_io_counters(pernic=True)
    return {
        "cpu": True,
        "mem": True,
        "disk": bool(psutil.disk_partitions()),
        "load": hasattr(os, "getloadavg"),
        "temp": any(temperatures.values()),
        "net": any(c.bytes_recv or c.bytes_sent for n, c in counters.items() if n != "lo"),
        "swap": psutil.swap_memory().total > 0,
        "uptime": True,
    }


def cpu_use(fields: list[tuple[str, str]]) -> float | None:
    """The percentage the CPU widget shows, if it shows one."""
    for name, value in fields:
        if "cpu" in name.lower():
            found = re.search(r"(\d+(?:\.\d+)?)\s*%", value)
            return float(found.group(1)) if found else None
    return None


def wrong_widgets(fields: list[tuple[str, str]]) -> list[str]:
    """Widgets that say "unavailable" for something this machine has, or that show no value
    at all; a widget whose title names nothing this test knows may not be unavailable."""
    has = machine_has()
    wrong = []
    for name, value in fields:
        known = [key for key in has if key in name.lower()]
        if any(word in value.lower() for word in UNAVAILABLE):
            if not known or any(has[key] for key in known):
                wrong.append(f"{name}: {value}")
        elif not any(ch.isdigit() for ch in value):
            wrong.append(f"{name} shows no number: {value}")
    return wrong


async def test_system_overview_shows_what_this_machine_has(page: Any, bot: RunningBot) -> None:
    with busy_cpu():  # a core is busy: the CPU widget must not say 0 %
        await _journey(page, bot)


async def _journey(page: Any, bot: RunningBot) -> None:
    guild_id = await open_guild_tab(page, bot, "Monitoring")

    async def sampled() -> int | None:  # the first samples are in before the preset starts
        count = await chart_points(page, f"{bot.url}/guilds/{guild_id}/monitoring")
        return count if count >= 2 else None

    await until(sampled, "two samples of this machine on the Monitoring tab", timeout=40)

    await open_guild_tab(page, bot, "Dashboards")
    await page.get_by_label("Preset").select_option(label="System overview")
    await page.get_by_label("Channel").select_option(label=f"#{DASHBOARD_CHANNEL}")
    await page.get_by_role("button", name="New dashboard").click()
    await page.wait_for_url(f"{bot.url}/guilds/{guild_id}/dashboards/*")

    preview = page.get_by_test_id("preview")
    await preview.locator(".dc-embed-field").first.wait_for()
    shown = await embed_fields(preview)
    assert len(shown) >= 4, shown
    assert wrong_widgets(shown) == [], f"the editor's preview: {shown}"
    assert (cpu_use(shown) or 0) > 0, f"the editor's preview, with a core busy: {shown}"
    widgets = [name for name, _ in shown]

    await open_sandbox_channel(page, bot, DASHBOARD_CHANNEL)
    message = page.get_by_test_id("message").filter(has=page.locator(".dc-embed-field"))

    async def posted() -> list[tuple[str, str]] | None:
        if not await message.count():
            return None
        return await embed_fields(message.last)

    posted_fields = await until(posted, f"the dashboard's message in #{DASHBOARD_CHANNEL}")
    assert [name for name, _ in posted_fields] == widgets, posted_fields
    assert wrong_widgets(posted_fields) == [], f"the message on the Sandbox page: {posted_fields}"
    assert (cpu_use(posted_fields) or 0) > 0, f"the message, with a core busy: {posted_fields}"
    assert page.problems == []
