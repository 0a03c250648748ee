"""Scheduled snapshots: taken when due for approved servers only, kept N days, compared two
at a time on the web, restored as a template opened in the editor (the usual apply), and
never read across servers."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import aiohttp

from cogs.templates.document import load_document
from cogs.templates.history import due, snapshot_diff
from tests.browser import chromium, requires_chromium
from tests.cogs.templates.conftest import apply_from_editor, approve
from tests.cogs.templates.test_web import signed_in
from tests.foundry import Foundry, eventually

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_due_follows_the_interval_and_zero_turns_it_off() -> None:
    assert due(None, 24, NOW) and not due(None, 0, NOW)
    assert not due(NOW - timedelta(hours=23), 24, NOW)
    assert due(NOW - timedelta(hours=24), 24, NOW)


def test_the_diff_names_what_changed() -> None:
    a = load_document(
        {"version": 2, "name": "a", "channels": [{"name": "general", "type": "text"}]}
    )
    b = load_document(
        {
            "version": 2,
            "name": "b",
            "channels": [
                {
                    "name": "chat",
                    "type": "text",
                    "overwrites": [{"role": "@everyone", "deny": ["send_messages"]}],
                }
            ],
        }
    )
    diff = snapshot_diff(a, b, older_name="one", newer_name="two")
    assert "-#general (text)" in diff and "+#chat (text)" in diff
    assert any(line.startswith("+    @@everyone: allow=0 deny=") for line in diff)
    assert snapshot_diff(a, a, older_name="x", newer_name="y") == []


async def test_snapshots_are_scheduled_compared_restored_and_pruned(foundry: Foundry) -> None:
    cog = foundry.bot.get_cog("TemplatesCog")
    assert await cog.take_due_snapshots(NOW) == 0  # not approved yet: nothing read
    await approve(foundry)
    assert await cog.take_due_snapshots(NOW) == 1
    assert await cog.take_due_snapshots(NOW + timedelta(hours=1)) == 0  # not due
    general = foundry.server.state.channels[foundry.guild.channel("general").id]
    general.name = "chat"
    assert await cog.take_due_snapshots(NOW + timedelta(hours=24)) == 1
    [(newer, _), (older, _)] = await cog.drifts.snapshots.list(foundry.guild.id)

    base, gid = foundry.process.web_url, foundry.guild.id
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        page = f"{base}/guilds/{gid}/templates/history"
        async with session.get(page, params={"a": str(newer), "b": str(older)}) as shown:
            text = await shown.text()
            assert shown.status == 200
            assert "-#general (text)" in text and "+#chat (text)" in text
        async with session.get(page, params={"a": str(older), "b": "99999"}) as missing:
            assert missing.status == 404
        async with session.post(
            f"{page}/{older}/restore", data={"csrf_token": csrf}, allow_redirects=False
        ) as restored:
            assert restored.status == 303
            assert (
                "/templates/edit?name=snapshot%202026-12-02%201200" in restored.headers["Location"]
            )
    found = await cog.service.lookup(gid, "snapshot 2026-12-02 1200")
    assert "general" in [node.name for node in found.template.walk()]

    await cog.take_due_snapshots(NOW + timedelta(days=30, hours=12))  # the first is 30.5 days old
    listed = await cog.drifts.snapshots.list(gid)
    assert older not in [sid for sid, _ in listed] and newer in [sid for sid, _ in listed]
    assert await cog.drifts.snapshots.get(gid + 1, newer) is None  # never another server's


@requires_chromium[1]
async def test_compare_and_restore_a_snapshot_in_the_browser(foundry: Foundry) -> None:
    """The Snapshots page walked in Chromium: pick two snapshots and compare them, then
    restore the older one, which opens in the editor and applies the server back."""
    cog = foundry.bot.get_cog("TemplatesCog")
    await approve(foundry)
    assert await cog.take_due_snapshots(NOW) == 1
    general = foundry.guild.channel("general")
    foundry.server.edit_channel_as("alice", general, name="chat")
    await eventually(
        lambda: foundry.bot.get_channel(general.id).name == "chat", "the bot sees the rename"
    )
    assert await cog.take_due_snapshots(NOW + timedelta(hours=24)) == 1
    [(newer, _), (older, _)] = await cog.drifts.snapshots.list(foundry.guild.id)
    base, gid = foundry.process.web_url, foundry.guild.id
    bob = foundry.server.state.find_user("bob").id
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(await foundry.process.web_context.signin.issue(bob))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/guilds")
        await page.goto(f"{base}/guilds/{gid}/templates/history")
        table = page.get_by_test_id("snapshots")
        await table.locator(f'input[name="a"][value="{older}"]').check()
        await table.locator(f'input[name="b"][value="{newer}"]').check()
        await page.get_by_role("button", name="Compare").click()
        diff = page.get_by_test_id("snapshot-diff")
        await diff.wait_for()
        assert "-#general (text)" in await diff.inner_text()
        assert "+#chat (text)" in await diff.inner_text()

        await page.locator(f'button[form="restore-{older}"]').click()
        await page.wait_for_url(re.compile(r"/templates/edit\?name=snapshot%20"))
        await page.get_by_text("Saved the snapshot as snapshot").wait_for()
        assert await apply_from_editor(page, foundry) == "done"
        assert errors == []
    assert foundry.server.state.channels[general.id].name == "general"
