"""The templates' web pages on a running FoundryCord: the JSON API, and the tree editor in
a real Chromium (move a channel, add a role, save, see the diff, apply, see the sandbox
change)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from tests.browser import chromium, requires_chromium
from tests.cogs.templates.conftest import approve, last_job_id, service, wait_job
from tests.foundry import Foundry

LINK_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SCREENSHOT = Path("/tmp/foundrycord-template-editor.png")


async def signed_in(foundry: Foundry, session: aiohttp.ClientSession, user: str) -> str:
    """Sign `session` in as `user`; returns the session's CSRF token."""
    base = foundry.process.web_url
    user_id = foundry.server.state.find_user(user).id
    link = await foundry.process.web_context.signin.issue(user_id)
    async with session.get(link) as page:
        token = LINK_TOKEN.search(await page.text()).group(1)
    async with session.post(f"{base}/login/link", data={"token": token}) as response:
        assert response.status == 200
    async with session.get(f"{base}/guilds") as page:
        return CSRF_META.search(await page.text()).group(1)


async def test_the_json_api_validates_plans_and_guards_access(foundry: Foundry) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        headers = {"X-CSRF-Token": csrf}
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            text = await page.text()
            assert page.status == 200 and "homelab" in text and "Templates" in text
        bad = {"version": 2, "name": "b", "channels": [{"name": "x", "type": "hologram"}]}
        async with session.post(
            f"{base}/guilds/{gid}/templates/api/save", json={"document": bad}, headers=headers
        ) as response:
            assert response.status == 400
            errors = (await response.json())["errors"]
            assert any(e.startswith("$.channels[0].type: unknown channel type") for e in errors)
        async with session.get(
            f"{base}/guilds/{gid}/templates/api/document?name=homelab"
        ) as response:
            homelab = await response.json()
        mark = foundry.server.mark()
        async with session.post(
            f"{base}/guilds/{gid}/templates/api/plan", json={"document": homelab}, headers=headers
        ) as response:
            plan = await response.json()
        assert "to create" in plan["summary"] and plan["refused"] == []
        assert any(line.startswith("+") and "#networking" in line for line in plan["tree"])
        assert not [
            c
            for c in foundry.server.calls[mark:]
            if c["method"] != "GET" and "/interactions/" not in c["path"]
        ]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await signed_in(foundry, session, "carol")  # no Manage Server
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            assert page.status == 403


@requires_chromium[1]
async def test_tree_editor_moves_a_channel_and_applies_it(foundry: Foundry) -> None:
    await approve(foundry)
    guild = foundry.guild
    ops = foundry.server.add_channel(guild, "Ops", "category")
    await asyncio.sleep(0.2)  # the bot sees the new category
    await service(foundry).save_snapshot(guild.id, "lab", foundry.server.state.find_user("bob").id)
    base = foundry.process.web_url
    link = await foundry.process.web_context.signin.issue(foundry.server.state.find_user("bob").id)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/guilds")
        await page.goto(f"{base}/guilds/{guild.id}/templates")
        await page.get_by_role("link", name="Templates").wait_for()
        await page.locator('a[href$="/templates/edit?name=lab"]').click()
        tree = page.get_by_test_id("template-tree")
        status_node = tree.locator("a.jstree-anchor", has_text="status")
        ops_node = tree.locator("a.jstree-anchor", has_text="Ops")
        await status_node.wait_for()
        # drag #status onto the Ops category with the mouse, as a person would
        source = await status_node.bounding_box()
        target = await ops_node.bounding_box()
        await page.mouse.move(source["x"] + 10, source["y"] + source["height"] / 2)
        await page.mouse.down()
        for step in range(1, 11):
            await page.mouse.move(
                source["x"] + 10 + (target["x"] + 20 - source["x"] - 10) * step / 10,
                source["y"] + (target["y"] - source["y"]) * step / 10 + target["height"] / 2,
            )
            await asyncio.sleep(0.02)
        await page.mouse.up()
        await page.get_by_test_id("template-status").get_by_text("into Ops").wait_for()

        roles = page.get_by_test_id("template-roles")
        assert await roles.get_by_label("Role name").first.input_value() == "Admins"
        await page.get_by_role("button", name="Add role").click()
        await roles.get_by_label("Role name").last.fill("Ops Team")
        await roles.get_by_label("Role name").last.press("Tab")

        await page.get_by_role("button", name="Save").click()
        await page.get_by_test_id("template-status").get_by_text("Saved lab.").wait_for()
        await page.get_by_role("button", name="Show diff").click()
        diff = page.get_by_test_id("template-diff")
        await diff.get_by_text("into Ops").wait_for()
        assert ">" in await diff.inner_text()
        assert "+  @Ops Team" in await diff.inner_text()

        before = await last_job_id(foundry)
        await page.get_by_role("button", name="Apply").click()
        await (
            page.get_by_test_id("template-progress")
            .get_by_text("Apply done")
            .wait_for(timeout=15000)
        )
        assert await wait_job(foundry, before) == "done"
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert errors == []
    assert foundry.server.state.channels[guild.channel("status").id].parent_id == ops.id
    assert "Ops Team" in {role.name for role in guild.roles.values()}
