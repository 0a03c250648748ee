"""A real headless Chromium runs a slash command from the Sandbox page and sees the answer."""

from __future__ import annotations

from pathlib import Path

from tests.browser import chromium, requires_chromium
from tests.sandbox.conftest import StackStarter

SCREENSHOT = Path("/tmp/foundrycord-sandbox.png")
pytestmark = requires_chromium


async def test_owner_runs_guild_list_from_the_sandbox_page(
    start_offline_stack: StackStarter,
) -> None:
    stack = await start_offline_stack(web=True)
    web_url = stack.process.web_url
    assert web_url is not None
    general = stack.server.state.find_guild("Foundry Homelab").channel("general")
    stack.server.post_message_as(
        "bob", general, "Rack is **up**, see `uptime` on https://example.org"
    )
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        await page.goto(await stack.sign_in_link(base=web_url))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{web_url}/guilds")
        await page.goto(f"{web_url}/sandbox")
        assert await page.get_by_test_id("guild-name").inner_text() == "Foundry Homelab"
        await page.get_by_role("link", name="general").click()
        await page.get_by_text("Rack is").wait_for(state="visible")
        assert await page.locator(".dc-message strong").inner_text() == "up"

        await page.get_by_test_id("command").select_option("guild list")
        await page.get_by_role("button", name="Run").click()
        answer = page.get_by_test_id("message").filter(has_text="Only you can see this")
        await answer.wait_for(state="visible")
        text = await answer.inner_text()
        assert "Foundry Homelab" in text and "approved" in text
        assert "alice used /guild list" in text
        assert await page.get_by_test_id("status").inner_text() == ""
        await page.screenshot(path=str(SCREENSHOT), full_page=True)

        # bob does not see alice's ephemeral answer
        await page.get_by_test_id("acting-as").select_option(label="bob")
        await page.wait_for_url("**as=*")
        await page.get_by_text("Rack is").wait_for(state="visible")
        assert await page.get_by_text("Only you can see this").count() == 0
        assert errors == []


async def test_owner_resets_the_world_from_the_sandbox_page(
    start_offline_stack: StackStarter,
) -> None:
    stack = await start_offline_stack(web=True)
    web_url = stack.process.web_url
    assert web_url is not None
    old = stack.server.state.find_guild("Foundry Homelab")
    stack.server.post_message_as("bob", old.channel("general"), "from the old world")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(await stack.sign_in_link(base=web_url))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{web_url}/guilds")
        await page.goto(f"{web_url}/sandbox?channel={old.channel('general').id}")
        await page.get_by_text("from the old world").wait_for(state="visible")

        await page.get_by_test_id("reset-world").click()
        await page.wait_for_url(f"{web_url}/sandbox/reset")
        await page.screenshot(path="/tmp/foundrycord-sandbox-reset.png", full_page=True)
        assert list(stack.server.state.guilds) == [old.id]  # asking changes nothing
        await page.get_by_test_id("confirm-reset").click()
        await page.wait_for_url(f"{web_url}/sandbox")
        await page.get_by_text("The sandbox world was reset").wait_for(state="visible")
        assert await page.get_by_text("from the old world").count() == 0
        new = stack.server.state.find_guild("Foundry Homelab")
        assert new.id != old.id
        assert await page.get_by_test_id("guild-name").inner_text() == "Foundry Homelab"
        await page.screenshot(path="/tmp/foundrycord-sandbox-after-reset.png", full_page=True)
        assert errors == []


async def test_code_block_attachments_and_new_channels_in_chromium(
    start_offline_stack: StackStarter,
) -> None:
    """A ```diff plan keeps its language and indentation, the exported JSON is a download link,
    a chart is an image that loads, and a channel made meanwhile appears without a reload."""
    from tests.sandbox.test_page import PLAN, send_plan_with_files

    stack = await start_offline_stack(web=True)
    web_url = stack.process.web_url
    assert web_url is not None
    await send_plan_with_files(stack)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(  # CSP refusals show here; failed loads are the response check's
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        await page.goto(await stack.sign_in_link(base=web_url))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{web_url}/guilds")
        await page.goto(f"{web_url}/sandbox")
        await page.get_by_role("link", name="general").click()

        block = page.locator('pre.dc-codeblock[data-language="diff"] code')
        await block.wait_for(state="visible")
        assert await block.inner_text() == PLAN.split("\n", 1)[1].removesuffix("\n```")
        assert await page.get_by_text("``diff").count() == 0
        language = page.locator('pre.dc-codeblock[data-language="diff"] .dc-code-language')
        assert await language.inner_text() == "diff"

        exported = page.locator("a.dc-file", has_text="template.json")
        await exported.wait_for(state="visible")
        assert await exported.get_attribute("download") == "template.json"
        chart = page.locator('img.dc-attachment-image[alt="chart.png"]')
        await chart.wait_for(state="visible")
        await page.wait_for_function(
            "() => document.querySelector('img.dc-attachment-image').naturalWidth === 1"
        )

        guild = stack.process.bot.get_guild(stack.server.state.find_guild("Foundry Homelab").id)
        assert guild is not None
        await guild.create_text_channel("made-by-apply")
        await (
            page.get_by_test_id("channels")
            .get_by_role("link", name="made-by-apply")
            .wait_for(state="visible", timeout=5000)
        )
        await page.screenshot(path=str(SCREENSHOT.with_name("foundrycord-sandbox-files.png")))
        assert errors == []


async def test_spoilers_open_on_click_and_times_show_in_the_readers_zone(
    start_offline_stack: StackStarter,
) -> None:
    """As on Discord: a spoiler stays hidden on hover and opens on a click (or Enter); a
    <t:…> timestamp shows in the reader's time zone, and a relative one is current although
    the page was drawn earlier (drawn pages are kept while the world is unchanged)."""
    import time

    stack = await start_offline_stack(web=True)
    web_url = stack.process.web_url
    assert web_url is not None
    general = stack.server.state.find_guild("Foundry Homelab").channel("general")
    noon_utc = 1767355200  # 2026-01-02 12:00 UTC: 21:00 in Tokyo
    soon = int(time.time()) + 3 * 3600
    stack.server.post_message_as(
        "bob",
        general,
        f"||first secret|| and ||second [link](https://example.org)|| "
        f"at <t:{noon_utc}:t>, back <t:{soon}:R>",
    )
    async with chromium() as browser:
        page = await browser.new_page(
            viewport={"width": 1280, "height": 800}, timezone_id="Asia/Tokyo", locale="en-GB"
        )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(await stack.sign_in_link(base=web_url))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{web_url}/guilds")
        await page.goto(f"{web_url}/sandbox")
        await page.get_by_role("link", name="general").click()
        first, second = page.locator(".dc-spoiler").nth(0), page.locator(".dc-spoiler").nth(1)
        await first.wait_for(state="visible")

        def colour(locator):  # type: ignore[no-untyped-def]
            return locator.evaluate("e => getComputedStyle(e).color")

        hidden = "rgba(0, 0, 0, 0)"
        await first.hover()
        assert await colour(first) == hidden  # hovering does not reveal
        assert await second.locator("a").evaluate("e => getComputedStyle(e).visibility") == (
            "hidden"
        )
        await first.click()
        assert await first.get_attribute("aria-expanded") == "true"
        assert await colour(first) != hidden
        assert await colour(second) == hidden  # each spoiler on its own
        await second.focus()
        await page.keyboard.press("Enter")
        assert await second.locator("a").evaluate("e => getComputedStyle(e).visibility") == (
            "visible"
        )
        assert page.url.startswith(web_url)  # opening it did not follow the link

        stamps = page.locator("time.dc-timestamp")
        assert await stamps.nth(0).inner_text() == "21:00"
        assert await stamps.nth(1).inner_text() == "in 3 hours"
        assert "2026" in (await stamps.nth(0).get_attribute("title") or "")
        assert errors == []
