"""A real headless Chromium opens a one-time link, presses Sign in and sees the server list."""

from __future__ import annotations

from pathlib import Path

from tests.browser import chromium, requires_chromium
from tests.web.conftest import ADMIN_ID, GUILD_ID, PUBLIC_URL
from web.app import create_app
from web.context import WebContext
from web.server import start_web
from web.vendor import NODE_MODULES

SCREENSHOT = Path("/tmp/foundrycord-guilds.png")
SETTINGS_SCREENSHOT = Path("/tmp/foundrycord-settings.png")
pytestmark = requires_chromium


async def test_sign_in_link_lands_on_guild_list(ctx: WebContext) -> None:
    server = await start_web(create_app(ctx), "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1200, "height": 700})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            link = (await ctx.signin.issue(ADMIN_ID)).replace(PUBLIC_URL, server.url, 1)
            await page.goto(link)
            # Opening the link only shows a button; pressing it signs in.
            assert page.url == link
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{server.url}/guilds")
            await page.get_by_text("Forge Guild").wait_for(state="visible")
            assert await page.get_by_test_id("username").inner_text() == "admin"
            if NODE_MODULES.is_dir():
                # Bootstrap's stylesheet is loaded: the navbar is dark, not unstyled.
                background = await page.locator("nav.navbar").evaluate(
                    "el => getComputedStyle(el).backgroundColor"
                )
                assert background == "rgb(33, 37, 41)"
                assert await page.evaluate("typeof bootstrap") == "object"
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            # The settings form round trip: a refused value, then a saved one.
            await page.get_by_role("link", name="Settings").click()
            await page.get_by_label("Channel limit").fill("9000")
            await page.get_by_role("button", name="Save settings").click()
            await page.get_by_test_id("error-max_channels").wait_for(state="visible")
            await page.screenshot(path=str(SETTINGS_SCREENSHOT), full_page=True)
            await page.get_by_label("Channel limit").fill("75")
            await page.get_by_role("button", name="Save settings").click()
            await page.get_by_text("Settings saved.").wait_for(state="visible")
            assert (await ctx.guild_settings.get_all(GUILD_ID))["max_channels"] == 75
            assert errors == []
    finally:
        await server.stop()
