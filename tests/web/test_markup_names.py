"""Every name on the core pages is text (issue 15.4): guild, channel, role and user names
that are markup (an `<img onerror>`, a `<meta http-equiv=refresh>`) are shown as written on
the server list, a server's settings and the owner page, and no element is made from them
and nothing navigates. Chromium, with the probe of tests/web/markup_probe.py."""

from __future__ import annotations

import dataclasses

from bot.guild_settings import SettingSpec
from bot.live import GuildSummary, NamedId
from tests.browser import chromium, requires_chromium
from tests.web.conftest import (
    GUILD_ID,
    OTHER_GUILD_ID,
    OWNER_ID,
    PENDING_GUILD_ID,
    PUBLIC_URL,
    FakeLive,
)
from tests.web.markup_probe import MarkupProbe, markup_name
from web.app import create_app
from web.context import WebContext
from web.server import start_web

pytestmark = requires_chromium
LEFT_GUILD_ID = 900000000000000009


async def test_names_are_text_on_the_core_pages(ctx: WebContext, live: FakeLive) -> None:
    names = {
        "guild": markup_name("Forge"),
        "other": markup_name("Other"),
        "pending": markup_name("Pending"),
        "left": markup_name("Left"),
        "channel": markup_name("chan"),
        "role": markup_name("role"),
        "user": markup_name("owner"),
    }
    live.summaries[GUILD_ID] = dataclasses.replace(live.summaries[GUILD_ID], name=names["guild"])
    live.add_guild(OTHER_GUILD_ID, names["other"], OWNER_ID)
    live.summaries[PENDING_GUILD_ID] = GuildSummary(PENDING_GUILD_ID, names["pending"], None, 3)
    live.channels[GUILD_ID].append(NamedId(700000000000000027, names["channel"]))
    live.role_lists[GUILD_ID].append(NamedId(710000000000000027, names["role"]))
    live.names[OWNER_ID] = names["user"]
    await ctx.guild_access.joined(PENDING_GUILD_ID, names["pending"])
    await ctx.guild_access.joined(LEFT_GUILD_ID, names["left"])
    await ctx.guild_access.left(LEFT_GUILD_ID)
    ctx.guild_settings.registry.register(
        "tests", SettingSpec("ping_role", "Ping role", "role", None)
    )

    server = await start_web(create_app(ctx), "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            probe = await MarkupProbe.attach(page)
            link = (await ctx.signin.issue(OWNER_ID)).replace(PUBLIC_URL, server.url, 1)
            await page.goto(link)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{server.url}/guilds")
            await probe.check(
                "/guilds",
                expect=[names[k] for k in ("guild", "other", "pending", "left", "user")],
            )
            await probe.visit(
                f"{server.url}/guilds/{GUILD_ID}/settings",
                expect=[names["guild"], f"#{names['channel']}", f"@{names['role']}"],
            )
            await probe.visit(f"{server.url}/owner", expect=[names["user"]])
            assert probe.problems == []
    finally:
        await server.stop()


async def test_the_probe_catches_a_page_that_renders_a_name_as_html() -> None:
    """The probe can fail: a page that puts a name into the HTML unescaped is caught, by
    the element it makes and by the navigation its meta refresh causes."""
    from aiohttp import web

    name = markup_name("Bad")

    async def unsafe(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<html><body><h1>{name}</h1></body></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/unsafe", unsafe)

    async def navigated(request: web.Request) -> web.Response:
        return web.Response(text="navigated")

    app.router.add_get("/mpn", navigated)
    server = await start_web(app, "127.0.0.1", 0)
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            probe = await MarkupProbe.attach(page)
            await probe.visit(f"{server.url}/unsafe", expect=[name])
            problems = "\n".join(probe.problems)
            assert "an element was made from a name" in problems
            assert "navigated from" in problems
            assert "not shown as text" in problems
    finally:
        await server.stop()
