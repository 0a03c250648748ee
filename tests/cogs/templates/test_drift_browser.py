"""Drift walked in Chromium, as a manager does it: save the server as a template and pin it
on the web editor's Drift page, a member changes a channel by hand, the Drift page shows
the difference, and the report in the Sandbox page's #status is reverted with its buttons
(Revert, then Confirm on the preview only the presser sees) until it says it is back in
shape."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.browser import chromium, requires_chromium
from tests.cogs.templates.test_drift import drift_by_hand, reports
from tests.foundry import Foundry, approve, eventually

pytestmark = [requires_chromium[1], pytest.mark.sandbox_page]


async def signed_in_page(foundry: Foundry, browser: Any, user: str) -> Any:
    page = await browser.new_page(viewport={"width": 1300, "height": 900})
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    user_id = foundry.server.state.find_user(user).id
    await page.goto(await foundry.process.web_context.signin.issue(user_id))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{foundry.process.web_url}/guilds")
    return page


async def test_pin_see_drift_and_revert_it_from_the_browser(foundry: Foundry) -> None:
    await approve(foundry)
    base, guild = foundry.process.web_url, foundry.guild
    templates = f"{base}/guilds/{guild.id}/templates"
    async with chromium() as browser:
        page = await signed_in_page(foundry, browser, "alice")  # the owner: she may act as bob
        await page.goto(templates)
        await page.locator("#snapshot-name").fill("lab")
        await page.get_by_role("button", name="Save snapshot").click()
        await page.wait_for_url(re.compile(r"/templates/edit\?name=lab$"))
        await page.get_by_text("Saved this server as lab.").wait_for()

        await page.goto(f"{templates}/drift")
        await page.locator("#pin-name").select_option("lab")
        await page.locator("#pin-channel").select_option(label="#status")
        await page.get_by_role("button", name="Pin").click()
        await page.get_by_text("Pinned lab. It matches now.").wait_for()
        assert await page.get_by_test_id("drift-none").is_visible()

        foundry.bot.get_cog("TemplatesCog").drift.quiet_s = 0.3
        drift_by_hand(foundry)  # alice renames #general to #chat and denies Admins sending
        await page.reload()
        summary = page.get_by_test_id("drift-summary")
        await summary.wait_for()
        assert "0 to create, 1 to update" in await summary.inner_text()
        assert "renamed from chat" in await page.get_by_test_id("drift-lines").inner_text()

        await eventually(lambda: reports(foundry), "the drift report in #status")
        status = guild.channel("status")
        await page.goto(f"{base}/sandbox?guild={guild.id}&channel={status.id}")
        await page.get_by_test_id("acting-as").select_option(label="bob")
        await page.wait_for_url(re.compile(r"[?&]as=\d+"))
        report = page.get_by_test_id("message").filter(has_text="Drift from lab")
        await report.get_by_role("button", name="Revert").click()
        preview = page.get_by_test_id("message").filter(has_text="Only you can see this")
        await preview.get_by_role("button", name="Confirm").click()

        await page.get_by_test_id("message").filter(has_text="Back in shape: lab").wait_for()
        channels = page.get_by_role("navigation", name="Channels")
        await channels.get_by_role("link", name="general", exact=True).wait_for()
        assert await channels.get_by_role("link", name="chat", exact=True).count() == 0
        general = foundry.server.state.channels[guild.channel("general").id]
        assert general.name == "general"
        assert guild.role("Admins").id not in general.overwrites

        await page.goto(f"{templates}/drift")
        await page.get_by_test_id("drift-none").wait_for()
        assert page.errors == []
